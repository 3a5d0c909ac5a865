//! `cfimap-bench`: cfimap against its peers on the same mail, in the same run (issue 5).
//!
//! ```text
//! cfimap-bench [--smoke] [--runs N] [--out DIR] [--hold]
//! cfimap-bench floor --port P --user U [--password W] --folder F --items ITEMS
//! cfimap-bench measure REPORT PROGRAM [ARGS...]     (internal, see measure.rs)
//! ```
//!
//! Starts a private Dovecot and writes two folders of mail straight into its
//! Maildir ([`corpus`]): (a) 10,000 typical messages, (b) 2,000 messages of
//! about 25 MB with attachments and one of 15 MB. Then times whole
//! processes, each job and tool once untimed (the warm-up, which also has
//! Dovecot build its index) and then `--runs` times:
//!
//! - cfimap: getHeaderOnly of (a); getAll of (b) with an `attachmentpath`;
//!   rows as NDJSON into a file;
//! - the same jobs with Python's imaplib + email package and with IMAPClient
//!   (`bench/peers.py` at the workspace root), one `UID FETCH 1:*` each;
//! - the floor ([`floor`]): a raw socket sending the same FETCH and reading
//!   to the tagged OK, parsing nothing — run as `cfimap-bench floor`, so it
//!   is a process like the others;
//! - `cfimap --version` and `cfimap open` (connect, log in, close).
//!
//! Every run is checked: exit status 0, one NDJSON row per message, one
//! saved file per attachment; a failed check makes the exit status 1. The
//! table (median wall, peak RSS, cfimap's ratios to each tool) and the
//! issue's targets go to stdout, `<out>/results.md` and `<out>/results.json`.
//! A missed target is reported, not fatal. `--smoke` runs all of it on a
//! tiny corpus, once, without judging targets: `make test` runs it so that
//! the bench cannot rot. `--hold` times nothing: it writes the mail, prints
//! each job's commands and keeps Dovecot up until its stdin closes, for
//! profiling a job under `perf` or `valgrind`.
//!
//! The Python is `$CFIMAP_BENCH_PYTHON`, else `target/bench-venv/bin/python`
//! (made by `make bench-deps`), else `python3`; the cfimap binary is the
//! test harness's ([`cfimap_tests::cli::binary`]).

mod corpus;
mod floor;
mod measure;
mod report;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use cfimap_tests::account::Account;
use cfimap_tests::dovecot::{Dovecot, Flavor};
use serde_json::json;

use corpus::{Sizes, Written};
use measure::Sample;
use report::{Row, Verdict};

const USAGE: &str = "usage: cfimap-bench [--smoke] [--runs N] [--out DIR] [--hold]\n       \
                     cfimap-bench floor --port P --user U [--password W] --folder F --items ITEMS\n\
                     (the floor takes the password from CFIMAP_PASSWORD without --password)";

/// getHeaderOnly's FETCH items, in the order src/fetch.rs sends them.
const HEADER_ITEMS: &str = "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER] BODY";
/// getAll's FETCH items.
const ALL_ITEMS: &str = "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[]";

/// Runs of `cfimap --version` and of `cfimap open`: they are short, so more.
const STARTUP_RUNS: usize = 10;

