//! `openapi::ConditionalRequests` on a real utoipa document: each `#[etag]` handler's
//! operation gets the parameters and responses its arguments and method call for, in
//! either attribute order; a plain route gets none; the document parses back as OpenAPI 3.1.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::openapi::ConditionalRequests;
use etag_runtime::{Conditions, ETag, Precondition, Validators, Versioned, WithValidators, etag};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{HttpMethod, RefOr};

#[derive(Serialize, Versioned, utoipa::ToSchema)]
struct Note {
    id: u32,
    #[version]
    version: i64,
}

/// A read, `#[utoipa::path]` first.
#[utoipa::path(get, path = "/notes/{id}", responses((status = 200, body = Note)))]
#[etag(cache_control = "no-cache")]
async fn get_note(Path(id): Path<u32>) -> Json<Note> {
    Json(Note { id, version: 1 })
}

/// A write, `#[etag]` first.
#[etag(require_precondition)]
#[utoipa::path(put, path = "/notes/{id}", responses((status = 200, body = Note)))]
async fn put_note(conditions: Conditions, Path(id): Path<u32>) -> Result<Json<Note>, Precondition> {
    conditions.evaluate(Some(&Note { id, version: 1 }.validators()))?;
    Ok(Json(Note { id, version: 2 }))
}

/// A strict write with its own 428 documented: that one is kept.
#[utoipa::path(
    delete,
    path = "/notes/{id}",
    responses((status = 204), (status = 428, description = "mine"))
)]
#[etag(require_entity_tag)]
async fn delete_note() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// A create without `require_precondition`.
#[utoipa::path(post, path = "/notes", responses((status = 201, body = Note)))]
#[etag]
async fn create_note() -> (StatusCode, Json<Note>) {
    (StatusCode::CREATED, Json(Note { id: 1, version: 1 }))
}

/// A page tagged by its body.
#[utoipa::path(get, path = "/about", responses((status = 200)))]
#[etag(hash)]
async fn about() -> Html<&'static str> {
    Html("<p>about</p>")
}

/// Not an `#[etag]` handler.
#[utoipa::path(get, path = "/health", responses((status = 200)))]
async fn health() -> &'static str {
    "ok"
}

/// A model whose time is known: it carries a `Last-Modified`.
#[derive(Serialize, Versioned, utoipa::ToSchema)]
struct Dated {
    #[version]
    version: i64,
    #[last_modified]
    #[schema(value_type = String)]
    edited: std::time::SystemTime,
}

/// A read of a model with a time.
#[utoipa::path(get, path = "/dated", responses((status = 200, body = Dated)))]
#[etag]
async fn get_dated() -> Json<Dated> {
    Json(Dated {
        version: 1,
        edited: std::time::SystemTime::UNIX_EPOCH,
    })
}

/// A list of them: a list has no `Last-Modified`, whatever its members have.
#[utoipa::path(get, path = "/dated/all", responses((status = 200, body = Vec<Dated>)))]
#[etag]
async fn list_dated() -> Json<Vec<Dated>> {
    Json(Vec::new())
}

/// Validators chosen at run time: either may be sent.
#[utoipa::path(get, path = "/checked", responses((status = 200)))]
#[etag]
async fn checked(conditions: Conditions) -> Result<WithValidators<&'static str>, Precondition> {
    let validators = Validators::new()
        .with_etag(ETag::from_version(&1_u8))
        .with_last_modified(std::time::SystemTime::UNIX_EPOCH);
    Ok(conditions.check(validators)?.respond("checked"))
}

/// In a module of its own, as handlers often are.
mod inner {
    use super::{Json, Note, etag};

    /// A read in a module.
    #[utoipa::path(get, path = "/pinned", responses((status = 200)))]
    #[etag]
    pub(super) async fn pinned_note() -> Json<Note> {
        Json(Note { id: 7, version: 3 })
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(
        get_note,
        put_note,
        delete_note,
        create_note,
        about,
        health,
        inner::pinned_note,
        get_dated,
        list_dated,
        checked
    ),
    modifiers(&ConditionalRequests)
)]
struct ApiDoc;

fn router() -> Router {
    Router::new()
        .route(
            "/notes/{id}",
            get(get_note).put(put_note).delete(delete_note),
        )
        .route("/notes", axum::routing::post(create_note))
        .route("/about", get(about))
        .route("/health", get(health))
        .route("/pinned", get(inner::pinned_note))
        .route("/dated", get(get_dated))
        .route("/dated/all", get(list_dated))
        .route("/checked", get(checked))
}

