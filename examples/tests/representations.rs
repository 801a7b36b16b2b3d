//! Representations of one version: byte ranges, and one strong tag per content-coding.
//!
//! Ranges and resumed downloads of the CSV export; gzip, br and identity tags that
//! revalidate, from reqwest, curl and the ETagLayer.
//!
//! The `products` binary, started as a real process on a free loopback port (an in-memory
//! database unless a test says otherwise), and driven over HTTP.

mod common;

use reqwest::Method;
use serde_json::json;
use tokio::process::Command;

use common::*;

/// `curl --range`, a resumed download (`curl -C -` with `If-Range`), and a resume across a
/// change, which must give the new whole body rather than a splice of old and new bytes
/// (RFC 9110 sections 14 and 13.1.5).
#[tokio::test]
async fn the_csv_export_serves_ranges_and_resumes_safely() {
    let server = Server::start().await;
    for i in 0..20 {
        server
            .create(&format!("Cable {i}"), 5.0 + f64::from(i))
            .await;
    }
    let full = send(server.get("/products.csv")).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    assert_eq!(full.header("content-type"), Some("text/csv; charset=utf-8"));
    let tag = full.etag().to_owned();
    let body = full.body.clone();
    assert!(body.starts_with("id,name,price,version,updated_at\r\n1,\"Cable 0\",5"));

    let dir = temp_dir();
    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-S"])
            .args(args)
            .output()
            .expect("run curl");
        (out.status.code(), out.stdout)
    };
    let url = server.url("/products.csv");

    // curl --range: exactly those bytes.
    let (code, part) = curl(&["--range", "0-34", &url]);
    assert_eq!(code, Some(0));
    assert_eq!(part, &body.as_bytes()[..35]);

    // A download cut in half, resumed with curl -C - and If-Range: the same bytes.
    let file = dir.join("export.csv");
    let file = file.to_str().unwrap();
    let half = body.len() / 2;
    std::fs::write(file, &body.as_bytes()[..half]).unwrap();
    let if_range = format!("If-Range: {tag}");
    let (code, _) = curl(&["-C", "-", "-H", &if_range, "-o", file, &url]);
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read(file).unwrap(), body.as_bytes());

    // A product changes; resuming against the old tag gets the whole new body (200), which
    // curl refuses to splice onto the old half (exit 33, "cannot resume").
    let path = "/products/3";
    let current = send(server.get(path)).await;
    let reply = send(
        server
            .request(Method::PUT, path)
            .header("if-match", current.etag())
            .json(&json!({"name": "Cable 3, longer", "price": 9.5})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    std::fs::write(file, &body.as_bytes()[..half]).unwrap();
    let (code, _) = curl(&["-C", "-", "-H", &if_range, "-o", file, &url]);
    assert_eq!(code, Some(33), "curl must not splice a changed file");
    assert_eq!(std::fs::read(file).unwrap(), &body.as_bytes()[..half]);
    let resumed = send(
        server
            .get("/products.csv")
            .header("range", format!("bytes={half}-"))
            .header("if-range", &tag),
    )
    .await;
    assert_eq!(resumed.status, 200);
    assert_ne!(resumed.etag(), tag);
    assert!(resumed.body.contains("Cable 3, longer"));
    assert_eq!(resumed.body, send(server.get("/products.csv")).await.body);

    // The product itself honours Range and If-Range too.
    let product = send(server.get(path)).await;
    let first = send(
        server
            .get(path)
            .header("range", "bytes=0-4")
            .header("if-range", product.etag()),
    )
    .await;
    assert_eq!(first.status, 206);
    assert_eq!(first.body, &product.body[..5]);
    assert_eq!(
        first.header("content-range"),
        Some(format!("bytes 0-4/{}", product.body.len()).as_str())
    );
    let stale = send(
        server
            .get(path)
            .header("range", "bytes=0-4")
            .header("if-range", current.etag()),
    )
    .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, product.body);
}

/// `GET` with `Accept-Encoding: coding` (reqwest decodes nothing here: the body stays coded).
async fn get_coded(server: &Server, path: &str, coding: &str, tag: Option<&str>) -> Reply {
    let mut request = server.get(path).header("accept-encoding", coding);
    if let Some(tag) = tag {
        request = request.header("if-none-match", tag);
    }
    send(request).await
}

