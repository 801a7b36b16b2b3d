//! `#[etag(hash)]`: validators from the rendered body.

use std::collections::VecDeque;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderMap};
use http_body_util::BodyExt as _;

use crate::etag::Hasher;
use crate::handler::Responder;
use crate::not_modified;
use crate::{ETag, Validators};

/// The default for how much of a body `#[etag(hash)]` buffers to hash it: 4 MiB.
pub const DEFAULT_HASH_LIMIT: usize = 4 * 1024 * 1024;

/// Makes any response conditional by hashing its body: the mode of `#[etag(hash)]` and of
/// [`ETagLayer`](crate::layer::ETagLayer).
///
/// Only a `200 OK` to a GET or HEAD is tagged, and not one marked `Cache-Control:
/// no-store`. The response to a write is not the resource's representation (RFC 9110
/// section 9.3.4: no validator on a PUT's response unless it is), a 204 or 205 has no
/// representation at all (the digest of its empty body would tag nothing, and a client
/// would send it back in `If-Match`), a 206 is only part of one, and a response that is
/// never stored is never revalidated. A response that already has an `ETag` keeps it and is
/// not hashed. A body larger than `limit` bytes (by its `Content-Length` or size hint, or
/// once that many bytes have been read) goes out unchanged and without an `ETag`; so does
/// a body with trailers. On GET and HEAD the preconditions are evaluated against the tag
/// (and against a `Last-Modified` the response carries).
///
/// The body is read once: its pieces are hashed as they arrive and sent on as they were
/// read, without being joined into one buffer.
pub(crate) async fn hash_response(
    responder: &Responder<'_>,
    response: Response,
    limit: usize,
) -> Response {
    let conditions = responder.conditions;
    let method = conditions.method();
    if !crate::conditions::is_read(method)
        || response.status() != StatusCode::OK
        || crate::handler::has_cache_directive(response.headers(), b"no-store")
    {
        return response;
    }
    let last_modified = response
        .headers()
        .get(header::LAST_MODIFIED)
        .and_then(|v| crate::header::parse_http_date(v.as_bytes()));

    if let Some(existing) = response.headers().get(header::ETAG) {
        let Ok(tag) = ETag::try_from(existing) else {
            return response;
        };
        let validators = Validators::new()
            .with_etag(tag)
            .with_last_modified(last_modified);
        return respond_with_response(responder, validators, response);
    }

    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let hinted = http_body::Body::size_hint(response.body()).lower();
    if declared.is_some_and(|len| len > limit as u64) || hinted > limit as u64 {
        return response;
    }

    let (parts, mut body) = response.into_parts();
    let mut hasher = Hasher::new();
    let mut chunks: VecDeque<Bytes> = VecDeque::new();
    let mut seen = 0usize;
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    seen = seen.saturating_add(data.len());
                    if seen > limit {
                        chunks.push_back(data);
                        return Response::from_parts(parts, resume(chunks, body));
                    }
                    hasher.update(&data);
                    chunks.push_back(data);
                }
                Err(frame) => {
                    // Trailers: a body with metadata after it cannot be tagged by its bytes.
                    let trailers = frame.into_trailers().ok();
                    return Response::from_parts(parts, replay(chunks, trailers));
                }
            },
            Some(Err(err)) => {
                // The body failed while being read: pass the failure on where it happened.
                let rest = futures_util::stream::iter([Err::<Bytes, _>(err)]);
                let replayed = futures_util::StreamExt::chain(
                    futures_util::stream::iter(chunks.into_iter().map(Ok::<_, axum::Error>)),
                    rest,
                );
                return Response::from_parts(parts, Body::from_stream(replayed));
            }
        }
    }

    let validators = Validators::new()
        .with_etag(hasher.finish())
        .with_last_modified(last_modified);
    let body = match chunks.len() {
        0 => Body::empty(),
        1 => Body::from(chunks.pop_front().unwrap_or_default()),
        _ => Body::new(Collected {
            chunks,
            remaining: seen as u64,
        }),
    };
    respond_with_response(responder, validators, Response::from_parts(parts, body))
}

/// A body read to its end, sent on in the pieces it was read in: no piece is copied, and
/// its exact length is known, so it still goes out with a `Content-Length`.
struct Collected {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl http_body::Body for Collected {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = self.chunks.pop_front().map(|chunk| {
            self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
            Ok(http_body::Frame::data(chunk))
        });
        std::task::Poll::Ready(next)
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

/// Like `Responder::respond` for a response that is already rendered: a 304 keeps its
/// cache-related fields.
fn respond_with_response(
    responder: &Responder<'_>,
    validators: Validators,
    response: Response,
) -> Response {
    let mut full = Some(response);
    let res = responder.respond(validators, || full.take().unwrap_or_default());
    match (res.status(), full) {
        // Not rendered: the 304 is made from the full response's fields.
        (StatusCode::NOT_MODIFIED, Some(full)) => not_modified::replacing(full, res.headers()),
        _ => res,
    }
}

/// The bytes already read, then the rest of the body, unchanged.
fn resume(chunks: VecDeque<Bytes>, rest: Body) -> Body {
    let head = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, axum::Error>));
    Body::from_stream(futures_util::StreamExt::chain(
        head,
        rest.into_data_stream(),
    ))
}

/// The bytes already read, then trailers.
fn replay(chunks: VecDeque<Bytes>, trailers: Option<HeaderMap>) -> Body {
    use http_body_util::StreamBody;
    let frames = chunks
        .into_iter()
        .map(|c| Ok::<_, std::convert::Infallible>(http_body::Frame::data(c)))
        .chain(trailers.map(|t| Ok(http_body::Frame::trailers(t))));
    Body::new(StreamBody::new(futures_util::stream::iter(frames)).map_err(|e| match e {}))
}
