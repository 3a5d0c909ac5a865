//! Timing a whole process: wall time from spawn to exit, and its peak
//! resident set from the kernel's accounting (`wait4`'s `ru_maxrss`).
//!
//! Linux carries a process's peak RSS across `exec`, and a child spawned
//! with `vfork` (as `std::process::Command` does) starts from its parent's
//! memory: measured from the bench itself, every tool would inherit the
//! bench's own peak (the corpus, the checks). So each run goes through a
//! small process of its own (`cfimap-bench measure`, the harness's
//! [`cfimap_tests::peak`] waiter), whose children start clean; it reports the
//! child's wall time and peak.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use cfimap_tests::peak::Report;

/// One run of a command.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Spawn to exit.
    pub wall: Duration,
    /// Peak resident set size, in bytes.
    pub peak_rss: u64,
}

/// Runs `command` with stdout into `stdout` (or discarded) and returns its
/// sample, or what went wrong (exit status and stderr).
pub fn run(command: &mut Command, stdout: Option<&Path>) -> Result<Sample, String> {
    // What a failure names: program and arguments, never the environment (passwords).
    let shown = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = match stdout {
        Some(path) => Stdio::from(
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => Stdio::null(),
    };
    let stderr = tempfile::tempfile().map_err(|e| format!("temporary file: {e}"))?;
    let err_copy = stderr
        .try_clone()
        .map_err(|e| format!("temporary file: {e}"))?;
    let report = tempfile::NamedTempFile::new().map_err(|e| format!("temporary file: {e}"))?;
    let me = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let mut measured = Command::new(me);
    measured
        .arg("measure")
        .arg(report.path())
        .arg(command.get_program())
        .args(command.get_args())
        .envs(
            command
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::from(err_copy));
    let status = measured
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if !status.success() {
        let mut text = String::new();
        let mut stderr = stderr;
        let _ = stderr.rewind();
        let _ = stderr.read_to_string(&mut text);
        return Err(format!("{shown} failed ({status}): {text}"));
    }
    let reported = Report::read(report.path()).map_err(|e| format!("{shown}: {e}"))?;
    Ok(Sample {
        wall: reported.wall,
        peak_rss: reported.peak_rss_kib * 1024,
    })
}
