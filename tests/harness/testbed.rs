//! `cfimap-testbed`: a throwaway Dovecot with sample mail, for `make demo` (and later benches).
//!
//! ```text
//! cfimap-testbed demo [--flavor F] [--accounts N] [-- COMMAND ...]
//!                                   start, seed, run each COMMAND (a shell command line) with
//!                                   the CFIMAP_DEMO_* variables set, then stop
//! cfimap-testbed serve [--flavor F] [--accounts N]
//!                                   start, seed, print the variables, wait for Enter
//! cfimap-testbed measure REPORT PROGRAM [ARGS...]
//!                                   (for the tests) run PROGRAM, write its exact peak RSS
//!                                   (see `cfimap_tests::peak`)
//! ```
//!
//! `--flavor` picks the server's configuration (`default`, `courier`, `notls`, `nomove`; see
//! `Flavor`): `make test` runs the suite's external-server mode against `courier`.
//! `--accounts N` seeds N more accounts with the same mail, listed in `CFIMAP_DEMO_ACCOUNTS`
//! as `user:password` words: a suite in another language (the Node host's) gives each test
//! accounts of its own, and two accounts seeded alike show two clients the same UIDs.
//!
//! Variables given to the commands: `CFIMAP_DEMO_SERVER` (127.0.0.1), `CFIMAP_DEMO_PORT` (the
//! plain port, STARTTLS offered), `CFIMAP_DEMO_TLS_PORT` (implicit TLS), `CFIMAP_DEMO_USER`,
//! `CFIMAP_DEMO_PASSWORD`, `CFIMAP_DEMO_CAFILE` (the CA that signed the server certificate) and
//! `CFIMAP_BIN` (the cfimap binary). Without commands, `demo` runs
//! `cfimap listAllFolders --recurse` against the server. The exit status is the first failing
//! command's, else 0.

use std::process::{Command, ExitCode};

use cfimap_tests::account::Account;
use cfimap_tests::dovecot::{Dovecot, Flavor};
use cfimap_tests::imap::Client;
use cfimap_tests::mail::Message;

const USAGE: &str = "usage: cfimap-testbed demo [--flavor F] [--accounts N] [-- COMMAND ...] | \
                     cfimap-testbed serve [--flavor F] [--accounts N]";

