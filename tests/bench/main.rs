//! `cfimap-bench`: cfimap against its peers on the same mail, in the same run.
//!
//! ```text
//! cfimap-bench [--smoke] [--runs N] [--out DIR]
//! cfimap-bench floor --port P --user U --folder F --items ITEMS  (password: CFIMAP_PASSWORD)
//! ```
//!
//! Starts a private Dovecot, writes two folders of mail into it (see
//! [`corpus`]), then times whole processes, each after one untimed warm-up
//! run: cfimap's getHeaderOnly of folder (a) and getAll of folder (b) with
//! an `attachmentpath`, rows as NDJSON into a file; the same two jobs done by
//! Python's imaplib with the email package and by IMAPClient
//! (`tests/bench/peers.py`); and the floor, a raw socket that sends the same
//! FETCH and reads the answer unparsed (the `floor` subcommand, so that it is
//! a process like the others). Also `cfimap --version` and an open + close.
//!
//! Every run is checked: exit status 0, one NDJSON row per message, every
//! attachment saved. A failed check makes the exit status 1, in the smoke
//! run too (`make test` runs it on a tiny corpus so that the bench cannot
//! rot). The full run prints the table with cfimap's ratios to each peer,
//! the issue's targets met or missed, and writes `results.md` and
//! `results.json` into the output directory.

mod corpus;
mod floor;
mod measure;
mod report;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use cfimap_tests::account::Account;
use cfimap_tests::dovecot::{Dovecot, Flavor};

use corpus::{Sizes, Written};
use measure::Sample;
use report::{Row, Verdict};

const USAGE: &str = "usage: cfimap-bench [--smoke] [--runs N] [--out DIR]\n       \
                     cfimap-bench floor --port P --user U --folder F --items ITEMS  (password: CFIMAP_PASSWORD)";

/// Items of getHeaderOnly's FETCH (src/fetch.rs).
const HEADER_ITEMS: &str = "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER] BODY";
/// Items of getAll's FETCH.
const ALL_ITEMS: &str = "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[]";