fn op(doc: &utoipa::openapi::OpenApi, path: &str, method: HttpMethod) -> Operation {
    doc.paths
        .get_path_operation(path, method)
        .unwrap_or_else(|| panic!("{path} is documented"))
        .clone()
}

/// The operation's parameters, written inline (as the modifier writes them).
fn inline(op: &Operation) -> Vec<&utoipa::openapi::path::Parameter> {
    op.parameters
        .iter()
        .flatten()
        .map(|p| match p {
            RefOr::T(p) => p,
            RefOr::Ref(r) => panic!("a parameter by reference: {}", r.ref_location),
        })
        .collect()
}

fn params(op: &Operation) -> Vec<String> {
    inline(op).into_iter().map(|p| p.name.clone()).collect()
}

fn statuses(op: &Operation) -> Vec<String> {
    op.responses.responses.keys().cloned().collect()
}

fn response(op: &Operation, status: &str) -> utoipa::openapi::Response {
    match &op.responses.responses[status] {
        RefOr::T(response) => response.clone(),
        RefOr::Ref(_) => panic!("{status} is a reference"),
    }
}

fn headers(op: &Operation, status: &str) -> Vec<String> {
    response(op, status).headers.keys().cloned().collect()
}

#[test]
fn a_read_documents_its_validators_304_and_412() {
    let doc = ApiDoc::openapi();
    let get = op(&doc, "/dated", HttpMethod::Get);
    assert_eq!(
        params(&get),
        [
            "If-None-Match",
            "If-Modified-Since",
            "If-Match",
            "If-Unmodified-Since",
            "Range",
            "If-Range"
        ]
    );
    assert_eq!(statuses(&get), ["200", "206", "304", "412", "416"]);
    assert_eq!(headers(&get, "200"), ["ETag", "Last-Modified"]);
    assert_eq!(headers(&get, "304"), ["ETag", "Last-Modified"]);
    // Validators chosen at run time: both may be sent.
    let checked = op(&doc, "/checked", HttpMethod::Get);
    assert_eq!(headers(&checked, "200"), ["ETag", "Last-Modified"]);
    assert!(params(&checked).iter().any(|p| p == "If-Modified-Since"));

    // A model with a counter alone has no time: no `Last-Modified`, and no date fields
    // to compare with one.
    let get = op(&doc, "/notes/{id}", HttpMethod::Get);
    assert_eq!(
        params(&get),
        ["If-None-Match", "If-Match", "Range", "If-Range"]
    );
    assert_eq!(statuses(&get), ["200", "206", "304", "412", "416"]);
    assert_eq!(headers(&get, "200"), ["Cache-Control", "ETag"]);
    assert_eq!(headers(&get, "304"), ["Cache-Control", "ETag"]);
    assert!(response(&get, "304").content.is_empty());
    assert!(
        response(&get, "412")
            .content
            .contains_key("application/problem+json")
    );
    // The handler's doc comment is still utoipa's summary.
    assert_eq!(
        get.summary.as_deref(),
        Some("A read, `#[utoipa::path]` first.")
    );

    let pinned = op(&doc, "/pinned", HttpMethod::Get);
    assert_eq!(statuses(&pinned), ["200", "206", "304", "412", "416"]);
}

/// What a handler documents follows from what its return type can send: a list of dated
/// models sends no `Last-Modified` (its newest member's time does not move when a member
/// is deleted), so its operation lists neither that header nor the date conditions.
#[test]
fn a_list_documents_no_last_modified_nor_date_conditions() {
    let doc = ApiDoc::openapi();
    let list = op(&doc, "/dated/all", HttpMethod::Get);
    assert_eq!(
        params(&list),
        ["If-None-Match", "If-Match", "Range", "If-Range"]
    );
    assert_eq!(headers(&list, "200"), ["ETag"]);
    assert_eq!(headers(&list, "304"), ["ETag"]);
}

/// And what the document says is what the handlers send.
#[tokio::test]
async fn the_documented_validators_are_the_ones_sent() {
    use tower::ServiceExt as _;
    let doc = ApiDoc::openapi();
    for path in ["/dated", "/dated/all", "/notes/1", "/pinned", "/checked"] {
        let request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = router().oneshot(request).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let documented = headers(
            &op(&doc, &path.replace("/1", "/{id}"), HttpMethod::Get),
            "200",
        );
        for field in ["ETag", "Last-Modified"] {
            assert_eq!(
                res.headers().contains_key(field),
                documented.iter().any(|h| h == field),
                "{path}: {field} sent as documented ({documented:?})"
            );
        }
    }
}