/// The command line of a bench run.
struct Options {
    smoke: bool,
    runs: usize,
    out: PathBuf,
    /// Write the mail, print the commands, wait: no timing.
    hold: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("floor") => return floor_command(&args[1..]),
        Some("measure") => return measure::measure_child(&args[1..]),
        _ => {}
    }
    let mut smoke = false;
    let mut hold = false;
    let mut runs = None;
    let mut out = PathBuf::from("target/bench");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => smoke = true,
            "--hold" => hold = true,
            "--runs" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) if n >= 1 => runs = Some(n),
                _ => return usage(),
            },
            "--out" => match it.next() {
                Some(dir) => out = PathBuf::from(dir),
                None => return usage(),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    let options = Options {
        smoke,
        runs: runs.unwrap_or(if smoke { 1 } else { 5 }),
        out,
        hold,
    };
    match bench(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cfimap-bench: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--hold`: prints each job's cfimap and floor commands (rows to stdout,
/// attachments into `<out>/hold-files`), then waits for stdin to close.
fn hold(setup: &Setup, jobs: &[Job]) -> Result<(), String> {
    let files = setup.out.join("hold-files");
    fs::create_dir_all(&files).map_err(|e| format!("{}: {e}", files.display()))?;
    for job in jobs {
        for tool in [Tool::Cfimap, Tool::Floor] {
            let command = setup.command(tool, job, Path::new("-"), &files);
            println!("{} {}: {command:?}", job.name, tool.name());
        }
    }
    eprintln!("cfimap-bench: Dovecot is up; close stdin (Ctrl-D) to stop it");
    std::io::copy(&mut std::io::stdin(), &mut std::io::sink())
        .map_err(|e| format!("stdin: {e}"))?;
    Ok(())
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// `cfimap-bench floor ...`: prints the bytes of the FETCH answer.
fn floor_command(args: &[String]) -> ExitCode {
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let password = value("--password").or_else(|| std::env::var("CFIMAP_PASSWORD").ok());
    let (Some(port), Some(user), Some(password), Some(folder), Some(items)) = (
        value("--port").and_then(|p| p.parse().ok()),
        value("--user"),
        password,
        value("--folder"),
        value("--items"),
    ) else {
        return usage();
    };
    match floor::run(port, &user, &password, &folder, &items) {
        Ok(bytes) => {
            println!("{bytes}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cfimap-bench floor: {e}");
            ExitCode::from(1)
        }
    }
}

/// One of the two jobs.
struct Job {
    /// As shown in the table.
    name: &'static str,
    /// A short name for file names.
    slug: &'static str,
    folder: &'static str,
    /// cfimap's action.
    action: &'static str,
    /// peers.py's job.
    peer_job: &'static str,
    /// FETCH items of the floor.
    items: &'static str,
    /// What is in the folder.
    written: Written,
    /// Whether attachments are saved.
    saves: bool,
}

/// The tools, in the table's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Cfimap,
    Imaplib,
    ImapClient,
    Floor,
}

impl Tool {
    const ALL: [Tool; 4] = [Tool::Cfimap, Tool::Imaplib, Tool::ImapClient, Tool::Floor];

    fn name(self) -> &'static str {
        match self {
            Tool::Cfimap => "cfimap",
            Tool::Imaplib => "imaplib",
            Tool::ImapClient => "IMAPClient",
            Tool::Floor => "floor",
        }
    }
}

/// Where everything is.
struct Setup {
    dovecot: Dovecot,
    account: Account,
    cfimap: PathBuf,
    python: PathBuf,
    peers: PathBuf,
    bench: PathBuf,
    out: PathBuf,
}

impl Setup {
    fn port(&self) -> String {
        self.dovecot.plain_port().to_string()
    }

    /// `cfimap <action>` against the bench user, plaintext (loopback), the
    /// password in the environment as a script would pass it.
    fn cfimap(&self, action: &str) -> Command {
        let mut c = Command::new(&self.cfimap);
        c.arg(action)
            .args(["--server", self.dovecot.host(), "--port", &self.port()])
            .args(["--username", &self.account.username, "--secure", "no"])
            .env("CFIMAP_PASSWORD", &self.account.password);
        c
    }

    /// The command of `tool` for `job`: rows into `rows`, attachments into `files`.
    fn command(&self, tool: Tool, job: &Job, rows: &Path, files: &Path) -> Command {
        match tool {
            Tool::Cfimap => {
                let mut c = self.cfimap(job.action);
                c.args(["--folder", job.folder, "--format", "ndjson"]);
                if job.saves {
                    c.arg("--attachmentpath").arg(files);
                }
                c
            }
            Tool::Floor => {
                let mut c = Command::new(&self.bench);
                c.arg("floor")
                    .args(["--port", &self.port(), "--user", &self.account.username])
                    .args(["--folder", job.folder, "--items", job.items])
                    .env("CFIMAP_PASSWORD", &self.account.password);
                c
            }
            Tool::Imaplib | Tool::ImapClient => {
                let library = if tool == Tool::Imaplib {
                    "imaplib"
                } else {
                    "imapclient"
                };
                let mut c = Command::new(&self.python);
                c.arg(&self.peers)
                    .args([library, job.peer_job])
                    .args(["--host", self.dovecot.host(), "--port", &self.port()])
                    .args(["--user", &self.account.username, "--folder", job.folder])
                    .arg("--out")
                    .arg(rows)
                    .env("CFIMAP_PASSWORD", &self.account.password);
                if job.saves {
                    c.arg("--attachments").arg(files);
                }
                c
            }
        }
    }
}

/// The Python for the peers: `$CFIMAP_BENCH_PYTHON`, the venv `make
/// bench-deps` makes, or `python3`.
fn python(workspace: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("CFIMAP_BENCH_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = workspace.join("target/bench-venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

fn bench(options: &Options) -> Result<(), String> {
    let sizes = if options.smoke {
        Sizes::SMOKE
    } else {
        Sizes::FULL
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().unwrap_or(manifest);
    let python = python(workspace);
    let probe = Command::new(&python)
        .args(["-c", "import imapclient"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !probe.status.success() {
        return Err(format!(
            "{} cannot import imapclient: run `make bench-deps` (or set CFIMAP_BENCH_PYTHON)",
            python.display()
        ));
    }
    let cfimap = cfimap_tests::cli::binary();
    if !cfimap.is_file() {
        return Err(format!("{} is missing: run `make build`", cfimap.display()));
    }
    fs::create_dir_all(&options.out).map_err(|e| format!("{}: {e}", options.out.display()))?;

    let dovecot =
        Dovecot::try_start(Flavor::Default).map_err(|e| format!("cannot start Dovecot: {e}"))?;
    let account = dovecot.user();
    let home = dovecot.home(&account.username);
    // The harness has Dovecot log every session of a test user; the bench
    // must not pay for writing every byte to disk. Without the directory
    // Dovecot logs nothing (checked after the runs).
    let rawlog = home.join("rawlog");
    fs::remove_dir_all(&rawlog).map_err(|e| format!("{}: {e}", rawlog.display()))?;

    eprintln!("cfimap-bench: writing the mail …");
    let owner = dovecot.mail_owner();
    let headers = corpus::write_folder(&home, "BenchHeaders", owner, corpus::headers_folder(sizes))
        .map_err(|e| format!("cannot write folder (a): {e}"))?;
    let all = corpus::write_folder(&home, "BenchAll", owner, corpus::all_folder(sizes))
        .map_err(|e| format!("cannot write folder (b): {e}"))?;
    eprintln!(
        "cfimap-bench: (a) {} messages, {:.1} MiB; (b) {} messages, {:.1} MiB, the largest {:.1} MiB, {} attachments",
        headers.messages,
        report::mb(headers.bytes),
        all.messages,
        report::mb(all.bytes),
        report::mb(all.largest),
        all.attachments
    );

    let setup = Setup {
        dovecot,
        account,
        cfimap,
        python,
        peers: workspace.join("bench/peers.py"),
        bench: std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?,
        out: options.out.clone(),
    };
    let jobs = [
        Job {
            name: "getHeaderOnly (a)",
            slug: "headers",
            folder: "BenchHeaders",
            action: "getHeaderOnly",
            peer_job: "headers",
            items: HEADER_ITEMS,
            written: headers,
            saves: false,
        },
        Job {
            name: "getAll (b)",
            slug: "all",
            folder: "BenchAll",
            action: "getAll",
            peer_job: "all",
            items: ALL_ITEMS,
            written: all,
            saves: true,
        },
    ];

    if options.hold {
        return hold(&setup, &jobs);
    }

    let mut rows = Vec::new();
    for job in &jobs {
        for tool in Tool::ALL {
            let samples = measure_tool(&setup, tool, job, options.runs)?;
            let row = Row {
                job: job.name.into(),
                tool: tool.name().into(),
                samples,
            };
            eprintln!(
                "cfimap-bench: {} {}: {:.1} ms, {:.1} MiB",
                row.job,
                row.tool,
                report::ms(row.wall()),
                report::mb(row.peak_rss())
            );
            rows.push(row);
        }
    }
    let runs = if options.smoke { 1 } else { STARTUP_RUNS };
    let mut version = Command::new(&setup.cfimap);
    version.arg("--version");
    rows.push(Row {
        job: "start-up".into(),
        tool: "cfimap --version".into(),
        samples: repeat(&mut || measure::run(&mut version, None), runs)?,
    });
    let mut open = setup.cfimap("open");
    rows.push(Row {
        job: "start-up".into(),
        tool: "cfimap open + close".into(),
        samples: repeat(&mut || measure::run(&mut open, None), runs)?,
    });
    check_no_rawlog(&rawlog)?;

    let table = report::table(&rows);
    println!("\n{table}");
    let verdicts = if options.smoke {
        Vec::new()
    } else {
        verdicts(&rows, &all)
    };
    let verdict_text = if options.smoke {
        "Smoke run: every check passed; targets are not judged on a tiny corpus.\n".to_owned()
    } else {
        report::verdicts(&verdicts)
    };
    println!("{verdict_text}");

    let context = context(options, &jobs);
    let markdown = format!(
        "# cfimap bench{}\n\n{}, {}.\n\n\
         Corpus: (a) {} messages, {:.1} MiB; (b) {} messages, {:.1} MiB, {} attachments, the largest message {:.1} MiB.\n\
         Wall time: median of {} runs after a warm-up, spawn to exit; peak RSS: the largest of the runs (`ru_maxrss`).\n\n\
         {table}\n{verdict_text}",
        if options.smoke { " (smoke run)" } else { "" },
        context["date"].as_str().unwrap_or(""),
        context["machine"]["summary"].as_str().unwrap_or(""),
        headers.messages,
        report::mb(headers.bytes),
        all.messages,
        report::mb(all.bytes),
        all.attachments,
        report::mb(all.largest),
        options.runs
    );
    let json = report::json(&rows, &verdicts, context);
    let md_path = setup.out.join("results.md");
    let json_path = setup.out.join("results.json");
    fs::write(&md_path, markdown).map_err(|e| format!("{}: {e}", md_path.display()))?;
    let json = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    fs::write(&json_path, json + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;
    println!("written: {} and {}", md_path.display(), json_path.display());
    Ok(())
}

/// One untimed warm-up, then `runs` timed runs of `f`.
fn repeat(
    f: &mut dyn FnMut() -> Result<Sample, String>,
    runs: usize,
) -> Result<Vec<Sample>, String> {
    f()?;
    (0..runs).map(|_| f()).collect()
}

/// Times `tool` on `job`, checking every run's output.
fn measure_tool(setup: &Setup, tool: Tool, job: &Job, runs: usize) -> Result<Vec<Sample>, String> {
    let stem = format!("{}-{}", job.slug, tool.name().to_lowercase());
    let rows = setup.out.join(format!("{stem}.ndjson"));
    let files = setup.out.join(format!("{stem}-files"));
    let mut once = || -> Result<Sample, String> {
        // A fresh, empty attachment directory and no old rows for every run.
        if files.exists() {
            fs::remove_dir_all(&files).map_err(|e| format!("{}: {e}", files.display()))?;
        }
        if job.saves && tool != Tool::Floor {
            fs::create_dir_all(&files).map_err(|e| format!("{}: {e}", files.display()))?;
        }
        let _ = fs::remove_file(&rows);
        let mut command = setup.command(tool, job, &rows, &files);
        // cfimap and the floor write to stdout; the peers write --out themselves.
        let stdout = matches!(tool, Tool::Cfimap | Tool::Floor).then_some(rows.as_path());
        let sample = measure::run(&mut command, stdout)
            .map_err(|e| format!("{} {}: {e}", tool.name(), job.name))?;
        check(tool, job, &rows, &files)
            .map_err(|e| format!("{} {}: check failed: {e}", tool.name(), job.name))?;
        Ok(sample)
    };
    repeat(&mut once, runs)
}

/// The run did the job: one NDJSON row per message (each with a UID), one
/// saved file per attachment; the floor read at least the folder's bytes.
fn check(tool: Tool, job: &Job, rows: &Path, files: &Path) -> Result<(), String> {
    if tool == Tool::Floor {
        let text = fs::read_to_string(rows).map_err(|e| format!("{}: {e}", rows.display()))?;
        let bytes: u64 = text
            .trim()
            .parse()
            .map_err(|_| format!("the floor printed {text:?}, not a byte count"))?;
        let least = if job.saves { job.written.bytes } else { 0 };
        if bytes < least.max(1) {
            return Err(format!(
                "the FETCH answer had {bytes} bytes, the folder {}",
                job.written.bytes
            ));
        }
        return Ok(());
    }
    let file = fs::File::open(rows).map_err(|e| format!("{}: {e}", rows.display()))?;
    let mut count = 0;
    // Line by line: the rows of 10,000 messages need not be in memory at once.
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", rows.display()))?;
        let row: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("a line is not JSON ({e}): {line:.200}"))?;
        if row.get("UID").and_then(serde_json::Value::as_u64).is_none() {
            return Err(format!("a row without UID: {line:.200}"));
        }
        if row.get("ERROR").is_some_and(|e| !e.is_null()) {
            return Err(format!("a row with an ERROR: {line:.300}"));
        }
        count += 1;
    }
    if count != job.written.messages {
        return Err(format!(
            "{count} rows for the folder's {} messages",
            job.written.messages
        ));
    }
    if job.saves {
        let saved = fs::read_dir(files)
            .map_err(|e| format!("{}: {e}", files.display()))?
            .count();
        if saved != job.written.attachments {
            return Err(format!(
                "{saved} files saved for the folder's {} attachments",
                job.written.attachments
            ));
        }
    }
    Ok(())
}

/// Dovecot wrote no rawlog: the bench measured the server without it.
fn check_no_rawlog(rawlog: &Path) -> Result<(), String> {
    match fs::read_dir(rawlog) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", rawlog.display())),
        Ok(_) => Err(format!(
            "Dovecot made {} again: the runs were logged to disk",
            rawlog.display()
        )),
    }
}

/// The issue's targets, judged on this run.
fn verdicts(rows: &[Row], all: &Written) -> Vec<Verdict> {
    let floor_ratio = |job: &str, limit: f64| {
        let r = report::wall_ratio(rows, job, "floor").unwrap_or(f64::INFINITY);
        Verdict {
            target: format!("{job} within {limit}× the floor"),
            measured: format!("{r:.2}×"),
            met: r <= limit,
        }
    };
    let tool = |job: &str, tool: &str| rows.iter().find(|r| r.job == job && r.tool == tool);
    let rss = |job: &str| tool(job, "cfimap").map_or(u64::MAX, Row::peak_rss);
    let wall = |name: &str| tool("start-up", name).map_or(Duration::MAX, Row::wall);
    let (headers_rss, all_rss) = (rss("getHeaderOnly (a)"), rss("getAll (b)"));
    let (version, open) = (wall("cfimap --version"), wall("cfimap open + close"));
    vec![
        floor_ratio("getHeaderOnly (a)", 1.5),
        floor_ratio("getAll (b)", 2.5),
        Verdict {
            target: "getHeaderOnly (a) peak RSS under 64 MiB".into(),
            measured: format!("{:.1} MiB", report::mb(headers_rss)),
            met: headers_rss < 64 * 1024 * 1024,
        },
        Verdict {
            target: format!(
                "getAll (b) peak RSS under 3× the largest message ({:.1} MiB)",
                report::mb(3 * all.largest)
            ),
            measured: format!(
                "{:.1} MiB, {:.2}× the largest message",
                report::mb(all_rss),
                all_rss as f64 / all.largest.max(1) as f64
            ),
            met: all_rss < 3 * all.largest,
        },
        Verdict {
            target: "`cfimap --version` under 20 ms".into(),
            measured: format!("{:.1} ms", report::ms(version)),
            met: version < Duration::from_millis(20),
        },
        Verdict {
            target: "`cfimap open` + close against the local Dovecot under 30 ms".into(),
            measured: format!("{:.1} ms", report::ms(open)),
            met: open < Duration::from_millis(30),
        },
    ]
}

/// Machine, date, corpus and runs, for the result files.
fn context(options: &Options, jobs: &[Job]) -> serde_json::Value {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    json!({
        "date": date,
        "machine": {
            "nproc": nproc,
            "cpu": cpu,
            "kernel": kernel,
            "summary": format!("{nproc} CPUs ({cpu}), Linux {kernel}"),
        },
        "smoke": options.smoke,
        "runs": options.runs,
        "corpus": jobs.iter().map(|j| json!({
            "job": j.name,
            "folder": j.folder,
            "messages": j.written.messages,
            "bytes": j.written.bytes,
            "largest_bytes": j.written.largest,
            "attachments": j.written.attachments,
        })).collect::<Vec<_>>(),
    })
}
