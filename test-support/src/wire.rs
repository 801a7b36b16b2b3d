//! One HTTP/1.1 exchange on a fresh blocking connection, for callers without an async
//! runtime.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::Reply;

/// Sends `method path` to `addr` (`host:port`) with `Connection: close` and an optional
/// JSON body, and reads the reply until the server closes: the body as sent (not
/// de-chunked). At most 10 s of silence.
///
/// ```no_run
/// let reply = etag_test_support::wire::exchange("127.0.0.1:3000", "GET", "/products/1", None)
///     .unwrap();
/// assert_eq!(reply.status, 200);
/// assert!(reply.header("etag").is_some());
/// ```
pub fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<Reply<Bytes>, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    parse(&raw)
}

/// A response as it came off the wire.
///
/// ```
/// let reply = etag_test_support::wire::parse(b"HTTP/1.1 304 Not Modified\r\nETag: \"3\"\r\n\r\n")
///     .unwrap();
/// assert_eq!(reply.status, 304);
/// assert_eq!(reply.etag(), "\"3\"");
/// assert!(reply.body.is_empty());
/// ```
pub fn parse(raw: &[u8]) -> Result<Reply<Bytes>, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of the header section")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "a header section not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("no status")?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("not a header: {line:?}"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|e| e.to_string())?;
        headers.append(name, value);
    }
    Ok(Reply::new(
        status,
        headers,
        Bytes::copy_from_slice(&raw[end + 4..]),
    ))
}
