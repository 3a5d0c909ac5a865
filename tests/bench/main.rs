//! `cfimap-bench`: cfimap against its peers on the same mail, in the same run (issue 5).
//!
//! ```text
//! cfimap-bench [--smoke] [--runs N] [--out DIR] [--hold]
//! cfimap-bench floor --port P --user U [--password W] --folder F --items ITEMS
//! cfimap-bench floor --port P --user U [--password W] --list-status
//! cfimap-bench measure REPORT PROGRAM [ARGS...]     (internal, see measure.rs)
//! ```
//!
//! Starts a private Dovecot and writes two folders of mail straight into its
//! Maildir ([`corpus`]): (a) 10,000 typical messages, (b) 2,000 messages of
//! about 25 MB with attachments and one of 15 MB, and 36,000 tiny messages
//! of about 200 bytes. Then times whole processes, each job and tool once
//! untimed (the warm-up, which also has Dovecot build its index) and then
//! `--runs` times (default [`RUNS`]), the tools of a job taking turns, a run
//! each per round:
//!
//! - cfimap: getHeaderOnly of (a); getHeaderOnly of (a) filtered to a
//!   handful of messages (`--filter header=Message-ID:<777`: 11 of them,
//!   issue 14);
//!   getAll of (b) with an `attachmentpath`; both again newest first
//!   (`--newest`: windows, their FETCH commands pipelined; getAll with
//!   `--stoponerror=false`, which pipelines while saving attachments;
//!   cfimap and the floor only); getHeaderOnly of the tiny
//!   messages (the peers once each, without a warm-up: they take half a
//!   minute a run); rows as NDJSON into a file;
//! - the same jobs with Python's imaplib + email package and with IMAPClient
//!   (`bench/peers.py` at the workspace root), one `UID FETCH 1:*` each;
//! - the floor ([`floor`]): a raw socket sending the same FETCH and reading
//!   to the tagged OK, parsing nothing — run as `cfimap-bench floor`, so it
//!   is a process like the others;
//! - `cfimap --version` and `cfimap open` (connect, log in, close), and
//!   `cfimap open` with no compile cache (a fresh cache directory each run),
//!   the first start after a build (issue 15): once with the component
//!   compiled ahead of time beside a copy of the binary, as `make build`
//!   does, once without, when the run compiles it;
//! - getHeaderOnly of (a) in the other output formats (`--format json`,
//!   `csv`, `table` into a file), for their peak RSS (issue 15);
//! - the same cfimap jobs through the Node host's CLI (`host/node`, issue 11:
//!   the component under V8 via jco), judged against the Rust CLI.
//!
//! Then the scale rows (issue 12), against the same peers: does cfimap stay
//! linear when the mail doubles?
//!
//! - getHeaderOnly of folders of 50,000 and 100,000 short typical messages
//!   ([`corpus::scale_folder`]);
//! - `listAllFolders --recurse` of two fresh users holding trees of 5,000
//!   and 10,000 folders ([`corpus::tree_names`]) of 0–3 messages each.
//!   cfimap sends `LIST "" "*"` (and `LIST "" INBOX`), then one `STATUS
//!   (MESSAGES UNSEEN RECENT)` per selectable folder, pipelined; the peers
//!   do the same LIST and STATUS, one at a time as their APIs do (peers.py's
//!   `folders` job); the floor (`floor --list-status`) reads the names off
//!   the LIST answer and pipelines the STATUS commands raw.
//!
//! The peers take 50 times cfimap's time, minutes on these folders, so on
//! the scale rows they run once, with no warm-up of their own (cfimap's
//! warm-up has already had Dovecot build the index); cfimap and the floor
//! run [`SCALE_RUNS`] times after a warm-up. The verdicts ask for the large
//! row's wall time to be at most [`DOUBLING_WALL`] times the small one's
//! (linear, with room for noise; quadratic would be 4) and cfimap's peak
//! RSS on 100,000 messages at most [`DOUBLING_RSS`] times that on 50,000
//! (flat), each shown beside the floor's own ratio.
//!
//! Every run is checked: exit status 0, one NDJSON row per message (or per
//! folder, with the folders' message and unseen counts adding up to what
//! was written), one saved file per attachment; a failed check makes the
//! exit status 1. The
//! table (median wall, peak RSS, cfimap's ratios to each tool) and the
//! issue's targets go to stdout, `<out>/results.md` and `<out>/results.json`.
//! A missed target is reported, not fatal. `--smoke` runs all of it on a
//! tiny corpus (the scale rows on 60/120 messages and 20/40 folders), once,
//! without judging targets: `make test` runs it so that the bench cannot rot. `--hold` times nothing: it writes the mail, prints
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

use corpus::{Sizes, Tree, Written};
use measure::Sample;
use report::{Row, Verdict};

const USAGE: &str = "usage: cfimap-bench [--smoke] [--runs N] [--out DIR] [--hold]\n       \
                     cfimap-bench floor --port P --user U [--password W] --folder F --items ITEMS [--search CRITERIA]\n       \
                     cfimap-bench floor --port P --user U [--password W] --list-status\n\
                     (the floor takes the password from CFIMAP_PASSWORD without --password)";

/// getHeaderOnly's FETCH items, in the order src/actions/fetch.rs sends them.
const HEADER_ITEMS: &str = "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER] BODY";
/// getAll's FETCH items.
const ALL_ITEMS: &str = "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[]";

/// The most a read filtered to a handful of folder (a)'s messages may take,
/// as a share of cfimap reading the whole folder ("a small fraction").
const FILTERED_SHARE: f64 = 0.25;

/// Issue 11: the Node host's getHeaderOnly of (a) against the Rust CLI's.
const NODE_SHARE: f64 = 2.0;

/// Timed runs of each tool on an ordinary job (`--runs`): issue 15 asks
/// for the median of at least 5.
const RUNS: usize = 7;

/// Runs of `cfimap --version` and of `cfimap open`: they are short, so more.
const STARTUP_RUNS: usize = 10;

/// Timed runs of cfimap and the floor on a scale row (fewer if `--runs` is
/// lower): 100,000 messages take seconds a run.
const SCALE_RUNS: usize = 3;

/// Timed runs of each peer on a scale row, without a warm-up: a run of
/// imaplib on 100,000 messages takes minutes.
const SCALE_PEER_RUNS: usize = 1;

/// A scale row twice the size may take at most this many times as long:
/// linear with room for a shared machine's noise (quadratic would be 4).
const DOUBLING_WALL: f64 = 2.4;

/// cfimap's peak RSS on 100,000 messages may be at most this many times
/// that on 50,000: memory must not grow with the folder.
const DOUBLING_RSS: f64 = 1.25;

/// The folders a fresh user of the harness's Dovecot lists besides what the
/// bench writes: INBOX and the special-use folders the configuration
/// creates on login (`auto = create`; Junk is not auto-created).
const HARNESS_FOLDERS: [&str; 4] = ["INBOX", "Drafts", "Sent", "Trash"];

/// Seeds of the scale folders and trees, one each, so none repeats another.
const SCALE_SEEDS: [u64; 2] = [0x5EED_0003, 0x5EED_0004];
/// Seeds of the two folder trees.
const TREE_SEEDS: [u64; 2] = [0x5EED_0005, 0x5EED_0006];
/// Seed of the tiny folder.
const TINY_SEED: u64 = 0x5EED_0007;

