//! Every 304 the crate sends is shaped here (RFC 9110 section 15.4.5).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderMap};

use crate::Validators;
use crate::precondition::Field;

/// A 304 carrying `validators` and no body. `Last-Modified` is sent only when there is no
/// `ETag`: RFC 9110 section 15.4.5 lets a 304 carry other representation metadata only
/// when it guides cache updates.
pub(crate) fn from_validators(validators: Validators) -> Response {
    let mut res = empty();
    let validators = if validators.etag().is_some() {
        validators.with_last_modified(None)
    } else {
        validators
    };
    validators.write_headers(res.headers_mut());
    res
}

/// Turns the fields of the response a request would have got into those of the 304 that
/// replaces it (RFC 9110 section 15.4.5): the `Content-*` fields go (`Content-Location`
/// stays), `Last-Modified` goes when there is an `ETag`, and every other field stays,
/// notably `Cache-Control`, `Date`, `ETag`, `Expires` and `Vary`.
fn strip(headers: &mut HeaderMap) {
    let doomed: Vec<header::HeaderName> = headers
        .keys()
        .filter(|name| {
            let n = name.as_str();
            (n.starts_with("content-") && *name != header::CONTENT_LOCATION)
                || *name == header::TRANSFER_ENCODING
        })
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
    if headers.contains_key(header::ETAG) {
        headers.remove(header::LAST_MODIFIED);
    }
}

/// The response a request would have got, turned into the 304 that replaces it (RFC 9110
/// section 15.4.5).
pub(crate) fn from_response(response: Response) -> Response {
    let (mut parts, _body) = response.into_parts();
    strip(&mut parts.headers);
    parts.status = StatusCode::NOT_MODIFIED;
    Response::from_parts(parts, Body::new(NoBody))
}

/// The 304 that replaces `full`, with the validators of the 304 the preconditions decided
/// (`decided`): the rendered response's own `ETag` and `Last-Modified` give way to them.
pub(crate) fn replacing(full: Response, decided: &HeaderMap) -> Response {
    let mut res = from_response(full);
    for name in [header::ETAG, header::LAST_MODIFIED] {
        match decided.get(&name) {
            Some(v) => {
                res.headers_mut().insert(name, v.clone());
            }
            None => {
                res.headers_mut().remove(name);
            }
        }
    }
    res
}

/// The mark on a 2xx that its request's preconditions answer with 304, but whose 304 is
/// made further out: behind [`EncodingTagsLayer`](crate::layer::EncodingTagsLayer), a 304
/// decided by `If-Modified-Since` or `If-None-Match: *` must carry the tag the 200 would
/// (RFC 9110 section 15.4.5), and that tag has the coding the compressor gives the 200,
/// which it chooses from the rendered body (its size, its type). So the 200 is rendered,
/// goes through the compressor with this mark, and the layer outside turns it into the 304
/// with the tag of the coding it got. `Field` is the field that decided, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deferred(pub(crate) Field);

/// An empty 304.
/// The 304 of a representation whose `ETag` is `etag` (so without `Last-Modified`).
#[inline]
pub(crate) fn with_etag(etag: http::HeaderValue) -> Response {
    let mut res = empty();
    res.headers_mut().insert(header::ETAG, etag);
    res
}

pub(crate) fn empty() -> Response {
    let mut res = Response::new(Body::new(NoBody));
    *res.status_mut() = StatusCode::NOT_MODIFIED;
    res
}

/// The body of a 304: empty, with no length claimed. A body that claims a length of 0
/// makes axum write `Content-Length: 0`, which hyper keeps on the 304 to a HEAD, where
/// RFC 9110 section 8.6 allows only the length the 200 would have had.
struct NoBody;

impl http_body::Body for NoBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        true
    }
}