/// RFC 9110 section 8.8.1: a strong tag names one byte sequence, so the gzip, br and
/// identity bodies of one version carry different strong tags; each revalidates to 304,
/// and both the 200 and the 304 say `Vary: Accept-Encoding` (sections 12.5.5, 15.4.5).
#[tokio::test]
async fn rfc9110_8_8_1_each_coding_of_the_list_has_its_own_strong_tag_that_revalidates() {
    let server = Server::start().await;
    for name in ["Lamp", "Desk", "Chair"] {
        server.create(name, 12.5).await;
    }
    let mut tags = Vec::new();
    for coding in ["identity", "gzip", "br"] {
        let reply = get_coded(&server, "/products", coding, None).await;
        assert_eq!(reply.status, 200, "{coding}");
        if coding == "identity" {
            assert!(reply.header("content-encoding").is_none());
        } else {
            assert_eq!(reply.header("content-encoding"), Some(coding));
        }
        assert_eq!(reply.header("vary"), Some("accept-encoding"), "{coding}");
        let tag = reply.etag().to_owned();
        assert!(!tag.starts_with("W/"), "strong: {tag}");
        let again = get_coded(&server, "/products", coding, Some(&tag)).await;
        assert_eq!(again.status, 304, "{coding}");
        assert_eq!(again.etag(), tag, "{coding}");
        assert_eq!(again.header("vary"), Some("accept-encoding"), "{coding}");
        assert!(again.header("content-encoding").is_none(), "{coding}");
        assert!(again.body.is_empty(), "{coding}");
        tags.push(tag);
    }
    assert_ne!(tags[0], tags[1]);
    assert_ne!(tags[0], tags[2]);
    assert_ne!(tags[1], tags[2]);
}

/// RFC 9110 section 13.1.1: a PUT whose `If-Match` carries the tag of a compressed GET of
/// the current version succeeds; once the version moved on, that tag gets 412.
#[tokio::test]
async fn rfc9110_13_1_1_if_match_takes_the_tag_of_a_compressed_get_and_refuses_a_stale_one() {
    let server = Server::start().await;
    let created = server.create("Lamp", 12.5).await;
    let path = created.header("location").expect("a Location").to_owned();
    let gzip = get_coded(&server, &path, "gzip", None).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let tag = gzip.etag().to_owned();
    assert_eq!(tag, "\"1-gzip\"");
    let put = |tag: String| {
        send(
            server
                .request(Method::PUT, &path)
                .header("if-match", tag)
                .json(&json!({ "name": "Lamp", "price": 14.0 })),
        )
    };
    let reply = put(tag.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.etag(), "\"2\"");
    put(tag).await.assert_problem(412);
    put("\"1-br\"".into()).await.assert_problem(412);
}

/// `/` has no model: `ETagLayer` tags it by the SHA-256 of its body and answers 304, in
/// each coding; the `#[etag]` routes behind the same layer keep their version tags.
#[tokio::test]
async fn the_layer_tags_the_index_and_leaves_the_etag_routes_alone() {
    let server = Server::start().await;
    let index = send(server.get("/")).await;
    assert_eq!(index.status, 200);
    let digest = etag_runtime::ETag::digest(index.body.as_bytes()).to_string();
    assert_eq!(index.etag(), digest);
    let again = send(server.get("/").header("if-none-match", &digest)).await;
    assert_eq!(again.status, 304);
    assert_eq!(again.etag(), digest);
    let gzip = get_coded(&server, "/", "gzip", None).await;
    assert_eq!(
        gzip.etag(),
        format!("{}-gzip\"", digest.trim_end_matches('"'))
    );
    let again = get_coded(&server, "/", "gzip", Some(gzip.etag())).await;
    assert_eq!(again.status, 304);

    let created = server.create("Lamp", 12.5).await;
    let path = created.header("location").expect("a Location").to_owned();
    let product = send(server.get(&path)).await;
    assert_eq!(product.etag(), "\"1\"");
    assert_eq!(product.header("cache-control"), Some("no-cache"));
    let again = send(server.get(&path).header("if-none-match", "\"1\"")).await;
    assert_eq!(again.status, 304);
}

/// RFC 9110 sections 8.8.1 and 13.1.2 through curl's own `--compressed` (when curl is
/// installed): it asks for the codings it has, gets a coded tag, and revalidates with it.
#[tokio::test]
async fn rfc9110_13_1_2_curl_compressed_revalidates_its_coded_tag() {
    let Ok(version) = Command::new("curl").arg("--version").output().await else {
        eprintln!("curl is not installed: skipped");
        return;
    };
    assert!(version.status.success());
    let server = Server::start().await;
    server.create("Lamp", 12.5).await;
    let url = server.url("/products");
    let run = |extra: Vec<String>| {
        let url = url.clone();
        async move {
            let output = Command::new("curl")
                .args(["-s", "--compressed", "-o", "/dev/null", "-D", "-"])
                .args(extra)
                .arg(url)
                .output()
                .await
                .expect("run curl");
            assert!(output.status.success());
            String::from_utf8(output.stdout).expect("ASCII headers")
        }
    };
    let head = run(Vec::new()).await;
    let field = |head: &str, name: &str| {
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no {name} in {head}"))
    };
    let coding = field(&head, "content-encoding");
    let tag = field(&head, "etag");
    assert!(tag.ends_with(&format!("-{coding}\"")), "{tag} for {coding}");
    let again = run(vec!["-H".into(), format!("If-None-Match: {tag}")]).await;
    assert!(again.starts_with("HTTP/1.1 304"), "{again}");
    assert_eq!(field(&again, "etag"), tag);
    assert_eq!(field(&again, "vary"), "accept-encoding");
}
