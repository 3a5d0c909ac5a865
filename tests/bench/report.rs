//! The bench's table, its verdicts on the targets, and the files
//! that keep them (`results.md`, `results.json`).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use crate::measure::Sample;

/// One measured tool on one job.
#[derive(Debug, Clone)]
pub struct Row {
    /// The job, e.g. `getHeaderOnly (a)`.
    pub job: String,
    /// The tool, e.g. `cfimap`, `imaplib`, `IMAPClient`, `floor`.
    pub tool: String,
    /// Median wall time and largest peak RSS.
    pub sample: Sample,
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The Markdown table: every tool of every job, with cfimap's ratios to it.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| job | tool | wall (ms, median) | peak RSS (MB) | cfimap / tool, wall | cfimap / tool, RSS |\n\
         |---|---|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let cfimap = rows
            .iter()
            .find(|r| r.job == row.job && r.tool == "cfimap")
            .map(|r| r.sample);
        let (wall_ratio, rss_ratio) = match cfimap {
            Some(c) if row.tool != "cfimap" => (
                format!(
                    "{:.2}×",
                    ms(c.wall) / ms(row.sample.wall).max(f64::MIN_POSITIVE)
                ),
                format!(
                    "{:.2}×",
                    c.peak_rss as f64 / (row.sample.peak_rss.max(1)) as f64
                ),
            ),
            _ => ("".into(), "".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.1} | {} | {} |",
            row.job,
            row.tool,
            ms(row.sample.wall),
            mb(row.sample.peak_rss),
            wall_ratio,
            rss_ratio
        );
    }
    out
}

/// The verdict lines.
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

/// Everything as JSON.
pub fn json(rows: &[Row], verdicts: &[Verdict], machine: &str, date: &str) -> serde_json::Value {
    json!({
        "date": date,
        "machine": machine,
        "rows": rows.iter().map(|r| json!({
            "job": r.job,
            "tool": r.tool,
            "wall_ms": ms(r.sample.wall),
            "peak_rss_bytes": r.sample.peak_rss,
        })).collect::<Vec<_>>(),
        "targets": verdicts.iter().map(|v| json!({
            "target": v.target,
            "measured": v.measured,
            "met": v.met,
        })).collect::<Vec<_>>(),
    })
}

/// Wall ratio of `tool` to `other` on `job`.
pub fn wall_ratio(rows: &[Row], job: &str, tool: &str, other: &str) -> Option<f64> {
    let find = |t: &str| rows.iter().find(|r| r.job == job && r.tool == t);
    Some(ms(find(tool)?.sample.wall) / ms(find(other)?.sample.wall))
}

/// Formats milliseconds.
pub fn fmt_ms(d: Duration) -> String {
    format!("{:.1} ms", ms(d))
}

/// Formats megabytes.
pub fn fmt_mb(bytes: u64) -> String {
    format!("{:.1} MB", mb(bytes))
}
