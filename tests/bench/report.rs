//! The bench's table, its verdicts on the targets, and the files
//! that keep them (`results.md`, `results.json`).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use crate::measure::Sample;

/// One measured tool on one job: every timed run.
#[derive(Debug, Clone)]
pub struct Row {
    /// The job, e.g. `getHeaderOnly (a)`.
    pub job: String,
    /// The tool, e.g. `cfimap`, `imaplib`, `IMAPClient`, `floor`.
    pub tool: String,
    /// The timed runs (the warm-up is not among them).
    pub samples: Vec<Sample>,
}

impl Row {
    /// Median wall time: robust against one run disturbed by the machine.
    pub fn wall(&self) -> Duration {
        let mut walls: Vec<Duration> = self.samples.iter().map(|s| s.wall).collect();
        walls.sort();
        match walls.len() {
            0 => Duration::ZERO,
            n if n % 2 == 1 => walls[n / 2],
            n => (walls[n / 2 - 1] + walls[n / 2]) / 2,
        }
    }

    /// The largest peak RSS of the runs: a limit has to hold for every run.
    pub fn peak_rss(&self) -> u64 {
        self.samples.iter().map(|s| s.peak_rss).max().unwrap_or(0)
    }
}

/// A target of the issue and whether this run met it.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// What is required.
    pub target: String,
    /// What was measured.
    pub measured: String,
    /// Met.
    pub met: bool,
}

/// Milliseconds of `d`.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Mebibytes of `bytes` (the unit of sizes throughout the bench).
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// cfimap's row of `job`.
fn cfimap_of<'a>(rows: &'a [Row], job: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.job == job && r.tool == "cfimap")
}

/// Wall ratio cfimap / `tool` on `job`.
pub fn wall_ratio(rows: &[Row], job: &str, tool: &str) -> Option<f64> {
    let other = rows.iter().find(|r| r.job == job && r.tool == tool)?;
    Some(ms(cfimap_of(rows, job)?.wall()) / ms(other.wall()).max(f64::MIN_POSITIVE))
}

/// Wall ratio of `tool` on job `a` to the same tool on job `b`.
pub fn wall_ratio_of(rows: &[Row], a: &str, b: &str, tool: &str) -> Option<f64> {
    let of = |job: &str| rows.iter().find(|r| r.job == job && r.tool == tool);
    Some(ms(of(a)?.wall()) / ms(of(b)?.wall()).max(f64::MIN_POSITIVE))
}

/// RSS ratio cfimap / `tool` on `job`.
pub fn rss_ratio(rows: &[Row], job: &str, tool: &str) -> Option<f64> {
    let other = rows.iter().find(|r| r.job == job && r.tool == tool)?;
    Some(cfimap_of(rows, job)?.peak_rss() as f64 / other.peak_rss().max(1) as f64)
}

/// The Markdown table: every tool of every job, with cfimap's ratios to it.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| job | tool | wall, median (ms) | peak RSS (MiB) | cfimap/tool wall | cfimap/tool RSS |\n\
         |---|---|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let ratio = |r: Option<f64>| match r {
            Some(r) if row.tool != "cfimap" => format!("{r:.2}×"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {} | {} |",
            row.job,
            row.tool,
            ms(row.wall()),
            mb(row.peak_rss()),
            ratio(wall_ratio(rows, &row.job, &row.tool)),
            ratio(rss_ratio(rows, &row.job, &row.tool)),
        );
    }
    out
}

/// The verdict lines, Markdown list items.
pub fn verdicts(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for v in verdicts {
        let _ = writeln!(
            out,
            "- {} {}: {}",
            if v.met { "PASS" } else { "MISS" },
            v.target,
            v.measured
        );
    }
    out
}

/// Everything as JSON: rows with each run, ratios, verdicts, and `context`
/// (machine, date, corpus).
pub fn json(rows: &[Row], verdicts: &[Verdict], context: serde_json::Value) -> serde_json::Value {
    json!({
        "context": context,
        "rows": rows.iter().map(|r| json!({
            "job": r.job,
            "tool": r.tool,
            "wall_ms_median": ms(r.wall()),
            "peak_rss_mib": mb(r.peak_rss()),
            "cfimap_over_tool_wall": wall_ratio(rows, &r.job, &r.tool),
            "cfimap_over_tool_rss": rss_ratio(rows, &r.job, &r.tool),
            "runs": r.samples.iter().map(|s| json!({
                "wall_ms": ms(s.wall),
                "peak_rss_kib": s.peak_rss / 1024,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "targets": verdicts.iter().map(|v| json!({
            "target": v.target,
            "measured": v.measured,
            "met": v.met,
        })).collect::<Vec<_>>(),
    })
}