/// The most accounts `--accounts` seeds (each takes a moment to seed).
const MAX_ACCOUNTS: usize = 64;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|m| m == "measure") {
        return cfimap_tests::peak::waiter_main(&args[1..]);
    }
    let (mode, rest) = match args.split_first() {
        Some((m, rest)) => (m.as_str(), rest),
        None => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (flavor, rest) = match rest {
        [flag, name, rest @ ..] if flag == "--flavor" => match Flavor::parse(name) {
            Some(f) => (f, rest),
            None => {
                eprintln!("cfimap-testbed: unknown flavor {name:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => (Flavor::Default, rest),
    };
    let (accounts, rest) = match rest {
        [flag, n, rest @ ..] if flag == "--accounts" => match n.parse::<usize>() {
            Ok(n) if n <= MAX_ACCOUNTS => (n, rest),
            _ => {
                eprintln!(
                    "cfimap-testbed: --accounts takes 0 to {MAX_ACCOUNTS}, not {n:?}\n{USAGE}"
                );
                return ExitCode::from(2);
            }
        },
        _ => (0, rest),
    };
    let commands: Vec<String> = match rest.split_first() {
        None => Vec::new(),
        Some((sep, cmds)) if sep == "--" => cmds.to_vec(),
        Some(_) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match mode {
        "demo" => demo(flavor, accounts, commands),
        "serve" if commands.is_empty() => serve(flavor, accounts),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// A seeded Dovecot: its demo account, and `extra` more seeded alike.
struct Testbed {
    dovecot: Dovecot,
    account: Account,
    extra: Vec<Account>,
}

fn start(flavor: Flavor, extra: usize) -> Result<Testbed, String> {
    let dovecot = Dovecot::try_start(flavor).map_err(|e| format!("cannot start Dovecot: {e}"))?;
    let mail = demo_mail();
    let seeded = || {
        let account = dovecot.user();
        seed(&account, &mail)
            .map(|()| account)
            .map_err(|e| format!("cannot seed the demo mailbox: {e}\n{}", dovecot.log()))
    };
    let account = seeded()?;
    let extra = (0..extra).map(|_| seeded()).collect::<Result<_, _>>()?;
    Ok(Testbed {
        dovecot,
        account,
        extra,
    })
}

fn env_vars(testbed: &Testbed) -> Vec<(&'static str, String)> {
    let Testbed {
        dovecot,
        account,
        extra,
    } = testbed;
    let accounts = extra
        .iter()
        .map(|a| format!("{}:{}", a.username, a.password))
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        ("CFIMAP_DEMO_ACCOUNTS", accounts),
        ("CFIMAP_DEMO_SERVER", account.server.clone()),
        ("CFIMAP_DEMO_PORT", dovecot.plain_port().to_string()),
        (
            "CFIMAP_DEMO_TLS_PORT",
            dovecot
                .tls_port()
                .map(|p| p.to_string())
                .unwrap_or_default(),
        ),
        ("CFIMAP_DEMO_USER", account.username.clone()),
        ("CFIMAP_DEMO_PASSWORD", account.password.clone()),
        (
            "CFIMAP_DEMO_CAFILE",
            dovecot.ca_file().display().to_string(),
        ),
        (
            "CFIMAP_BIN",
            cfimap_tests::cli::binary().display().to_string(),
        ),
    ]
}

fn banner(dovecot: &Dovecot, account: &Account) {
    println!(
        "cfimap demo: Dovecot on {} port {} (STARTTLS) and {} (TLS), user {} password {}, CA {}",
        account.server,
        dovecot.plain_port(),
        dovecot
            .tls_port()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into()),
        account.username,
        account.password,
        dovecot.ca_file().display()
    );
}

fn demo(flavor: Flavor, accounts: usize, commands: Vec<String>) -> ExitCode {
    let testbed = match start(flavor, accounts) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("cfimap-testbed: {e}");
            return ExitCode::from(1);
        }
    };
    banner(&testbed.dovecot, &testbed.account);
    let commands = if commands.is_empty() {
        vec![
            "\"$CFIMAP_BIN\" listAllFolders --recurse --server \"$CFIMAP_DEMO_SERVER\" --port \"$CFIMAP_DEMO_PORT\" \
             --username \"$CFIMAP_DEMO_USER\" --password \"$CFIMAP_DEMO_PASSWORD\" --cafile \"$CFIMAP_DEMO_CAFILE\""
                .to_string(),
        ]
    } else {
        commands
    };
    let vars = env_vars(&testbed);
    let mut result = ExitCode::SUCCESS;
    let mut failed = false;
    for cmd in &commands {
        println!("$ {cmd}");
        let status = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .envs(vars.iter().map(|(k, v)| (*k, v)))
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("cfimap-testbed: command failed ({s})");
                if !failed {
                    result =
                        ExitCode::from(s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1));
                    failed = true;
                }
            }
            Err(e) => {
                eprintln!("cfimap-testbed: cannot run sh: {e}");
                if !failed {
                    result = ExitCode::from(1);
                    failed = true;
                }
            }
        }
    }
    drop(testbed);
    result
}

fn serve(flavor: Flavor, accounts: usize) -> ExitCode {
    let testbed = match start(flavor, accounts) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("cfimap-testbed: {e}");
            return ExitCode::from(1);
        }
    };
    banner(&testbed.dovecot, &testbed.account);
    for (k, v) in env_vars(&testbed) {
        println!("export {k}='{v}'");
    }
    println!("# press Enter (or close stdin) to stop");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    ExitCode::SUCCESS
}

