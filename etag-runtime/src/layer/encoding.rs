//! [`EncodingTagsLayer`]: a strong tag per content-coding, behind a compressor.

use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Request, StatusCode};
use tower::{Layer, Service};

use super::BoxError;
use super::future::ResponseFuture;
use crate::ETag;
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
#[derive(Clone, Copy, Debug, Default)]
pub struct EncodingTagsLayer {
    _private: (),
}

impl EncodingTagsLayer {
    /// The layer.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::layer::EncodingTagsLayer;
    ///
    /// assert_eq!(format!("{:?}", EncodingTagsLayer::new()), "EncodingTagsLayer { _private: () }");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for EncodingTagsLayer {
    type Service = EncodingTagsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EncodingTagsService { inner }
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
        let sent = decode_request(req.headers_mut());
        ResponseFuture::new(async move {
            let res = inner.call(req).await?;
            let mut res = res.map(Body::new);
            encode_response(&mut res, &sent);
            Ok(res)
        })
    }
}

/// The content-codings whose tags are told apart, by the suffix they add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    Br,
    Zstd,
    Deflate,
    Compress,
}

impl Coding {
    const ALL: [Self; 6] = [
        Self::Identity,
        Self::Gzip,
        Self::Br,
        Self::Zstd,
        Self::Deflate,
        Self::Compress,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Gzip => "gzip",
            Self::Br => "br",
            Self::Zstd => "zstd",
            Self::Deflate => "deflate",
            Self::Compress => "compress",
        }
    }

    /// The coding of a response, from its `Content-Encoding`: `Some(Identity)` without
    /// one, `None` for a coding (or a list of them) this layer does not know.
    fn of(headers: &HeaderMap) -> Option<Self> {
        let mut lines = headers.get_all(header::CONTENT_ENCODING).iter();
        let Some(line) = lines.next() else {
            return Some(Self::Identity);
        };
        if lines.next().is_some() {
            return None;
        }
        let value = crate::etag::trim_ows(line.as_bytes());
        let value = match value {
            b"x-gzip" | b"X-GZIP" => b"gzip".as_slice(),
            b"x-compress" => b"compress".as_slice(),
            other => other,
        };
        Self::ALL
            .into_iter()
            .find(|c| value.eq_ignore_ascii_case(c.name().as_bytes()))
    }

    /// The coding a wire tag's opaque part names, and the opaque part of the tag it was
    /// made from.
    fn split(opaque: &str) -> (&str, Self) {
        for coding in Self::ALL {
            if let Some(base) = opaque
                .strip_suffix(coding.name())
                .and_then(|rest| rest.strip_suffix('-'))
            {
                return (base, coding);
            }
        }
        (opaque, Self::Identity)
    }

    /// The tag that goes out on a response of this coding: `"<opaque>-<coding>"`; an
    /// identity tag unchanged, unless it ends like a coded one (then `-identity` is added,
    /// so that it maps back to itself).
    fn wire(self, tag: &ETag) -> ETag {
        let opaque = tag.opaque();
        let suffixed = match self {
            Self::Identity if Self::split(opaque).0.len() == opaque.len() => return tag.clone(),
            coding => format!("{opaque}-{}", coding.name()),
        };
        let made = if tag.is_weak() {
            ETag::weak(&suffixed)
        } else {
            ETag::strong(&suffixed)
        };
        // A valid opaque tag plus `-` and letters is valid.
        made.unwrap_or_else(|_| tag.clone())
    }
}

/// One member of the request's `If-None-Match`, mapped back: the tag it was made from and
/// the coding of the copy the client has.
type Sent = (String, Coding);

/// Maps the coded tags of `If-Match` and `If-None-Match` back to the tags they were made
/// from; returns the members of `If-None-Match`, for the tag of a 304.
fn decode_request(headers: &mut HeaderMap) -> Vec<Sent> {
    let mut sent = Vec::new();
    if let Some(list) = headers
        .contains_key(header::IF_NONE_MATCH)
        .then(|| crate::header::TagList::from_lines(headers.get_all(header::IF_NONE_MATCH)))
    {
        for member in list.members() {
            if let crate::list::Member::Tag { opaque, .. } = member {
                if let Ok(opaque) = std::str::from_utf8(opaque) {
                    let (base, coding) = Coding::split(opaque);
                    sent.push((base.to_owned(), coding));
                }
            }
        }
    }
    crate::list::rewrite_tag_lists(headers, |_, opaque| {
        Some(Coding::split(opaque).0.to_owned())
    });
    sent
}

