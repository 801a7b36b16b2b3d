//! Engine bugs the fuzz targets found, one test each, through the public API only. A bug
//! not fixed yet is ignored with its reason; once fixed, its `#[ignore]` goes and its flag
//! in `etag_fuzz::KNOWN_ENGINE_BUGS` becomes `false`, so that the fuzz targets check it
//! again.

use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use etag_runtime::header::{format_http_date, parse_http_date};
use http::{Request, StatusCode};
use tower::ServiceExt;

/// Found by `http_date`: a time before 0001-01-01 is formatted as "01 Jan 0001" with the
/// weekday and the time of day of the real instant, which is no valid HTTP-date (the
/// engine's own parser refuses it); found as `-62135631266` seconds, which gives
/// "Sun, 01 Jan 0001 14:25:34 GMT" (0001-01-01 was a Monday).
#[test]
fn a_time_before_year_1_formats_as_a_valid_http_date() {
    let t = UNIX_EPOCH - Duration::from_secs(62_135_631_266);
    let formatted = format_http_date(t);
    assert!(
        parse_http_date(formatted.as_bytes()).is_some(),
        "{formatted:?} is not an HTTP-date"
    );
}

/// Found by `sealed_tags`: `If-None-Match: "v1", *` on a per-user GET. Without the
/// per-user layer, a `*` among other members confirms no copy (RFC 9110 section 13.1.2
/// reads `*` alone; the engine documents that `*, "bar"` gets a 200). Opening the
/// principal's tags drops `"v1"` (it opens for nobody), leaving `*` alone: 304.
#[test]
fn a_star_among_foreign_tags_confirms_no_copy_per_user() {
    use axum::extract::{FromRequestParts, State};
    use axum::http::{HeaderName, header, request::Parts};
    use axum::routing::get;
    use etag_runtime::principal::{Principal, TagKey};
    use etag_runtime::{ETag, Versioned, etag};

    struct Caller(String);
    impl<S: Send + Sync> FromRequestParts<S> for Caller {
        type Rejection = StatusCode;
        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
            let v = parts
                .headers
                .get(header::AUTHORIZATION)
                .ok_or(StatusCode::UNAUTHORIZED)?;
            Ok(Caller(
                v.to_str().map_err(|_| StatusCode::UNAUTHORIZED)?.to_owned(),
            ))
        }
    }
    impl Principal for Caller {
        const VARY: &'static [HeaderName] = &[header::AUTHORIZATION];
        fn id(&self) -> impl AsRef<[u8]> {
            self.0.clone()
        }
    }
    struct Doc;
    impl Versioned for Doc {
        fn etag(&self) -> ETag {
            ETag::from_version(&1_i64)
        }
    }
    impl axum::response::IntoResponse for Doc {
        fn into_response(self) -> axum::response::Response {
            "the inbox".into_response()
        }
    }
    #[etag(per_user = caller)]
    async fn inbox(State(_key): State<TagKey>, caller: Caller) -> Doc {
        let _ = caller;
        Doc
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = axum::Router::new()
            .route("/inbox", get(inbox))
            .with_state(TagKey::new(b"secret"));
        let req = Request::get("/inbox")
            .header("authorization", "ada")
            .header("if-none-match", "\"v1\", *")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "a 304 for a copy the client did not name"
        );
    });
}

/// Found by `coded_tags`: `If-None-Match: *, junk` on an `#[etag]` GET. Without
/// `EncodingTagsLayer` it gets a 200 (a `*` among other members confirms no copy); the
/// layer's rewriting drops the malformed member, leaving `*` alone: 304.
#[test]
fn a_star_among_malformed_members_confirms_no_copy_behind_encoding_tags() {
    use axum::routing::get;
    use etag_runtime::layer::EncodingTagsLayer;
    use etag_runtime::{ETag, Versioned, etag};

    struct Doc;
    impl Versioned for Doc {
        fn etag(&self) -> ETag {
            ETag::from_version(&7_i64)
        }
    }
    impl axum::response::IntoResponse for Doc {
        fn into_response(self) -> axum::response::Response {
            "a body".into_response()
        }
    }
    #[etag]
    async fn doc() -> Doc {
        Doc
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let plain = axum::Router::new().route("/", get(doc));
        let layered = plain.clone().layer(EncodingTagsLayer::new());
        let req = || {
            Request::get("/")
                .header("if-none-match", "*, junk")
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(plain.oneshot(req()).await.unwrap().status(), StatusCode::OK);
        let res = layered.oneshot(req()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "the layer changed the answer");
    });
}

