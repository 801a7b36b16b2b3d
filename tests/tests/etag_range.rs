//! Range requests under `#[etag]` (RFC 9110 section 14), with `If-Range` (section 13.1.5).

mod common;

use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use common::{fetch, send};
use etag_runtime::header::format_http_date;
use etag_runtime::{Versioned, etag};
use serde::Serialize;

/// 100 bytes: "0123456789" ten times.
const TEXT: &str = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";

fn changed() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_079_387_500)
}

#[derive(Serialize, Versioned)]
struct Doc {
    text: &'static str,
    #[version]
    version: i64,
    #[last_modified]
    #[serde(skip)]
    at: SystemTime,
}

#[etag(cache_control = "no-cache")]
async fn doc() -> Json<Doc> {
    Json(Doc {
        text: TEXT,
        version: 4,
        at: changed(),
    })
}

#[etag(hash)]
async fn text() -> String {
    TEXT.to_owned()
}

#[etag(hash)]
async fn bytes() -> Bytes {
    Bytes::from_static(TEXT.as_bytes())
}

#[etag(hash)]
async fn vec() -> Vec<u8> {
    TEXT.as_bytes().to_vec()
}

#[etag(hash)]
async fn empty() -> &'static str {
    ""
}

fn app() -> Router {
    Router::new()
        .route("/doc", get(doc))
        .route("/text", get(text))
        .route("/bytes", get(bytes))
        .route("/vec", get(vec))
        .route("/empty", get(empty))
}