/// One message of the demo mailbox: its folder (a `/` path), flags and bytes.
struct Seeded {
    folder: &'static str,
    flags: &'static [&'static str],
    bytes: Vec<u8>,
}

/// The demo mailbox: a few messages in INBOX and three folders with non-ASCII names. Made once
/// per run, so every account seeded from it holds the same bytes (Message-IDs and boundaries
/// are random per message).
fn demo_mail() -> Vec<Seeded> {
    let inbox = [
        (
            &["\\Seen"][..],
            Message::new(
                "Welcome to cfimap",
                "cfimap is ColdFusion's <cfimap> as a WebAssembly component.\n",
            )
            .from("cfimap <hello@cfimap.example>")
            .date("Mon, 8 Jan 2024 09:00:00 +0000"),
        ),
        (
            &[][..],
            Message::new(
                "Grüße aus Köln – Projektstand ✓",
                "Hallo,\n\nder Stand ist gut. Schöne Grüße!\n",
            )
            .from("Jürgen Müller <juergen@example.de>")
            .date("Tue, 9 Jan 2024 14:12:00 +0100"),
        ),
        (
            &[][..],
            Message::new("Quarterly report", "The report is attached.\n")
                .from("Finance <finance@example.com>")
                .date("Wed, 10 Jan 2024 08:30:00 -0500")
                .attach(
                    "report-Q4.pdf",
                    "application/pdf",
                    b"%PDF-1.4\n% demo attachment\n%%EOF\n".to_vec(),
                ),
        ),
        (
            &["\\Flagged"][..],
            Message::new("Lunch on Friday?", "Shall we meet at noon?\n")
                .html("<p>Shall we meet at <b>noon</b>?</p>")
                .from("Sam <sam@example.org>")
                .date("Thu, 11 Jan 2024 11:45:00 +0000"),
        ),
    ];
    let mut mail: Vec<Seeded> = inbox
        .into_iter()
        .map(|(flags, m)| Seeded {
            folder: "INBOX",
            flags,
            bytes: m.to_bytes(),
        })
        .collect();
    let folders: [(&str, Vec<Message>); 3] = [
        (
            "Archive/2024",
            vec![
                Message::new("Invoice 2024-001", "Paid, thank you.\n")
                    .date("Fri, 5 Jan 2024 10:00:00 +0000"),
                Message::new("Conference tickets", "Your tickets are confirmed.\n")
                    .date("Sat, 6 Jan 2024 16:20:00 +0000"),
            ],
        ),
        (
            "Entwürfe",
            vec![Message::new(
                "Entwurf: Angebot für Café Zürich",
                "Sehr geehrte Damen und Herren,\n",
            )],
        ),
        (
            "Projekte/日本語",
            vec![
                Message::new("会議の議事録", "本日の会議の議事録を添付します。\n")
                    .date("Mon, 15 Jan 2024 09:00:00 +0900"),
                Message::new("Re: 翻訳の確認", "ありがとうございます。\n")
                    .date("Tue, 16 Jan 2024 13:30:00 +0900"),
            ],
        ),
    ];
    for (folder, messages) in folders {
        for (i, m) in messages.iter().enumerate() {
            mail.push(Seeded {
                folder,
                flags: if i == 0 { &["\\Seen"] } else { &[] },
                bytes: m.to_bytes(),
            });
        }
    }
    mail
}

/// Seeds `account` with `mail`, creating its folders first.
fn seed(account: &Account, mail: &[Seeded]) -> cfimap_tests::imap::Result<()> {
    let mut c: Client = account.connect()?;
    let mut created: Vec<&str> = Vec::new();
    for m in mail {
        if m.folder != "INBOX" && !created.contains(&m.folder) {
            account.seed_folder(&mut c, m.folder)?;
            created.push(m.folder);
        }
        c.append(&account.wire_name(m.folder), m.flags, &m.bytes)?;
    }
    c.logout()
}