/// Found by `request`: behind `EncodingTagsLayer` and `CompressionLayer`, a GET with
/// `Accept-Encoding: br` and `If-None-Match: "1-identity"` (the identity tag `"1"`,
/// spelled with its coding) got a 304 carrying `"1"`: neither the tag the 200 to this
/// request carries (`"1-br"`, RFC 9110 section 15.4.5) nor the one the client named.
#[test]
fn a_respelled_identity_tag_is_no_tag_of_the_selected_representation() {
    use axum::routing::get;
    use etag_runtime::layer::EncodingTagsLayer;
    use etag_runtime::{ETag, Versioned, etag};
    use tower::ServiceBuilder;
    use tower_http::compression::CompressionLayer;

    struct Doc;
    impl Versioned for Doc {
        fn etag(&self) -> ETag {
            ETag::from_version(&1_i64)
        }
    }
    impl axum::response::IntoResponse for Doc {
        fn into_response(self) -> axum::response::Response {
            "a body long enough for the compressor to compress it. "
                .repeat(4)
                .into_response()
        }
    }
    #[etag]
    async fn doc() -> Doc {
        Doc
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = axum::Router::new().route("/", get(doc)).layer(
            ServiceBuilder::new()
                .layer(EncodingTagsLayer::new())
                .layer(CompressionLayer::new()),
        );
        let req = |inm: Option<&str>| {
            let mut r = Request::get("/").header("accept-encoding", "br");
            if let Some(inm) = inm {
                r = r.header("if-none-match", inm);
            }
            r.body(Body::empty()).unwrap()
        };
        let full = app.clone().oneshot(req(None)).await.unwrap();
        let full_tag = full.headers()["etag"].to_str().unwrap().to_owned();
        let res = app.oneshot(req(Some("\"1-identity\""))).await.unwrap();
        // `"1-identity"` is no tag the layer made (it adds `-identity` only to a tag that
        // ends like a coded one), so it names no representation of this resource: the
        // selected one, with its own tag (RFC 9110 13.1.2, 15.4.5).
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["etag"], full_tag.as_str());
    });
}

/// Found by `request`: behind `EncodingTagsLayer` and `CompressionLayer`, a body too short
/// for the compressor goes out uncompressed with `ETag: "2"` even to a gzip client; its
/// revalidation by `If-Modified-Since` alone (no `If-None-Match` to take the tag from)
/// gets a 304 carrying `"2-gzip"`, the tag of a coding the 200 did not have (RFC 9110
/// section 15.4.5: the 304 carries the tag the 200 would).
#[test]
fn a_304_by_date_carries_the_tag_of_the_uncompressed_200() {
    use std::time::SystemTime;

    use axum::routing::get;
    use etag_runtime::layer::EncodingTagsLayer;
    use etag_runtime::{ETag, Versioned, etag};
    use tower::ServiceBuilder;
    use tower_http::compression::CompressionLayer;

    struct Doc;
    impl Versioned for Doc {
        fn etag(&self) -> ETag {
            ETag::from_version(&2_i64)
        }
        fn last_modified(&self) -> Option<SystemTime> {
            Some(UNIX_EPOCH + Duration::from_secs(1_795_608_000))
        }
    }
    impl axum::response::IntoResponse for Doc {
        fn into_response(self) -> axum::response::Response {
            ([("content-type", "text/plain")], "short").into_response()
        }
    }
    #[etag]
    async fn doc() -> Doc {
        Doc
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = axum::Router::new().route("/", get(doc)).layer(
            ServiceBuilder::new()
                .layer(EncodingTagsLayer::new())
                .layer(CompressionLayer::new()),
        );
        let req = |ims: Option<&str>| {
            let mut r = Request::get("/").header("accept-encoding", "gzip");
            if let Some(ims) = ims {
                r = r.header("if-modified-since", ims);
            }
            r.body(Body::empty()).unwrap()
        };
        let full = app.clone().oneshot(req(None)).await.unwrap();
        assert!(
            !full.headers().contains_key("content-encoding"),
            "too short to compress"
        );
        let full_tag = full.headers()["etag"].to_str().unwrap().to_owned();
        let res = app
            .oneshot(req(Some("Wed, 25 Nov 2026 12:00:00 GMT")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(res.headers()["etag"].to_str().unwrap(), full_tag);
    });
}

/// Found by the `range` check (on an input written for it after the runs): a `Range` of
/// unit `bytes\u{a0}` (a no-break space, valid obs-text in a field) is served as bytes,
/// because the engine trims the unit with `str::trim`, which removes Unicode whitespace.
/// RFC 9110 section 14.2: an origin server must ignore a range unit it does not
/// understand; the field's OWS is SP and HTAB only.
#[test]
fn a_range_unit_with_unicode_whitespace_is_ignored() {
    use axum::routing::get;
    use etag_runtime::{ETag, Versioned, etag};

    struct Doc;
    impl Versioned for Doc {
        fn etag(&self) -> ETag {
            ETag::from_version(&1_i64)
        }
    }
    impl axum::response::IntoResponse for Doc {
        fn into_response(self) -> axum::response::Response {
            "0123456789".into_response()
        }
    }
    #[etag]
    async fn doc() -> Doc {
        Doc
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = axum::Router::new().route("/", get(doc));
        let range = http::HeaderValue::from_bytes("bytes\u{a0}=0-1".as_bytes()).unwrap();
        let req = Request::get("/")
            .header("range", range)
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "the whole representation");
    });
}
