//! The command line as people use it: `cfimap run` scripts over named connections, the tag's
//! attribute spellings, help, hints for the usual mistakes, profiles, and the `-vvv` trace of
//! the IMAP conversation.
//!
//! Scripts run against the private Dovecot, whose rawlog shows how many sessions (logins) a
//! script made and what each sent; the server's state is checked with the raw client, not taken
//! from cfimap's report.

use std::collections::{BTreeMap, BTreeSet};

use cfimap_tests::account::{Account, Secure};
use cfimap_tests::cli::{CliOutput, cfimap};
use cfimap_tests::dovecot::{Dovecot, Flavor};
use cfimap_tests::imap::Client;
use cfimap_tests::mail::Message;
use cfimap_tests::target;
use serde_json::Value;

// ---- helpers ---------------------------------------------------------------------------------

/// `s` as a tag attribute value: `"` doubled and `#` doubled, as CFML writes them.
fn tag_value(s: &str) -> String {
    s.replace('"', "\"\"").replace('#', "##")
}

/// The attributes of an open line for `account` over plaintext.
fn open_attributes(account: &Account) -> String {
    format!(
        "server=\"{}\" port=\"{}\" username=\"{}\" password=\"{}\" secure=\"no\"",
        tag_value(&account.server),
        account.port(Secure::Plain).expect("a plain port"),
        tag_value(&account.username),
        tag_value(&account.password)
    )
}

/// Appends a message per subject to `wire`; returns their UIDs.
fn seed(client: &mut Client, wire: &str, subjects: &[&str]) -> Vec<u32> {
    subjects
        .iter()
        .map(|subject| {
            let message = Message::new(subject, &format!("Body of {subject}.\n"));
            client
                .append(wire, &[], &message.to_bytes())
                .unwrap_or_else(|e| panic!("append to {wire}: {e}"))
                .expect("Dovecot answers APPEND with APPENDUID")
        })
        .collect()
}

/// `cfimap run -` with `script` on stdin.
fn run_script(script: &str, extra: &[&str]) -> CliOutput {
    cfimap(["run", "-"]).args(extra).stdin(script).run()
}

/// The objects `cfimap run` printed, each checked to be on its own line.
fn printed(out: &CliOutput) -> Vec<Value> {
    out.ndjson()
}

/// A field of an object, as text.
fn text<'a>(object: &'a Value, key: &str) -> &'a str {
    object[key].as_str().unwrap_or_default()
}

/// The UIDs of an object's rows.
fn uids(object: &Value) -> Vec<u64> {
    object["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {object}"))
        .iter()
        .map(|r| r["UID"].as_u64().expect("a UID"))
        .collect()
}