#[test]
fn a_write_documents_412_and_428_in_either_attribute_order() {
    let doc = ApiDoc::openapi();
    let put = op(&doc, "/notes/{id}", HttpMethod::Put);
    // `Note` has no time: `If-Unmodified-Since` would have nothing to compare with.
    assert_eq!(params(&put), ["If-Match", "If-None-Match"]);
    assert_eq!(statuses(&put), ["200", "412", "428"]);
    assert_eq!(headers(&put, "200"), ["ETag"]);
    for status in ["412", "428"] {
        let content = response(&put, status).content;
        let RefOr::T(problem) = &content["application/problem+json"] else {
            panic!("{status}: the problem content inline")
        };
        let Some(RefOr::Ref(schema)) = &problem.schema else {
            panic!("{status}: a reference to the problem schema")
        };
        assert_eq!(
            schema.ref_location,
            "#/components/schemas/PreconditionProblem"
        );
    }
    assert!(
        response(&put, "428")
            .description
            .contains("send the change with its `ETag` in `If-Match`")
    );
    assert_eq!(put.summary.as_deref(), Some("A write, `#[etag]` first."));

    let delete = op(&doc, "/notes/{id}", HttpMethod::Delete);
    assert_eq!(statuses(&delete), ["204", "412", "428"]);
    assert_eq!(response(&delete, "428").description, "mine");
    assert!(
        headers(&delete, "204").is_empty(),
        "a 204 has no validators"
    );
    let if_match = inline(&delete)[0];
    assert!(
        if_match
            .description
            .as_deref()
            .unwrap()
            .contains("`If-Unmodified-Since` alone does not count"),
        "{:?}",
        if_match.description
    );

    let post = op(&doc, "/notes", HttpMethod::Post);
    assert_eq!(statuses(&post), ["201", "412"]);
    assert_eq!(headers(&post, "201"), ["ETag"]);
}

#[test]
fn hash_mode_documents_tags_only() {
    let doc = ApiDoc::openapi();
    let about = op(&doc, "/about", HttpMethod::Get);
    assert_eq!(
        params(&about),
        ["If-None-Match", "If-Match", "Range", "If-Range"]
    );
    assert_eq!(headers(&about, "200"), ["ETag"]);
}

#[test]
fn a_plain_route_gets_nothing() {
    let doc = ApiDoc::openapi();
    let health = op(&doc, "/health", HttpMethod::Get);
    assert!(health.parameters.is_none());
    assert_eq!(statuses(&health), ["200"]);
    assert!(headers(&health, "200").is_empty());
}

#[test]
fn the_document_is_openapi_3_1_and_reads_back() {
    let doc = ApiDoc::openapi();
    let json = doc.to_pretty_json().unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["openapi"], "3.1.0");
    // utoipa's own types read it back, and write it as they read it.
    let back: utoipa::openapi::OpenApi = serde_json::from_str(&json).unwrap();
    let again: serde_json::Value = serde_json::to_value(&back).unwrap();
    assert_eq!(again, value);
    // Every reference names something the document has.
    let mut refs = Vec::new();
    collect_refs(&value, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r.strip_prefix('#').expect("a local reference");
        assert!(value.pointer(pointer).is_some(), "{r} resolves");
    }
    let schema = &value["components"]["schemas"]["PreconditionProblem"];
    assert_eq!(
        schema["required"],
        serde_json::json!(["type", "title", "status", "detail"])
    );
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match value {
                    serde_json::Value::String(r) if key == "$ref" => out.push(r.clone()),
                    _ => collect_refs(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The handlers still route and answer as `#[etag]` handlers.
#[tokio::test]
async fn the_documented_handlers_answer_as_documented() {
    use tower::ServiceExt as _;
    let send = |method: &str, uri: &str, field: &str, value: &str| {
        axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(field, value)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let res = router()
        .oneshot(send("GET", "/notes/1", "if-none-match", "\"1\""))
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let res = router()
        .oneshot(send("PUT", "/notes/1", "if-match", "\"0\""))
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    let res = router()
        .oneshot(send("PUT", "/notes/1", "if-none-match", "\"1\""))
        .await
        .unwrap();
    assert_eq!(res.status(), 428);
    let res = router()
        .oneshot(send(
            "DELETE",
            "/notes/1",
            "if-unmodified-since",
            "Sun, 06 Nov 1994 08:49:37 GMT",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), 428, "strict: a date does not count");
    let res = router()
        .oneshot(send("GET", "/health", "if-none-match", "\"1\""))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