/// The most getHeaderOnly of the tiny messages may take, as a multiple of
/// the floor's time (issue 15).
const TINY_BOUND: f64 = 1.3;

/// The table's name of the tiny folder's job.
fn tiny_job(messages: usize) -> String {
    format!("getHeaderOnly, {} tiny messages", thousands(messages))
}

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
        Some("measure") => return cfimap_tests::peak::waiter_main(&args[1..]),
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
        runs: runs.unwrap_or(if smoke { 1 } else { RUNS }),
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
/// attachments into `hold-files` where the timed runs save theirs, see
/// [`attachment_root`]), then waits for stdin to close.
fn hold(setup: &Setup, jobs: &[Job]) -> Result<(), String> {
    let files = setup.files.path().join("hold-files");
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

/// `cfimap-bench floor ...`: prints the bytes of the FETCH answer, or with
/// `--list-status` the number of folders counted.
fn floor_command(args: &[String]) -> ExitCode {
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let password = value("--password").or_else(|| std::env::var("CFIMAP_PASSWORD").ok());
    if args.iter().any(|a| a == "--list-status") {
        let (Some(port), Some(user), Some(password)) = (
            value("--port").and_then(|p| p.parse().ok()),
            value("--user"),
            password,
        ) else {
            return usage();
        };
        return match floor::list_status(port, &user, &password) {
            Ok(folders) => {
                println!("{folders}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cfimap-bench floor: {e}");
                ExitCode::from(1)
            }
        };
    }
    let (Some(port), Some(user), Some(password), Some(folder), Some(items)) = (
        value("--port").and_then(|p| p.parse().ok()),
        value("--user"),
        password,
        value("--folder"),
        value("--items"),
    ) else {
        return usage();
    };
    match floor::run(
        port,
        &user,
        &password,
        &folder,
        &items,
        value("--search").as_deref(),
    ) {
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

/// One job: a row of the table for each tool.
struct Job {
    /// As shown in the table.
    name: String,
    /// A short name for file names.
    slug: String,
    /// The user whose mail is read.
    account: Account,
    /// peers.py's job.
    peer_job: &'static str,
    /// What is read, and how it is checked.
    kind: Kind,
    /// How often each tool runs.
    pace: Pace,
}

/// How often a job's tools run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// Every tool `--runs` times after a warm-up.
    Full,
    /// cfimap and the floor `--runs` times after a warm-up; each peer
    /// [`SCALE_PEER_RUNS`] times without (they take half a minute a run);
    /// no Node host.
    PeersOnce,
    /// A scale row: as [`Pace::PeersOnce`], but cfimap and the floor at most
    /// [`SCALE_RUNS`] times.
    Scale,
}

/// What a job reads.
enum Kind {
    /// Every message of one folder.
    Messages {
        /// The folder.
        folder: String,
        /// cfimap's action.
        action: &'static str,
        /// FETCH items of the floor.
        items: &'static str,
        /// What is in the folder.
        written: Written,
        /// Whether attachments are saved.
        saves: bool,
        /// Only the messages of a filter (`written` then counts those).
        filter: Option<HeaderFilter>,
        /// The order cfimap reads in.
        order: Order,
    },
    /// `listAllFolders --recurse` of the job's user: every folder and its
    /// counts.
    Folders {
        /// What the bench wrote.
        tree: Tree,
        /// Its folder names.
        names: Vec<String>,
    },
}

/// The order cfimap reads a job's messages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// As the server numbers them: one `UID FETCH` of the whole folder.
    Ascending,
    /// `--newest`: windows from the newest end (100 headers or 8 whole
    /// messages each), their FETCH commands pipelined, against the floor's
    /// one FETCH of the whole folder; with `--stoponerror=<stoponerror>`
    /// (a getAll that stops at errors and saves attachments asks for one
    /// window at a time). Only cfimap and the floor run it.
    NewestFirst { stoponerror: bool },
}

impl Job {
    /// Whether the job saves attachments.
    fn saves(&self) -> bool {
        matches!(self.kind, Kind::Messages { saves: true, .. })
    }

    /// Whether `tool` runs this job: the Node host is measured against the
    /// Rust CLI on the ordinary jobs only; JavaMail reads messages only.
    fn measures(&self, tool: Tool) -> bool {
        if self.order() != Order::Ascending {
            return matches!(tool, Tool::Cfimap | Tool::Floor);
        }
        match tool {
            Tool::Node => self.pace == Pace::Full,
            Tool::JavaMail => matches!(self.kind, Kind::Messages { .. }),
            _ => true,
        }
    }

    /// The same read of the same folder, newest first with
    /// `--stoponerror=<stoponerror>`.
    fn newest_first(&self, stoponerror: bool) -> Job {
        let Kind::Messages {
            folder,
            action,
            items,
            written,
            saves,
            filter,
            ..
        } = &self.kind
        else {
            unreachable!("only a read of messages has an order")
        };
        let kind = Kind::Messages {
            folder: folder.clone(),
            action,
            items,
            written: *written,
            saves: *saves,
            filter: *filter,
            order: Order::NewestFirst { stoponerror },
        };
        let suffix = if stoponerror {
            ""
        } else {
            ", stoponerror=false"
        };
        Job {
            name: format!("{}, newest first{suffix}", self.name),
            slug: format!("{}-newest", self.slug),
            account: self.account.clone(),
            peer_job: self.peer_job,
            kind,
            pace: self.pace,
        }
    }

    /// The order cfimap reads in ([`Order::Ascending`] for a folder
    /// listing).
    fn order(&self) -> Order {
        match self.kind {
            Kind::Messages { order, .. } => order,
            Kind::Folders { .. } => Order::Ascending,
        }
    }

    /// Timed runs of `tool`, and whether a warm-up comes first.
    fn runs(&self, tool: Tool, runs: usize) -> (usize, bool) {
        match (self.pace, tool) {
            (Pace::Full, _) => (runs, true),
            (_, Tool::Imaplib | Tool::ImapClient | Tool::JavaMail) => (SCALE_PEER_RUNS, false),
            (Pace::PeersOnce, _) => (runs, true),
            (Pace::Scale, _) => (runs.min(SCALE_RUNS), true),
        }
    }

    /// A scale row (issue 12).
    fn is_scale(&self) -> bool {
        self.pace == Pace::Scale
    }
}

/// A filtered read: the messages whose header `name` contains `value`, as
/// each tool asks the server for them (one `UID SEARCH HEADER`).
#[derive(Debug, Clone, Copy)]
struct HeaderFilter {
    name: &'static str,
    value: &'static str,
}

impl HeaderFilter {
    /// The filtered job's filter: folder (a)'s Message-IDs are `<n.hex@…>`,
    /// so `<777` keeps messages 777 and 7770–7779, a handful of 10,000 (on
    /// the smoke corpus, `<3` keeps 3 and 30–39 of 40).
    fn for_folder(messages: usize) -> HeaderFilter {
        HeaderFilter {
            name: "Message-ID",
            value: if messages >= 10_000 { "<777" } else { "<3" },
        }
    }

    /// How many of the messages `0..count` of folder (a) it keeps.
    fn matches(self, count: usize) -> usize {
        let prefix = self.value.trim_start_matches('<');
        (0..count)
            .filter(|n| n.to_string().starts_with(prefix))
            .count()
    }
}

/// The tools, in the table's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Cfimap,
    /// The same CLI on the Node host (host/node, issue 11): the component
    /// under V8 through jco instead of wasmtime.
    Node,
    Imaplib,
    ImapClient,
    /// Jakarta Mail (JavaMail 2), what ColdFusion's tag runs on
    /// (`bench/JavaMailPeer.java`), when a JDK and the library are there.
    JavaMail,
    Floor,
}

