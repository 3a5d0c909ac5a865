//! Timing a whole process: wall time from spawn to exit, and its peak
//! resident set from the kernel's accounting (`wait4`'s `ru_maxrss`).
//!
//! Linux carries a process's peak RSS across `exec`, and a child spawned
//! with `vfork` (as `std::process::Command` does) starts from its parent's
//! memory: measured from the bench itself, every tool would inherit the
//! bench's own peak (the corpus, the checks). So each run goes through a
//! small process of its own (`cfimap-bench measure`, see [`measure_child`]),
//! whose children start clean; it reports the child's wall time and peak.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
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
    let reported = std::fs::read_to_string(report.path()).map_err(|e| e.to_string())?;
    let mut fields = reported.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(nanos)), Some(Ok(rss))) => Ok(Sample {
            wall: Duration::from_nanos(nanos),
            peak_rss: rss,
        }),
        _ => Err(format!("{shown}: unreadable measurement {reported:?}")),
    }
}

/// `cfimap-bench measure REPORT PROGRAM ARGS...`: runs the program with this
/// process's stdio, writes `<wall ns> <peak RSS bytes>` into REPORT, and
/// exits with the program's status.
pub fn measure_child(args: &[String]) -> ExitCode {
    let [report, program, rest @ ..] = args else {
        eprintln!("usage: cfimap-bench measure REPORT PROGRAM [ARGS...]");
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
    let pid = child.id() as libc::pid_t;
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
    // Linux reports kilobytes.
    let rss = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    if let Err(e) = std::fs::write(report, format!("{} {rss}", wall.as_nanos())) {
        eprintln!("cannot write {report}: {e}");
        return ExitCode::from(1);
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("{program} ended with wait status {status}");
        ExitCode::from(1)
    }
}
