//! The table, the JSON lines and BENCHMARKS.md with its chart.

use std::fmt::Write as _;

use crate::harness::Comparison;

/// What a figure aims for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Goal {
    AtMost(f64),
    AtLeast(f64),
    /// Shown for context; no goal.
    Info,
}

impl Goal {
    fn met(self, value: f64) -> Option<bool> {
        match self {
            Self::AtMost(g) => Some(value <= g),
            Self::AtLeast(g) => Some(value >= g),
            Self::Info => None,
        }
    }

    fn describe(self) -> String {
        match self {
            Self::AtMost(g) => format!("≤ {g}"),
            Self::AtLeast(g) => format!("≥ {g}"),
            Self::Info => "–".into(),
        }
    }
}

/// One result.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) value: f64,
    pub(crate) unit: String,
    pub(crate) baseline: String,
    pub(crate) goal: Goal,
}

impl Figure {
    pub(crate) fn ratio(name: &str, c: Comparison, baseline: &str, goal: Goal) -> Self {
        Self {
            name: name.into(),
            value: c.ratio,
            unit: "ratio".into(),
            baseline: format!(
                "{baseline} ({:.1} µs vs {:.1} µs per request)",
                c.candidate_ns / 1e3,
                c.baseline_ns / 1e3
            ),
            goal,
        }
    }

    fn verdict(&self) -> &'static str {
        match self.goal.met(self.value) {
            Some(true) => "met",
            Some(false) => "missed",
            None => "",
        }
    }
}

pub(crate) fn json_line(f: &Figure) -> String {
    serde_json::json!({
        "name": f.name,
        "value": f.value,
        "unit": f.unit,
        "baseline": f.baseline,
    })
    .to_string()
}

pub(crate) fn table(figures: &[Figure]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | value | unit | goal | verdict | baseline |"
    );
    let _ = writeln!(out, "|---|---:|---|---|---|---|");
    for f in figures {
        let _ = writeln!(
            out,
            "| `{}` | {:.3} | {} | {} | {} | {} |",
            f.name,
            f.value,
            f.unit,
            f.goal.describe(),
            f.verdict(),
            f.baseline
        );
    }
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown date".into())
}