impl Tool {
    const ALL: [Tool; 6] = [
        Tool::Cfimap,
        Tool::Node,
        Tool::Imaplib,
        Tool::ImapClient,
        Tool::JavaMail,
        Tool::Floor,
    ];

    fn name(self) -> &'static str {
        match self {
            Tool::Cfimap => "cfimap",
            Tool::Node => "cfimap (node)",
            Tool::Imaplib => "imaplib",
            Tool::ImapClient => "IMAPClient",
            Tool::JavaMail => "JavaMail",
            Tool::Floor => "floor",
        }
    }
}

/// Where everything is.
struct Setup {
    dovecot: Dovecot,
    /// The user of the message jobs and the start-up rows.
    account: Account,
    cfimap: PathBuf,
    /// The Node host's CLI script (run by `node`).
    node_cli: PathBuf,
    python: PathBuf,
    /// How to run `bench/JavaMailPeer.java`, when it could be compiled.
    javamail: Result<JavaMail, String>,
    peers: PathBuf,
    bench: PathBuf,
    out: PathBuf,
    /// Where attachments are saved ([`attachment_root`]).
    files: AttachmentRoot,
}

impl Setup {
    fn port(&self) -> String {
        self.dovecot.plain_port().to_string()
    }

    /// `cfimap <action>` against `account`, plaintext (loopback), the
    /// password in the environment as a script would pass it.
    fn cfimap(&self, account: &Account, action: &str) -> Command {
        self.cli(Tool::Cfimap, account, action)
    }

    /// [`Setup::cfimap`] of the Rust CLI (`Tool::Cfimap`) or the Node
    /// host's (`Tool::Node`).
    fn cli(&self, tool: Tool, account: &Account, action: &str) -> Command {
        let c = if tool == Tool::Node {
            let mut c = Command::new("node");
            c.arg(&self.node_cli);
            c
        } else {
            Command::new(&self.cfimap)
        };
        self.connected(c, account, action)
    }

    /// `program <action>` with [`Setup::cfimap`]'s connection arguments.
    fn connected(&self, mut c: Command, account: &Account, action: &str) -> Command {
        c.arg(action)
            .args(["--server", self.dovecot.host(), "--port", &self.port()])
            .args(["--username", &account.username, "--secure", "no"])
            .env("CFIMAP_PASSWORD", &account.password);
        c
    }

    /// The command of `tool` for `job`: rows into `rows`, attachments into `files`.
    fn command(&self, tool: Tool, job: &Job, rows: &Path, files: &Path) -> Command {
        let account = &job.account;
        match tool {
            Tool::Cfimap | Tool::Node => match &job.kind {
                Kind::Messages {
                    folder,
                    action,
                    saves,
                    filter,
                    order,
                    ..
                } => {
                    let mut c = self.cli(tool, account, action);
                    c.args(["--folder", folder, "--format", "ndjson"]);
                    if *saves {
                        c.arg("--attachmentpath").arg(files);
                    }
                    if let Order::NewestFirst { stoponerror } = order {
                        c.arg("--newest")
                            .arg(format!("--stoponerror={stoponerror}"));
                    }
                    if let Some(f) = filter {
                        c.arg("--filter")
                            .arg(format!("header={}:{}", f.name, f.value));
                    }
                    c
                }
                Kind::Folders { .. } => {
                    let mut c = self.cli(tool, account, "listAllFolders");
                    c.args(["--recurse", "--format", "ndjson"]);
                    c
                }
            },
            Tool::Floor => {
                let mut c = Command::new(&self.bench);
                c.arg("floor")
                    .args(["--port", &self.port(), "--user", &account.username])
                    .env("CFIMAP_PASSWORD", &account.password);
                match &job.kind {
                    Kind::Messages {
                        folder,
                        items,
                        filter,
                        ..
                    } => {
                        c.args(["--folder", folder, "--items", items]);
                        if let Some(f) = filter {
                            c.arg("--search")
                                .arg(format!("HEADER {} \"{}\"", f.name, f.value));
                        }
                    }
                    Kind::Folders { .. } => {
                        c.arg("--list-status");
                    }
                };
                c
            }
            Tool::JavaMail => {
                let Kind::Messages { folder, filter, .. } = &job.kind else {
                    unreachable!("JavaMail reads messages only (Job::measures)")
                };
                let mut c = match &self.javamail {
                    Ok(javamail) => javamail.command(),
                    Err(_) => unreachable!("JavaMail runs only when compiled (measure_job)"),
                };
                c.arg(job.peer_job)
                    .args(["--host", self.dovecot.host(), "--port", &self.port()])
                    .args(["--user", &account.username, "--folder", folder])
                    .arg("--out")
                    .arg(rows)
                    .env("CFIMAP_PASSWORD", &account.password);
                if let Some(f) = filter {
                    c.arg("--header").arg(format!("{}:{}", f.name, f.value));
                }
                if job.saves() {
                    c.arg("--attachments").arg(files);
                }
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
                    .args(["--user", &account.username])
                    .arg("--out")
                    .arg(rows)
                    .env("CFIMAP_PASSWORD", &account.password);
                if let Kind::Messages { folder, filter, .. } = &job.kind {
                    c.args(["--folder", folder]);
                    if let Some(f) = filter {
                        c.arg("--header").arg(format!("{}:{}", f.name, f.value));
                    }
                }
                if job.saves() {
                    c.arg("--attachments").arg(files);
                }
                c
            }
        }
    }
}

/// The JavaMail peer, compiled.
struct JavaMail {
    java: PathBuf,
    classpath: String,
}

impl JavaMail {
    /// The jars of Debian's `libjakarta-mail-java`, which `make bench-deps`
    /// installs.
    const JARS: [&str; 2] = [
        "/usr/share/java/jakarta-mail.jar",
        "/usr/share/java/jakarta-activation.jar",
    ];

