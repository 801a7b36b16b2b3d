//! Instruction counts under valgrind's callgrind, for the in-process paths: on a shared
//! machine they hold still where times move by 10%.
//!
//! The command runs itself under `valgrind --tool=callgrind` twice per path, sending `n`
//! and `n + k` requests after the same set-up; the difference over `k` is the count of one
//! request, set-up and start-up cancelled out.

use std::process::Command;

use axum::http::HeaderValue;

use crate::report::{Figure, Goal};

/// The argument that makes the command a callgrind child: `--callgrind-child URI TAG N`.
pub(crate) const CHILD: &str = "--callgrind-child";

/// In the child: the set-up, then `n` requests to `uri` with `If-None-Match: tag` (`-`
/// for none).
pub(crate) fn child(args: &[String]) -> Result<(), String> {
    let [uri, tag, n] = args else {
        return Err(format!("usage: {CHILD} URI TAG N"));
    };
    let n: u64 = n.parse().map_err(|e| format!("N: {e}"))?;
    let tag = match tag.as_str() {
        "-" => None,
        t => Some(HeaderValue::from_str(t).map_err(|e| format!("TAG: {e}"))?),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // Not a request: `If-None-Match` parsed and evaluated, by the crate or by `headers`.
    if let Some(which) = uri.strip_prefix(PARSE_EVAL) {
        let ours = which == "ours";
        // One first, as for the requests.
        crate::scenarios::parse_eval_once(ours);
        for _ in 0..n {
            crate::scenarios::parse_eval_once(ours);
        }
        return Ok(());
    }
    let app = crate::scenarios::router();
    rt.block_on(async {
        // One request first, so that lazily built state is built in both runs.
        crate::scenarios::call(&app, uri, tag.as_ref()).await;
        for _ in 0..n {
            crate::scenarios::call(&app, uri, tag.as_ref()).await;
        }
    });
    Ok(())
}

/// The child's "URI" for one-member `If-None-Match` parsing and evaluation:
/// `parse-eval:ours` or `parse-eval:headers`.
const PARSE_EVAL: &str = "parse-eval:";

/// Instructions of a whole child run.
fn instructions(uri: &str, tag: Option<&str>, n: u64) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args([CHILD, uri, tag.unwrap_or("-"), &n.to_string()])
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "valgrind run of {uri} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|line| {
            let (_, count) = line.split_once("Collected :")?;
            count.trim().parse().ok()
        })
        .ok_or_else(|| format!("no instruction count from valgrind for {uri}"))
}

/// Instructions of one request to `uri`.
fn per_request(uri: &str, tag: Option<&str>, k: u64) -> Result<f64, String> {
    let base = instructions(uri, tag, 1)?;
    let more = instructions(uri, tag, 1 + k)?;
    Ok(more.saturating_sub(base) as f64 / k as f64)
}

/// A request: its URI and its `If-None-Match`, if any.
type Request<'a> = (&'a str, Option<&'a str>);

/// Whether valgrind can be run here.
pub(crate) fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The callgrind figures; `tags` are the current tags of the product and the small list.
pub(crate) fn run(
    item_tag: &str,
    small_tag: &str,
    hand_tag: &str,
    figures: &mut Vec<Figure>,
) -> Result<(), String> {
    let paths: [(&str, Request<'_>, Request<'_>, u64, Goal); 5] = [
        (
            "callgrind_200_vs_plain",
            ("/item/plain", None),
            ("/item/etag", None),
            50,
            Goal::AtMost(1.0),
        ),
        (
            "callgrind_304_vs_floor",
            ("/floor", Some("\"7\"")),
            ("/item/etag", Some(item_tag)),
            200,
            Goal::AtMost(1.15),
        ),
        (
            "callgrind_list_304_vs_hand_written",
            ("/small/hand", Some(hand_tag)),
            ("/small/etag", Some(small_tag)),
            50,
            Goal::AtMost(3.0),
        ),
        (
            "callgrind_list_200_vs_plain",
            ("/small/plain", None),
            ("/small/etag", None),
            10,
            Goal::AtMost(1.03),
        ),
        (
            "callgrind_parse_eval_1_vs_headers",
            ("parse-eval:headers", None),
            ("parse-eval:ours", None),
            1_000,
            Goal::AtMost(1.0),
        ),
    ];
    for (name, (base_uri, base_tag), (uri, tag), k, goal) in paths {
        let base = per_request(base_uri, base_tag, k)?;
        let ours = per_request(uri, tag, k)?;
        figures.push(Figure {
            name: name.into(),
            value: ours / base,
            unit: "instructions ratio".into(),
            baseline: format!(
                "{base_uri}: {base:.0} instructions per request; ours {ours:.0} (valgrind --tool=callgrind)"
            ),
            goal,
        });
    }
    Ok(())
}
