//! The validators-first read: `Conditions::check` before the expensive work, and
//! `Checked::respond` to send exactly the validators that were checked (RFC 9110
//! sections 13.1.2, 13.1.3 and 13.2.2).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use common::fetch;
use etag_runtime::{Conditions, ETag, Precondition, Validators, Versioned, WithValidators, etag};
use serde::Serialize;

/// A model whose own version disagrees with the cheap one the handler checks: the
/// response must carry the checked validators.
#[derive(Serialize, Versioned)]
struct Report {
    id: u32,
    #[version]
    own_version: i64,
}

static EXPENSIVE: AtomicUsize = AtomicUsize::new(0);

fn changed() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

#[etag(cache_control = "no-cache")]
async fn report(
    conditions: Conditions,
    Path(id): Path<u32>,
) -> Result<WithValidators<Json<Report>>, Precondition> {
    // SELECT version, updated_at FROM reports WHERE id = $1
    let current = Validators::new()
        .with_etag(ETag::from_version(&7_i64))
        .with_last_modified(changed());
    let checked = conditions.check(current)?;
    EXPENSIVE.fetch_add(1, Ordering::SeqCst);
    Ok(checked.respond(Json(Report {
        id,
        own_version: 99,
    })))
}

#[tokio::test]
async fn rfc9110_13_1_2_checked_validators_decide_and_are_sent() {
    let app = Router::new().route("/reports/{id}", get(report));

    let res = fetch(&app, "/reports/1", &[("if-none-match", "\"7\"")]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    assert_eq!(res.expect_header("etag"), "\"7\"");
    assert_eq!(res.expect_header("cache-control"), "no-cache");
    assert!(res.body.is_empty());

    // RFC 9110 section 13.1.3: If-Modified-Since at the checked Last-Modified.
    let lm = etag_runtime::header::format_http_date(changed());
    let res = fetch(
        &app,
        "/reports/1",
        &[("if-modified-since", lm.to_str().unwrap())],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        EXPENSIVE.load(Ordering::SeqCst),
        0,
        "no expensive work for a 304"
    );

    // The model's own tag ("99") is not what was checked and is never sent.
    let res = fetch(&app, "/reports/1", &[("if-none-match", "\"99\"")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("etag"), "\"7\"");
    assert_eq!(res.expect_header("last-modified"), lm.to_str().unwrap());
    assert_eq!(res.json()["own_version"], 99);
    assert_eq!(EXPENSIVE.load(Ordering::SeqCst), 1);

    // RFC 9110 section 13.2.2: a failing If-Match is 412 before the expensive work.
    let res = fetch(&app, "/reports/1", &[("if-match", "\"6\"")]).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(EXPENSIVE.load(Ordering::SeqCst), 1);
}