/// The subjects of an object's rows.
fn subjects(object: &Value) -> BTreeSet<String> {
    object["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {object}"))
        .iter()
        .map(|r| r["SUBJECT"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The sessions `user` had since `before`: one rawlog file each.
fn sessions_since(dovecot: &Dovecot, user: &str, before: &[std::path::PathBuf]) -> usize {
    dovecot
        .rawlog_files(user)
        .iter()
        .filter(|f| !before.contains(f))
        .count()
}

/// UID → subject of every message in `wire`, by the raw client.
fn uid_subjects(account: &Account, wire: &str) -> BTreeMap<u32, String> {
    let mut client = account.connect().expect("the raw client");
    let selected = client.examine(wire).expect("EXAMINE");
    let mut found = BTreeMap::new();
    if selected.exists == 0 {
        return found;
    }
    let done = client
        .command("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .expect("UID FETCH");
    for response in &done.untagged {
        let response = String::from_utf8_lossy(response);
        let uid = response
            .split_once("UID ")
            .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u32>().ok());
        let subject = response.split_once("Subject: ").map(|(_, rest)| {
            rest.split(['\r', '\n'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        });
        if let (Some(uid), Some(subject)) = (uid, subject) {
            found.insert(uid, subject);
        }
    }
    found
}

/// The subjects of the messages in `wire`, by the raw client.
fn subjects_in(account: &Account, wire: &str) -> BTreeSet<String> {
    uid_subjects(account, wire).into_values().collect()
}

/// The flags of `uid` in `wire`, by the raw client.
fn flags_of(account: &Account, wire: &str, uid: u32) -> Vec<String> {
    let mut client = account.connect().expect("the raw client");
    client.examine(wire).expect("EXAMINE");
    client
        .fetch_flags()
        .expect("FETCH FLAGS")
        .into_iter()
        .find(|m| m.uid == uid)
        .map(|m| m.flags)
        .unwrap_or_else(|| panic!("UID {uid} is not in {wire}"))
}

// ---- cfimap run ------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot (its rawlog), and CFIMAP_TEST_SERVER is set"
)]
fn a_script_does_every_action_on_one_connection_with_one_login() {
    let dovecot = Dovecot::shared(Flavor::Default);
    let account = dovecot.user();
    let mut client = account.connect().expect("the raw client");
    client.create("Archive").expect("CREATE Archive");
    let uids = seed(&mut client, "INBOX", &["first", "second", "third"]);
    client.logout().expect("LOGOUT");

    let script = format!(
        "# every action of the issue on one connection\n\
         <cfimap action=\"open\" connection=\"main\" {open}>\n\
         <cfimap action=\"getHeaderOnly\" connection=\"main\" folder=\"INBOX\" name=\"inbox\">\n\
         <cfimap action=\"markRead\" connection=\"Main\" folder=\"INBOX\" uid=\"{first}\">\n\
         <cfimap action=\"moveMail\" connection=\"main\" folder=\"INBOX\" uid=\"{second}\" newFolder=\"Archive\">\n\
         \n\
         {{\"action\": \"listAllFolders\", \"connection\": \"main\", \"name\": \"folders\"}}\n\
         <cfimap action=\"close\" connection=\"main\" />\n",
        open = open_attributes(&account),
        first = uids[0],
        second = uids[1],
    );
    let before = dovecot.rawlog_files(&account.username);
    let out = run_script(&script, &[]);
    out.assert_success();
    // One login for the whole script.
    let session = dovecot
        .rawlog_since(&account.username, &before)
        .unwrap_or_else(|text| panic!("no rawlog of the script's session: {text:?}"));
    assert_eq!(
        sessions_since(dovecot, &account.username, &before),
        1,
        "the script logged in once:\n{session}"
    );
    for command in ["EXAMINE", "STORE", "MOVE", "LIST", "LOGOUT"] {
        assert!(
            session.to_ascii_uppercase().contains(command),
            "the one session sent {command}:\n{session}"
        );
    }

    let objects = printed(&out);
    let lines: Vec<(u64, &str)> = objects
        .iter()
        .map(|o| (o["line"].as_u64().unwrap_or(0), text(o, "action")))
        .collect();
    assert_eq!(
        lines,
        [
            (2, "open"),
            (3, "getHeaderOnly"),
            (4, "markRead"),
            (5, "moveMail"),
            (7, "listAllFolders"),
            (8, "close")
        ],
        "one object per line, in order\n{out}"
    );
    assert!(objects.iter().all(|o| o.get("error").is_none()), "{out}");
    assert_eq!(text(&objects[0], "connection"), "main");
    assert_eq!(text(&objects[1], "name"), "inbox");
    assert_eq!(
        uids_of(&objects[1]),
        uids,
        "getHeaderOnly saw the three messages\n{out}"
    );
    assert_eq!(objects[2]["result"]["affected"], 1, "{out}");
    assert_eq!(objects[3]["result"]["affected"], 1, "{out}");
    let archive = objects[4]["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["FULLNAME"] == "Archive"))
        .unwrap_or_else(|| panic!("no Archive row\n{out}"));
    assert_eq!(archive["TOTALMESSAGES"], 1, "{out}");

    // The server's own account of it.
    assert!(
        flags_of(&account, "INBOX", uids[0])
            .iter()
            .any(|f| f == "\\Seen"),
        "markRead marked the first message read"
    );
    assert_eq!(
        subjects_in(&account, "INBOX"),
        ["first", "third"].map(String::from).into(),
        "moveMail took the second message out of INBOX"
    );
    assert_eq!(
        subjects_in(&account, "Archive"),
        ["second"].map(String::from).into(),
        "and into Archive"
    );
}

fn uids_of(object: &Value) -> Vec<u32> {
    uids(object)
        .into_iter()
        .map(|u| u32::try_from(u).expect("a u32 UID"))
        .collect()
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot (two users, its rawlog), and CFIMAP_TEST_SERVER is set"
)]
fn two_named_connections_in_tag_syntax_stay_apart() {
    let dovecot = Dovecot::shared(Flavor::Default);
    let alice = dovecot.user();
    let bob = dovecot.user();
    let mut client = alice.connect().expect("raw client");
    seed(&mut client, "INBOX", &["for alice 1", "for alice 2"]);
    let mut client = bob.connect().expect("raw client");
    seed(&mut client, "INBOX", &["for bob"]);

    let script = format!(
        "<cfimap action=\"open\" connection=\"a\" {a}>\n\
         <cfimap action=\"open\" connection=\"b\" {b}>\n\
         <cfimap action=\"getHeaderOnly\" connection=\"a\" name=\"alice\">\n\
         <cfimap action=\"getHeaderOnly\" connection=\"b\" name=\"bob\">\n\
         <cfimap action=\"createFolder\" connection=\"b\" folder=\"Only Bob\">\n\
         <cfimap action=\"close\" connection=\"a\">\n\
         <cfimap action=\"getHeaderOnly\" connection=\"b\" maxRows=\"1\" name=\"bob again\">\n",
        a = open_attributes(&alice),
        b = open_attributes(&bob),
    );
    let before_a = dovecot.rawlog_files(&alice.username);
    let before_b = dovecot.rawlog_files(&bob.username);
    let out = run_script(&script, &[]);
    out.assert_success();
    // One session each; b, left open, was logged out at the end.
    for (account, before) in [(&alice, &before_a), (&bob, &before_b)] {
        let session = dovecot
            .rawlog_since(&account.username, before)
            .unwrap_or_else(|text| panic!("{} was not logged out: {text:?}", account.username));
        assert_eq!(
            sessions_since(dovecot, &account.username, before),
            1,
            "{}:\n{session}",
            account.username
        );
    }

    let objects = printed(&out);
    assert_eq!(objects.len(), 7, "{out}");
    assert_eq!(
        subjects(&objects[2]),
        ["for alice 1", "for alice 2"].map(String::from).into(),
        "{out}"
    );
    assert_eq!(
        subjects(&objects[3]),
        ["for bob"].map(String::from).into(),
        "{out}"
    );
    assert_eq!(text(&objects[6], "name"), "bob again");
    assert_eq!(
        subjects(&objects[6]).len(),
        1,
        "b is still open after a closed\n{out}"
    );
    let listed = |account: &Account| -> Vec<String> {
        let mut c = account.connect().expect("raw client");
        c.list("", "*")
            .expect("LIST")
            .into_iter()
            .map(|e| e.name)
            .collect()
    };
    assert!(listed(&bob).iter().any(|n| n == "Only Bob"));
    assert!(!listed(&alice).iter().any(|n| n == "Only Bob"));
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn json_lines_on_stdin_with_the_connection_from_flags() {
    let account = target::private_account(Flavor::Default);
    let mut client = account.connect().expect("raw client");
    seed(
        &mut client,
        "INBOX",
        &["invoice 1", "newsletter", "invoice 2"],
    );
    let script = "{\"action\": \"open\", \"connection\": \"c\"}\n\
         {\"action\": \"getHeaderOnly\", \"connection\": \"c\", \"filter\": [\"subject=invoice\"], \"newest\": true}\n\
         {\"action\": \"getAll\", \"connection\": \"c\", \"uid\": [2], \"name\": \"one\"}\n";
    let out = cfimap(["run"])
        .args(account.cli_args(Secure::Plain))
        .stdin(script)
        .run();
    out.assert_success();
    let objects = printed(&out);
    assert_eq!(objects.len(), 3, "{out}");
    let subjects: Vec<&str> = objects[1]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["SUBJECT"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        subjects,
        ["invoice 2", "invoice 1"],
        "filtered, newest first\n{out}"
    );
    assert_eq!(
        objects[2]["rows"][0]["TEXTBODY"].as_str().map(str::trim),
        Some("Body of newsletter."),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_failing_line_stops_the_script_unless_keep_going() {
    let account = target::private_account(Flavor::Default);
    let script = format!(
        "<cfimap action=\"open\" connection=\"c\" {}>\n\
         <cfimap action=\"getHeaderOnly\" connection=\"c\" folder=\"Nope\">\n\
         <cfimap action=\"createFolder\" connection=\"c\" folder=\"After\">\n",
        open_attributes(&account)
    );
    let exists = |name: &str| {
        let mut c = account.connect().expect("raw client");
        c.list("", name)
            .expect("LIST")
            .iter()
            .any(|e| e.name == name)
    };

    let out = run_script(&script, &[]);
    out.assert_code(5);
    let objects = printed(&out);
    assert_eq!(
        objects.len(),
        2,
        "nothing runs after the failing line\n{out}"
    );
    assert_eq!(objects[1]["line"], 2);
    assert_eq!(objects[1]["error"]["status"], 5, "{out}");
    assert_eq!(
        text(&objects[1]["error"], "message"),
        "folder not found: Nope"
    );
    assert!(
        out.stderr.contains("line 2: folder not found: Nope"),
        "{out}"
    );
    assert!(!exists("After"), "line 3 did not run");

    let out = run_script(&script, &["--keep-going"]);
    out.assert_code(5);
    let objects = printed(&out);
    assert_eq!(objects.len(), 3, "{out}");
    assert_eq!(objects[2]["result"]["affected"], 1, "{out}");
    assert!(exists("After"), "line 3 ran");
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_script_file_takes_the_password_from_stdin_once_for_every_open() {
    let account = target::private_account(Flavor::Default);
    let dovecot = Dovecot::shared(Flavor::Default);
    let before = dovecot.rawlog_files(&account.username);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("two.cfm");
    // Neither open line carries a password: both take the one read from stdin.
    std::fs::write(
        &file,
        "<cfimap action=\"open\" connection=\"a\">\n\
         <cfimap action=\"open\" connection=\"b\">\n\
         <cfimap action=\"listAllFolders\" connection=\"a\" name=\"first\">\n\
         <cfimap action=\"listAllFolders\" connection=\"b\" name=\"second\">\n",
    )
    .expect("the script file");
    let port = account.port(Secure::Plain).expect("plain port").to_string();
    let out = cfimap(["run"])
        .arg(&file)
        .args([
            "--server",
            &account.server,
            "--port",
            &port,
            "--secure",
            "no",
        ])
        .args(["--username", &account.username, "--password-stdin"])
        .stdin(format!("{}\n", account.password))
        .run();
    out.assert_success();
    let objects = printed(&out);
    assert_eq!(objects.len(), 4, "{out}");
    for (object, name) in objects[2..].iter().zip(["first", "second"]) {
        assert_eq!(object["name"], name, "{out}");
        assert!(
            object["rows"]
                .as_array()
                .is_some_and(|rows| rows.iter().any(|r| r["NAME"] == "INBOX")),
            "{out}"
        );
    }
    assert_eq!(
        sessions_since(dovecot, &account.username, &before),
        2,
        "one login per named connection\n{out}"
    );
    assert!(!out.stderr.contains(&account.password), "{out}");
}

#[test]
fn a_program_driving_cfimap_run_gets_each_answer_before_it_writes_the_next_line() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;
    let mut child = cfimap_tests::cli::clean_command(&cfimap_tests::cli::binary())
        .args(["run", "-", "--keep-going"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cfimap starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, answers) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line.expect("a line of stdout")).is_err() {
                break;
            }
        }
    });
    // Lines that fail before connecting: no server needed, and each still gets its object.
    for (n, connection) in [(1, "first"), (2, "second")] {
        writeln!(
            stdin,
            "{{\"action\": \"getAll\", \"connection\": \"{connection}\"}}"
        )
        .expect("a line written");
        stdin.flush().expect("flushed");
        let answer = answers
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no answer to line {n} while stdin stays open"));
        let object: Value = serde_json::from_str(&answer).expect("a JSON line");
        assert_eq!(object["line"], n, "{answer}");
        assert!(
            text(&object["error"], "message").contains(&format!("\"{connection}\" is not open")),
            "{answer}"
        );
    }
    drop(stdin);
    let status = child.wait().expect("cfimap ends");
    assert_eq!(status.code(), Some(2), "the first failure's status");
}

#[test]
fn script_mistakes_are_usage_errors_naming_their_line() {
    // No server is needed: every line fails before connecting.
    let script = "<cfimap action=\"getAll\" folder=\"#form.folder#\">\n\
         <cfimap action=\"getAll\" connection=\"nope\">\n\
         <cfimap action=\"getHeaderOnly\" connection=\"c\" newFolder=\"x\">\n\
         <cfimap action=\"getHeaderOnly\" connection=\"c\" server=\"elsewhere\">\n\
         <cfimap action=\"close\">\n\
         <cfimap action=\"getHeaderOnly\" connection=\"c\" maxrows=\"0\" />\n\
         getHeaderOnly --folder INBOX\n\
         <cfimap action=\"open\" connection=\"x\" passwordStdin=\"yes\" />\n\
         <cfimap action=\"open\" connection=\"x\" profile=\"work\" />\n";
    let out = run_script(script, &["--keep-going"]);
    out.assert_code(2);
    let objects = printed(&out);
    let errors: Vec<(u64, &str)> = objects
        .iter()
        .map(|o| {
            (
                o["line"].as_u64().unwrap_or(0),
                o["error"]["message"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let expected = [
        (1, "CFML expression"),
        (2, "connection \"nope\" is not open"),
        (3, "--newfolder does not apply to getHeaderOnly"),
        (4, "server does not apply to a line on connection \"c\""),
        (5, "close needs connection"),
        (6, "1 or more"),
        (7, "expected a <cfimap"),
        (8, "password-stdin cannot be a script line's attribute"),
        (9, "profile is an option of cfimap run"),
    ];
    assert_eq!(errors.len(), expected.len(), "{out}");
    for ((line, message), (want_line, want)) in errors.iter().zip(expected) {
        assert_eq!(*line, want_line, "{out}");
        assert!(
            message.contains(want),
            "line {line}: {message:?} lacks {want:?}\n{out}"
        );
        assert!(
            out.stderr.contains(&format!("cfimap: line {line}: ")),
            "stderr names line {line}\n{out}"
        );
    }
    assert!(objects.iter().all(|o| o["error"]["status"] == 2), "{out}");

    // The run's output is always NDJSON: a format or columns for it is a mistake.
    for flag in [&["--format", "csv"][..], &["--columns", "uid"]] {
        let out = cfimap(["run", "-"]).args(flag).stdin(script).run();
        out.assert_code(2);
        assert!(
            out.stderr
                .contains(&format!("{} does not apply to cfimap run", flag[0])),
            "{out}"
        );
        assert!(out.stdout.is_empty(), "no line ran\n{out}");
    }
}

// ---- the tag's spellings on the command line ------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn the_tags_attribute_spellings_work_on_the_command_line() {
    let account = target::private_account(Flavor::Default);
    let mut client = account.connect().expect("raw client");
    let uids = seed(&mut client, "INBOX", &["one", "two", "three", "four"]);
    let read = |extra: &[&str]| -> Vec<u32> {
        let out = cfimap(["GETHEADERONLY"])
            .args(account.cli_args(Secure::Plain))
            .args(["--format", "json"])
            .args(extra)
            .run();
        out.assert_success();
        out.rows()
            .iter()
            .map(|r| {
                r["UID"]
                    .as_u64()
                    .and_then(|u| u32::try_from(u).ok())
                    .expect("UID")
            })
            .collect()
    };
    assert_eq!(read(&["--startRow", "2", "--MAXROWS", "2"]), &uids[1..3]);
    assert_eq!(read(&["--StopOnError", "false", "--maxRows=1"]), &uids[..1]);
    let range = format!("{}:{}", uids[1], uids[2]);
    assert_eq!(read(&["--uid", &range]), &uids[1..3]);
    let dashes = format!("{}-{}", uids[2], uids[3]);
    assert_eq!(read(&["--UID", &dashes]), &uids[2..4]);
    let lines = format!("{}\n{}\n", uids[0], uids[3]);
    assert_eq!(read(&["--uid", &lines]), [uids[0], uids[3]]);
    assert_eq!(read(&["--messageNumber", "1 3"]), [uids[0], uids[2]]);

    let out = cfimap(["listAllFolders"])
        .args(account.cli_args(Secure::Plain))
        .args(["--recurse", "false", "--format", "json"])
        .run();
    out.assert_success();

    // A flag of another action, or --all with a selection, is refused before anything is sent:
    // nothing moves.
    let out = cfimap(["getHeaderOnly", "--newFolder", "x"])
        .args(account.cli_args(Secure::Plain))
        .run();
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("--newfolder does not apply to getHeaderOnly; it is an attribute of moveMail, renameFolder"),
        "{out}"
    );
    let second = uids[1].to_string();
    let out = cfimap([
        "moveMail",
        "--uid",
        &second,
        "--all",
        "--newFolder",
        "Archive",
    ])
    .args(account.cli_args(Secure::Plain))
    .run();
    out.assert_code(2);
    assert!(out.stderr.contains("--all selects every message"), "{out}");
    assert_eq!(subjects_in(&account, "INBOX").len(), 4, "nothing moved");
}

#[test]
fn help_names_one_actions_attributes_and_suggests_what_was_meant() {
    for argv in [
        &["help", "getall"][..],
        &["getAll", "--help"],
        &["GetAll", "-h"],
    ] {
        let out = cfimap(argv.iter().copied()).run();
        out.assert_success();
        assert!(out.stdout.contains("Usage: cfimap getAll"), "{out}");
        assert!(out.stdout.contains("--attachmentpath"), "{out}");
        assert!(
            !out.stdout.contains("--newfolder"),
            "getAll's help is getAll's\n{out}"
        );
    }
    let out = cfimap(["getal"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains("'getAll'"),
        "did you mean getAll\n{out}"
    );
    let out = cfimap(["getAll", "--startrw", "2"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains("'--startrow'"),
        "did you mean --startrow\n{out}"
    );
    assert!(out.stderr.contains("cfimap help getAll"), "{out}");

    let out = cfimap(["completions", "bash"]).run();
    out.assert_success();
    assert!(
        out.stdout.contains("getHeaderOnly") && out.stdout.contains("--maxrows"),
        "{out}"
    );
    let out = cfimap(["help", "getHeader"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains("'getHeaderOnly'"),
        "help suggests the action meant\n{out}"
    );
    for shell in ["fish", "zsh"] {
        let out = cfimap(["completions", shell]).run();
        out.assert_success();
        assert!(out.stdout.contains("getHeaderOnly"), "{shell}\n{out}");
    }
    // A reader that stops early (`| head`): no panic, success.
    let mut child = cfimap_tests::cli::clean_command(&cfimap_tests::cli::binary())
        .args(["completions", "zsh"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cfimap starts");
    drop(child.stdout.take());
    let done = child.wait_with_output().expect("cfimap ends");
    assert!(
        done.status.success(),
        "{:?}: {}",
        done.status,
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        done.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let out = cfimap(["man"]).run();
    out.assert_success();
    assert!(out.stdout.contains(".TH cfimap 1"), "{out}");
}

// ---- hints -----------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot (its two ports and CAs), and CFIMAP_TEST_SERVER is set"
)]
fn the_usual_mistakes_get_a_hint() {
    let account = target::private_account(Flavor::Default);
    let plain = account.port(Secure::Plain).expect("plain port").to_string();
    let tls = account.port(Secure::Tls).expect("TLS port").to_string();
    let login = [
        "--username",
        &account.username,
        "--password",
        &account.password,
    ];

    let host_port = format!("{}:{}", account.server, tls);
    let out = cfimap(["open", "--server", &host_port]).args(login).run();
    out.assert_code(2);
    let want = format!("write --server {} --port {tls}", account.server);
    assert!(out.stderr.contains(&want), "{out}");

    // Plaintext to the implicit-TLS port: the server waits for a ClientHello, so the greeting
    // never comes; the timeout says what to do.
    let out = cfimap([
        "open",
        "--server",
        &account.server,
        "--port",
        &tls,
        "--timeout",
        "2",
    ])
    .args(["--secure", "no"])
    .args(login)
    .run();
    out.assert_code(3);
    assert!(out.stderr.contains("greeting"), "{out}");
    assert!(out.stderr.contains("add --secure yes"), "{out}");

    // TLS to the plaintext port.
    let ca = account.ca_file.as_ref().expect("the private CA");
    let out = cfimap(["open", "--server", &account.server, "--port", &plain])
        .args(["--secure", "tls", "--cafile"])
        .arg(ca)
        .args(login)
        .run();
    out.assert_code(3);
    assert!(out.stderr.contains("try --secure starttls"), "{out}");

    // An unknown CA names --cafile; `ssl` is `yes`.
    let out = cfimap([
        "open",
        "--server",
        &account.server,
        "--port",
        &tls,
        "--secure",
        "SSL",
    ])
    .args(login)
    .run();
    out.assert_code(3);
    assert!(out.stderr.contains("--cafile"), "{out}");
    cfimap([
        "open",
        "--server",
        &account.server,
        "--port",
        &tls,
        "--secure",
        "ssl",
    ])
    .arg("--cafile")
    .arg(ca)
    .args(login)
    .run()
    .assert_success();
}

#[test]
fn plaintext_or_starttls_on_port_993_is_warned_of_before_connecting() {
    // Port 993 on loopback: whether anything listens there or not, the warning comes first.
    let open = |secure: &str, extra: &[&str]| {
        cfimap([
            "open",
            "--server",
            "127.0.0.1",
            "--port",
            "993",
            "--secure",
            secure,
        ])
        .args(["--username", "u", "--password", "p", "--timeout", "2"])
        .args(extra)
        .run()
    };
    for (secure, asks) in [("no", "plaintext"), ("starttls", "STARTTLS")] {
        let out = open(secure, &[]);
        assert!(
            out.stderr.starts_with(&format!(
                "cfimap: warning: port 993 is IMAP over implicit TLS, but secure={secure} asks \
                 for {asks}"
            )),
            "{out}"
        );
        assert!(out.stderr.contains("(use --secure yes)"), "{out}");
        assert!(!open(secure, &["--quiet"]).stderr.contains("warning"));
    }
    // TLS, or no --secure at all (993 means implicit TLS then): no warning.
    for secure in [&["--secure", "yes"][..], &[]] {
        let out = cfimap(["open", "--server", "127.0.0.1", "--port", "993"])
            .args(secure)
            .args(["--username", "u", "--password", "p", "--timeout", "2"])
            .run();
        assert!(!out.stderr.contains("warning"), "{secure:?}\n{out}");
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_missing_folder_is_worded_alike_by_every_action() {
    let account = target::private_account(Flavor::Default);
    for action in [
        &["getHeaderOnly"][..],
        &["getAll"],
        &["delete", "--all"],
        &["markRead", "--all"],
        &["markUnread", "--all"],
        &["moveMail", "--all", "--newfolder", "INBOX"],
        &["listAllFolders"],
        &["deleteFolder"],
        &["renameFolder", "--newfolder", "Elsewhere"],
    ] {
        let out = cfimap(action.iter().copied())
            .args(["--folder", "Nope"])
            .args(account.cli_args(Secure::Plain))
            .run();
        out.assert_code(5);
        assert_eq!(
            out.stderr.trim(),
            "cfimap: folder not found: Nope",
            "{action:?}\n{out}"
        );
    }
}

// ---- trace, profiles, passwords --------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn vvv_shows_the_conversation_without_credentials_or_bodies() {
    let account = target::private_account(Flavor::Default);
    let mut client = account.connect().expect("raw client");
    let body_marker = "body-text-that-must-not-be-logged";
    let message = Message::new("traced", &format!("{body_marker}\n"));
    client
        .append("INBOX", &[], &message.to_bytes())
        .expect("APPEND");
    let out = cfimap(["getAll", "-vvv"])
        .args(account.cli_args(Secure::StartTls))
        .args(["--format", "json"])
        .run();
    out.assert_success();
    let trace = &out.stderr;
    for want in ["C: ", "S: ", "STARTTLS", "FETCH", "bytes>", "LOGOUT"] {
        assert!(trace.contains(want), "the trace shows {want:?}\n{trace}");
    }
    assert!(
        trace.contains("AUTHENTICATE PLAIN ***") || trace.contains("LOGIN ***"),
        "{trace}"
    );
    assert!(
        !trace.contains(&account.password),
        "no password in the trace"
    );
    assert!(!trace.contains(body_marker), "no message body in the trace");
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn profiles_environment_and_password_sources() {
    let account = target::private_account(Flavor::Default);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{}\n", account.password)).expect("the secret file");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profile.test]\nserver = \"{}\"\nport = {}\nusername = \"{}\"\nsecure = \"none\"\n\
             password-command = \"cat '{}'\"\n",
            account.server,
            account.port(Secure::Plain).expect("plain port"),
            account.username,
            secret.display()
        ),
    )
    .expect("the configuration file");
    let open = |extra: &[&str]| {
        cfimap(["open", "--format", "json"])
            .env("CFIMAP_CONFIG", &config)
            .args(extra)
    };

    let out = open(&["--profile", "test"]).run();
    out.assert_success();
    assert_eq!(out.json()["username"], account.username.as_str(), "{out}");
    open(&[])
        .env("CFIMAP_PROFILE", "test")
        .run()
        .assert_success();
    // A flag beats the profile; the environment beats it too.
    open(&["--profile", "test", "--username", "nobody"])
        .run()
        .assert_code(4);
    open(&["--profile", "test"])
        .env("CFIMAP_USERNAME", "nobody")
        .run()
        .assert_code(4);
    let out = open(&["--profile", "nope"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains("no profile \"nope\"") && out.stderr.contains("test"),
        "{out}"
    );

    // The environment alone, and the password from stdin.
    let port = account.port(Secure::Plain).expect("plain port").to_string();
    let env_only = || {
        cfimap(["open", "--format", "json"])
            .env("CFIMAP_SERVER", &account.server)
            .env("CFIMAP_PORT", &port)
            .env("CFIMAP_USERNAME", &account.username)
            .args(["--secure", "no"])
    };
    env_only()
        .env("CFIMAP_PASSWORD", &account.password)
        .run()
        .assert_success();
    env_only()
        .arg("--password-stdin")
        .stdin(format!("{}\n", account.password))
        .run()
        .assert_success();
    // An empty password variable is no password: with no terminal to ask on, a usage error.
    let out = env_only().env("CFIMAP_PASSWORD", "").run();
    out.assert_code(2);
    assert!(out.stderr.contains("no password"), "{out}");

    // Without CFIMAP_CONFIG or --config: $XDG_CONFIG_HOME/cfimap/config.toml, else
    // ~/.config/cfimap/config.toml.
    let profile = std::fs::read_to_string(&config).expect("the configuration file");
    let home = dir.path().join("home");
    let xdg = dir.path().join("xdg");
    for base in [home.join(".config"), xdg.clone()] {
        std::fs::create_dir_all(base.join("cfimap")).expect("a configuration directory");
    }
    std::fs::write(home.join(".config/cfimap/config.toml"), &profile).expect("~/.config");
    let by_default = |xdg_home: Option<&std::path::Path>| {
        let invocation = cfimap(["open", "--format", "json", "--profile", "test"])
            .env_remove("CFIMAP_CONFIG")
            .env("HOME", &home);
        let invocation = match xdg_home {
            Some(dir) => invocation.env("XDG_CONFIG_HOME", dir),
            None => invocation.env_remove("XDG_CONFIG_HOME"),
        };
        invocation.run()
    };
    by_default(None).assert_success();
    // XDG_CONFIG_HOME comes first: there, no profile "test" yet.
    std::fs::write(xdg.join("cfimap/config.toml"), "[profile.other]\n").expect("XDG file");
    let out = by_default(Some(&xdg));
    out.assert_code(2);
    assert!(out.stderr.contains("no profile \"test\""), "{out}");
    std::fs::write(xdg.join("cfimap/config.toml"), &profile).expect("XDG file");
    by_default(Some(&xdg)).assert_success();
}

#[test]
fn a_profiles_token_command_logs_in_with_oauthbearer_and_stays_secret() {
    use cfimap_tests::fault::{FaultServer, Script};
    let server = FaultServer::start(
        Script::session("IMAP4rev1 SASL-IR AUTH=OAUTHBEARER AUTH=PLAIN").logout(),
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profile.oauth]\nserver = \"127.0.0.1\"\nport = {}\nusername = \"u\"\n\
             secure = \"no\"\ntoken-command = \"echo tok-from-command\"\n",
            server.port()
        ),
    )
    .expect("the configuration file");
    let out = cfimap(["open", "--format", "json", "--profile", "oauth", "-vvv"])
        .env("CFIMAP_CONFIG", &config)
        .env_remove("CFIMAP_PASSWORD")
        .env_remove("CFIMAP_TOKEN")
        .run();
    out.assert_success();
    let commands = server.transcripts()[0].commands.clone();
    // RFC 7628: `n,a=u,^Aauth=Bearer tok-from-command^A^A`, base64, as the initial response
    // (what Python's base64 module makes of it).
    assert!(
        commands[0].ends_with(
            " AUTHENTICATE OAUTHBEARER bixhPXUsAWF1dGg9QmVhcmVyIHRvay1mcm9tLWNvbW1hbmQBAQ=="
        ),
        "{commands:?}"
    );
    assert!(out.stderr.contains("AUTHENTICATE"), "the trace ran\n{out}");
    assert!(
        !out.stderr.contains("tok-from-command") && !out.stderr.contains("bixhPXUs"),
        "the token never shows\n{out}"
    );
}

// ---- tables and progress ---------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn tables_fit_the_terminal_and_one_message_reads_like_a_letter() {
    let account = target::private_account(Flavor::Default);
    let mut client = account.connect().expect("raw client");
    let long = "A subject far too long for any terminal column, which goes on and on about nothing";
    let uids = seed(&mut client, "INBOX", &[long, "short", "third"]);
    let table = |extra: &[&str]| {
        let out = cfimap(["getHeaderOnly", "--format", "table"])
            .env("COLUMNS", "80")
            .args(account.cli_args(Secure::Plain))
            .args(extra)
            .run();
        out.assert_success();
        out
    };
    let out = table(&[]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        2 + uids.len(),
        "a heading, a rule, a line per row\n{out}"
    );
    for line in &lines {
        assert!(
            line.chars().count() <= 80,
            "{} wide: {line}\n{out}",
            line.chars().count()
        );
    }
    assert!(lines[2].contains('…'), "the long subject is cut\n{out}");
    assert!(
        lines[0].contains("SUBJECT") && !lines[0].contains("HEADER"),
        "{out}"
    );

    let out = table(&["--columns", "uid,Subject"]);
    let heading: Vec<&str> = out
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(heading, ["UID", "SUBJECT"], "{out}");
    let out = cfimap(["getHeaderOnly", "--columns", "colour"])
        .args(account.cli_args(Secure::Plain))
        .run();
    out.assert_code(2);
    assert!(out.stderr.contains("no column \"colour\""), "{out}");

    let second = uids[1].to_string();
    let out = cfimap(["getAll", "--format", "table", "--uid", &second])
        .args(account.cli_args(Secure::Plain))
        .run();
    out.assert_success();
    assert!(out.stdout.starts_with("From: "), "{out}");
    assert!(out.stdout.contains("\nSubject: short\n"), "{out}");
    assert!(
        out.stdout.contains("\n\nBody of short."),
        "the text after the headers\n{out}"
    );
}

#[test]
fn a_long_read_as_a_table_streams_in_the_widths_of_its_first_rows() {
    use cfimap_tests::fault::{FaultServer, Script, header_fetch};
    // 130 UIDs asked, 1–129 answered: the row of 130, which never came, has an error, and it
    // comes after the first 64 rows sized the columns (without an ERROR column).
    let mut script = Script::session("IMAP4rev1").examine_numbered_searched(130);
    for n in 1..=129 {
        script = script.send(header_fetch(n, n, true));
    }
    let server = FaultServer::start(script.tagged("OK FETCH done").logout());
    let uids: Vec<String> = (1..=130).map(|n: u32| n.to_string()).collect();
    let out = cfimap(["getHeaderOnly", "--format", "table", "--stoponerror=false"])
        .args(["--uid", &uids.join(",")])
        .args(server.cli_args())
        .env("COLUMNS", "80")
        .run();
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        2 + 130 + 1,
        "heading, rule, rows, one error line\n{out}"
    );
    assert!(
        !lines[0].contains("ERROR"),
        "no error among the first rows\n{out}"
    );
    for line in &lines {
        assert!(line.chars().count() <= 80, "{line:?}\n{out}");
    }
    // UIDs past the sample's widest (64) are whole: room was left for them.
    assert!(lines[2 + 128].trim_start().starts_with("129  "), "{out}");
    assert!(lines[2 + 129].trim_start().starts_with("130  "), "{out}");
    assert!(
        lines[2 + 130].starts_with("  ERROR: ") && lines[2 + 130].contains("130"),
        "the late row's error below it\n{out}"
    );
}

#[test]
fn a_table_read_that_fails_shows_the_rows_read_before_it_and_nothing_without_them() {
    use cfimap_tests::fault::{FaultServer, Script, header_fetch};
    // Rows reach the CLI a batch (64) at a time: of 70 answered, the first batch did; the
    // batch the drop interrupts is lost, as in every format.
    for (answered, shown) in [(70, 64), (0, 0)] {
        let mut script = Script::session("IMAP4rev1").examine_numbered(130);
        for n in 1..=answered {
            script = script.send(header_fetch(n, n, true));
        }
        // The connection drops before the rest and the tagged OK.
        let server = FaultServer::start(script.close());
        let out = cfimap(["getHeaderOnly", "--format", "table"])
            .args(server.cli_args())
            .run();
        out.assert_code(3);
        if shown == 0 {
            assert!(out.stdout.is_empty(), "not even a heading\n{out}");
            continue;
        }
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 2 + shown, "heading, rule, the rows\n{out}");
        assert!(lines[2 + 63].trim_start().starts_with("64  "), "{out}");
    }
}

#[test]
fn a_streamed_read_that_fails_keeps_the_rows_before_it_and_is_left_unfinished() {
    use cfimap_tests::fault::{FaultServer, Script, header_fetch};
    // Rows are printed by a thread of their own when stdout is not a terminal: the first
    // batch (64 of the 70 answered) is written, the batch the drop interrupts is lost, and
    // nothing ends the output as if it were complete (no closing bracket).
    for format in ["ndjson", "json", "csv"] {
        let mut script = Script::session("IMAP4rev1").examine_numbered(130);
        for n in 1..=70 {
            script = script.send(header_fetch(n, n, true));
        }
        let server = FaultServer::start(script.close());
        let out = cfimap(["getHeaderOnly", "--format", format])
            .args(server.cli_args())
            .run();
        out.assert_code(3);
        assert!(out.stderr.contains("connection closed"), "{format}\n{out}");
        let lines: Vec<&str> = out.stdout.lines().collect();
        match format {
            "ndjson" => {
                assert_eq!(lines.len(), 64, "{out}");
                let last: Value = serde_json::from_str(lines[63]).expect("a whole row");
                assert_eq!(last["UID"], 64, "{out}");
            }
            "json" => {
                assert!(out.stdout.starts_with("[{"), "{out}");
                assert!(out.stdout.trim_end().ends_with('}'), "left open\n{out}");
                assert!(
                    serde_json::from_str::<Value>(&out.stdout).is_err(),
                    "not a complete answer\n{out}"
                );
                assert_eq!(out.stdout.matches("\"UID\":").count(), 64, "{out}");
            }
            _ => {
                let records = csv::Reader::from_reader(out.stdout.as_bytes())
                    .records()
                    .collect::<Result<Vec<_>, _>>()
                    .expect("whole CSV records");
                assert_eq!(records.len(), 64, "{out}");
            }
        }
    }
    // On a terminal the rows are printed in turn, by the reading thread: the same rows.
    // (`script` gives cfimap a terminal for stdout; its transcript is what was shown.)
    let shell_quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    for (answered, complete) in [(70, true), (70, false)] {
        let mut script =
            Script::session("IMAP4rev1").examine_numbered(if complete { 70 } else { 130 });
        for n in 1..=answered {
            script = script.send(header_fetch(n, n, true));
        }
        let script = if complete {
            script.tagged("OK FETCH done").logout()
        } else {
            script.close()
        };
        let server = FaultServer::start(script);
        let mut command = vec![shell_quote(
            &cfimap_tests::cli::binary().display().to_string(),
        )];
        command.push("getHeaderOnly --format ndjson --quiet".into());
        command.extend(server.cli_args().iter().map(|a| shell_quote(a)));
        let out = cfimap(["-qec", &command.join(" "), "/dev/null"])
            .program("script")
            .run();
        let rows: Vec<Value> = out
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l.trim_end()).ok())
            .collect();
        let shown = if complete { 70 } else { 64 };
        assert_eq!(rows.len(), shown, "complete: {complete}\n{out}");
        assert_eq!(rows[shown - 1]["UID"], shown, "{out}");
        if !complete {
            assert!(out.stdout.contains("connection closed"), "{out}");
        }
    }
}

#[test]
fn progress_shows_on_a_terminal_after_a_moment_and_never_in_the_output() {
    use cfimap_tests::fault::{FaultServer, Script, header_fetch};
    use std::time::Duration;
    let slow = || {
        FaultServer::start(
            Script::logged_in("IMAP4rev1")
                .expect(r#"^\S+ LIST "" ""$"#)
                .stall(Duration::from_millis(1500))
                .line(r#"* LIST (\Noselect) "/" """#)
                .tagged("OK List completed.")
                .logout(),
        )
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let shell_quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    // `script` gives cfimap a terminal for stderr; stdout goes to a file.
    let on_a_terminal = |server: &FaultServer, action: &str, extra: &str| {
        let json = dir.path().join("out.json");
        let mut command = vec![shell_quote(
            &cfimap_tests::cli::binary().display().to_string(),
        )];
        command.push(action.into());
        command.extend(server.cli_args().iter().map(|a| shell_quote(a)));
        command.push("--format json".into());
        command.push(extra.into());
        command.push(format!("> {}", shell_quote(&json.display().to_string())));
        let out = cfimap(["-qec", &command.join(" "), "/dev/null"])
            .program("script")
            .run();
        out.assert_success();
        let json = std::fs::read_to_string(json).expect("the output file");
        (out.stdout, json)
    };
    let server = slow();
    let (terminal, json) = on_a_terminal(&server, "open", "");
    assert!(
        terminal.contains("open ("),
        "the spinner showed:\n{terminal:?}"
    );
    let object: Value = serde_json::from_str(&json).expect("only JSON on stdout");
    assert_eq!(object["action"], "open");
    let server = slow();
    let (terminal, _) = on_a_terminal(&server, "open", "--quiet");
    assert!(
        !terminal.contains("open ("),
        "--quiet shows nothing:\n{terminal:?}"
    );

    // A read counts its rows a batch (64) at a time: 64 come, then a pause before the rest.
    let mut script = Script::session("IMAP4rev1").examine_numbered(70);
    for n in 1..=70 {
        if n == 65 {
            script = script.stall(Duration::from_millis(1500));
        }
        script = script.send(header_fetch(n, n, true));
    }
    let server = FaultServer::start(script.tagged("OK FETCH done").logout());
    let (terminal, json) = on_a_terminal(&server, "getHeaderOnly", "");
    assert!(
        terminal.contains("getHeaderOnly: 64 rows"),
        "the count showed:\n{terminal:?}"
    );
    let rows: Value = serde_json::from_str(&json).expect("only JSON on stdout");
    assert_eq!(rows.as_array().map(Vec::len), Some(70), "{json}");
}

// ---- beyond the tag: markUnread, and where moved messages went ------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot (its flavor without MOVE), and CFIMAP_TEST_SERVER is set"
)]
fn mark_unread_and_the_uids_moved_messages_got() {
    for flavor in [Flavor::Default, Flavor::NoMove] {
        let account = target::private_account(flavor);
        let mut client = account.connect().expect("raw client");
        client.create("Dest").expect("CREATE");
        let uids: Vec<u32> = ["one", "two", "three"]
            .iter()
            .map(|subject| {
                let message = Message::new(subject, "Body.\n");
                client
                    .append("INBOX", &["\\Seen", "\\Flagged"], &message.to_bytes())
                    .expect("APPEND")
                    .expect("APPENDUID")
            })
            .collect();
        let cli = |args: &[&str]| {
            let out = cfimap(args.iter().copied())
                .args(account.cli_args(Secure::Plain))
                .args(["--format", "json"])
                .run();
            out.assert_success();
            out.json()
        };

        let list = format!("{},{}", uids[0], uids[1]);
        let report = cli(&["markUnread", "--uid", &list]);
        assert_eq!(report["affected"], 2, "{flavor:?}: {report}");
        for (uid, seen) in [(uids[0], false), (uids[1], false), (uids[2], true)] {
            let flags = flags_of(&account, "INBOX", uid);
            assert_eq!(
                flags.iter().any(|f| f == "\\Seen"),
                seen,
                "{flavor:?} UID {uid}: {flags:?}"
            );
            assert!(
                flags.iter().any(|f| f == "\\Flagged"),
                "other flags stay: {flags:?}"
            );
        }

        let before = uid_subjects(&account, "INBOX");
        let list = format!("{},{}", uids[0], uids[2]);
        let report = cli(&["moveMail", "--uid", &list, "--newFolder", "Dest"]);
        let after = uid_subjects(&account, "Dest");
        let moved = report["newuids"]
            .as_array()
            .unwrap_or_else(|| panic!("{flavor:?}: no newuids in {report}"));
        assert_eq!(moved.len(), 2, "{flavor:?}: {report}");
        for pair in moved {
            let old = pair["uid"]
                .as_u64()
                .and_then(|u| u32::try_from(u).ok())
                .expect("uid");
            let new = pair["newuid"]
                .as_u64()
                .and_then(|u| u32::try_from(u).ok())
                .expect("newuid");
            assert_eq!(
                after.get(&new),
                before.get(&old),
                "{flavor:?}: UID {old} became {new} in Dest, as the server holds it"
            );
        }
    }
}

#[test]
fn a_tls_record_instead_of_a_greeting_is_named_at_once() {
    use cfimap_tests::fault::{FaultServer, Script};
    // A TLS alert (content type 21, version 3.3), as some TLS servers send to a client that
    // says nothing: no line end will ever come, so waiting for one would take the timeout.
    let server = FaultServer::start(Script::new().send([21u8, 3, 3, 0, 2, 2, 70]));
    let out = cfimap(["open"])
        .args(server.cli_args())
        .args(["--timeout", "30"])
        .run();
    out.assert_code(6);
    assert!(
        out.stderr
            .contains("TLS record instead of an IMAP greeting"),
        "{out}"
    );
    assert!(out.stderr.contains("add --secure yes"), "{out}");
    assert!(
        out.elapsed < std::time::Duration::from_secs(10),
        "at once\n{out}"
    );
}

// ---- start-up --------------------------------------------------------------------------------

/// The `cfimap-*.cwasm` files in `dir` (none when it does not exist).
fn compiled_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("cfimap-") && n.ends_with(".cwasm"))
        })
        .collect()
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_component_compiled_ahead_of_time_spares_the_first_run_its_compile_unless_untrusted() {
    use std::os::unix::fs::PermissionsExt;
    let account = target::private_account(Flavor::Default);
    // An installed layout of its own: the binary in bin/, `make install`'s file in lib/cfimap.
    let root = tempfile::tempdir().expect("tempdir");
    let bin = root.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let exe = bin.join("cfimap");
    std::fs::copy(cfimap_tests::cli::binary(), &exe).expect("copy the binary");
    let lib = root.path().join("lib/cfimap");
    let out = cfimap(["precompile", "--dir"])
        .arg(&lib)
        .program(&exe)
        .run();
    out.assert_success();
    let written = std::path::PathBuf::from(out.stdout.trim());
    assert_eq!(compiled_in(&lib), vec![written.clone()], "{out}");
    let mode = std::fs::metadata(&written)
        .expect("the file")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o644,
        "readable by all, writable by its owner only"
    );

    // A first run: an empty compile cache, which stays empty, since nothing is compiled.
    let open = |cache: &std::path::Path| {
        let out = cfimap(["open", "-vv"])
            .args(account.cli_args(Secure::Plain))
            .env("XDG_CACHE_HOME", cache)
            .program(&exe)
            .run();
        out.assert_success();
        (out.stderr.clone(), compiled_in(&cache.join("cfimap")))
    };
    let caches = tempfile::tempdir().expect("tempdir");
    let (log, cached) = open(&caches.path().join("1"));
    assert!(cached.is_empty(), "compiled, though precompiled:\n{log}");
    assert!(
        log.contains("loaded the component compiled ahead of time"),
        "{log}"
    );

    // Writable by the group: not trusted as native code; compiled and cached instead.
    std::fs::set_permissions(&written, std::fs::Permissions::from_mode(0o664)).expect("chmod");
    let (log, cached) = open(&caches.path().join("2"));
    assert!(
        log.contains("not loading the precompiled component"),
        "{log}"
    );
    assert_eq!(cached.len(), 1, "compiled into the cache instead\n{log}");

    // Trusted again but not compiled code: skipped with a warning, compiled instead.
    std::fs::set_permissions(&written, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(&written, b"not a compiled component").expect("overwrite");
    let (log, cached) = open(&caches.path().join("3"));
    assert!(log.contains("precompiled component unusable"), "{log}");
    assert_eq!(cached.len(), 1, "compiled into the cache instead\n{log}");

    // By default `precompile` writes beside the binary, which is looked in first.
    let out = cfimap(["precompile"]).program(&exe).run();
    out.assert_success();
    assert_eq!(
        compiled_in(&bin),
        vec![std::path::PathBuf::from(out.stdout.trim())]
    );
    let (log, cached) = open(&caches.path().join("4"));
    assert!(cached.is_empty(), "compiled, though precompiled:\n{log}");
    assert!(
        !log.contains("unusable"),
        "the file beside the binary comes first\n{log}"
    );
}
