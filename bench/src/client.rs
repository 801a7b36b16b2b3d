//! The client side: a GET that etag-client revalidates (a 304, its stored body handed back)
//! against a plain reqwest GET of the same resource (a 200 with the whole body), both over
//! loopback to the in-process router of the other scenarios, served by `axum::serve` on
//! the same thread.

use std::time::{Duration, Instant};

use etag_client::Source;

use crate::harness::{Budget, compare};
use crate::report::{Figure, Goal};

/// One path's comparison: its name, the route, and what it serves.
const PATHS: [(&str, &str, &str); 2] = [
    (
        "client_revalidated_vs_plain_get",
        "/item/etag",
        "the 10 KB product",
    ),
    (
        "client_revalidated_vs_plain_get_list",
        "/list/etag",
        "the 1,000-product list (10 MB)",
    ),
];

pub(crate) fn run(budget: Budget, figures: &mut Vec<Figure>) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("bind a loopback port: {e}"))?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let server = rt.spawn(async move {
        let _ = axum::serve(listener, crate::scenarios::router()).await;
    });
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let client = etag_client::Client::new(http.clone());

    for (name, path, what) in PATHS {
        let url = format!("{base}{path}");
        // Check once that each side does what it is about: a 200 with the whole body, and
        // a revalidation that hands back the same body.
        let plain_body = rt.block_on(async {
            let response = http.get(&url).send().await.map_err(|e| e.to_string())?;
            if response.status() != 200 {
                return Err(format!("GET {path}: {}", response.status()));
            }
            response.bytes().await.map_err(|e| e.to_string())
        })?;
        let revalidated = rt.block_on(async {
            client.get(&url).send().await.map_err(|e| e.to_string())?;
            client.get(&url).send().await.map_err(|e| e.to_string())
        })?;
        if revalidated.source() != Source::Revalidated || revalidated.bytes() != &plain_body {
            return Err(format!(
                "GET {path} was not revalidated from the stored copy"
            ));
        }

        let plain = |iterations| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iterations {
                    if let Ok(response) = http.get(&url).send().await {
                        let _ = response.bytes().await;
                    }
                }
                start.elapsed()
            })
        };
        let conditional = |iterations| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iterations {
                    let _ = client.get(&url).send().await;
                }
                start.elapsed()
            })
        };
        let c = compare(budget, plain, conditional);
        figures.push(Figure::ratio(
            name,
            c,
            &format!(
                "a plain reqwest GET of {what}, a 200 read whole, over loopback; etag-client's GET gets a 304 and hands back its stored copy"
            ),
            Goal::AtMost(1.0),
        ));
    }
    server.abort();
    Ok(())
}
