//! [`EncodingTagsLayer`]: a strong tag per content-coding, behind a compressor.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use tower::{Layer, Service};

use super::BoxError;
use super::coding::{Coding, Codings, select};
use super::future::ResponseFuture;
use crate::ETag;
use crate::list::rewrite_tag_list;
use crate::not_modified::Deferred;
use crate::vary::add_vary;

/// A tower [`Layer`] that gives each content-coding its own strong tag and maps the
/// coded tags of requests back: put it right outside tower-http's `CompressionLayer` (see
/// the [module docs](crate::layer) for why and for the order).
///
/// # Examples
///
/// ```
/// use axum::{Router, body::Body, http::{Request, header}, routing::get};
/// use etag_runtime::layer::EncodingTagsLayer;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Stands in for a compressor: a body already gzip-coded, with the tag of its version.
/// let gzipped = || async { ([(header::CONTENT_ENCODING, "gzip"), (header::ETAG, "\"7\"")], "...") };
/// let app = Router::new()
///     .route("/doc", get(gzipped))
///     .layer(EncodingTagsLayer::new());
/// let res = app.oneshot(Request::get("/doc").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.headers()["etag"], "\"7-gzip\"");
/// assert_eq!(res.headers()["vary"], "accept-encoding");
/// # }
/// ```
#[derive(Clone, Default)]
pub struct EncodingTagsLayer {
    /// The codings the compressor behind has been seen to produce, shared by every
    /// service this layer makes.
    seen: Arc<AtomicU8>,
}

impl std::fmt::Debug for EncodingTagsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodingTagsLayer").finish_non_exhaustive()
    }
}

impl EncodingTagsLayer {
    /// The layer.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::layer::EncodingTagsLayer;
    ///
    /// assert_eq!(format!("{:?}", EncodingTagsLayer::new()), "EncodingTagsLayer { .. }");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for EncodingTagsLayer {
    type Service = EncodingTagsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EncodingTagsService {
            inner,
            seen: self.seen.clone(),
        }
    }
}

/// The service [`EncodingTagsLayer`] wraps a router in.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, http::{Request, Response, header}};
/// use etag_runtime::layer::{EncodingTagsLayer, EncodingTagsService};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // What the service behind it sees of a coded tag: the tag it made.
/// let echo = service_fn(|req: Request<Body>| async move {
///     let sent = req.headers()[header::IF_MATCH].clone();
///     Ok::<_, std::convert::Infallible>(Response::new(Body::from(sent.to_str().unwrap().to_owned())))
/// });
/// let service: EncodingTagsService<_> = EncodingTagsLayer::new().layer(echo);
/// let req = Request::put("/").header("if-match", "\"7-br\"").body(Body::empty()).unwrap();
/// let res = service.oneshot(req).await.unwrap();
/// let body = axum::body::to_bytes(res.into_body(), 64).await.unwrap();
/// assert_eq!(body, "\"7\"");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct EncodingTagsService<S> {
    inner: S,
    seen: Arc<AtomicU8>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EncodingTagsService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let seen = self.seen.clone();
        let method = req.method().clone();
        let sent = decode_request(
            &method,
            req.headers_mut(),
            Codings(seen.load(Ordering::Relaxed)),
        );
        req.extensions_mut().insert(super::CodedTagsOutside {
            coding_unknown: sent.coding_unknown(),
        });
        ResponseFuture::new(async move {
            let res = inner.call(req).await?;
            let res = res.map(Body::new);
            if let Some(coding) = Coding::of(res.headers()).filter(|c| *c != Coding::Identity) {
                seen.fetch_or(Codings::default().with(coding).0, Ordering::Relaxed);
            }
            Ok(encode_response(res, &method, &sent))
        })
    }
}

/// What the response needs to know of the request's `If-None-Match`.
#[derive(Debug, PartialEq, Eq)]
struct Sent {
    /// The coding of the representation selected for the request, when known before the
    /// response: the coding of the tags passed on, and of the tag of a 304 from behind.
    selected: Option<Coding>,
    /// The members of a GET's or HEAD's `If-None-Match` not passed on (their coding is
    /// not known to be the selected one), as sent: compared with the tag the response
    /// goes out with.
    held_back: Vec<String>,
}

impl Sent {
    /// Whether the coding of the 200 is known only once the compressor has seen its body:
    /// it is known to be identity when the client accepts no coding the compressor
    /// produces; otherwise the compressor may still skip the body (tower-http's default
    /// predicate skips bodies under 32 bytes, images, gRPC and event streams).
    fn coding_unknown(&self) -> bool {
        self.selected != Some(Coding::Identity)
    }
}

/// Maps the coded tags of `If-Match` back to the tags they were made from, every coding:
/// a write names the resource, not one of its codings. In the `If-None-Match` of a GET or
/// HEAD, passes on (mapped back) only the tags of the coding selected for this request,
/// and holds back the others; in that of any other method, maps every tag back, as in
/// `If-Match`.
fn decode_request(method: &Method, headers: &mut HeaderMap, seen: Codings) -> Sent {
    let base = |_: bool, opaque: &str| Some(Coding::split(opaque).0.to_owned());
    rewrite_tag_list(headers, &header::IF_MATCH, base);
    let read = crate::conditions::is_read(method);
    let selected = select(headers, seen);
    let mut held_back = Vec::new();
    if read {
        rewrite_tag_list(headers, &header::IF_NONE_MATCH, |_, opaque| {
            let (tag, coding) = Coding::split(opaque);
            if Some(coding) == selected {
                Some(tag.to_owned())
            } else {
                held_back.push(opaque.to_owned());
                None
            }
        });
    } else {
        rewrite_tag_list(headers, &header::IF_NONE_MATCH, base);
    }
    Sent {
        selected,
        held_back,
    }
}

