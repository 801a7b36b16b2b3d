//! `ETagLayer` and `EncodingTagsLayer` on real routers, with tower-http's
//! `CompressionLayer` in each order the docs allow (RFC 9110 sections 8.8.1, 8.8.3,
//! 12.5.5, 13.1, 13.2.2 and 15.4.5).

mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use common::principal::Caller;
use common::{Reply, fetch, send};
use etag_runtime::layer::{ETagLayer, EncodingTagsLayer};
use etag_runtime::principal::{Principal, TagKey};
use etag_runtime::{Conditions, ETag, Precondition, Validators, Versioned, WithValidators, etag};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;

/// A page with no model, long enough to be compressed.
fn about_text() -> String {
    "A page with no model; the layer tags it by its bytes. ".repeat(40)
}

async fn about() -> String {
    about_text()
}

const LAST_MODIFIED: &str = "Wed, 25 Nov 2026 12:00:00 GMT";

async fn dated() -> impl IntoResponse {
    ([(header::LAST_MODIFIED, LAST_MODIFIED)], "dated page")
}

async fn no_store() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "private, no-store")],
        "never stored",
    )
}

async fn created() -> impl IntoResponse {
    (StatusCode::CREATED, "made")
}

async fn streamed() -> Body {
    let chunks = ["ab", "cd", "ef"].map(|c| Ok::<_, Infallible>(Bytes::from_static(c.as_bytes())));
    Body::from_stream(futures_util::stream::iter(chunks))
}

async fn big() -> String {
    "x".repeat(4096)
}

#[derive(Clone, serde::Serialize, Versioned)]
struct Doc {
    text: String,
    #[version]
    version: i64,
}

type Db = Arc<Mutex<Doc>>;

#[etag(cache_control = "no-cache")]
async fn get_doc(State(db): State<Db>) -> Json<Doc> {
    Json(db.lock().unwrap().clone())
}

#[etag(require_precondition)]
async fn put_doc(
    State(db): State<Db>,
    conditions: Conditions,
    Json(text): Json<String>,
) -> Result<Json<Doc>, Precondition> {
    let mut doc = db.lock().unwrap();
    // Under the lock, nothing can change between the check and the write.
    conditions.evaluate(Some(&doc.validators()))?;
    doc.text = text;
    doc.version += 1;
    Ok(Json(doc.clone()))
}

/// Validated by its date alone: its 304 has no tag.
#[etag]
async fn dated_only(conditions: Conditions) -> Result<WithValidators<String>, Precondition> {
    let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_072_000);
    let checked = conditions.check(Validators::new().with_last_modified(modified))?;
    Ok(checked.respond(about_text()))
}

fn routes() -> Router {
    let db = Db::new(Mutex::new(Doc {
        text: "a document with a version, long enough to be worth compressing. ".repeat(10),
        version: 3,
    }));
    Router::new()
        .route("/about", get(about))
        .route("/dated", get(dated))
        .route("/no-store", get(no_store))
        .route("/created", get(created).post(created))
        .route("/streamed", get(streamed))
        .route("/big", get(big))
        .route("/doc", get(get_doc).put(put_doc))
        .route("/dated-only", get(dated_only))
        .with_state(db)
}

/// The layer alone, with a limit between the pages and `/big`.
fn plain() -> Router {
    routes().layer(ETagLayer::new().limit(3000))
}

/// The documented order: EncodingTagsLayer, CompressionLayer, ETagLayer (outermost first).
fn compressed() -> Router {
    routes().layer(
        ServiceBuilder::new()
            .layer(EncodingTagsLayer::new())
            .layer(CompressionLayer::new().gzip(true).br(true))
            .layer(ETagLayer::new()),
    )
}

/// The other allowed order: ETagLayer outside the compressor (hashing coded bytes).
fn compressed_then_hashed() -> Router {
    routes().layer(
        ServiceBuilder::new()
            .layer(EncodingTagsLayer::new())
            .layer(ETagLayer::new())
            .layer(CompressionLayer::new().gzip(true).br(true)),
    )
}

