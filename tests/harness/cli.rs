//! Runs the product's `cfimap` binary and captures what it did.
//!
//! The binary is `$CFIMAP_BIN` if set, else `<workspace>/target/release/cfimap` (see [`binary`]; build it with
//! `make build` or `cargo build --release -p cfimap-host`). Every run has a timeout (default
//! 60 s, `CFIMAP_TEST_CLI_TIMEOUT` seconds to change it): a hung CLI is killed (with its whole
//! process group) and the test fails instead of hanging CI. The `CFIMAP_*` connection variables
//! are removed from the child's environment and `CFIMAP_CONFIG` names no file, unless a test sets
//! them, so the caller's settings cannot leak into a test.
//!
//! ```no_run
//! use cfimap_tests::cli::cfimap;
//! let out = cfimap(["listAllFolders", "--format", "json"]).args(["--server", "127.0.0.1"]).run();
//! out.assert_code(0);
//! let rows = out.json();
//! ```

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::peak::Report;

/// Path of the `cfimap` binary under test: `$CFIMAP_BIN`, else `$CARGO_TARGET_DIR/release/cfimap`
/// when that variable is set, else `<workspace>/target/release/cfimap`.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CFIMAP_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().unwrap_or(manifest);
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|p| !p.is_empty()) {
        Some(dir) => workspace.join(dir), // an absolute dir replaces the workspace path
        None => workspace.join("target"),
    };
    target.join("release").join("cfimap")
}

fn default_timeout() -> Duration {
    std::env::var("CFIMAP_TEST_CLI_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(60))
}

/// A `cfimap` invocation being prepared; see [`cfimap`].
#[derive(Debug, Clone)]
pub struct Invocation {
    program: Option<PathBuf>,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    waiter: Option<PathBuf>,
}

/// A command for `program` that none of the caller's cfimap settings reach: no `CFIMAP_*`
/// variable, and no configuration file (a missing one is no profile). For a test that drives
/// the process itself; [`Invocation::run`] starts from it too.
pub fn clean_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for var in [
        "CFIMAP_PASSWORD",
        "CFIMAP_TOKEN",
        "CFIMAP_SERVER",
        "CFIMAP_PORT",
        "CFIMAP_USERNAME",
        "CFIMAP_PROFILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CFIMAP_CONFIG", "/nonexistent/cfimap-test/config.toml");
    cmd
}

/// Starts preparing `cfimap <args>`.
pub fn cfimap<I, S>(args: I) -> Invocation
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    Invocation {
        program: None,
        args: args.into_iter().map(Into::into).collect(),
        env: Vec::new(),
        stdin: None,
        timeout: default_timeout(),
        waiter: None,
    }
}

impl Invocation {
    /// Runs `program` instead of the `cfimap` binary (for the harness's own tests and tools).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// Bytes for the child's stdin (default: no stdin, i.e. `/dev/null`).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Kills the child after `timeout` (the result then has `timed_out = true`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Measures the child's peak resident set ([`CliOutput::peak_rss_kib`]) by running it under
    /// `waiter measure`, a small process of its own (see [`crate::peak`]). The waiter is
    /// `cfimap-testbed`: `env!("CARGO_BIN_EXE_cfimap-testbed")` in an integration test.
    pub fn measure_peak_rss(mut self, waiter: impl Into<PathBuf>) -> Self {
        self.waiter = Some(waiter.into());
        self
    }

