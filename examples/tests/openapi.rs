//! `GET /openapi.json` of the `products` binary, started as a real process: an OpenAPI 3.1
//! document of every route, with the conditional requests of the `#[etag]` routes where
//! they belong and nowhere else; `products --openapi` prints the same document.

mod common;

use reqwest::Method;
use serde_json::Value;
use tokio::process::Command;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{HttpMethod, OpenApi, RefOr};

use common::*;

/// Every route the API serves, as (method, path) in the document.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("get", "/products"),
    ("post", "/products"),
    ("get", "/products/{id}"),
    ("put", "/products/{id}"),
    ("patch", "/products/{id}"),
    ("delete", "/products/{id}"),
    ("get", "/products.csv"),
    ("get", "/me/favorites"),
    ("put", "/me/favorites"),
];

async fn document(server: &Server) -> (Value, OpenApi) {
    let reply = send(server.get("/openapi.json")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    // A plain route behind `ETagLayer`: tagged by its body.
    assert!(reply.header("etag").is_some());
    let value: Value = serde_json::from_str(&reply.body).expect("JSON");
    // utoipa's own types read it back, and write it as they read it.
    let doc: OpenApi = serde_json::from_str(&reply.body).expect("an OpenAPI document");
    assert_eq!(serde_json::to_value(&doc).unwrap(), value);
    (value, doc)
}

fn op(doc: &OpenApi, path: &str, method: HttpMethod) -> Operation {
    doc.paths
        .get_path_operation(path, method)
        .unwrap_or_else(|| panic!("{path} is documented"))
        .clone()
}

fn params(op: &Operation) -> Vec<String> {
    op.parameters
        .iter()
        .flatten()
        .map(|p| match p {
            RefOr::T(p) => p.name.clone(),
            RefOr::Ref(r) => panic!("a parameter by reference: {}", r.ref_location),
        })
        .collect()
}

fn statuses(op: &Operation) -> Vec<String> {
    op.responses.responses.keys().cloned().collect()
}

fn response(op: &Operation, status: &str) -> utoipa::openapi::Response {
    match op.responses.responses.get(status) {
        Some(RefOr::T(response)) => response.clone(),
        Some(RefOr::Ref(r)) => panic!("{status} is a reference to {}", r.ref_location),
        None => panic!("no {status}"),
    }
}

fn headers(op: &Operation, status: &str) -> Vec<String> {
    response(op, status).headers.keys().cloned().collect()
}

/// What a `$ref` names is in the document.
fn refs_resolve(value: &Value, root: &Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match inner {
                    Value::String(r) if key == "$ref" => {
                        let pointer = r.strip_prefix('#').expect("a local reference");
                        assert!(root.pointer(pointer).is_some(), "{r} resolves");
                    }
                    _ => refs_resolve(inner, root),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_resolve(v, root)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_covers_every_route() {
    let server = Server::start().await;
    let (value, _) = document(&server).await;
    assert_eq!(value["openapi"], "3.1.0");
    refs_resolve(&value, &value);
    let mut documented = Vec::new();
    for (path, item) in value["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<_> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);
    // And every documented operation is served: none falls through to the 404 of unknown
    // routes or to a 405.
    for (method, path) in ROUTES {
        let method: Method = method.to_uppercase().parse().unwrap();
        let reply = send(server.request(method.clone(), &path.replace("{id}", "1"))).await;
        assert_ne!(reply.status, 405, "{method} {path}");
        assert!(
            !reply.body.contains("There is nothing at"),
            "{method} {path}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_product_read_documents_its_validators_and_304() {
    let server = Server::start().await;
    let (_, doc) = document(&server).await;
    let get = op(&doc, "/products/{id}", HttpMethod::Get);
    let names = params(&get);
    for field in [
        "If-None-Match",
        "If-Modified-Since",
        "If-Match",
        "If-Unmodified-Since",
    ] {
        assert!(names.iter().any(|n| n == field), "{field} in {names:?}");
    }
    assert!(names.iter().any(|n| n == "id"), "the path parameter stays");
    let ok = headers(&get, "200");
    for field in ["ETag", "Last-Modified", "Cache-Control"] {
        assert!(ok.iter().any(|n| n == field), "{field} in {ok:?}");
    }
    let codes = statuses(&get);
    for status in ["200", "304", "404", "412"] {
        assert!(codes.iter().any(|s| s == status), "{status} in {codes:?}");
    }
    assert!(!codes.iter().any(|s| s == "428"), "a read never gets 428");
    let not_modified = response(&get, "304");
    assert!(not_modified.content.is_empty(), "a 304 has no body");
    assert!(not_modified.description.contains("Use it"));

    // The list: 304 too.
    let list = op(&doc, "/products", HttpMethod::Get);
    assert!(statuses(&list).iter().any(|s| s == "304"));
    assert!(params(&list).iter().any(|n| n == "If-None-Match"));
    let ok = headers(&list, "200");
    assert!(
        ok.iter().any(|n| n == "Link") && ok.iter().any(|n| n == "ETag"),
        "{ok:?}"
    );

    // The CSV export answers ranges.
    let csv = op(&doc, "/products.csv", HttpMethod::Get);
    let names = params(&csv);
    assert!(names.iter().any(|n| n == "Range") && names.iter().any(|n| n == "If-Range"));
    assert!(statuses(&csv).iter().any(|s| s == "206"));
}

#[tokio::test]
async fn a_product_write_documents_if_match_412_and_428() {
    let server = Server::start().await;
    let (value, doc) = document(&server).await;
    for (name, method) in [
        ("PUT", HttpMethod::Put),
        ("PATCH", HttpMethod::Patch),
        ("DELETE", HttpMethod::Delete),
    ] {
        let write = op(&doc, "/products/{id}", method);
        let names = params(&write);
        for field in ["If-Match", "If-None-Match", "If-Unmodified-Since"] {
            assert!(names.iter().any(|n| n == field), "{name}: {field}");
        }
        assert!(!names.iter().any(|n| n == "If-Modified-Since"), "{name}");
        for status in ["412", "428"] {
            let refused = response(&write, status);
            assert!(
                refused.content.contains_key("application/problem+json"),
                "{name} {status}"
            );
        }
        assert!(!statuses(&write).iter().any(|s| s == "304"), "{name}");
    }
    let put = &value["paths"]["/products/{id}"]["put"];
    assert_eq!(
        put["responses"]["412"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/PreconditionProblem"
    );
    let if_match = put["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "If-Match")
        .unwrap();
    assert_eq!(if_match["in"], "header");
    assert!(
        if_match["description"]
            .as_str()
            .unwrap()
            .contains("`428 Precondition Required` without")
    );
    let problem = &value["components"]["schemas"]["PreconditionProblem"];
    for field in ["type", "title", "status", "detail"] {
        assert!(problem["properties"][field].is_object(), "{field}");
    }
    assert!(
        response(&op(&doc, "/products/{id}", HttpMethod::Put), "428")
            .description
            .contains("`If-Match`")
    );

    // A create without `require_precondition`: 412, no 428.
    let post = op(&doc, "/products", HttpMethod::Post);
    let codes = statuses(&post);
    assert!(codes.iter().any(|s| s == "412") && !codes.iter().any(|s| s == "428"));

    // Per-user: Vary and Cache-Control: private.
    let favorites = op(&doc, "/me/favorites", HttpMethod::Get);
    let ok = headers(&favorites, "200");
    assert!(ok.iter().any(|n| n == "Vary"), "{ok:?}");
    let RefOr::T(ok) = &favorites.responses.responses["200"] else {
        panic!()
    };
    let RefOr::T(cc) = &ok.headers["Cache-Control"] else {
        panic!()
    };
    let cc = cc.description.as_deref().unwrap();
    assert!(cc.starts_with("`private, no-cache`"), "{cc}");
}

#[tokio::test]
async fn plain_routes_get_no_conditional_parts() {
    let server = Server::start().await;
    let (_, doc) = document(&server).await;
    for path in ["/", "/health", "/openapi.json"] {
        let plain = op(&doc, path, HttpMethod::Get);
        assert!(plain.parameters.is_none(), "{path}: no parameters");
        assert_eq!(statuses(&plain), ["200"], "{path}");
        assert!(headers(&plain, "200").is_empty(), "{path}");
    }
}

#[tokio::test]
async fn the_binary_prints_the_same_document() {
    let server = Server::start().await;
    let (served, _) = document(&server).await;
    let output = Command::new(BIN)
        .arg("--openapi")
        .output()
        .await
        .expect("run products --openapi");
    assert!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(printed, served);
}

/// The statuses the document lists for `method path`.
fn documented(doc: &OpenApi, method: &str, path: &str) -> Vec<String> {
    let method = match method {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        other => panic!("{other}"),
    };
    statuses(&op(doc, path, method))
}

/// Every refusal the server makes is a status its document lists for that operation (RFC
/// 9110 section 15: a client that knows the statuses knows what to do next): malformed JSON
/// (400), a URL no product can have (404), a body over 2 MiB (413), a body that is not
/// JSON (415), an unsatisfiable range (416), a body that trickles past the deadline (408).
#[tokio::test]
async fn every_refusal_the_server_makes_is_documented() {
    let server = Server::start_with(&[
        "--database",
        "sqlite::memory:",
        "--request-body-deadline",
        "500ms",
    ])
    .await;
    let (_, doc) = document(&server).await;
    server.create("Lamp", 12.5).await;
    let json = "application/json";
    let patch = "application/merge-patch+json";
    let huge = format!("[{}1]", "1,".repeat(1_100_000));
    let bearer = "Bearer ada";
    // (method, path, documented path, header fields, body, the status it gets)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        String,
        u16,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "POST",
            "/products",
            "/products",
            vec![("content-type", json)],
            "{".into(),
            400,
        ),
        (
            "POST",
            "/products",
            "/products",
            vec![],
            r#"{"name":"a","price":1}"#.into(),
            415,
        ),
        (
            "POST",
            "/products",
            "/products",
            vec![("content-type", json)],
            huge.clone(),
            413,
        ),
        (
            "POST",
            "/products",
            "/products",
            vec![("content-type", json)],
            r#"{"name":" ","price":1}"#.into(),
            422,
        ),
        (
            "PUT",
            "/products/1",
            "/products/{id}",
            vec![("content-type", json), ("if-match", "\"1\"")],
            "{\"name\":".into(),
            400,
        ),
        (
            "PUT",
            "/products/1",
            "/products/{id}",
            vec![("if-match", "\"1\"")],
            r#"{"name":"a","price":1}"#.into(),
            415,
        ),
        (
            "PUT",
            "/products/1",
            "/products/{id}",
            vec![("content-type", json), ("if-match", "\"1\"")],
            huge.clone(),
            413,
        ),
        (
            "PUT",
            "/products/01",
            "/products/{id}",
            vec![("content-type", json), ("if-none-match", "*")],
            r#"{"name":"a","price":1}"#.into(),
            404,
        ),
        (
            "PUT",
            "/products/9007199254740992",
            "/products/{id}",
            vec![("content-type", json), ("if-none-match", "*")],
            r#"{"name":"a","price":1}"#.into(),
            404,
        ),
        (
            "PATCH",
            "/products/1",
            "/products/{id}",
            vec![("content-type", patch), ("if-match", "\"1\"")],
            "{".into(),
            400,
        ),
        (
            "PATCH",
            "/products/1",
            "/products/{id}",
            vec![("content-type", json), ("if-match", "\"1\"")],
            "{}".into(),
            415,
        ),
        (
            "PATCH",
            "/products/1",
            "/products/{id}",
            vec![("content-type", patch), ("if-match", "\"1\"")],
            huge.clone(),
            413,
        ),
        (
            "PUT",
            "/me/favorites",
            "/me/favorites",
            vec![
                ("content-type", json),
                ("if-match", "*"),
                ("authorization", bearer),
            ],
            "[1,".into(),
            400,
        ),
        (
            "PUT",
            "/me/favorites",
            "/me/favorites",
            vec![("if-match", "*"), ("authorization", bearer)],
            "[1]".into(),
            415,
        ),
        (
            "PUT",
            "/me/favorites",
            "/me/favorites",
            vec![
                ("content-type", json),
                ("if-match", "*"),
                ("authorization", bearer),
            ],
            huge.clone(),
            413,
        ),
        (
            "PUT",
            "/me/favorites",
            "/me/favorites",
            vec![
                ("content-type", json),
                ("if-match", "*"),
                ("authorization", bearer),
            ],
            "[9007199254740992]".into(),
            422,
        ),
        (
            "GET",
            "/products?limit=1001",
            "/products",
            vec![],
            String::new(),
            400,
        ),
        (
            "GET",
            "/products",
            "/products",
            vec![("range", "bytes=100000-")],
            String::new(),
            416,
        ),
        (
            "GET",
            "/products/1",
            "/products/{id}",
            vec![("range", "bytes=100000-")],
            String::new(),
            416,
        ),
        (
            "GET",
            "/products.csv",
            "/products.csv",
            vec![("range", "bytes=100000-")],
            String::new(),
            416,
        ),
        (
            "GET",
            "/me/favorites",
            "/me/favorites",
            vec![("authorization", bearer), ("range", "bytes=100000-")],
            String::new(),
            416,
        ),
    ];
    for (method, path, template, fields, body, expected) in cases {
        let mut request = server.request(method.parse().unwrap(), path).body(body);
        for (name, value) in fields {
            request = request.header(name, value);
        }
        let reply = send(request).await;
        assert_eq!(reply.status, expected, "{method} {path}: {}", reply.body);
        let listed = documented(&doc, method, template);
        assert!(
            listed.contains(&expected.to_string()),
            "{method} {template} answers {expected}, which its document does not list: {listed:?}"
        );
    }

    // A body that trickles past the request-body deadline: 408, on every route that reads one.
    for (method, path, template, field) in [
        (
            "POST",
            "/products",
            "/products",
            "content-type: application/json",
        ),
        (
            "PUT",
            "/products/1",
            "/products/{id}",
            "content-type: application/json",
        ),
        (
            "PATCH",
            "/products/1",
            "/products/{id}",
            "content-type: application/merge-patch+json",
        ),
        (
            "PUT",
            "/me/favorites",
            "/me/favorites",
            "content-type: application/json\r\nauthorization: Bearer ada",
        ),
    ] {
        let stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nIf-Match: *\r\n{field}\r\n\
             Content-Length: 100\r\n\r\n{{"
        );
        use tokio::io::AsyncWriteExt as _;
        write.write_all(head.as_bytes()).await.unwrap();
        let trickle = tokio::spawn(async move {
            for _ in 0..50 {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                if write.write_all(b" ").await.is_err() {
                    break;
                }
            }
        });
        let answer = read_to_close(&mut read, std::time::Duration::from_secs(10)).await;
        trickle.abort();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 408 "),
            "{method} {path}: {answer}"
        );
        let listed = documented(&doc, method, template);
        assert!(
            listed.iter().any(|s| s == "408"),
            "{method} {template} answers 408, which its document does not list: {listed:?}"
        );
    }
}

/// The constraints the server enforces are in the schemas (RFC 9110 does not say this; the
/// document does): a name of 1 to 200 characters that is not blank, `limit` from 1 to 1000,
/// ids from 1 to 2^53 - 1 in the path, in `after` and in a favourites list.
#[tokio::test]
async fn the_schemas_hold_what_the_server_enforces() {
    use etag_examples::model::{Favorites, NewProduct, PageRequest};
    use etag_examples::store::{MAX_ID, MIN_ID};
    let server = Server::start().await;
    let (value, _) = document(&server).await;
    let schemas = &value["components"]["schemas"];
    for body in ["ProductFields", "ProductPatch"] {
        let name = &schemas[body]["properties"]["name"];
        assert_eq!(name["minLength"], 1, "{body}");
        assert_eq!(name["maxLength"], NewProduct::MAX_NAME_CHARS, "{body}");
        assert!(name["pattern"].is_string(), "{body}: not blank");
        let price = &schemas[body]["properties"]["price"];
        assert_eq!(price["minimum"], 0, "{body}");
        assert_eq!(price["multipleOf"], 0.01, "{body}");
        assert_eq!(schemas[body]["additionalProperties"], false, "{body}");
    }
    let list = &value["paths"]["/products"]["get"]["parameters"];
    let param = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["schema"]
            .clone()
    };
    assert_eq!(param("limit")["minimum"], 1);
    assert_eq!(param("limit")["maximum"], PageRequest::MAX_LIMIT);
    assert_eq!(param("after")["minimum"], MIN_ID);
    assert_eq!(param("after")["maximum"], MAX_ID);
    for method in ["get", "put", "patch", "delete"] {
        let id = value["paths"]["/products/{id}"][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "id")
            .unwrap()["schema"]
            .clone();
        assert_eq!(
            (&id["minimum"], &id["maximum"]),
            (&MIN_ID.into(), &MAX_ID.into()),
            "{method}"
        );
    }
    let favorites = &schemas["FavoriteIds"];
    assert_eq!(favorites["maxItems"], Favorites::MAX_IDS);
    assert_eq!(favorites["uniqueItems"], true);
    assert_eq!(favorites["items"]["minimum"], MIN_ID);
    assert_eq!(favorites["items"]["maximum"], MAX_ID);
    // And the server refuses just past each bound.
    let refused = [
        "/products?limit=0",
        "/products?limit=1001",
        "/products?after=0",
        "/products?after=9007199254740992",
    ];
    for path in refused {
        assert_eq!(send(server.get(path)).await.status, 400, "{path}");
    }
    for path in ["/products?limit=1000", "/products?after=9007199254740991"] {
        assert_eq!(send(server.get(path)).await.status, 200, "{path}");
    }
}

/// What a route documents of its validators is what it sends: `/me/favorites` (a list of
/// ids with a version and no time) sends no `Last-Modified`, so its operations list neither
/// it nor the date conditions; a product, which has a time, lists both.
#[tokio::test]
async fn documented_validators_follow_what_each_route_sends() {
    let server = Server::start().await;
    let (_, doc) = document(&server).await;
    server.create("Lamp", 12.5).await;
    for (path, template, auth) in [
        ("/products", "/products", None),
        ("/products/1", "/products/{id}", None),
        ("/products.csv", "/products.csv", None),
        ("/me/favorites", "/me/favorites", Some("Bearer ada")),
    ] {
        let mut request = server.get(path);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let reply = send(request).await;
        assert_eq!(reply.status, 200, "{path}");
        let get = op(&doc, template, HttpMethod::Get);
        let ok = headers(&get, "200");
        let names = params(&get);
        let sends = reply.header("last-modified").is_some();
        assert_eq!(
            ok.iter().any(|h| h == "Last-Modified"),
            sends,
            "{path}: {ok:?}"
        );
        for field in ["If-Modified-Since", "If-Unmodified-Since"] {
            assert_eq!(
                names.iter().any(|n| n == field),
                sends,
                "{path}: {field} in {names:?}"
            );
        }
    }
    let put = op(&doc, "/me/favorites", HttpMethod::Put);
    assert!(!params(&put).iter().any(|n| n == "If-Unmodified-Since"));
    assert!(!headers(&put, "200").iter().any(|h| h == "Last-Modified"));
}

/// RFC 9875 in the document: `Cache-Groups` on the 200 and the 304 of the product reads,
/// `Cache-Group-Invalidation` on the 2xx of the product writes, and neither on the
/// per-user list or the routes without a model.
#[tokio::test]
async fn the_cache_group_fields_are_documented_where_they_are_sent() {
    let server = Server::start().await;
    let (_, doc) = document(&server).await;
    for path in ["/products", "/products/{id}"] {
        let get = op(&doc, path, HttpMethod::Get);
        for status in ["200", "304"] {
            let fields = headers(&get, status);
            for field in ["Cache-Groups", "CDN-Cache-Control"] {
                assert!(
                    fields.iter().any(|n| n == field),
                    "{path} {status}: {fields:?}"
                );
            }
            assert!(!fields.iter().any(|n| n == "Cache-Group-Invalidation"));
        }
        let error = if path == "/products" { "400" } else { "404" };
        assert!(!headers(&get, error).iter().any(|n| n == "Cache-Groups"));
    }
    for (path, method, status) in [
        ("/products", HttpMethod::Post, "201"),
        ("/products/{id}", HttpMethod::Put, "200"),
        ("/products/{id}", HttpMethod::Put, "201"),
        ("/products/{id}", HttpMethod::Patch, "200"),
        ("/products/{id}", HttpMethod::Delete, "204"),
    ] {
        let write = op(&doc, path, method.clone());
        let fields = headers(&write, status);
        assert!(
            fields.iter().any(|n| n == "Cache-Group-Invalidation"),
            "{path} {status}: {fields:?}"
        );
        assert!(
            !headers(&write, "412")
                .iter()
                .any(|n| n.starts_with("Cache-Group"))
        );
    }
    for (path, method) in [
        ("/me/favorites", HttpMethod::Get),
        ("/me/favorites", HttpMethod::Put),
        ("/", HttpMethod::Get),
    ] {
        let plain = op(&doc, path, method);
        assert!(
            !headers(&plain, "200")
                .iter()
                .any(|n| n.starts_with("Cache-Group")),
            "{path}"
        );
    }
}