    /// Compiles `bench/JavaMailPeer.java` into `out/javamail`; why not, when
    /// there is no JDK or no Jakarta Mail (the row is then left out and the
    /// results say so).
    fn compile(workspace: &Path, out: &Path) -> Result<JavaMail, String> {
        let jdk = |tool: &str| {
            let home = std::env::var_os("JAVA_HOME").map(PathBuf::from);
            let path = home.map_or_else(|| PathBuf::from(tool), |h| h.join("bin").join(tool));
            let found = Command::new(&path)
                .arg("-version")
                .output()
                .is_ok_and(|o| o.status.success());
            found
                .then_some(path)
                .ok_or_else(|| format!("no JDK ({tool} not found)"))
        };
        let (javac, java) = (jdk("javac")?, jdk("java")?);
        if let Some(missing) = JavaMail::JARS.iter().find(|j| !Path::new(j).is_file()) {
            return Err(format!(
                "no Jakarta Mail ({missing} missing: `make bench-deps` installs it)"
            ));
        }
        let classes = out.join("javamail");
        let jars = JavaMail::JARS.join(":");
        let compiled = Command::new(&javac)
            .args(["-nowarn", "-cp", &jars, "-d"])
            .arg(&classes)
            .arg(workspace.join("bench/JavaMailPeer.java"))
            .output()
            .map_err(|e| format!("{}: {e}", javac.display()))?;
        if !compiled.status.success() {
            // A JDK and the library are there, so the peer itself is broken:
            // that is the bench's own failure, not a missing tool.
            return Err(format!(
                "javac failed: {}",
                String::from_utf8_lossy(&compiled.stderr).trim()
            ));
        }
        Ok(JavaMail {
            java,
            classpath: format!("{jars}:{}", classes.display()),
        })
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.java);
        c.args(["-cp", &self.classpath, "JavaMailPeer"]);
        c
    }
}