fn json() -> String {
    format!(r#"{{"text":"{TEXT}","version":4}}"#)
}

#[tokio::test]
async fn rfc9110_14_3_a_rangeable_200_says_accept_ranges() {
    for uri in ["/doc", "/text", "/bytes", "/vec"] {
        let res = fetch(&app(), uri, &[]).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        assert_eq!(res.expect_header("accept-ranges"), "bytes", "{uri}");
    }
}

#[tokio::test]
async fn rfc9110_14_2_one_range_is_a_206_with_content_range() {
    let body = TEXT.as_bytes();
    for uri in ["/text", "/bytes", "/vec"] {
        let res = fetch(&app(), uri, &[("range", "bytes=10-19")]).await;
        assert_eq!(res.status, StatusCode::PARTIAL_CONTENT, "{uri}");
        assert_eq!(res.expect_header("content-range"), "bytes 10-19/100");
        assert_eq!(&res.body[..], &body[10..20]);
        // The 206 carries the validators of the 200 (section 15.3.7).
        let full = fetch(&app(), uri, &[]).await;
        assert_eq!(res.expect_header("etag"), full.expect_header("etag"));
    }
    // Suffix and open ranges (section 14.1.2).
    let res = fetch(&app(), "/text", &[("range", "bytes=-5")]).await;
    assert_eq!(res.expect_header("content-range"), "bytes 95-99/100");
    assert_eq!(&res.body[..], b"56789");
    let res = fetch(&app(), "/text", &[("range", "bytes=98-")]).await;
    assert_eq!(res.expect_header("content-range"), "bytes 98-99/100");
    assert_eq!(&res.body[..], b"89");
    let res = fetch(&app(), "/text", &[("range", "bytes=90-5000")]).await;
    assert_eq!(res.expect_header("content-range"), "bytes 90-99/100");
}

#[tokio::test]
async fn rfc9110_15_3_7_a_json_body_is_ranged_after_one_serialization() {
    let full = json();
    let res = fetch(&app(), "/doc", &[("range", "bytes=0-7")]).await;
    assert_eq!(res.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&res.body[..], &full.as_bytes()[..8]);
    assert_eq!(
        res.expect_header("content-range"),
        format!("bytes 0-7/{}", full.len())
    );
    assert_eq!(res.expect_header("etag"), "\"4\"");
    assert_eq!(res.expect_header("cache-control"), "no-cache");
    assert_eq!(res.expect_header("content-type"), "application/json");
}

#[tokio::test]
async fn rfc9110_14_6_several_ranges_are_multipart_byteranges() {
    let res = fetch(&app(), "/text", &[("range", "bytes=0-1, 50-52, 1-3")]).await;
    assert_eq!(res.status, StatusCode::PARTIAL_CONTENT);
    let content_type = res.expect_header("content-type").to_owned();
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .expect("a multipart type");
    assert!(!res.has("content-range"));
    let body = String::from_utf8(res.body.to_vec()).unwrap();
    // Overlapping 0-1 and 1-3 are coalesced into 0-3 (section 14.2 allows it).
    let expected = format!(
        "\r\n--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-3/100\r\n\r\n0123\
         \r\n--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 50-52/100\r\n\r\n012\
         \r\n--{b}--\r\n",
        b = boundary
    );
    assert_eq!(body, expected);
}

#[tokio::test]
async fn rfc9110_15_5_17_an_unsatisfiable_range_is_416_with_the_length() {
    let res = fetch(&app(), "/text", &[("range", "bytes=100-200, -0")]).await;
    assert_eq!(res.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(res.expect_header("content-range"), "bytes */100");
    assert_eq!(
        res.expect_header("content-type"),
        "application/problem+json"
    );
}

#[tokio::test]
async fn rfc9110_14_2_an_invalid_range_is_ignored() {
    for range in [
        "bytes=5-1",
        "bytes=abc",
        "lines=0-1",
        "bytes=0-1,",
        "bytes=,0-1-",
    ] {
        let res = fetch(&app(), "/text", &[("range", range)]).await;
        if range == "bytes=0-1," {
            // An empty list element is allowed (section 5.6.1).
            assert_eq!(res.status, StatusCode::PARTIAL_CONTENT, "{range}");
            continue;
        }
        assert_eq!(res.status, StatusCode::OK, "{range}");
        assert_eq!(res.body.len(), 100, "{range}");
    }
    // Two Range lines are not one valid field: ignored.
    let res = fetch(
        &app(),
        "/text",
        &[("range", "bytes=0-1"), ("range", "bytes=2-3")],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc9110_17_15_too_many_ranges_get_the_whole_body() {
    let many = (0..40)
        .map(|i| format!("{i}-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let res = fetch(&app(), "/text", &[("range", &format!("bytes={many}"))]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body.len(), 100);
}

#[tokio::test]
async fn rfc9110_14_2_range_is_for_get_only() {
    let res = send(
        &app(),
        Method::HEAD,
        "/text",
        &[("range", "bytes=0-9")],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("accept-ranges"), "bytes");
}

#[tokio::test]
async fn an_empty_body_is_sent_whole() {
    let res = fetch(&app(), "/empty", &[("range", "bytes=-5")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.is_empty());
}

#[tokio::test]
async fn rfc9110_13_1_5_if_range_with_a_strong_tag_only() {
    let full = json();
    let lm = format_http_date(changed()).to_str().unwrap().to_owned();
    let earlier = format_http_date(changed() - Duration::from_secs(1))
        .to_str()
        .unwrap()
        .to_owned();
    let cases: [(&str, bool); 6] = [
        ("\"4\"", true),
        // A changed representation: the whole new one, not a splice of old and new.
        ("\"3\"", false),
        // A weak tag never matches (section 13.1.5).
        ("W/\"4\"", false),
        // A date is never known to be strong (section 8.8.2.2): see the test below.
        (&lm, false),
        (&earlier, false),
        ("not a validator", false),
    ];
    for (if_range, partial) in cases {
        let res = fetch(
            &app(),
            "/doc",
            &[("range", "bytes=0-3"), ("if-range", if_range)],
        )
        .await;
        if partial {
            assert_eq!(res.status, StatusCode::PARTIAL_CONTENT, "{if_range}");
            assert_eq!(&res.body[..], &full.as_bytes()[..4]);
        } else {
            assert_eq!(res.status, StatusCode::OK, "{if_range}");
            assert_eq!(res.body, full.as_bytes(), "{if_range}");
        }
    }
}

/// The version `/twice` serves: changed twice within one second.
static TWICE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

#[etag]
async fn twice() -> Json<Doc> {
    let version = TWICE.load(std::sync::atomic::Ordering::SeqCst);
    Json(Doc {
        text: if version == 1 { TEXT } else { "abcdefghij" },
        version,
        // Both versions were written within the same second: 100 ms apart.
        at: changed() + Duration::from_millis(100 * u64::try_from(version).unwrap()),
    })
}

#[tokio::test]
async fn rfc9110_13_1_5_a_date_if_range_never_resumes_onto_another_version() {
    let app = Router::new().route("/twice", get(twice));
    let first = fetch(&app, "/twice", &[("range", "bytes=0-9")]).await;
    assert_eq!(first.status, StatusCode::PARTIAL_CONTENT);
    let lm = first.headers["last-modified"].to_str().unwrap().to_owned();
    // The second write lands in the same second: the same Last-Modified, other bytes.
    TWICE.store(2, std::sync::atomic::Ordering::SeqCst);
    let whole = fetch(&app, "/twice", &[]).await;
    assert_eq!(whole.headers["last-modified"], lm.as_str());
    let resumed = fetch(&app, "/twice", &[("range", "bytes=10-"), ("if-range", &lm)]).await;
    assert_eq!(
        resumed.status,
        StatusCode::OK,
        "a 206 would splice two versions"
    );
    assert_eq!(resumed.body, whole.body);
}
