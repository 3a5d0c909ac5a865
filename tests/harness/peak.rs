//! A child process's peak resident set, exactly, from the kernel's accounting.
//!
//! Two easier ways give wrong answers:
//!
//! - `wait4`'s `ru_maxrss` of a child of a test or bench process: Linux carries a process's peak
//!   RSS across `exec`, and a child that `std::process::Command` spawns (with `vfork`) starts from
//!   its parent's peak, so the figure says more about the parent than about the child.
//! - Sampling `VmHWM` in `/proc/<pid>/status` while the child runs: a child that exits before the
//!   first sample has no figure at all (a loaded CI runner left one unsampled), and one that
//!   peaks between samples is under-reported.
//!
//! So the child runs under a small waiter process of its own, [`waiter_main`] (the `measure`
//! subcommand of `cfimap-testbed` and `cfimap-bench`). Its children start from its own small
//! peak; it spawns the program with its own stdio, reaps it with `wait4`, and writes a
//! [`Report`] to a file. The peak reported is the larger of the child's and the waiter's at the
//! spawn (a few MiB; no product process is that small).

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// What the waiter saw of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Spawn to exit, as the waiter saw it.
    pub wall: Duration,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub peak_rss_kib: u64,
    /// The raw wait status (`WIFEXITED`, `WTERMSIG` and the like read it).
    pub status: i32,
}

impl Report {
    /// The exit code, or `None` if a signal ended the child.
    pub fn code(&self) -> Option<i32> {
        libc::WIFEXITED(self.status).then(|| libc::WEXITSTATUS(self.status))
    }

    /// Reads the report a waiter wrote to `path`.
    pub fn read(path: &std::path::Path) -> Result<Report, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("the waiter's report {}: {e}", path.display()))?;
        Report::parse(&text).ok_or_else(|| format!("unreadable waiter's report {text:?}"))
    }

    fn parse(text: &str) -> Option<Report> {
        let mut fields = text.split_whitespace();
        let wall = Duration::from_nanos(fields.next()?.parse().ok()?);
        let peak_rss_kib = fields.next()?.parse().ok()?;
        let status = fields.next()?.parse().ok()?;
        fields.next().is_none().then_some(Report {
            wall,
            peak_rss_kib,
            status,
        })
    }

    fn render(&self) -> String {
        format!(
            "{} {} {}",
            self.wall.as_nanos(),
            self.peak_rss_kib,
            self.status
        )
    }
}

/// `<waiter> measure REPORT PROGRAM [ARGS...]`: runs the program with this process's stdio,
/// environment and process group, writes its [`Report`] to REPORT, and exits as a shell would
/// report it: the program's exit code, 128 + the signal that ended it, 127 if it could not be
/// started, 1 (and no report) if waiting for it failed.
pub fn waiter_main(args: &[String]) -> ExitCode {
    let [report, program, rest @ ..] = args else {
        eprintln!("usage: measure REPORT PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let child = match Command::new(program).args(rest).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("cannot start {program}: {e}");
            return ExitCode::from(127);
        }
    };
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        eprintln!("process id {} out of range", child.id());
        return ExitCode::from(1);
    };
    let mut status = 0;
    // SAFETY: all-zero is a valid `rusage`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet reaped (`child` is never waited on).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    drop(child);
    if reaped != pid {
        eprintln!("wait4 failed: {}", std::io::Error::last_os_error());
        return ExitCode::from(1);
    }
    let measured = Report {
        wall,
        // Linux reports kilobytes.
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        status,
    };
    if let Err(e) = std::fs::write(report, measured.render()) {
        eprintln!("cannot write {report}: {e}");
        return ExitCode::from(1);
    }
    let code = match measured.code() {
        Some(code) => code,
        None if libc::WIFSIGNALED(status) => 128 + libc::WTERMSIG(status),
        None => 1,
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_back_as_written_and_nothing_else_reads() {
        let report = Report {
            wall: Duration::from_nanos(12_345),
            peak_rss_kib: 20_480,
            status: 3 << 8,
        };
        assert_eq!(Report::parse(&report.render()), Some(report));
        assert_eq!(report.code(), Some(3));
        for bad in ["", "1 2", "1 2 3 4", "1 x 3", "-1 2 3"] {
            assert_eq!(Report::parse(bad), None, "{bad:?}");
        }
    }
}