/// A bar chart of every ratio against its goal, as SVG: bars grow from 1 (the baseline)
/// on a log scale, so that "ten times cheaper" and "ten times faster" read alike.
pub(crate) fn chart(figures: &[Figure]) -> Result<String, String> {
    use plotters::prelude::*;
    const LOW: f64 = 1e-4;
    const HIGH: f64 = 200.0;
    let ratios: Vec<&Figure> = figures.iter().filter(|f| f.unit == "ratio").collect();
    let n = i32::try_from(ratios.len()).map_err(|e| e.to_string())?;
    let clamp = |v: f64| v.clamp(LOW, HIGH);
    let mut svg = String::new();
    {
        let height = 80 + 26 * ratios.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "each scenario against its same-run baseline (black bar: the goal)",
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(240)
            .build_cartesian_2d((LOW..HIGH).log_scale(), (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        // Row 0 is at the bottom: list the figures top-down.
        let name = |row: i32| {
            usize::try_from(n - 1 - row)
                .ok()
                .and_then(|i| ratios.get(i))
                .map(|f| f.name.clone())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(ratios.len())
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(row) => name(*row),
                _ => String::new(),
            })
            .x_desc("ratio, log scale (1 = the baseline)")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, f) in ratios.iter().enumerate() {
            let row = n - 1 - i32::try_from(i).map_err(|e| e.to_string())?;
            let color = match f.goal.met(f.value) {
                Some(true) => GREEN.mix(0.7),
                Some(false) => RED.mix(0.7),
                None => BLUE.mix(0.5),
            };
            let mut bar = Rectangle::new(
                [
                    (1.0, SegmentValue::Exact(row)),
                    (clamp(f.value), SegmentValue::Exact(row + 1)),
                ],
                color.filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            chart
                .draw_series(std::iter::once(bar))
                .map_err(|e| e.to_string())?;
            if let Goal::AtMost(g) | Goal::AtLeast(g) = f.goal {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![
                            (clamp(g), SegmentValue::Exact(row)),
                            (clamp(g), SegmentValue::Exact(row + 1)),
                        ],
                        BLACK.stroke_width(3),
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

pub(crate) fn markdown(figures: &[Figure], notes: &[String], command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `{command}` on {} ({}). Every value is a ratio against a baseline measured in the same run (median of interleaved rounds), or a count; absolute times are shown only for context, since a shared 2-core machine makes them noise.\n",
        today(),
        machine()
    );
    let _ = writeln!(
        out,
        "How to read it: in-process scenarios send requests through a real `axum::Router` with `oneshot` on one thread; each figure is the median of 21 interleaved rounds of about 40 ms per side. Figures whose requests take about a microsecond (the 304 paths, `parse_eval_1`) move by roughly ±10% from run to run here, so a value within that band of 1 means \"about equal\". The `_e2e` figures run the example binary (in-memory SQLite) under `wrk -t1 -c16` on loopback, three alternating 3-second rounds per path, server and load generator sharing the two cores; the list is `/products?limit=1000`, one page of 1,000 rows. The `vs_go_` figures put the same binary against a Go peer (`bench/go-peer`: net/http `ServeContent`, database/sql and mattn/go-sqlite3 on in-memory SQLite with one connection, the same 1,000 rows), built from Debian's packaged sources, in alternating rounds. The `callgrind_` figures count instructions per request under valgrind (the difference of two runs of n and n + k requests, over k), which repeat to within a few instructions. The `pg_` figures run the same binary on a PostgreSQL database of the run's own on this machine, beside it on a SQLite file, in the same interleaved rounds; `pg_*_three_behind_nginx_vs_one` puts nginx with `deploy/nginx/balancer.conf` in front of three processes and compares the 304 path with one process alone. wrk, nginx, the processes and PostgreSQL all share the two cores, so three processes cannot serve more than one here: that figure shows what the extra hop costs on this machine, not what more machines would gain. The `varnish_` figures put Varnish with deploy/varnish/default.vcl in front of the binary in cache mode. The `wait_` figures hold conditional GETs with `Prefer: wait` on the binary: the wake latency runs from a PUT's response to the held GET's 200 (negative when the waiter was answered first, which across processes happens since the writer notifies before it answers), in one process and between two processes on one PostgreSQL database; then 10,000 held requests on one process (the server's resident memory per waiter, `/health` while they wait, and one write waking all of them); then clients that wait against clients that poll once a second, for the same changes.\n"
    );
    let _ = writeln!(out, "![ratios against their goals](benchmarks.svg)\n");
    out.push_str(&table(figures));
    if !notes.is_empty() {
        let _ = writeln!(out);
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(name: &str, value: f64, goal: Goal) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit: "ratio".into(),
            baseline: "b".into(),
            goal,
        }
    }

    #[test]
    fn chart_names_every_ratio_and_survives_extremes() {
        let figures = [
            figure("tiny", 0.0, Goal::AtMost(0.5)),
            figure("huge", 1e9, Goal::AtLeast(5.0)),
            figure("info", 1.1, Goal::Info),
        ];
        let svg = chart(&figures).unwrap();
        assert!(svg.starts_with("<svg"));
        for f in &figures {
            assert!(svg.contains(&f.name), "{}", f.name);
        }
    }

    #[test]
    fn verdicts_follow_goals() {
        assert_eq!(figure("a", 1.0, Goal::AtMost(1.0)).verdict(), "met");
        assert_eq!(figure("a", 1.01, Goal::AtMost(1.0)).verdict(), "missed");
        assert_eq!(figure("a", 4.9, Goal::AtLeast(5.0)).verdict(), "missed");
        assert_eq!(figure("a", 4.9, Goal::Info).verdict(), "");
        let line: serde_json::Value =
            serde_json::from_str(&json_line(&figure("a", 0.5, Goal::Info))).unwrap();
        assert_eq!(line["name"], "a");
        assert_eq!(line["value"], 0.5);
        assert_eq!(line["unit"], "ratio");
        assert_eq!(line["baseline"], "b");
    }
}