/// The first line `java -version` prints (`openjdk version "17.0.15" …`).
fn java_version(javamail: &Result<JavaMail, String>) -> String {
    let Ok(javamail) = javamail else {
        return String::new();
    };
    Command::new(&javamail.java)
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "an unknown JVM".into())
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
    let node_cli = workspace.join("host/node/bin/cfimap.mjs");
    let transpiled = workspace.join("host/node/gen/cfimap.js");
    if !transpiled.is_file() {
        return Err(format!(
            "{} is missing: run `make build` (it builds the Node host)",
            transpiled.display()
        ));
    }
    fs::create_dir_all(&options.out).map_err(|e| format!("{}: {e}", options.out.display()))?;
    let javamail = JavaMail::compile(workspace, &options.out);
    match &javamail {
        Err(e) if e.starts_with("javac failed") => return Err(format!("JavaMail peer: {e}")),
        Err(e) => eprintln!("cfimap-bench: JavaMail left out: {e}"),
        Ok(_) => {}
    }

    let dovecot =
        Dovecot::try_start(Flavor::Default).map_err(|e| format!("cannot start Dovecot: {e}"))?;
    let account = dovecot.user();
    let home = dovecot.home(&account.username);
    // The harness has Dovecot log every session of a test user; the bench
    // must not pay for writing every byte to disk. Without the directory
    // Dovecot logs nothing (checked after the runs).
    let mut rawlogs = vec![no_rawlog(&home)?];

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
    let filter = HeaderFilter::for_folder(headers.messages);
    let mut jobs = vec![
        Job {
            name: "getHeaderOnly (a)".into(),
            slug: "headers".into(),
            account: account.clone(),
            peer_job: "headers",
            kind: Kind::Messages {
                folder: "BenchHeaders".into(),
                action: "getHeaderOnly",
                items: HEADER_ITEMS,
                written: headers,
                saves: false,
                filter: None,
                order: Order::Ascending,
            },
            pace: Pace::Full,
        },
        Job {
            name: format!(
                "getHeaderOnly (a), filtered to {}",
                filter.matches(headers.messages)
            ),
            slug: "headers-filtered".into(),
            account: account.clone(),
            peer_job: "headers",
            kind: Kind::Messages {
                folder: "BenchHeaders".into(),
                action: "getHeaderOnly",
                items: HEADER_ITEMS,
                written: Written {
                    messages: filter.matches(headers.messages),
                    ..headers
                },
                saves: false,
                filter: Some(filter),
                order: Order::Ascending,
            },
            pace: Pace::Full,
        },
        Job {
            name: "getAll (b)".into(),
            slug: "all".into(),
            account: account.clone(),
            peer_job: "all",
            kind: Kind::Messages {
                folder: "BenchAll".into(),
                action: "getAll",
                items: ALL_ITEMS,
                written: all,
                saves: true,
                filter: None,
                order: Order::Ascending,
            },
            pace: Pace::Full,
        },
    ];
    // Newest first: the pipelined windows against the floor's one FETCH;
    // getAll without stoponerror, which pipelines while saving attachments.
    let newest: Vec<Job> = [("headers", true), ("all", false)]
        .into_iter()
        .filter_map(|(slug, stoponerror)| {
            let job = jobs.iter().find(|j| j.slug == slug)?;
            Some(job.newest_first(stoponerror))
        })
        .collect();
    jobs.extend(newest);
    // Issue 15: per-message costs, where the messages are tiny.
    let tiny = corpus::write_folder(
        &home,
        "BenchTiny",
        owner,
        corpus::tiny_folder(sizes.tiny, TINY_SEED),
    )
    .map_err(|e| format!("cannot write the tiny folder: {e}"))?;
    eprintln!(
        "cfimap-bench: BenchTiny: {} messages, {:.1} MiB",
        tiny.messages,
        report::mb(tiny.bytes)
    );
    jobs.push(Job {
        name: tiny_job(tiny.messages),
        slug: "headers-tiny".into(),
        account: account.clone(),
        peer_job: "headers",
        kind: Kind::Messages {
            folder: "BenchTiny".into(),
            action: "getHeaderOnly",
            items: HEADER_ITEMS,
            written: tiny,
            saves: false,
            filter: None,
            order: Order::Ascending,
        },
        pace: Pace::PeersOnce,
    });
    for (count, seed) in sizes.scale_messages.into_iter().zip(SCALE_SEEDS) {
        let folder = format!("BenchScale{count}");
        let written =
            corpus::write_folder(&home, &folder, owner, corpus::scale_folder(count, seed))
                .map_err(|e| format!("cannot write folder {folder}: {e}"))?;
        eprintln!(
            "cfimap-bench: {folder}: {} messages, {:.1} MiB",
            written.messages,
            report::mb(written.bytes)
        );
        jobs.push(Job {
            name: format!("getHeaderOnly, {} messages", thousands(count)),
            slug: format!("headers-{count}"),
            account: account.clone(),
            peer_job: "headers",
            kind: Kind::Messages {
                folder,
                action: "getHeaderOnly",
                items: HEADER_ITEMS,
                written,
                saves: false,
                filter: None,
                order: Order::Ascending,
            },
            pace: Pace::Scale,
        });
    }
    // Each tree belongs to a fresh user, so that the listing holds the tree
    // and the harness's folders only.
    for (count, seed) in sizes.scale_folders.into_iter().zip(TREE_SEEDS) {
        let user = dovecot.user();
        let user_home = dovecot.home(&user.username);
        rawlogs.push(no_rawlog(&user_home)?);
        let names = corpus::tree_names(count);
        let tree = corpus::write_tree(&user_home, &names, owner, seed)
            .map_err(|e| format!("cannot write {count} folders: {e}"))?;
        eprintln!(
            "cfimap-bench: {} folders of {}: {} messages",
            tree.folders, user.username, tree.messages
        );
        jobs.push(Job {
            name: format!("listAllFolders, {} folders", thousands(count)),
            slug: format!("folders-{count}"),
            account: user,
            peer_job: "folders",
            kind: Kind::Folders { tree, names },
            pace: Pace::Scale,
        });
    }

    let setup = Setup {
        dovecot,
        account,
        cfimap,
        node_cli,
        python,
        javamail,
        peers: workspace.join("bench/peers.py"),
        bench: std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?,
        out: options.out.clone(),
        files: attachment_root(&options.out),
    };

    if options.hold {
        return hold(&setup, &jobs);
    }

    let mut rows = Vec::new();
    for job in &jobs {
        for (tool, samples) in measure_job(&setup, job, options.runs)? {
            let row = Row {
                job: job.name.clone(),
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
        // Issue 15: folder (a) in every other output format, for its memory.
        if job.slug == "headers" {
            for format in ["json", "csv", "table"] {
                rows.push(Row {
                    job: job.name.clone(),
                    tool: format!("cfimap --format {format}"),
                    samples: measure_format(&setup, job, format, options.runs)?,
                });
            }
        }
    }
    let runs = if options.smoke { 1 } else { STARTUP_RUNS };
    let mut version = Command::new(&setup.cfimap);
    version.arg("--version");
    rows.push(Row {
        job: "start-up".into(),
        tool: "cfimap --version".into(),
        samples: repeat(&mut || measure::run(&mut version, None), runs, true)?,
    });
    let mut open = setup.cfimap(&setup.account, "open");
    rows.push(Row {
        job: "start-up".into(),
        tool: "cfimap open + close".into(),
        samples: repeat(&mut || measure::run(&mut open, None), runs, true)?,
    });
    // Issue 15: the first start after a build. A copy of the binary in a
    // directory of its own, its component compiled ahead of time there as
    // `make build` does, and an empty compile cache each run; then the same
    // copy without that file (a binary built without `make`), which compiles.
    let built = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let exe = built.path().join("cfimap");
    fs::copy(&setup.cfimap, &exe).map_err(|e| format!("copy {}: {e}", setup.cfimap.display()))?;
    let precompiled = precompile(&exe)?;
    let caches = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let mut fresh = 0;
    let mut first_start = |tool: &str| -> Result<Row, String> {
        let samples = repeat(
            &mut || {
                fresh += 1;
                let cache = caches.path().join(fresh.to_string());
                let mut cold = setup.connected(Command::new(&exe), &setup.account, "open");
                cold.env("XDG_CACHE_HOME", &cache);
                let sample = measure::run(&mut cold, None)?;
                // What the row claims: compiled (into the cache) or not.
                let compiled = cache
                    .join("cfimap")
                    .read_dir()
                    .is_ok_and(|mut d| d.next().is_some());
                if compiled != (tool == COLD_START) {
                    return Err(format!(
                        "{tool}: the run {} the component",
                        if compiled {
                            "compiled"
                        } else {
                            "did not compile"
                        }
                    ));
                }
                Ok(sample)
            },
            if options.smoke { 1 } else { options.runs },
            false,
        )?;
        Ok(Row {
            job: "start-up".into(),
            tool: tool.into(),
            samples,
        })
    };
    rows.push(first_start(FIRST_START)?);
    fs::remove_file(&precompiled).map_err(|e| format!("{}: {e}", precompiled.display()))?;
    rows.push(first_start(COLD_START)?);
    for rawlog in &rawlogs {
        check_no_rawlog(rawlog)?;
    }

    let table = report::table(&rows);
    println!("\n{table}");
    let verdicts = if options.smoke {
        Vec::new()
    } else {
        verdicts(&rows, &all, &jobs)
    };
    let verdict_text = if options.smoke {
        "Smoke run: every check passed; targets are not judged on a tiny corpus.\n".to_owned()
    } else {
        report::verdicts(&verdicts)
    };
    println!("{verdict_text}");

    let mut context = context(options, &jobs);
    context["attachments_saved_into"] = json!(setup.files.describe());
    let javamail_note = match &setup.javamail {
        Ok(_) => format!(
            "Jakarta Mail (Debian's libjakarta-mail-java) on {}, each run a whole JVM process \
             (its start included), the message jobs only",
            java_version(&setup.javamail)
        ),
        Err(e) => format!("left out: {e}"),
    };
    context["javamail"] = json!(javamail_note);
    let markdown = format!(
        "# cfimap bench{}\n\n{}, {}.\n\n\
         Corpus: (a) {} messages, {:.1} MiB; (b) {} messages, {:.1} MiB, {} attachments (saved into {}), the largest message {:.1} MiB.\n\
         {}\n\
         Wall time: median of {} runs after a warm-up, spawn to exit, the tools' runs interleaved (a round of one run each); peak RSS: the largest of the runs (`ru_maxrss`).\n\
         Tiny messages: {} of 180–220 bytes ({:.1} MiB); cfimap and the floor as above, the peers as on the scale rows.\n\
         Scale rows: cfimap and the floor median of {} runs after a warm-up; imaplib, IMAPClient and JavaMail {} run(s) each, \
         without a warm-up of their own (cfimap's warm-up has Dovecot build its index first).\n\
         JavaMail: {}.\n\n\
         {table}\n{verdict_text}",
        if options.smoke { " (smoke run)" } else { "" },
        context["date"].as_str().unwrap_or(""),
        context["machine"]["summary"].as_str().unwrap_or(""),
        headers.messages,
        report::mb(headers.bytes),
        all.messages,
        report::mb(all.bytes),
        all.attachments,
        setup.files.describe(),
        report::mb(all.largest),
        scale_corpus(&jobs),
        options.runs,
        thousands(tiny.messages),
        report::mb(tiny.bytes),
        options.runs.min(SCALE_RUNS),
        SCALE_PEER_RUNS,
        javamail_note,
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

/// `n` with thousands separators, as the table shows sizes: `100,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The scale rows' corpus in a sentence, for `results.md`.
fn scale_corpus(jobs: &[Job]) -> String {
    let mut folders = Vec::new();
    let mut trees = Vec::new();
    for job in jobs.iter().filter(|j| j.is_scale()) {
        match &job.kind {
            Kind::Messages { written, .. } => folders.push(format!(
                "{} messages ({:.1} MiB)",
                thousands(written.messages),
                report::mb(written.bytes)
            )),
            Kind::Folders { tree, .. } => trees.push(format!(
                "{} folders ({} messages)",
                thousands(tree.folders),
                thousands(tree.messages)
            )),
        }
    }
    format!(
        "Scale: getHeaderOnly of folders of {} of 2–3 KB; listAllFolders --recurse of users with {}, \
         three levels deep, plus {}.",
        folders.join(" and "),
        trees.join(" and "),
        HARNESS_FOLDERS.join(", ")
    )
}

/// Removes the rawlog directory the harness made in `home` (see [`bench`])
/// and returns its path for [`check_no_rawlog`].
fn no_rawlog(home: &Path) -> Result<PathBuf, String> {
    let rawlog = home.join("rawlog");
    fs::remove_dir_all(&rawlog).map_err(|e| format!("{}: {e}", rawlog.display()))?;
    Ok(rawlog)
}

/// The directory the saving jobs write attachments into: a fresh one in
/// `/dev/shm` (a tmpfs) when there is one, else `out`.
///
/// Creating a file is the file system's cost, not the reader's, and on a
/// disk it varies more than everything the bench compares: on this
/// project's machine one ext4 file system took 48 µs per new file and,
/// hours later, 430 µs (the inode allocator searching its bitmaps), which
/// for 403 attachments is anything from 20 to 170 ms against a floor of
/// about 110 ms. In memory the row measures the readers.
fn attachment_root(out: &Path) -> AttachmentRoot {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        match tempfile::Builder::new()
            .prefix("cfimap-bench-")
            .tempdir_in(shm)
        {
            Ok(dir) => return AttachmentRoot::Memory(dir),
            Err(e) => eprintln!(
                "cfimap-bench: /dev/shm unusable ({e}); saving into {}",
                out.display()
            ),
        }
    }
    AttachmentRoot::Out(out.to_path_buf())
}

/// Where attachments are saved: in memory (removed with the bench), or in
/// the output directory.
enum AttachmentRoot {
    Memory(tempfile::TempDir),
    Out(PathBuf),
}

impl AttachmentRoot {
    fn path(&self) -> &Path {
        match self {
            AttachmentRoot::Memory(dir) => dir.path(),
            AttachmentRoot::Out(dir) => dir,
        }
    }

    /// For the result files: where the attachments went.
    fn describe(&self) -> &'static str {
        match self {
            AttachmentRoot::Memory(_) => "tmpfs (/dev/shm)",
            AttachmentRoot::Out(_) => "the output directory",
        }
    }
}

/// An untimed warm-up if `warm_up`, then `runs` timed runs of `f`.
fn repeat(
    f: &mut dyn FnMut() -> Result<Sample, String>,
    runs: usize,
    warm_up: bool,
) -> Result<Vec<Sample>, String> {
    if warm_up {
        f()?;
    }
    (0..runs).map(|_| f()).collect()
}

/// Times every tool of `job` (see [`Job::measures`]), checking every run's
/// output; `runs` is `--runs` (see [`Job::runs`]).
///
/// The runs are interleaved: each tool's warm-up, then rounds of one run of
/// each tool, a tool leaving the rounds after its last run. The machine is
/// shared, and a slow stretch of it would otherwise fall on one tool's runs
/// and tilt the ratio; interleaved, it falls on all of them alike.
fn measure_job(setup: &Setup, job: &Job, runs: usize) -> Result<Vec<(Tool, Vec<Sample>)>, String> {
    let tools: Vec<(Tool, usize)> = Tool::ALL
        .into_iter()
        .filter(|&tool| job.measures(tool) && (tool != Tool::JavaMail || setup.javamail.is_ok()))
        .map(|tool| {
            let (runs, warm_up) = job.runs(tool, runs);
            if warm_up {
                measure_once(setup, tool, job).map(|_| (tool, runs))
            } else {
                Ok((tool, runs))
            }
        })
        .collect::<Result<_, String>>()?;
    let mut samples: Vec<(Tool, Vec<Sample>)> =
        tools.iter().map(|&(tool, _)| (tool, Vec::new())).collect();
    let rounds = tools.iter().map(|&(_, runs)| runs).max().unwrap_or(0);
    // In a round cfimap and the floor run back to back, first: their ratio
    // is the target, and a JVM or Python run just before one of them and
    // not the other would tilt it.
    let mut order: Vec<usize> = (0..tools.len()).collect();
    order.sort_by_key(|&i| !matches!(tools[i].0, Tool::Cfimap | Tool::Floor));
    for round in 0..rounds {
        for &i in &order {
            let (tool, runs) = tools[i];
            if round < runs {
                samples[i].1.push(measure_once(setup, tool, job)?);
            }
        }
    }
    Ok(samples)
}

/// One run of `tool` on `job`, its output checked.
fn measure_once(setup: &Setup, tool: Tool, job: &Job) -> Result<Sample, String> {
    let stem = format!("{}-{}", job.slug, tool.name().to_lowercase());
    let rows = setup.out.join(format!("{stem}.ndjson"));
    let files = setup.files.path().join(format!("{stem}-files"));
    // A fresh, empty attachment directory and no old rows for every run.
    if files.exists() {
        fs::remove_dir_all(&files).map_err(|e| format!("{}: {e}", files.display()))?;
    }
    if job.saves() && tool != Tool::Floor {
        fs::create_dir_all(&files).map_err(|e| format!("{}: {e}", files.display()))?;
    }
    let _ = fs::remove_file(&rows);
    let mut command = setup.command(tool, job, &rows, &files);
    // cfimap and the floor write to stdout; the peers write --out themselves.
    let stdout = matches!(tool, Tool::Cfimap | Tool::Node | Tool::Floor).then_some(rows.as_path());
    let sample = measure::run(&mut command, stdout)
        .map_err(|e| format!("{} {}: {e}", tool.name(), job.name))?;
    check(tool, job, &rows, &files)
        .map_err(|e| format!("{} {}: check failed: {e}", tool.name(), job.name))?;
    Ok(sample)
}

/// The start-up row of the first start after `make build`: the component
/// compiled ahead of time, the compile cache empty.
const FIRST_START: &str = "cfimap open + close, first start after make build";
/// The start-up row of a start that compiles: no precompiled file, the
/// compile cache empty.
const COLD_START: &str = "cfimap open + close, nothing precompiled or cached";

/// Runs `exe precompile` (as `make build` does); the file it wrote.
fn precompile(exe: &Path) -> Result<PathBuf, String> {
    let out = Command::new(exe)
        .arg("precompile")
        .output()
        .map_err(|e| format!("{} precompile: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} precompile: {}: {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// cfimap's read of `job` printed in `format` (json, csv or table), `runs`
/// times after a warm-up, each output checked to hold a row per message.
fn measure_format(
    setup: &Setup,
    job: &Job,
    format: &str,
    runs: usize,
) -> Result<Vec<Sample>, String> {
    let Kind::Messages {
        folder,
        action,
        written,
        ..
    } = &job.kind
    else {
        return Err(format!("{}: not a read", job.name));
    };
    let out = setup.out.join(format!("{}-format.{format}", job.slug));
    let mut once = || -> Result<Sample, String> {
        let mut command = setup.cfimap(&job.account, action);
        command.args(["--folder", folder, "--format", format]);
        let sample = measure::run(&mut command, Some(&out))
            .map_err(|e| format!("cfimap {} --format {format}: {e}", job.name))?;
        let text = fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        // A row per message: array items, records after the header, or lines
        // after a heading and its rule.
        let rows = match format {
            "json" => serde_json::from_str::<Vec<serde_json::Value>>(&text)
                .map_err(|e| format!("--format json printed no JSON array: {e}"))?
                .len(),
            "csv" => csv::Reader::from_reader(text.as_bytes())
                .records()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("--format csv printed no CSV: {e}"))?
                .len(),
            _ => text.lines().count().saturating_sub(2),
        };
        if rows != written.messages {
            return Err(format!(
                "--format {format}: {rows} rows for the folder's {} messages",
                written.messages
            ));
        }
        Ok(sample)
    };
    repeat(&mut once, runs, true)
}

/// The run did the job: see [`check_messages`] and [`check_folders`].
fn check(tool: Tool, job: &Job, rows: &Path, files: &Path) -> Result<(), String> {
    match &job.kind {
        Kind::Messages {
            written,
            saves,
            order,
            ..
        } => check_messages(tool, written, *saves, *order, rows, files),
        Kind::Folders { tree, names } => check_folders(tool, tree, names, rows),
    }
}

/// The number the floor printed.
fn floor_number(rows: &Path) -> Result<u64, String> {
    let text = fs::read_to_string(rows).map_err(|e| format!("{}: {e}", rows.display()))?;
    text.trim()
        .parse()
        .map_err(|_| format!("the floor printed {text:?}, not a number"))
}

/// Each NDJSON row of `rows`, in order, to `f`; without reading the rows of
/// 100,000 messages into memory at once.
fn each_row(
    rows: &Path,
    mut f: impl FnMut(&serde_json::Value, &str) -> Result<(), String>,
) -> Result<(), String> {
    let file = fs::File::open(rows).map_err(|e| format!("{}: {e}", rows.display()))?;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", rows.display()))?;
        let row: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("a line is not JSON ({e}): {line:.200}"))?;
        if row.get("ERROR").is_some_and(|e| !e.is_null()) {
            return Err(format!("a row with an ERROR: {line:.300}"));
        }
        f(&row, &line)?;
    }
    Ok(())
}

/// A message job was done: one NDJSON row per message (each with a UID),
/// one saved file per attachment; the floor read at least the folder's
/// bytes.
fn check_messages(
    tool: Tool,
    written: &Written,
    saves: bool,
    order: Order,
    rows: &Path,
    files: &Path,
) -> Result<(), String> {
    if tool == Tool::Floor {
        let bytes = floor_number(rows)?;
        let least = if saves { written.bytes } else { 0 };
        // Nothing to fetch (a filter that keeps nothing) is the only way to
        // read no bytes.
        if bytes < least.max(u64::from(written.messages > 0)) {
            return Err(format!(
                "the FETCH answer had {bytes} bytes, the folder {}",
                written.bytes
            ));
        }
        return Ok(());
    }
    let mut count = 0;
    let mut last: Option<u64> = None;
    each_row(rows, |row, line| {
        let Some(uid) = row.get("UID").and_then(serde_json::Value::as_u64) else {
            return Err(format!("a row without UID: {line:.200}"));
        };
        if order != Order::Ascending && last.is_some_and(|l| l <= uid) {
            return Err(format!("newest first, yet UID {uid} after {last:?}"));
        }
        last = Some(uid);
        count += 1;
        Ok(())
    })?;
    if count != written.messages {
        return Err(format!(
            "{count} rows for the folder's {} messages",
            written.messages
        ));
    }
    if saves {
        let saved = fs::read_dir(files)
            .map_err(|e| format!("{}: {e}", files.display()))?
            .count();
        if saved != written.attachments {
            return Err(format!(
                "{saved} files saved for the folder's {} attachments",
                written.attachments
            ));
        }
    }
    Ok(())
}

/// A folder listing was done: one row per folder written plus
/// [`HARNESS_FOLDERS`], each named once, their TOTALMESSAGES adding up to
/// the messages written and their UNREAD to the unseen ones; the floor
/// counted as many folders.
fn check_folders(tool: Tool, tree: &Tree, names: &[String], rows: &Path) -> Result<(), String> {
    let expected = names.len() + HARNESS_FOLDERS.len();
    if tool == Tool::Floor {
        let counted = floor_number(rows)?;
        if counted != expected as u64 {
            return Err(format!(
                "the floor counted {counted} folders, the user has {expected}"
            ));
        }
        return Ok(());
    }
    let mut wanted: std::collections::HashSet<&str> = names
        .iter()
        .map(String::as_str)
        .chain(HARNESS_FOLDERS)
        .collect();
    let (mut count, mut messages, mut unseen) = (0, 0, 0);
    each_row(rows, |row, line| {
        let number = |key: &str| {
            row.get(key)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| format!("a row without {key}: {line:.200}"))
        };
        let name = row
            .get("FULLNAME")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("a row without FULLNAME: {line:.200}"))?;
        if !wanted.remove(name) {
            return Err(format!("a folder not written, or twice: {line:.200}"));
        }
        messages += number("TOTALMESSAGES")?;
        unseen += number("UNREAD")?;
        count += 1;
        Ok(())
    })?;
    if count != expected {
        return Err(format!("{count} rows for the user's {expected} folders"));
    }
    if (messages, unseen) != (tree.messages as u64, tree.unseen as u64) {
        return Err(format!(
            "the counts add up to {messages} messages, {unseen} unseen; written were {}, {}",
            tree.messages, tree.unseen
        ));
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

/// The targets, judged on this run: issue 15's (the floor ratios, peak RSS
/// in every format and of getAll, the first start), issue 5's start-up
/// bounds, then the Node host's, the filter's and the scale rows' (see
/// [`scale_verdicts`]).
fn verdicts(rows: &[Row], all: &Written, jobs: &[Job]) -> Vec<Verdict> {
    let tool = |job: &str, tool: &str| rows.iter().find(|r| r.job == job && r.tool == tool);
    // The medians' ratio, and the median and spread of the ratios of each
    // round (the runs are interleaved, see `measure_job`: cfimap's n-th run
    // against the floor's n-th, run just after it). The machine is shared:
    // one number hides the noise.
    let floor_ratio = |job: &str, limit: f64| {
        let r = report::wall_ratio(rows, job, "floor").unwrap_or(f64::INFINITY);
        let spread = match (tool(job, "cfimap"), tool(job, "floor")) {
            (Some(cfimap), Some(floor)) => {
                let mut ratios: Vec<f64> = cfimap
                    .samples
                    .iter()
                    .zip(&floor.samples)
                    .map(|(c, f)| report::ms(c.wall) / report::ms(f.wall).max(f64::MIN_POSITIVE))
                    .collect();
                ratios.sort_by(f64::total_cmp);
                match (ratios.first(), ratios.get(ratios.len() / 2), ratios.last()) {
                    (Some(lo), Some(mid), Some(hi)) => format!(
                        " (medians of {} runs; round by round {lo:.2}–{hi:.2}×, median {mid:.2}×)",
                        cfimap.samples.len()
                    ),
                    _ => String::new(),
                }
            }
            _ => String::new(),
        };
        Verdict {
            target: format!("{job} within {limit}× the floor"),
            measured: format!("{r:.2}×{spread}"),
            met: r <= limit,
        }
    };
    let rss = |job: &str, name: &str| tool(job, name).map_or(u64::MAX, Row::peak_rss);
    let wall = |name: &str| tool("start-up", name).map_or(Duration::MAX, Row::wall);
    let headers = "getHeaderOnly (a)";
    let all_rss = rss("getAll (b)", "cfimap");
    // The runtime: what cfimap takes to open and close a session, no rows.
    let runtime = rss("start-up", "cfimap open + close");
    let all_bound = (all.largest * 3 / 2).saturating_add(runtime);
    let (version, open, first) = (
        wall("cfimap --version"),
        wall("cfimap open + close"),
        wall(FIRST_START),
    );
    let tiny = jobs
        .iter()
        .find(|j| j.slug == "headers-tiny")
        .map_or_else(|| tiny_job(0), |j| j.name.clone());
    let mut verdicts = vec![
        floor_ratio(headers, 1.05),
        floor_ratio("getAll (b)", 1.3),
        floor_ratio(&tiny, TINY_BOUND),
    ];
    for (format, name) in [
        ("ndjson", "cfimap"),
        ("json", "cfimap --format json"),
        ("csv", "cfimap --format csv"),
        ("table", "cfimap --format table"),
    ] {
        let peak = rss(headers, name);
        verdicts.push(Verdict {
            target: format!("{headers} --format {format} peak RSS at most 20 MiB"),
            measured: format!("{:.1} MiB", report::mb(peak)),
            met: peak <= 20 * 1024 * 1024,
        });
    }
    verdicts.extend([
        Verdict {
            target: format!(
                "getAll (b) peak RSS at most 1.5× the largest message plus the runtime \
                 ({:.1} + {:.1} MiB)",
                report::mb(all.largest * 3 / 2),
                report::mb(runtime)
            ),
            measured: format!(
                "{:.1} MiB, {:.2}× the largest message",
                report::mb(all_rss),
                all_rss as f64 / all.largest.max(1) as f64
            ),
            met: all_rss <= all_bound,
        },
        Verdict {
            target: "`cfimap open` + close after a fresh build, with no compile cache, at \
                     most 0.5 s"
                .into(),
            measured: format!(
                "{:.0} ms ({:.0} ms when it compiles the component)",
                report::ms(first),
                report::ms(wall(COLD_START))
            ),
            met: first <= Duration::from_millis(500),
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
    ]);
    verdicts.extend(node_verdict(rows));
    verdicts.extend(filter_verdict(rows, jobs));
    verdicts.extend(scale_verdicts(rows, jobs));
    verdicts
}

/// Issue 11: reading the 10,000 headers of (a) through the Node host costs
/// at most [`NODE_SHARE`] times the Rust CLI's read, in the same run.
fn node_verdict(rows: &[Row]) -> Option<Verdict> {
    let job = "getHeaderOnly (a)";
    let of = |tool: &str| rows.iter().find(|r| r.job == job && r.tool == tool);
    let (node, rust) = (of("cfimap (node)")?, of("cfimap")?);
    let ratio = report::ms(node.wall()) / report::ms(rust.wall()).max(f64::MIN_POSITIVE);
    Some(Verdict {
        target: format!("{job} through the Node host within {NODE_SHARE}× the Rust CLI"),
        measured: format!(
            "{ratio:.2}× ({:.0} ms against {:.0} ms; peak RSS {:.1} MiB)",
            report::ms(node.wall()),
            report::ms(rust.wall()),
            report::mb(node.peak_rss())
        ),
        met: ratio <= NODE_SHARE,
    })
}

/// Issue 14: a filter that keeps a handful of folder (a)'s messages costs a
/// small fraction of reading the folder — at most [`FILTERED_SHARE`] of
/// cfimap's own full read, beside the floor's share.
fn filter_verdict(rows: &[Row], jobs: &[Job]) -> Option<Verdict> {
    let filtered = jobs.iter().find(|j| {
        matches!(
            j.kind,
            Kind::Messages {
                filter: Some(_),
                ..
            }
        )
    })?;
    let share = |tool: &str| report::wall_ratio_of(rows, &filtered.name, "getHeaderOnly (a)", tool);
    let (ours, floor) = (share("cfimap")?, share("floor"));
    Some(Verdict {
        target: format!(
            "{} within {FILTERED_SHARE}× of reading the whole folder",
            filtered.name
        ),
        measured: format!(
            "{ours:.2}× (the floor's: {})",
            floor.map_or("–".to_owned(), |f| format!("{f:.2}×"))
        ),
        met: ours <= FILTERED_SHARE,
    })
}

/// "Linear when doubled": for each pair of scale rows of one kind (the
/// second twice the first), cfimap's wall ratio at most [`DOUBLING_WALL`];
/// for the message folders also its peak RSS ratio at most
/// [`DOUBLING_RSS`]. Each is shown beside the floor's own ratio, which is
/// what the server and the machine add.
fn scale_verdicts(rows: &[Row], jobs: &[Job]) -> Vec<Verdict> {
    let find = |job: &str, tool: &str| rows.iter().find(|r| r.job == job && r.tool == tool);
    let ratio = |small: &str, large: &str, tool: &str, of: fn(&Row) -> f64| {
        let (small, large) = (find(small, tool)?, find(large, tool)?);
        Some(of(large) / of(small).max(f64::MIN_POSITIVE))
    };
    let shown = |r: Option<f64>| r.map_or("–".to_owned(), |r| format!("{r:.2}×"));
    let wall = |r: &Row| report::ms(r.wall());
    let rss = |r: &Row| r.peak_rss() as f64;
    let scale: Vec<&Job> = jobs.iter().filter(|j| j.is_scale()).collect();
    let mut verdicts = Vec::new();
    for pair in scale.windows(2) {
        let (small, large) = (pair[0], pair[1]);
        if std::mem::discriminant(&small.kind) != std::mem::discriminant(&large.kind) {
            continue;
        }
        let (s, l) = (small.name.as_str(), large.name.as_str());
        let cfimap = ratio(s, l, "cfimap", wall);
        verdicts.push(Verdict {
            target: format!(
                "linear when doubled: cfimap's wall, {l} / {s}, at most {DOUBLING_WALL}×"
            ),
            measured: format!(
                "{} (floor {})",
                shown(cfimap),
                shown(ratio(s, l, "floor", wall))
            ),
            met: cfimap.is_some_and(|r| r <= DOUBLING_WALL),
        });
        if matches!(small.kind, Kind::Messages { .. }) {
            let cfimap = ratio(s, l, "cfimap", rss);
            let mib = |job: &str| find(job, "cfimap").map_or(0.0, |r| report::mb(r.peak_rss()));
            verdicts.push(Verdict {
                target: format!(
                    "flat memory: cfimap's peak RSS, {l} / {s}, at most {DOUBLING_RSS}×"
                ),
                measured: format!(
                    "{:.1} / {:.1} MiB, {} (floor {})",
                    mib(l),
                    mib(s),
                    shown(cfimap),
                    shown(ratio(s, l, "floor", rss))
                ),
                met: cfimap.is_some_and(|r| r <= DOUBLING_RSS),
            });
        }
    }
    verdicts
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
        "scale_runs": options.runs.min(SCALE_RUNS),
        "scale_peer_runs": SCALE_PEER_RUNS,
        "corpus": jobs.iter().map(|j| match &j.kind {
            Kind::Messages { folder, written, .. } => json!({
                "job": j.name,
                "user": j.account.username,
                "folder": folder,
                "messages": written.messages,
                "bytes": written.bytes,
                "largest_bytes": written.largest,
                "attachments": written.attachments,
            }),
            Kind::Folders { tree, .. } => json!({
                "job": j.name,
                "user": j.account.username,
                "folders": tree.folders,
                "harness_folders": HARNESS_FOLDERS,
                "messages": tree.messages,
                "unseen": tree.unseen,
            }),
        }).collect::<Vec<_>>(),
    })
}