/// Gives the response's tag its coding, and a 304 the tag of the copy the client has.
fn encode_response(res: &mut Response, sent: &[Sent]) {
    let status = res.status();
    let tag = res
        .headers()
        .get(header::ETAG)
        .and_then(|v| ETag::try_from(v).ok());
    if status == StatusCode::NOT_MODIFIED {
        // The coding the compressor negotiated, which tower-http writes on 304s too.
        let negotiated = Coding::of(res.headers()).filter(|c| *c != Coding::Identity);
        let headers = res.headers_mut();
        if let Some(tag) = tag {
            let matching = || sent.iter().filter(|(base, _)| base == tag.opaque());
            let coding = matching()
                .find(|(_, c)| Some(*c) == negotiated)
                .or_else(|| matching().next())
                .map(|(_, c)| *c)
                .or(negotiated)
                .unwrap_or(Coding::Identity);
            headers.insert(header::ETAG, coding.wire(&tag).into());
        }
        // A 304 has no body, so no coding; a cache would apply this one to its copy.
        headers.remove(header::CONTENT_ENCODING);
        add_vary(headers, &header::ACCEPT_ENCODING);
        *res.body_mut() = crate::response::empty_304().into_body();
        return;
    }
    let Some(tag) = tag else { return };
    if status.is_success() {
        let headers = res.headers_mut();
        match Coding::of(headers) {
            Some(coding) => {
                headers.insert(header::ETAG, coding.wire(&tag).into());
            }
            // A coding this layer cannot map back: no tag rather than a wrong one.
            None => {
                headers.remove(header::ETAG);
            }
        }
        add_vary(headers, &header::ACCEPT_ENCODING);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_tag_maps_back_to_one_tag_and_coding() {
        for opaque in ["7", "", "a-gzip", "a-identity", "-br", "x-y", "a-gzip-br"] {
            let tag = ETag::strong(opaque).unwrap();
            for coding in Coding::ALL {
                let wire = coding.wire(&tag);
                assert_eq!(Coding::split(wire.opaque()), (opaque, coding), "{wire}");
            }
        }
        let seven = ETag::strong("7").unwrap();
        assert_eq!(Coding::Identity.wire(&seven), seven);
        assert_eq!(Coding::Gzip.wire(&seven).to_string(), "\"7-gzip\"");
        assert_eq!(
            Coding::Br.wire(&seven.clone().into_weak()).to_string(),
            "W/\"7-br\""
        );
        assert_eq!(
            Coding::Identity
                .wire(&ETag::strong("v-gzip").unwrap())
                .to_string(),
            "\"v-gzip-identity\""
        );
    }

    #[test]
    fn content_encodings() {
        let of = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_ENCODING, v.parse().unwrap());
            Coding::of(&h)
        };
        assert_eq!(Coding::of(&HeaderMap::new()), Some(Coding::Identity));
        assert_eq!(of("gzip"), Some(Coding::Gzip));
        assert_eq!(of("x-gzip"), Some(Coding::Gzip));
        assert_eq!(of("BR"), Some(Coding::Br));
        assert_eq!(of("gzip, br"), None);
        assert_eq!(of("lzma"), None);
    }

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
        let sent = decode_request(&mut h);
        assert_eq!(h[header::IF_NONE_MATCH], "\"7\", W/\"8\", \"v-gzip\"");
        assert_eq!(h[header::IF_MATCH], "\"7\", *");
        assert_eq!(
            sent,
            [
                ("7".to_owned(), Coding::Gzip),
                ("8".to_owned(), Coding::Br),
                ("v-gzip".to_owned(), Coding::Identity)
            ]
        );
    }
}