/// Gives the response's tag its coding, and a 304 the tag of the selected coding. A 200
/// to a GET or HEAD whose tag, so coded, is one the request held back becomes a 304; so
/// does a 2xx whose 304 was left to this layer (`Deferred`), with the tag of the coding
/// the compressor gave it.
fn encode_response(mut res: Response, method: &Method, sent: &Sent) -> Response {
    // The mark the range step leaves on a multipart 206 to keep the compressor off: its
    // work is done, and no coding is said by saying none.
    if res.headers().get(header::CONTENT_ENCODING) == Some(&HeaderValue::from_static("identity")) {
        res.headers_mut().remove(header::CONTENT_ENCODING);
    }
    let deferred = res.extensions_mut().remove::<Deferred>();
    let status = res.status();
    let tag = res
        .headers()
        .get(header::ETAG)
        .and_then(|v| ETag::try_from(v).ok());
    if status == StatusCode::NOT_MODIFIED {
        // Its tag is one of the selected coding, if that was known; else the coding the
        // compressor negotiated, which tower-http writes on 304s too.
        let coding = sent
            .selected
            .or_else(|| Coding::of(res.headers()).filter(|c| *c != Coding::Identity))
            .unwrap_or(Coding::Identity);
        let headers = res.headers_mut();
        if let Some(tag) = tag {
            headers.insert(header::ETAG, coding.wire(&tag).into());
        }
        // A 304 has no body, so no coding; a cache would apply this one to its copy.
        headers.remove(header::CONTENT_ENCODING);
        add_vary(headers, &header::ACCEPT_ENCODING);
        *res.body_mut() = crate::not_modified::empty().into_body();
        return res;
    }
    if !status.is_success() {
        return res;
    }
    let wire = tag.and_then(|tag| code_tag(res.headers_mut(), &tag));
    let decided = match (deferred, &wire) {
        // The 304 the preconditions decided inside, now that the 200's coding is known.
        (Some(Deferred(field)), _) => Some(field),
        // The selected representation is the copy the client named (weak comparison).
        (None, Some(wire))
            if status == StatusCode::OK && sent.held_back.iter().any(|t| t == wire.opaque()) =>
        {
            Some(crate::precondition::Field::IfNoneMatch)
        }
        (None, _) => None,
    };
    match decided {
        Some(field) => {
            crate::precondition::trace(method, StatusCode::NOT_MODIFIED, field, wire.as_ref());
            crate::not_modified::from_response(res)
        }
        None => res,
    }
}

/// Gives the tag of a 2xx the coding of its `Content-Encoding`, and names
/// `Accept-Encoding` in `Vary`: the tag it goes out with. A coding this layer cannot map
/// back gets no tag rather than a wrong one.
fn code_tag(headers: &mut HeaderMap, tag: &ETag) -> Option<ETag> {
    add_vary(headers, &header::ACCEPT_ENCODING);
    let Some(coding) = Coding::of(headers) else {
        headers.remove(header::ETAG);
        return None;
    };
    let wire = coding.wire(tag);
    headers.insert(header::ETAG, HeaderValue::from(wire.clone()));
    Some(wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_tags_are_mapped_back() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            "\"7-gzip\", W/\"8-br\", \"v-gzip-identity\""
                .parse()
                .unwrap(),
        );
        h.insert(header::IF_MATCH, "\"7-zstd\", *".parse().unwrap());
        let mut put = h.clone();
        // A write: every coding names the resource.
        let sent = decode_request(&Method::PUT, &mut put, Codings::default());
        assert_eq!(put[header::IF_NONE_MATCH], "\"7\", W/\"8\", \"v-gzip\"");
        assert_eq!(put[header::IF_MATCH], "\"7\", *");
        assert!(sent.held_back.is_empty());
        // A read: only the selected coding's tags go on; the others are held back.
        h.insert(header::ACCEPT_ENCODING, "gzip".parse().unwrap());
        let mut unknown = h.clone();
        let seen = Codings::default().with(Coding::Gzip);
        let sent = decode_request(&Method::GET, &mut h, seen);
        assert_eq!(h[header::IF_NONE_MATCH], "\"7\"");
        assert_eq!(h[header::IF_MATCH], "\"7\", *");
        assert_eq!(
            sent,
            Sent {
                selected: Some(Coding::Gzip),
                held_back: vec!["8-br".to_owned(), "v-gzip-identity".to_owned()],
            }
        );
        // gzip not seen yet: no tag is known to be the selected one.
        let sent = decode_request(&Method::GET, &mut unknown, Codings::default());
        assert_eq!(unknown[header::IF_NONE_MATCH], "");
        assert_eq!(sent.selected, None);
        assert_eq!(sent.held_back.len(), 3);
    }
}
