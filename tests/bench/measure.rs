//! Timing a whole process: wall time from spawn to exit, and its peak
//! resident set from the kernel's accounting (`wait4`'s `ru_maxrss`).

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let start = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::from(err_copy))
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all-zero is a valid `rusage`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet reaped (`child` is never waited on).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    drop(child);
    if reaped != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let mut text = String::new();
        let mut stderr = stderr;
        use std::io::{Read, Seek};
        let _ = stderr.rewind();
        let _ = stderr.read_to_string(&mut text);
        return Err(format!("{shown} failed (wait status {status}): {text}"));
    }
    Ok(Sample {
        wall,
        // Linux reports kilobytes.
        peak_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}

/// The median of the walls, and the largest peak RSS, of `samples`.
pub fn summarize(samples: &[Sample]) -> Sample {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    Sample {
        wall: walls.get(walls.len() / 2).copied().unwrap_or_default(),
        peak_rss: samples.iter().map(|s| s.peak_rss).max().unwrap_or(0),
    }
}