fn no_body(reply: &Reply) {
    assert!(reply.body.is_empty(), "{:?}", reply.body);
    for name in ["content-type", "content-length", "content-encoding"] {
        assert!(!reply.has(name), "a 304 with {name}: {:?}", reply.headers);
    }
}

#[tokio::test]
async fn rfc9110_8_8_3_the_layer_tags_a_route_without_a_model() {
    let reply = fetch(&plain(), "/about", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.expect_header("etag"),
        ETag::digest(about_text().as_bytes()).to_string()
    );
    assert_eq!(reply.body, about_text());
}

#[tokio::test]
async fn rfc9110_13_1_2_a_matching_if_none_match_is_304() {
    let app = plain();
    let tag = fetch(&app, "/about", &[])
        .await
        .expect_header("etag")
        .to_owned();
    let reply = fetch(&app, "/about", &[("if-none-match", &tag)]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), tag);
    no_body(&reply);
    // Weak comparison: W/ of the same tag matches too.
    let weak = format!("W/{tag}");
    let reply = fetch(&app, "/about", &[("if-none-match", &weak)]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    let reply = fetch(&app, "/about", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    // HEAD is answered like GET.
    let reply = send(
        &app,
        Method::HEAD,
        "/about",
        &[("if-none-match", &tag)],
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn rfc9110_13_1_1_a_failed_if_match_on_a_get_is_412() {
    let app = plain();
    let reply = fetch(&app, "/about", &[("if-match", "\"stale\"")]).await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    let tag = fetch(&app, "/about", &[])
        .await
        .expect_header("etag")
        .to_owned();
    let reply = fetch(&app, "/about", &[("if-match", &tag)]).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc9110_13_1_3_if_modified_since_against_the_responses_last_modified() {
    let app = plain();
    let reply = fetch(&app, "/dated", &[("if-modified-since", LAST_MODIFIED)]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    // A 304 with an ETag drops Last-Modified (section 15.4.5).
    assert!(reply.has("etag"));
    let earlier = "Tue, 24 Nov 2026 12:00:00 GMT";
    let reply = fetch(&app, "/dated", &[("if-modified-since", earlier)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    // Section 13.2.2: If-None-Match, when present, decides instead.
    let reply = fetch(
        &app,
        "/dated",
        &[
            ("if-modified-since", LAST_MODIFIED),
            ("if-none-match", "\"x\""),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    // No Last-Modified on the response: the date is not evaluated.
    let reply = fetch(&app, "/about", &[("if-modified-since", LAST_MODIFIED)]).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc9110_13_2_1_only_200s_to_get_and_head_without_no_store_are_tagged() {
    let app = plain();
    let reply = fetch(&app, "/no-store", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.has("etag"));
    let reply = fetch(&app, "/created", &[]).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(!reply.has("etag"));
    let reply = send(&app, Method::POST, "/created", &[], None).await;
    assert!(!reply.has("etag"));
    // A 404 is never tagged nor turned into a 304.
    let reply = fetch(&app, "/nowhere", &[("if-none-match", "*")]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(!reply.has("etag"));
}

#[tokio::test]
async fn a_body_over_the_limit_streams_through_untagged_and_a_stream_under_it_is_tagged() {
    let app = plain();
    let reply = fetch(&app, "/big", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.has("etag"));
    assert_eq!(reply.body.len(), 4096);
    let reply = fetch(&app, "/streamed", &[]).await;
    assert_eq!(
        reply.expect_header("etag"),
        ETag::digest(b"abcdef").to_string()
    );
    assert_eq!(reply.body, "abcdef");
    let reply = fetch(
        &app,
        "/streamed",
        &[("if-none-match", reply.expect_header("etag"))],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn an_etag_route_keeps_its_tag_and_its_304_behind_the_layer() {
    let app = plain();
    let reply = fetch(&app, "/doc", &[]).await;
    assert_eq!(reply.expect_header("etag"), "\"3\"");
    assert_eq!(reply.expect_header("cache-control"), "no-cache");
    let reply = fetch(&app, "/doc", &[("if-none-match", "\"3\"")]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), "\"3\"");
    assert_eq!(reply.expect_header("cache-control"), "no-cache");
}

async fn get_coded(app: &Router, path: &str, coding: &str, tag: Option<&str>) -> Reply {
    let mut headers = vec![("accept-encoding", coding)];
    if let Some(tag) = tag {
        headers.push(("if-none-match", tag));
    }
    fetch(app, path, &headers).await
}

/// Each coding its own strong tag; each tag revalidates to 304 with Vary on that coding.
async fn codings_get_their_own_tags(app: &Router, path: &str) {
    let identity = get_coded(app, path, "identity", None).await;
    let gzip = get_coded(app, path, "gzip", None).await;
    let br = get_coded(app, path, "br", None).await;
    assert_eq!(gzip.expect_header("content-encoding"), "gzip");
    assert_eq!(br.expect_header("content-encoding"), "br");
    assert!(!identity.has("content-encoding"));
    let tags = [
        identity.expect_header("etag"),
        gzip.expect_header("etag"),
        br.expect_header("etag"),
    ];
    for tag in tags {
        assert!(!tag.starts_with("W/"), "strong: {tag}");
    }
    assert_ne!(tags[0], tags[1]);
    assert_ne!(tags[0], tags[2]);
    assert_ne!(tags[1], tags[2]);
    assert!(tags[1].ends_with("-gzip\""), "{}", tags[1]);
    assert!(tags[2].ends_with("-br\""), "{}", tags[2]);
    for (reply, coding) in [(&identity, "identity"), (&gzip, "gzip"), (&br, "br")] {
        assert_eq!(reply.expect_header("vary"), "accept-encoding", "{coding}");
        let again = get_coded(app, path, coding, Some(reply.expect_header("etag"))).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{coding}");
        assert_eq!(
            again.expect_header("etag"),
            reply.expect_header("etag"),
            "{coding}"
        );
        assert_eq!(again.expect_header("vary"), "accept-encoding", "{coding}");
        no_body(&again);
    }
}

#[tokio::test]
async fn rfc9110_8_8_1_each_coding_gets_its_own_strong_tag_that_revalidates() {
    codings_get_their_own_tags(&compressed(), "/about").await;
    codings_get_their_own_tags(&compressed(), "/doc").await;
    codings_get_their_own_tags(&compressed_then_hashed(), "/about").await;
    codings_get_their_own_tags(&compressed_then_hashed(), "/doc").await;
}

#[tokio::test]
async fn rfc9110_8_8_1_the_layer_hashes_the_identity_bytes_inside_the_compressor() {
    let gzip = get_coded(&compressed(), "/about", "gzip", None).await;
    let identity_tag = ETag::digest(about_text().as_bytes()).to_string();
    assert_eq!(
        gzip.expect_header("etag"),
        format!("{}-gzip\"", identity_tag.trim_end_matches('"'))
    );
}

#[tokio::test]
async fn rfc9110_13_1_1_if_match_takes_the_tag_of_a_compressed_get_and_refuses_stale_ones() {
    for app in [compressed(), compressed_then_hashed()] {
        let gzip = get_coded(&app, "/doc", "gzip", None).await;
        let tag = gzip.expect_header("etag").to_owned();
        assert_eq!(tag, "\"3-gzip\"");
        let put = |tag: &str| {
            let tag = tag.to_owned();
            let app = app.clone();
            async move {
                send(
                    &app,
                    Method::PUT,
                    "/doc",
                    &[("if-match", &tag), ("accept-encoding", "gzip")],
                    Some("\"a new text, long enough for the compressor to take it\""),
                )
                .await
            }
        };
        let reply = put(&tag).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.headers);
        // The write's response carries the new version's tag, for its own coding.
        assert_eq!(
            reply.expect_header("etag"),
            "\"4-gzip\"",
            "{:?}",
            reply.headers
        );
        // The same tag again is stale now, whatever coding it names.
        assert_eq!(put(&tag).await.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(put("\"3\"").await.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            put("\"3-br\"").await.status,
            StatusCode::PRECONDITION_FAILED
        );
        // Weak tags never pass If-Match.
        assert_eq!(
            put("W/\"4-gzip\"").await.status,
            StatusCode::PRECONDITION_FAILED
        );
        // The current version's tag from an identity GET passes as well.
        assert_eq!(put("\"4\"").await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn rfc9110_13_1_2_a_304_carries_the_tag_of_the_copy_the_client_has() {
    let app = compressed();
    let gzip = get_coded(&app, "/doc", "gzip", None).await;
    // A cache holding the gzip and the identity variants sends both; the gzip client's
    // copy is the gzip one.
    let both = format!("\"3\", {}", gzip.expect_header("etag"));
    let reply = get_coded(&app, "/doc", "gzip", Some(&both)).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), "\"3-gzip\"");
    no_body(&reply);
    // Only the identity tag sent: not the tag of the representation a gzip client is
    // sent (RFC 9110 section 13.1.2), so a 200 with that one.
    let reply = get_coded(&app, "/doc", "gzip", Some("\"3\"")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("etag"), "\"3-gzip\"");
}

#[tokio::test]
async fn rfc9110_15_4_5_a_304_without_a_tag_still_loses_the_coding_and_keeps_vary() {
    let reply = fetch(
        &compressed(),
        "/dated-only",
        &[
            ("accept-encoding", "gzip"),
            ("if-modified-since", LAST_MODIFIED),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert!(!reply.has("etag"));
    assert_eq!(reply.expect_header("vary"), "accept-encoding");
    no_body(&reply);
}

#[tokio::test]
async fn rfc9110_13_1_5_if_range_is_not_mapped() {
    // A coded tag names bytes a range response never has: If-Range with it must not
    // hold, and the layer must not make it hold by mapping it back.
    let app = compressed();
    let reply = fetch(
        &app,
        "/doc",
        &[("range", "bytes=0-1"), ("if-range", "\"3-gzip\"")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

fn per_user_app() -> Router {
    routes().layer(
        ServiceBuilder::new()
            .layer(EncodingTagsLayer::new())
            .layer(CompressionLayer::new().gzip(true))
            .layer(ETagLayer::new().per_user::<Caller, _>(TagKey::new(b"layer test key"))),
    )
}

#[tokio::test]
async fn rfc9111_5_2_2_7_the_layers_per_user_tags_are_private_and_vary_on_authorization() {
    let app = per_user_app();
    let ada = fetch(&app, "/about", &[("authorization", "Bearer ada")]).await;
    assert_eq!(ada.status, StatusCode::OK);
    assert_eq!(ada.expect_header("cache-control"), "private");
    let vary: Vec<&str> = ada
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(vary.contains(&"authorization"), "{vary:?}");
    assert!(vary.contains(&"accept-encoding"), "{vary:?}");
    let tag = ada.expect_header("etag").to_owned();
    assert_ne!(tag, ETag::digest(about_text().as_bytes()).to_string());
    let again = fetch(
        &app,
        "/about",
        &[("authorization", "Bearer ada"), ("if-none-match", &tag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.expect_header("etag"), tag);
    // Bob with Ada's tag: his own 200, and his own tag.
    let bob = fetch(
        &app,
        "/about",
        &[("authorization", "Bearer bob"), ("if-none-match", &tag)],
    )
    .await;
    assert_eq!(bob.status, StatusCode::OK);
    assert_ne!(bob.expect_header("etag"), tag);
    // And through the compressor: Ada's gzip tag is hers alone too.
    let gz = fetch(
        &app,
        "/about",
        &[("authorization", "Bearer ada"), ("accept-encoding", "gzip")],
    )
    .await;
    let gz_tag = gz.expect_header("etag").to_owned();
    let headers = |who: &'static str| {
        vec![
            ("authorization", who),
            ("accept-encoding", "gzip"),
            ("if-none-match", gz_tag.as_str()),
        ]
    };
    let again = fetch(&app, "/about", &headers("Bearer ada")).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let bob = fetch(&app, "/about", &headers("Bearer bob")).await;
    assert_eq!(bob.status, StatusCode::OK);
}

#[tokio::test]
async fn the_layer_leaves_a_request_without_a_principal_unsealed() {
    let app = per_user_app();
    let anonymous = fetch(&app, "/about", &[]).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(
        anonymous.expect_header("etag"),
        ETag::digest(about_text().as_bytes()).to_string()
    );
    assert!(!anonymous.has("cache-control"));
    assert!(
        anonymous
            .headers
            .get_all("vary")
            .iter()
            .any(|v| v == HeaderValue::from_static("authorization"))
    );
}

/// RFC 9110 sections 14 and 13.1.5: a route tagged by the layer answers `Range` from the
/// 200 it tagged, and `If-Range` against that tag.
#[tokio::test]
async fn rfc9110_14_the_layer_serves_ranges() {
    let app = routes().layer(ETagLayer::new());
    let full = fetch(&app, "/about", &[]).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.expect_header("accept-ranges"), "bytes");
    let tag = full.expect_header("etag").to_owned();
    let part = fetch(
        &app,
        "/about",
        &[("range", "bytes=2-6"), ("if-range", &tag)],
    )
    .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&part.body[..], &about_text().as_bytes()[2..7]);
    assert_eq!(part.expect_header("etag"), tag);
    let stale = fetch(
        &app,
        "/about",
        &[("range", "bytes=2-6"), ("if-range", "\"old\"")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, about_text().as_bytes());
}

/// Router state a principal is read from: sessions to users, and the tag key.
#[derive(Clone)]
struct SessionState {
    key: TagKey,
    sessions: Arc<HashMap<&'static str, &'static str>>,
}

impl FromRef<SessionState> for TagKey {
    fn from_ref(state: &SessionState) -> TagKey {
        state.key.clone()
    }
}

/// The user a `Cookie` session belongs to, looked up in the router's state.
struct SessionUser(&'static str);

impl FromRequestParts<SessionState> for SessionUser {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SessionState,
    ) -> Result<Self, StatusCode> {
        let session = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .ok_or(StatusCode::UNAUTHORIZED)?;
        state
            .sessions
            .get(session)
            .map(|user| SessionUser(user))
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

impl Principal for SessionUser {
    const VARY: &'static [HeaderName] = &[header::COOKIE];

    fn id(&self) -> impl AsRef<[u8]> {
        self.0
    }
}

fn session_app() -> Router {
    let state = SessionState {
        key: TagKey::new(b"session test key"),
        sessions: Arc::new(HashMap::from([
            ("session=a1", "ada"),
            ("session=a2", "ada"),
            ("session=b1", "bob"),
        ])),
    };
    Router::new()
        .route("/about", get(about))
        .layer(ETagLayer::new().per_user::<SessionUser, _>(state.clone()))
        .with_state(state)
}

/// RFC 9110 section 8.8.3 and RFC 9111 section 5.2.2.7: the layer takes a principal whose
/// extractor reads the router's state, and the key from that state, as
/// `#[etag(per_user = ...)]` does.
#[tokio::test]
async fn rfc9110_8_8_3_the_layers_principal_may_read_the_router_state() {
    let app = session_app();
    let ada = fetch(&app, "/about", &[("cookie", "session=a1")]).await;
    assert_eq!(ada.status, StatusCode::OK);
    assert_eq!(ada.expect_header("cache-control"), "private");
    assert_eq!(ada.expect_header("vary"), "cookie");
    let tag = ada.expect_header("etag").to_owned();
    assert_ne!(tag, ETag::digest(about_text().as_bytes()).to_string());
    // The id comes from the state: Ada's other session gets the same tag, and it
    // revalidates there.
    let other = fetch(&app, "/about", &[("cookie", "session=a2")]).await;
    assert_eq!(other.expect_header("etag"), tag);
    let again = fetch(
        &app,
        "/about",
        &[("cookie", "session=a2"), ("if-none-match", &tag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.expect_header("etag"), tag);
    // Bob with Ada's tag: his own 200 and his own tag.
    let bob = fetch(
        &app,
        "/about",
        &[("cookie", "session=b1"), ("if-none-match", &tag)],
    )
    .await;
    assert_eq!(bob.status, StatusCode::OK);
    assert_ne!(bob.expect_header("etag"), tag);
    // A session the state does not know: no principal, nothing sealed.
    let unknown = fetch(&app, "/about", &[("cookie", "session=zz")]).await;
    assert_eq!(
        unknown.expect_header("etag"),
        ETag::digest(about_text().as_bytes()).to_string()
    );
    assert!(!unknown.has("cache-control"));
    assert_eq!(unknown.expect_header("vary"), "cookie");
}