    /// Runs the binary and waits (at most the timeout). Panics if it cannot be started,
    /// saying how to build it.
    pub fn run(self) -> CliOutput {
        let bin = self.program.clone().unwrap_or_else(binary);
        let report = self.waiter.as_ref().map(|_| {
            tempfile::NamedTempFile::new()
                .unwrap_or_else(|e| panic!("a temporary file for the waiter's report: {e}"))
        });
        let mut cmd = match (&self.waiter, &report) {
            (Some(waiter), Some(report)) => {
                let mut cmd = clean_command(waiter);
                cmd.arg("measure").arg(report.path()).arg(&bin);
                cmd
            }
            _ => clean_command(&bin),
        };
        cmd.args(&self.args);
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        // Own process group, so a timeout kills whatever the child started too (the measured
        // program, under a waiter, among them).
        cmd.process_group(0);
        let started = Instant::now();
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} — build it with `make build` or `cargo build --release -p cfimap-cli`, \
                 or point CFIMAP_BIN at it",
                bin.display()
            )
        });
        if let (Some(bytes), Some(mut pipe)) = (self.stdin.clone(), child.stdin.take()) {
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let out_reader = child.stdout.take().map(|mut p| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = p.read_to_end(&mut v);
                v
            })
        });
        let err_reader = child.stderr.take().map(|mut p| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = p.read_to_end(&mut v);
                v
            })
        });
        let deadline = started + self.timeout;
        let pgid = libc::pid_t::try_from(child.id()).ok();
        let kill_group = || {
            if let Some(pgid) = pgid {
                // SAFETY: signalling the process group of our own child (see process_group(0)).
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
        };
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    kill_group();
                    let _ = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(_) => break None,
            }
        };
        let elapsed = started.elapsed();
        // Something the child started may still hold its stdout/stderr open.
        let finished = |h: &Option<std::thread::JoinHandle<Vec<u8>>>| {
            h.as_ref().is_none_or(|h| h.is_finished())
        };
        while !(finished(&out_reader) && finished(&err_reader)) {
            if Instant::now() >= deadline + Duration::from_secs(1) {
                kill_group();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let stdout = out_reader.and_then(|h| h.join().ok()).unwrap_or_default();
        let stderr = err_reader.and_then(|h| h.join().ok()).unwrap_or_default();
        let mut code = status.and_then(|s| s.code());
        let mut peak_rss_kib = None;
        if let (Some(report), false) = (&report, timed_out) {
            // The waiter's exit code folds a signal into 128 + n; the report has the truth.
            let measured = Report::read(report.path()).unwrap_or_else(|e| {
                panic!(
                    "{e}: the waiter ended with {status:?}, saying\n{}\n(if it could not start \
                     {}: build it with `make build`, or point CFIMAP_BIN at it)",
                    String::from_utf8_lossy(&stderr),
                    bin.display()
                )
            });
            code = measured.code();
            peak_rss_kib = Some(measured.peak_rss_kib);
        }
        CliOutput {
            args: redact(&self.args),
            code: if timed_out { None } else { code },
            peak_rss_kib,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            timed_out,
            elapsed,
        }
    }
}

fn redact(args: &[OsString]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide = false;
    for a in args {
        let s = a.to_string_lossy().into_owned();
        if hide {
            out.push("***".into());
            hide = false;
        } else if s == "--password" {
            hide = true;
            out.push(s);
        } else if s.starts_with("--password=") {
            out.push("--password=***".into());
        } else {
            out.push(s);
        }
    }
    out
}

/// What a `cfimap` run did.
#[derive(Debug, Clone)]
pub struct CliOutput {
    /// The arguments (passwords replaced by `***`).
    pub args: Vec<String>,
    /// Exit code; `None` if it was killed (by the timeout or a signal).
    pub code: Option<i32>,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
    /// `true` if the timeout killed it.
    pub timed_out: bool,
    /// Wall-clock run time.
    pub elapsed: Duration,
    /// The child's peak resident set size in KiB, when the run was measured
    /// ([`Invocation::measure_peak_rss`]) and ended before the timeout.
    pub peak_rss_kib: Option<u64>,
}

impl fmt::Display for CliOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "cfimap {}", self.args.join(" "))?;
        let code = match self.code {
            Some(c) => c.to_string(),
            None if self.timed_out => format!("killed after the {:?} timeout", self.elapsed),
            None => "killed by a signal".into(),
        };
        let rss = self
            .peak_rss_kib
            .map(|k| format!(", peak RSS {:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_default();
        writeln!(f, "exit: {code} ({:?}{rss})", self.elapsed)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

impl CliOutput {
    /// Panics (showing the whole run) unless the exit code is `expected`.
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, Some(expected), "unexpected exit status\n{self}");
        self
    }

    /// Panics unless the exit code is 0.
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    /// Stdout parsed as one JSON value; panics (showing the run) if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{self}"))
    }

    /// Stdout parsed as newline-delimited JSON; panics if a line is not JSON.
    pub fn ndjson(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("line {l:?} is not JSON: {e}\n{self}"))
            })
            .collect()
    }

    /// The JSON rows (stdout must be a JSON array of objects).
    pub fn rows(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        match self.json() {
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::Object(m) => m,
                    other => panic!("row is not an object: {other}\n{self}"),
                })
                .collect(),
            other => panic!("stdout is not a JSON array: {other}\n{self}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        let args: Vec<std::ffi::OsString> = ["--password", "secret", "--password=x", "--user"]
            .iter()
            .map(Into::into)
            .collect();
        assert_eq!(
            super::redact(&args),
            ["--password", "***", "--password=***", "--user"]
        );
    }
}