/// Parsed command line of a bench run.
struct Options {
    smoke: bool,
    runs: usize,
    out: PathBuf,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("floor") {
        return floor_command(&args[1..]);
    }
    let mut options = Options {
        smoke: false,
        runs: 0,
        out: PathBuf::from("target/bench"),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => options.smoke = true,
            "--runs" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) if n >= 1 => options.runs = n,
                _ => return usage(),
            },
            "--out" => match it.next() {
                Some(dir) => options.out = PathBuf::from(dir),
                None => return usage(),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    if options.runs == 0 {
        options.runs = if options.smoke { 1 } else { 5 };
    }
    match bench(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cfimap-bench: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// `cfimap-bench floor ...`.
fn floor_command(args: &[String]) -> ExitCode {
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    let password = std::env::var("CFIMAP_PASSWORD").unwrap_or_default();
    let (Some(port), Some(user), Some(folder), Some(items)) = (
        value("--port").and_then(|p| p.parse().ok()),
        value("--user"),
        value("--folder"),
        value("--items"),
    ) else {
        return usage();
    };
    match floor::run(port, user, &password, folder, items) {
        Ok(_) => ExitCode::SUCCESS,
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
    folder: &'static str,
    /// cfimap's action.
    action: &'static str,
    /// The peers' job name.
    peer_job: &'static str,
    /// FETCH items of the floor.
    items: &'static str,
    /// What was written into the folder.
    written: Written,
    /// Whether attachments are saved.
    saves: bool,
}

/// Where everything is.
struct Setup {
    dovecot: Dovecot,
    account: Account,
    cfimap: PathBuf,
    python: String,
    peers: PathBuf,
    out: PathBuf,
}

impl Setup {
    fn port(&self) -> u16 {
        self.dovecot.plain_port()
    }

    fn cfimap(&self, action: &str) -> Command {
        let mut c = Command::new(&self.cfimap);
        c.arg(action)
            .args(["--server", "127.0.0.1", "--secure", "no"])
            .args(["--port", &self.port().to_string()])
            .args(["--username", &self.account.username])
            .env("CFIMAP_PASSWORD", &self.account.password);
        c
    }

    /// The command of `tool` for `job`, saving attachments into `files`.
    fn command(&self, tool: &str, job: &Job, files: &Path) -> Command {
        match tool {
            "cfimap" => {
                let mut c = self.cfimap(job.action);
                c.args(["--folder", job.folder, "--format", "ndjson"]);
                if job.saves {
                    c.arg("--attachmentpath").arg(files);
                }
                c
            }
            "floor" => {
                let mut c = Command::new(std::env::current_exe().unwrap_or_default());
                c.arg("floor")
                    .args(["--port", &self.port().to_string()])
                    .args(["--user", &self.account.username])
                    .args(["--folder", job.folder, "--items", job.items])
                    .env("CFIMAP_PASSWORD", &self.account.password);
                c
            }
            peer => {
                let mut c = Command::new(&self.python);
                c.arg(&self.peers)
                    .args([
                        if peer == "imaplib" {
                            "imaplib"
                        } else {
                            "imapclient"
                        },
                        job.peer_job,
                    ])
                    .args(["--port", &self.port().to_string()])
                    .args(["--user", &self.account.username, "--folder", job.folder])
                    .env("CFIMAP_PASSWORD", &self.account.password);
                if job.saves {
                    c.arg("--attachments").arg(files);
                }
                c
            }
        }
    }
}

const TOOLS: [&str; 4] = ["cfimap", "imaplib", "IMAPClient", "floor"];

fn bench(options: &Options) -> Result<(), String> {
    let sizes = if options.smoke {
        Sizes::SMOKE
    } else {
        Sizes::FULL
    };
    let dovecot =
        Dovecot::try_start(Flavor::Default).map_err(|e| format!("cannot start Dovecot: {e}"))?;
    let account = dovecot.user();
    let home = dovecot.dir().join("mail").join(&account.username);
    // The harness logs every session for the tests; the bench must not pay
    // for writing every byte to disk (Dovecot skips the rawlog without it).
    let _ = fs::remove_dir_all(home.join("rawlog"));
    fs::create_dir_all(&options.out).map_err(|e| format!("{}: {e}", options.out.display()))?;
    let setup = Setup {
        account,
        cfimap: cfimap_tests::cli::binary(),
        python: std::env::var("CFIMAP_BENCH_PYTHON").unwrap_or_else(|_| "python3".into()),
        peers: Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/peers.py"),
        out: options.out.clone(),
        dovecot,
    };

    eprintln!("cfimap-bench: writing the mail …");
    let headers = corpus::write_folder(&home, "BenchHeaders", &corpus::headers_folder(sizes))
        .map_err(|e| format!("cannot write folder (a): {e}"))?;
    let all = corpus::write_folder(&home, "BenchAll", &corpus::attachments_folder(sizes))
        .map_err(|e| format!("cannot write folder (b): {e}"))?;
    eprintln!(
        "cfimap-bench: (a) {} messages, {:.1} MB; (b) {} messages, {:.1} MB, largest {:.1} MB, {} attachments",
        headers.messages,
        headers.bytes as f64 / 1048576.0,
        all.messages,
        all.bytes as f64 / 1048576.0,
        all.largest as f64 / 1048576.0,
        all.attachments
    );
    let jobs = [
        Job {
            name: "getHeaderOnly (a)",
            folder: "BenchHeaders",
            action: "getHeaderOnly",
            peer_job: "headers",
            items: HEADER_ITEMS,
            written: headers,
            saves: false,
        },
        Job {
            name: "getAll (b)",
            folder: "BenchAll",
            action: "getAll",
            peer_job: "all",
            items: ALL_ITEMS,
            written: all,
            saves: true,
        },
    ];

    let mut rows = Vec::new();
    for job in &jobs {
        for tool in TOOLS {
            let sample = measure_tool(&setup, tool, job, options.runs)?;
            eprintln!(
                "cfimap-bench: {} {tool}: {} {}",
                job.name,
                report::fmt_ms(sample.wall),
                report::fmt_mb(sample.peak_rss)
            );
            rows.push(Row {
                job: job.name.into(),
                tool: tool.into(),
                sample,
            });
        }
    }
    let version = repeat(&mut || setup.cfimap_version(), 10)?;
    let open = repeat(&mut || setup.cfimap_open(), 10)?;
    rows.push(Row {
        job: "start-up".into(),
        tool: "cfimap --version".into(),
        sample: version,
    });
    rows.push(Row {
        job: "start-up".into(),
        tool: "cfimap open + close".into(),
        sample: open,
    });

    let table = report::table(&rows);
    println!("\n{table}");
    if options.smoke {
        println!("smoke run: every check passed (times on a tiny corpus say nothing)");
        return Ok(());
    }
    let verdicts = verdicts(&rows, &jobs[1].written, version, open);
    let verdict_text = report::verdicts(&verdicts);
    println!("{verdict_text}");
    let machine = machine();
    let date = today();
    let markdown = format!(
        "# cfimap bench, {date}\n\nMachine: {machine}.\n\
         Corpus: (a) {} messages, {:.1} MB; (b) {} messages, {:.1} MB, the largest {:.1} MB.\n\
         Wall: median of {} runs after a warm-up; RSS: the largest peak.\n\n{table}\n{verdict_text}",
        jobs[0].written.messages,
        jobs[0].written.bytes as f64 / 1048576.0,
        jobs[1].written.messages,
        jobs[1].written.bytes as f64 / 1048576.0,
        jobs[1].written.largest as f64 / 1048576.0,
        options.runs
    );
    let json = report::json(&rows, &verdicts, &machine, &date);
    fs::write(setup.out.join("results.md"), markdown).map_err(|e| e.to_string())?;
    fs::write(
        setup.out.join("results.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    println!("written: {}", setup.out.join("results.md").display());
    Ok(())
}

impl Setup {
    fn cfimap_version(&self) -> Result<Sample, String> {
        measure::run(Command::new(&self.cfimap).arg("--version"), None)
    }

    fn cfimap_open(&self) -> Result<Sample, String> {
        measure::run(&mut self.cfimap("open"), None)
    }
}

/// One warm-up, then `runs` timed runs of `f`.
fn repeat(f: &mut dyn FnMut() -> Result<Sample, String>, runs: usize) -> Result<Sample, String> {
    f()?;
    let samples = (0..runs).map(|_| f()).collect::<Result<Vec<_>, _>>()?;
    Ok(measure::summarize(&samples))
}

/// Times `tool` on `job`, checking every run's output.
fn measure_tool(setup: &Setup, tool: &str, job: &Job, runs: usize) -> Result<Sample, String> {
    let slug = format!("{}-{}", job.action, tool.to_lowercase());
    let rows_file = setup.out.join(format!("{slug}.ndjson"));
    let files = setup.out.join(format!("{slug}-files"));
    let mut once = || -> Result<Sample, String> {
        let _ = fs::remove_dir_all(&files);
        let stdout = (tool != "floor").then_some(rows_file.as_path());
        let sample = measure::run(&mut setup.command(tool, job, &files), stdout)?;
        if tool != "floor" {
            check(tool, job, &rows_file, &files)?;
        }
        Ok(sample)
    };
    repeat(&mut once, runs)
}

/// One NDJSON row per message, every attachment saved.
fn check(tool: &str, job: &Job, rows_file: &Path, files: &Path) -> Result<(), String> {
    let text = fs::read_to_string(rows_file)
        .map_err(|e| format!("{tool} {}: {}: {e}", job.name, rows_file.display()))?;
    let mut count = 0;
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("{tool} {}: a line is not JSON ({e}): {line:.200}", job.name))?;
        if row.get("UID").and_then(serde_json::Value::as_u64).is_none() {
            return Err(format!(
                "{tool} {}: a row without UID: {line:.200}",
                job.name
            ));
        }
        count += 1;
    }
    if count != job.written.messages {
        return Err(format!(
            "{tool} {}: {count} rows for {} messages",
            job.name, job.written.messages
        ));
    }
    if job.saves {
        let saved = fs::read_dir(files).map(|d| d.count()).unwrap_or(0);
        if saved != job.written.attachments {
            return Err(format!(
                "{tool} {}: {saved} files saved for {} attachments",
                job.name, job.written.attachments
            ));
        }
    }
    Ok(())
}

/// The issue's targets, judged on this run.
fn verdicts(rows: &[Row], all: &Written, version: Sample, open: Sample) -> Vec<Verdict> {
    let ratio = |job: &str, limit: f64, target: &str| {
        let r = report::wall_ratio(rows, job, "cfimap", "floor").unwrap_or(f64::INFINITY);
        Verdict {
            target: target.into(),
            measured: format!("{r:.2}× the floor"),
            met: r <= limit,
        }
    };
    let rss = |job: &str| {
        rows.iter()
            .find(|r| r.job == job && r.tool == "cfimap")
            .map_or(u64::MAX, |r| r.sample.peak_rss)
    };
    let mut out = vec![
        ratio(
            "getHeaderOnly (a)",
            1.5,
            "getHeaderOnly of (a) within 1.5× the floor",
        ),
        ratio("getAll (b)", 2.5, "getAll of (b) within 2.5× the floor"),
        Verdict {
            target: "peak RSS of getHeaderOnly (a) under 64 MB".into(),
            measured: report::fmt_mb(rss("getHeaderOnly (a)")),
            met: rss("getHeaderOnly (a)") < 64 * 1024 * 1024,
        },
        Verdict {
            target: format!(
                "peak RSS of getAll (b) under 3× its largest message ({})",
                report::fmt_mb(3 * all.largest)
            ),
            measured: report::fmt_mb(rss("getAll (b)")),
            met: rss("getAll (b)") < 3 * all.largest,
        },
        Verdict {
            target: "cfimap --version under 20 ms".into(),
            measured: report::fmt_ms(version.wall),
            met: version.wall < Duration::from_millis(20),
        },
        Verdict {
            target: "open + close against the local Dovecot under 30 ms".into(),
            measured: report::fmt_ms(open.wall),
            met: open.wall < Duration::from_millis(30),
        },
    ];
    for job in ["getHeaderOnly (a)", "getAll (b)"] {
        for peer in ["imaplib", "IMAPClient"] {
            let r = report::wall_ratio(rows, job, "cfimap", peer).unwrap_or(f64::INFINITY);
            out.push(Verdict {
                target: format!("{job}: cfimap ahead of {peer}"),
                measured: format!("{r:.2}× its time"),
                met: r < 1.0,
            });
        }
    }
    out
}

/// Cores, CPU model and kernel of this machine.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores, {cpu}, Linux {}", kernel.trim())
}

fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
