//! Reading mail: getHeaderOnly and getAll against Dovecot (issue 3).
//!
//! Every column, every selection form and its errors, every charset the issue names,
//! attachments in every naming form (and saved safely), hard messages, a 15 MB message, flags
//! untouched by reading, one UID FETCH per window, and stoponerror through the fault server.
//! The corpus is generated in memory by [`corpus`]; each test has its own user (or, against an
//! external server, its own scratch folder).

mod corpus;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cfimap_tests::account::Account;
use cfimap_tests::cli::{CliOutput, cfimap};
use cfimap_tests::dovecot::{Dovecot, Flavor};
use cfimap_tests::fault::{FaultServer, Script, header_fetch, scripted_header};
use cfimap_tests::imap::{self, Client, Part, Token};
use cfimap_tests::target;
use regex::Regex;
use serde_json::{Map, Value};

type Row = Map<String, Value>;

// ---- fixture ---------------------------------------------------------------------------------

/// A folder of a fresh account, seeded by the raw client and read by the CLI.
struct Mailbox {
    account: Account,
    /// `--folder` for the CLI (a `/` path).
    folder: String,
    /// The wire name for the raw client.
    wire: String,
}

impl Mailbox {
    /// A new folder `name` of a fresh account (private Dovecot user or external scratch).
    fn new(name: &str) -> Mailbox {
        let account = target::account();
        let mut client = account.connect().expect("raw client connects");
        account
            .seed_folder(&mut client, name)
            .expect("create the test folder");
        client.logout().expect("logout");
        Mailbox {
            folder: account.path(name),
            wire: account.wire_name(name),
            account,
        }
    }

    /// INBOX of a fresh private user (the external account's INBOX is not the tests' to fill).
    fn inbox() -> Mailbox {
        Mailbox {
            folder: "INBOX".into(),
            wire: "INBOX".into(),
            account: target::private_account(Flavor::Default),
        }
    }

    fn client(&self) -> Client {
        self.account.connect().expect("raw client connects")
    }

    /// APPENDs `raw` with `flags` and an optional INTERNALDATE; returns its UID.
    fn append(&self, client: &mut Client, flags: &[&str], date: Option<&str>, raw: &[u8]) -> u32 {
        let mailbox = imap::quote(&self.wire).expect("wire names are printable ASCII");
        let date = date.map(|d| format!("\"{d}\" ")).unwrap_or_default();
        let head = format!("APPEND {mailbox} ({}) {date}", flags.join(" "));
        let done = client
            .command_parts(&[Part::Text(&head), Part::Literal(raw)])
            .unwrap_or_else(|e| panic!("APPEND: {e}"));
        if let Some(uid) = done
            .code("APPENDUID")
            .and_then(|v| v.split_whitespace().nth(1).and_then(|u| u.parse().ok()))
        {
            return uid;
        }
        // A server without UIDPLUS: the newest message is ours.
        client.examine(&self.wire).expect("EXAMINE");
        let uid = client
            .fetch_flags()
            .expect("FETCH")
            .last()
            .map(|m| m.uid)
            .expect("the appended message");
        client
            .command("UNSELECT")
            .or_else(|_| client.command("CLOSE"))
            .ok();
        uid
    }

    /// Appends each message without flags; returns the UIDs.
    fn seed(&self, messages: &[Vec<u8>]) -> Vec<u32> {
        let mut client = self.client();
        let uids = messages
            .iter()
            .map(|m| self.append(&mut client, &[], None, m))
            .collect();
        client.logout().expect("logout");
        uids
    }

    /// `cfimap <action> <connection> --folder F --format json <extra>`.
    fn cli(&self, action: &str, extra: &[&str]) -> CliOutput {
        self.cli_format("json", action, extra)
    }

    /// `cfimap <action> <connection> --folder F --format <format> <extra>`.
    fn cli_format(&self, format: &str, action: &str, extra: &[&str]) -> CliOutput {
        cfimap([action])
            .args(self.account.cli_args(self.account.best_secure()))
            .args(["--folder", &self.folder, "--format", format])
            .args(extra)
            .timeout(Duration::from_secs(120))
            .run()
    }

    /// Runs `action` and returns its rows; panics unless it exits 0.
    fn rows(&self, action: &str, extra: &[&str]) -> Vec<Row> {
        let out = self.cli(action, extra);
        out.assert_success();
        out.rows()
    }

    /// What the server itself says about every message: UID → facts.
    fn server_facts(&self) -> BTreeMap<u32, Facts> {
        let mut client = self.client();
        client.examine(&self.wire).expect("EXAMINE");
        let done = client
            .command("UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)")
            .expect("FETCH facts");
        let mut out = BTreeMap::new();
        for tokens in done.data("FETCH").expect("FETCH responses") {
            let Some(Token::List(items)) = tokens.get(2) else {
                panic!("FETCH without items: {tokens:?}");
            };
            let mut facts = Facts::default();
            let mut uid = 0;
            for pair in items.chunks(2) {
                let key = pair[0].as_string().unwrap_or_default().to_uppercase();
                match (key.as_str(), pair.get(1)) {
                    ("UID", Some(v)) => uid = v.as_u32().expect("UID"),
                    ("RFC822.SIZE", Some(v)) => facts.size = v.as_u32().expect("size").into(),
                    ("INTERNALDATE", Some(v)) => facts.internal_date = v.as_string().unwrap(),
                    ("FLAGS", Some(Token::List(f))) => {
                        facts.flags = f.iter().filter_map(Token::as_string).collect();
                        facts.flags.sort();
                    }
                    _ => {}
                }
            }
            out.insert(uid, facts);
        }
        client.logout().expect("logout");
        out
    }

    /// `STATUS (MESSAGES UNSEEN RECENT)` of the folder.
    fn status(&self) -> imap::Status {
        let mut client = self.client();
        let status = client.status(&self.wire).expect("STATUS");
        client.logout().expect("logout");
        status
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        if let Err(e) = self.account.cleanup() {
            eprintln!("cleanup of {:?} failed: {e}", self.account.scratch);
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Facts {
    size: u64,
    internal_date: String,
    flags: Vec<String>,
}

// ---- row accessors ---------------------------------------------------------------------------

fn text<'a>(row: &'a Row, column: &str) -> &'a str {
    match row.get(column) {
        Some(Value::String(s)) => s,
        other => panic!("{column} is not a string but {other:?} in {row:#?}"),
    }
}

/// A text column that may be null (or empty).
fn opt_text<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    match row.get(column) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::String(_)) | Some(Value::Null) | None => None,
        other => panic!("{column} is not text but {other:?} in {row:#?}"),
    }
}

fn number(row: &Row, column: &str) -> u64 {
    row.get(column)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{column} is not a number in {row:#?}"))
}

fn boolean(row: &Row, column: &str) -> bool {
    row.get(column)
        .and_then(Value::as_bool)
        .unwrap_or_else(|| panic!("{column} is not a boolean in {row:#?}"))
}

fn list(row: &Row, column: &str) -> Vec<String> {
    match row.get(column) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .unwrap_or_else(|| panic!("{column} has a non-string item in {row:#?}"))
                    .to_string()
            })
            .collect(),
        other => panic!("{column} is not a JSON array but {other:?} in {row:#?}"),
    }
}

fn object(row: &Row, column: &str) -> BTreeMap<String, String> {
    match row.get(column) {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        other => panic!("{column} is not a JSON object but {other:?} in {row:#?}"),
    }
}

fn uid_of(row: &Row) -> u32 {
    u32::try_from(number(row, "UID")).expect("UID fits u32")
}

fn by_uid(rows: Vec<Row>) -> HashMap<u32, Row> {
    rows.into_iter().map(|r| (uid_of(&r), r)).collect()
}

fn uids(rows: &[Row]) -> Vec<u32> {
    rows.iter().map(uid_of).collect()
}

fn numbers(rows: &[Row]) -> Vec<u64> {
    rows.iter().map(|r| number(r, "MESSAGENUMBER")).collect()
}

/// Body text compared without regard to CRLF vs LF or trailing line ends.
fn norm(s: &str) -> String {
    s.replace("\r\n", "\n").trim_end().to_string()
}

// ---- dates -----------------------------------------------------------------------------------

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of an RFC 3339 date-time; `None` if it is not one.
fn rfc3339(s: &str) -> Option<i64> {
    let re = Regex::new(
        r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$",
    )
    .unwrap();
    let c = re.captures(s)?;
    let n = |i: usize| c.get(i).map(|m| m.as_str().parse::<i64>().unwrap());
    let (y, mo, d, h, mi, se) = (n(1)?, n(2)?, n(3)?, n(4)?, n(5)?, n(6)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let offset = match c.get(9) {
        Some(sign) => {
            let o = n(10)? * 3600 + n(11)? * 60;
            if sign.as_str() == "-" { -o } else { o }
        }
        None => 0,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset)
}

/// Seconds since the epoch of an IMAP date-time (`"04-Mar-2025 11:22:33 +0200"`).
fn imap_date(s: &str) -> i64 {
    let re =
        Regex::new(r"^\s?(\d{1,2})-(\w{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$")
            .unwrap();
    let c = re
        .captures(s)
        .unwrap_or_else(|| panic!("not an IMAP date-time: {s:?}"));
    let n = |i: usize| c[i].parse::<i64>().unwrap();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months
        .iter()
        .position(|m| m.eq_ignore_ascii_case(&c[2]))
        .unwrap() as i64
        + 1;
    let offset = (n(8) * 3600 + n(9) * 60) * if &c[7] == "-" { -1 } else { 1 };
    days_from_civil(n(3), month, n(1)) * 86_400 + n(4) * 3600 + n(5) * 60 + n(6) - offset
}

/// Asserts that `column` is an RFC 3339 date-time meaning the instant `expected` (RFC 3339,
/// UTC).
fn assert_instant(row: &Row, column: &str, expected: &str) {
    let got = text(row, column);
    let got_secs =
        rfc3339(got).unwrap_or_else(|| panic!("{column} {got:?} is not RFC 3339 in {row:#?}"));
    assert_eq!(
        got_secs,
        rfc3339(expected).unwrap(),
        "{column} is {got}, expected the instant {expected}"
    );
}

// ---- getHeaderOnly: columns ------------------------------------------------------------------

#[test]
fn header_only_gives_every_column() {
    let mb = Mailbox::new("Columns");
    let mut client = mb.client();
    let full = corpus::full_headers("cols-1@cfimap.test");
    let uid1 = mb.append(
        &mut client,
        &["\\Seen"],
        Some("04-Mar-2025 11:22:33 +0200"),
        &full,
    );
    let flagged = corpus::without_reply_to("flagged");
    let uid2 = mb.append(
        &mut client,
        &[
            "\\Answered",
            "\\Flagged",
            "\\Draft",
            "\\Deleted",
            "$Label1",
            "project-x",
        ],
        Some("05-Mar-2025 08:16:00 +0000"),
        &flagged,
    );
    client.logout().unwrap();

    let rows = mb.rows("getHeaderOnly", &[]);
    assert_eq!(numbers(&rows), [1, 2], "{rows:#?}");
    assert_eq!(uids(&rows), [uid1, uid2]);
    let facts = mb.server_facts();
    let (a, b) = (&rows[0], &rows[1]);

    assert_eq!(text(a, "SUBJECT"), "A folded subject line");
    assert_eq!(text(a, "FROM"), "\"Doe, Jane\" <jane@example.org>");
    assert_eq!(text(a, "TO"), "Bob <bob@example.com>, carol@example.com");
    assert_eq!(text(a, "CC"), "Jürgen Müller <j@example.de>");
    assert_eq!(text(a, "REPLYTO"), "Replies <replies@example.org>");
    assert_eq!(text(a, "MESSAGEID"), "<cols-1@cfimap.test>");
    assert_instant(a, "DATE", "2025-03-04T09:00:00Z");
    assert_instant(a, "SENTDATE", "2025-03-04T09:00:00Z");
    assert_instant(a, "RXDDATE", "2025-03-04T09:22:33Z");
    assert_eq!(
        rfc3339(text(a, "RXDDATE")),
        Some(imap_date(&facts[&uid1].internal_date)),
        "RXDDATE is INTERNALDATE"
    );
    assert_eq!(number(a, "SIZE"), facts[&uid1].size, "SIZE is RFC822.SIZE");
    assert_eq!(number(a, "SIZE"), full.len() as u64);
    assert_eq!(
        text(a, "HEADER").trim_end_matches(['\r', '\n']),
        String::from_utf8_lossy(corpus::header_block(&full)).trim_end_matches(['\r', '\n']),
        "HEADER is the raw header block"
    );
    assert!(text(a, "HEADER").contains("X-Custom: kept as is"));
    assert!(text(a, "HEADER").contains("Subject: A folded\r\n subject line"));
    assert!(!text(a, "HEADER").contains("line one"), "no body in HEADER");
    for (column, want) in [
        ("SEEN", true),
        ("ANSWERED", false),
        ("DELETED", false),
        ("DRAFT", false),
        ("FLAGGED", false),
    ] {
        assert_eq!(boolean(a, column), want, "{column} of message 1");
    }
    assert_eq!(list(a, "USER"), Vec::<String>::new());
    // getHeaderOnly fetches no bodies.
    for column in ["BODY", "TEXTBODY", "HTMLBODY"] {
        assert!(
            a.get(column).is_none_or(Value::is_null),
            "{column} in getHeaderOnly: {a:#?}"
        );
    }
    // LINES of a text/plain body: the server's count, without fetching the body.
    assert_eq!(a.get("LINES"), Some(&Value::from(2)), "LINES of message 1");
    assert!(a.get("ERROR").is_none_or(Value::is_null));

    assert_eq!(text(b, "SUBJECT"), "flagged");
    assert_eq!(text(b, "FROM"), "Solo Sender <solo@example.org>");
    assert_eq!(
        text(b, "REPLYTO"),
        text(b, "FROM"),
        "REPLYTO falls back to FROM"
    );
    assert_eq!(text(b, "CC"), "");
    assert_eq!(text(b, "MESSAGEID"), "<flagged@cfimap.test>");
    assert_instant(b, "DATE", "2025-03-05T08:15:00Z");
    assert_instant(b, "RXDDATE", "2025-03-05T08:16:00Z");
    assert_eq!(number(b, "SIZE"), facts[&uid2].size);
    for column in ["ANSWERED", "DELETED", "DRAFT", "FLAGGED"] {
        assert!(boolean(b, column), "{column} of message 2: {b:#?}");
    }
    assert!(!boolean(b, "SEEN"));
    let mut user = list(b, "USER");
    user.sort();
    assert_eq!(user, ["$Label1", "project-x"], "USER holds the keywords");
    if mb.account.private {
        // Nobody selected the folder yet: both are \Recent.
        assert!(boolean(a, "RECENT") && boolean(b, "RECENT"), "{rows:#?}");
    }

    // getAll has the same header columns (LINES included), and adds the bodies.
    let all = mb.rows("getAll", &[]);
    assert_eq!(uids(&all), [uid1, uid2]);
    for (h, g) in rows.iter().zip(&all) {
        for (column, value) in h {
            assert_eq!(g.get(column), Some(value), "{column} differs in getAll");
        }
    }
    assert_eq!(
        all[0].get("LINES"),
        Some(&Value::from(2)),
        "LINES of message 1"
    );
    assert_eq!(norm(text(&all[0], "BODY")), "line one\nline two");
    assert_eq!(norm(text(&all[0], "TEXTBODY")), "line one\nline two");
    assert_eq!(opt_text(&all[0], "HTMLBODY"), None);
    assert_eq!(list(&all[0], "ATTACHMENTS"), Vec::<String>::new());
    assert_eq!(object(&all[0], "CIDS"), BTreeMap::new());
}

#[test]
fn lines_is_the_body_line_count_and_header_only_takes_it_from_the_server() {
    let mb = Mailbox::new("Lines");
    let head = "From: a@example.org\r\nSubject: lines\r\n";
    let multipart = corpus::forwarded();
    let cases: Vec<(&str, Vec<u8>, Option<u64>)> = vec![
        (
            "three lines",
            format!("{head}\r\none\r\ntwo\r\nthree\r\n").into_bytes(),
            Some(3),
        ),
        (
            "last line unterminated",
            format!("{head}\r\none\r\ntwo").into_bytes(),
            // Servers count line ends; so does getAll, to agree with them.
            Some(1),
        ),
        ("empty body", format!("{head}\r\n").into_bytes(), Some(0)),
        (
            "html",
            format!("{head}Content-Type: text/html; charset=utf-8\r\n\r\n<p>a</p>\r\n<p>b</p>\r\n")
                .into_bytes(),
            Some(2),
        ),
        ("multipart", multipart.clone(), None),
    ];
    let raws: Vec<Vec<u8>> = cases.iter().map(|c| c.1.clone()).collect();
    let ids = mb.seed(&raws);
    let header_rows = by_uid(mb.rows("getHeaderOnly", &[]));
    let all_rows = by_uid(mb.rows("getAll", &[]));
    for ((label, _, want), uid) in cases.iter().zip(&ids) {
        let h = header_rows[uid].get("LINES").and_then(Value::as_u64);
        let g = all_rows[uid].get("LINES").and_then(Value::as_u64);
        assert_eq!(h, *want, "getHeaderOnly LINES of {label}");
        match want {
            Some(_) => assert_eq!(g, h, "getAll and getHeaderOnly agree on {label}"),
            // Multipart: IMAP has no count, getAll counts the lines it fetched.
            None => {
                let body = &multipart[corpus::header_block(&multipart).len() + 2..];
                let newlines = body.iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(g, Some(newlines), "getAll LINES of {label}");
            }
        }
    }
}

#[test]
fn ndjson_streams_the_rows_json_gives() {
    // More messages than the CLI takes from the component per batch (64).
    let mb = Mailbox::new("Stream");
    let mut raws: Vec<Vec<u8>> = (0..600).map(|n| corpus::simple(&format!("s{n}"))).collect();
    raws[10] = corpus::with_files("files early", &corpus::files_to_save());
    raws[599] = corpus::with_files("files last", &corpus::files_to_save());
    mb.seed(&raws);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    for (action, extra) in [
        ("getHeaderOnly", vec![]),
        ("getAll", vec!["--attachmentpath", path]),
    ] {
        let json = mb.rows(action, &extra);
        let out = mb.cli_format("ndjson", action, &extra);
        out.assert_success();
        let streamed: Vec<Value> = out.ndjson();
        assert_eq!(json.len(), 600, "{action}");
        assert_eq!(streamed.len(), json.len(), "{action}: one line per row");
        for (line, row) in streamed.iter().zip(&json) {
            assert_eq!(line, &Value::Object(row.clone()), "{action}");
        }
        // JSON and NDJSON print the component's own lines; `cfimap run` prints rows through
        // the CLI's records. Both must say the same, in the same column order (the CSV
        // header's, which is the records').
        let mut read =
            serde_json::json!({"action": action, "connection": "c", "folder": mb.folder});
        if action == "getAll" {
            read["attachmentpath"] = path.into();
        }
        let script = format!("{{\"action\": \"open\", \"connection\": \"c\"}}\n{read}\n");
        let run = cfimap(["run", "-"])
            .args(mb.account.cli_args(mb.account.best_secure()))
            .stdin(script)
            .timeout(Duration::from_secs(120))
            .run();
        run.assert_success();
        let answers = run.ndjson();
        assert_eq!(answers.len(), 2, "{run}");
        let records = answers[1]["rows"].as_array().expect("the read's rows");
        assert_eq!(
            records, &streamed,
            "{action}: the records and the component's lines"
        );
        let csv = mb.cli_format("csv", action, &extra);
        csv.assert_success();
        let header = csv.stdout.lines().next().expect("the CSV header");
        let first_line = out.stdout.lines().next().expect("a line");
        let mut from = 0;
        for column in header.split(',') {
            let at = first_line[from..]
                .find(&format!("\"{column}\":"))
                .unwrap_or_else(|| panic!("{action}: {column} out of order in {first_line}"));
            from += at + column.len();
        }
        assert_eq!(
            header.split(',').count(),
            json[0].len(),
            "{action}: every column, no more"
        );
    }
    // Two messages of one action carry the same names: the second gets
    // `name1.ext` (one action never writes one file twice), and the second
    // action wrote the same files again.
    let saved = file_names(dir.path());
    assert_eq!(saved.len(), 2 * corpus::files_to_save().len(), "{saved:?}");
}

/// Mailers split long subjects and display names into encoded-words anywhere, also inside a
/// character: adjacent words of one charset are decoded as one, in both read actions.
#[test]
fn a_subject_split_inside_a_character_decodes_whole() {
    let mb = Mailbox::new("SplitSubject");
    mb.seed(&[corpus::crlf(
        "From: =?UTF-8?Q?J=C3?= =?UTF-8?Q?=BCrgen_M=C3?=\n =?UTF-8?Q?=BCller?= <jm@example.org>\n\
         To: b@example.org, =?UTF-8?B?4oI=?= =?UTF-8?B?rA==?= <euro@example.org>\n\
         Cc: =?shift_jis?B?k/qW?= =?shift_jis?B?ew==?= <nihon@example.org>\n\
         Subject: =?UTF-8?B?4oI=?=\n =?UTF-8?B?rHVybw==?= =?UTF-8?Q?_Gr=C3?=\n =?UTF-8?Q?=BC=C3=9Fe?=\n\
         Date: Mon, 15 Jan 2024 10:30:00 +0100\n\
         Message-ID: <split-subject@cfimap.test>\n\
         \n\
         body\n",
    )]);
    for action in ["getHeaderOnly", "getAll"] {
        let rows = mb.rows(action, &[]);
        assert_eq!(text(&rows[0], "SUBJECT"), "€uro Grüße", "{action}");
        assert_eq!(
            text(&rows[0], "FROM"),
            "Jürgen Müller <jm@example.org>",
            "{action}"
        );
        assert_eq!(
            text(&rows[0], "TO"),
            "b@example.org, € <euro@example.org>",
            "{action}"
        );
        assert_eq!(text(&rows[0], "CC"), "日本 <nihon@example.org>", "{action}");
        assert_eq!(
            text(&rows[0], "REPLYTO"),
            text(&rows[0], "FROM"),
            "{action}"
        );
    }
}

#[test]
fn header_only_decodes_rfc2047_in_every_charset() {
    let mb = Mailbox::new("Charsets");
    let cases = corpus::encoded_words();
    let raws: Vec<Vec<u8>> = cases
        .iter()
        .enumerate()
        .map(|(n, c)| corpus::encoded_message(&c.word, n))
        .collect();
    let uids = mb.seed(&raws);
    let rows = by_uid(mb.rows("getHeaderOnly", &[]));
    let mut failures = Vec::new();
    for ((n, case), uid) in cases.iter().enumerate().zip(uids) {
        let row = &rows[&uid];
        if row.get("SUBJECT").and_then(Value::as_str) != Some(case.expected) {
            failures.push(format!(
                "{}: SUBJECT {:?}, expected {:?}",
                case.label,
                row.get("SUBJECT"),
                case.expected
            ));
        }
        let from = format!("{} <sender{n}@example.org>", case.expected);
        if text(row, "FROM") != from {
            failures.push(format!(
                "{}: FROM {:?}, expected {from:?}",
                case.label,
                text(row, "FROM")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn header_only_address_lists_keep_commas_in_names_and_show_groups() {
    let mb = Mailbox::new("Addresses");
    let ids = mb.seed(&[corpus::address_lists(), corpus::address_group()]);
    let rows = by_uid(mb.rows("getHeaderOnly", &[]));
    let a = &rows[&ids[0]];
    assert_eq!(text(a, "FROM"), "\"Müller, Hans\" <hans@example.de>");
    assert_eq!(text(a, "REPLYTO"), text(a, "FROM"));
    assert_eq!(
        text(a, "TO"),
        "\"Doe, John\" <john@example.com>, \"Smith, Anna\" <anna@example.com>, plain@example.net"
    );
    assert_eq!(text(a, "CC"), "undisclosed-recipients:;");
    let g = &rows[&ids[1]];
    assert_eq!(
        text(g, "TO"),
        "Team: a@example.com, \"B, Bee\" <b@example.com>;"
    );
}

#[test]
fn header_only_dates_are_rfc3339_or_null() {
    let mb = Mailbox::new("Dates");
    let cases = corpus::date_cases();
    let mut raws: Vec<Vec<u8>> = cases
        .iter()
        .enumerate()
        .map(|(n, (d, _))| corpus::dated(Some(d), n))
        .collect();
    raws.push(corpus::dated(None, cases.len()));
    let ids = mb.seed(&raws);
    let rows = by_uid(mb.rows("getHeaderOnly", &[]));
    let mut failures = Vec::new();
    for (i, uid) in ids.iter().enumerate() {
        let (date, want) = cases.get(i).copied().unwrap_or(("(no Date header)", None));
        let row = &rows[uid];
        for column in ["DATE", "SENTDATE"] {
            let got = row.get(column).cloned().unwrap_or(Value::Null);
            let ok = match (want, &got) {
                (None, Value::Null) => true,
                (Some(w), Value::String(s)) => rfc3339(s) == rfc3339(w),
                _ => false,
            };
            if !ok {
                failures.push(format!("{date:?}: {column} = {got}, expected {want:?}"));
            }
        }
        // RXDDATE is always there: the server's INTERNALDATE.
        assert!(rfc3339(text(row, "RXDDATE")).is_some(), "{row:#?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- selection -------------------------------------------------------------------------------

/// Six messages whose UIDs differ from their numbers (the first UID is expunged).
fn six_messages(mb: &Mailbox) -> Vec<u32> {
    let mut client = mb.client();
    let gone = mb.append(&mut client, &[], None, &corpus::simple("gone"));
    let uids: Vec<u32> = (1..=6)
        .map(|n| mb.append(&mut client, &[], None, &corpus::simple(&format!("m{n}"))))
        .collect();
    client.select(&mb.wire).unwrap();
    client.add_flags(&gone.to_string(), &["\\Deleted"]).unwrap();
    client.command("EXPUNGE").unwrap();
    client.logout().unwrap();
    assert!(uids[0] > 1, "UIDs and message numbers must differ");
    uids
}

#[test]
fn selection_forms() {
    let mb = Mailbox::new("Selection");
    let u = six_messages(&mb);
    let subjects = |rows: &[Row]| -> Vec<String> {
        rows.iter()
            .map(|r| text(r, "SUBJECT").to_string())
            .collect()
    };

    // Default: all, in order.
    let rows = mb.rows("getHeaderOnly", &[]);
    assert_eq!(numbers(&rows), [1, 2, 3, 4, 5, 6]);
    assert_eq!(uids(&rows), u);
    assert_eq!(subjects(&rows), ["m1", "m2", "m3", "m4", "m5", "m6"]);

    // Window.
    let rows = mb.rows("getHeaderOnly", &["--startrow", "2", "--maxrows", "3"]);
    assert_eq!(numbers(&rows), [2, 3, 4]);
    assert_eq!(uids(&rows), u[1..4]);
    let rows = mb.rows("getHeaderOnly", &["--startrow", "5"]);
    assert_eq!(numbers(&rows), [5, 6]);
    let rows = mb.rows("getHeaderOnly", &["--maxrows", "2"]);
    assert_eq!(numbers(&rows), [1, 2]);
    let rows = mb.rows("getHeaderOnly", &["--startrow", "6", "--maxrows", "10"]);
    assert_eq!(numbers(&rows), [6]);
    let out = mb.cli("getHeaderOnly", &["--startrow", "7"]);
    out.assert_success();
    assert!(out.rows().is_empty(), "{out}");

    // Message numbers: out-of-range skipped, order and duplicates don't matter.
    let rows = mb.rows("getHeaderOnly", &["--messagenumber", "4,2,99,2"]);
    assert_eq!(numbers(&rows), [2, 4]);
    assert_eq!(uids(&rows), [u[1], u[3]]);

    // UIDs: unknown skipped (the expunged one too).
    let list = format!("{},{},{},999999", u[4], u[2], u[0] - 1);
    let rows = mb.rows("getAll", &["--uid", &list]);
    assert_eq!(uids(&rows), [u[2], u[4]]);
    assert_eq!(numbers(&rows), [3, 5]);

    // uid wins over messagenumber, both over the window.
    let one = u[5].to_string();
    let rows = mb.rows(
        "getHeaderOnly",
        &[
            "--uid",
            &one,
            "--messagenumber",
            "1",
            "--startrow",
            "2",
            "--maxrows",
            "1",
        ],
    );
    assert_eq!(uids(&rows), [u[5]]);
    let rows = mb.rows(
        "getHeaderOnly",
        &["--messagenumber", "1", "--startrow", "2", "--maxrows", "1"],
    );
    assert_eq!(numbers(&rows), [1]);

    // A present-but-empty list selects nothing: an empty JSON array.
    for (action, flag) in [
        ("getHeaderOnly", "--uid"),
        ("getHeaderOnly", "--messagenumber"),
        ("getAll", "--uid"),
    ] {
        let out = mb.cli(action, &[flag, ""]);
        out.assert_success();
        assert_eq!(out.json(), Value::Array(vec![]), "{out}");
    }
}

#[test]
fn selection_errors_exit_2() {
    let mb = Mailbox::new("SelectionErrors");
    mb.seed(&[corpus::simple("only")]);
    let mut failures = Vec::new();
    for extra in [
        &["--uid", "1,x"][..],
        &["--uid", "abc"],
        &["--messagenumber", "1,two"],
        &["--messagenumber", "-1"],
        &["--uid", "1.5"],
        &["--startrow", "0"],
        &["--startrow", "-1"],
        &["--maxrows", "0"],
        &["--maxrows", "-3"],
        &["--startrow", "x"],
    ] {
        for action in ["getHeaderOnly", "getAll"] {
            let out = mb.cli(action, extra);
            let attribute = extra[0].trim_start_matches('-');
            if out.code != Some(2) {
                failures.push(format!("exit {:?}, expected 2\n{out}", out.code));
            } else if !out.stderr.to_lowercase().contains(attribute) {
                failures.push(format!("the error does not name {attribute}\n{out}"));
            }
            if !out.stdout.trim().is_empty() {
                failures.push(format!("rows printed for an invalid selection\n{out}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn default_folder_is_inbox() {
    let mb = Mailbox::inbox();
    mb.seed(&[corpus::simple("in the inbox")]);
    let out = cfimap(["getHeaderOnly", "--format", "json"])
        .args(mb.account.cli_args(mb.account.best_secure()))
        .run();
    out.assert_success();
    let rows = out.rows();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(text(&rows[0], "SUBJECT"), "in the inbox");
}

// ---- reading never changes flags -------------------------------------------------------------

#[test]
fn reading_never_changes_flags() {
    let mb = Mailbox::new("Flags");
    let mut client = mb.client();
    let plan: [&[&str]; 5] = [
        &[],
        &["\\Seen"],
        &["\\Answered", "\\Flagged"],
        &["$Keyword"],
        &["\\Draft", "\\Deleted"],
    ];
    for (n, flags) in plan.iter().enumerate() {
        let raw = if n % 2 == 0 {
            corpus::with_files(&format!("flags {n}"), &corpus::files_to_save()[..1])
        } else {
            corpus::simple(&format!("flags-{n}"))
        };
        mb.append(&mut client, flags, None, &raw);
    }
    client.logout().unwrap();
    let before_status = mb.status();

    let header_rows = mb.rows("getHeaderOnly", &[]);
    let dir = tempfile::tempdir().unwrap();
    let all_rows = mb.rows(
        "getAll",
        &["--attachmentpath", dir.path().to_str().unwrap()],
    );
    let again = mb.rows("getHeaderOnly", &[]);

    let after_status = mb.status();
    assert_eq!(
        (after_status.messages, after_status.unseen),
        (before_status.messages, before_status.unseen),
        "reading changed \\Seen"
    );
    if mb.account.private {
        assert_eq!(before_status.recent, 5);
        assert_eq!(after_status.recent, 5, "reading took \\Recent away");
        for rows in [&header_rows, &all_rows, &again] {
            assert!(
                rows.iter().all(|r| boolean(r, "RECENT")),
                "each read still sees \\Recent (EXAMINE): {rows:#?}"
            );
        }
    }
    let facts = mb.server_facts();
    let mut got: Vec<Vec<String>> = facts
        .values()
        .map(|f| {
            f.flags
                .iter()
                .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
                .cloned()
                .collect()
        })
        .collect();
    let mut want: Vec<Vec<String>> = plan
        .iter()
        .map(|f| {
            let mut v: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "flags after reading");
    // And the rows told the truth about them.
    for rows in [&header_rows, &all_rows] {
        let seen: Vec<bool> = rows.iter().map(|r| boolean(r, "SEEN")).collect();
        assert_eq!(seen, [false, true, false, false, false]);
        assert!(boolean(&rows[2], "ANSWERED") && boolean(&rows[2], "FLAGGED"));
        assert_eq!(list(&rows[3], "USER"), ["$Keyword"]);
        assert!(boolean(&rows[4], "DRAFT") && boolean(&rows[4], "DELETED"));
    }
}

// ---- getAll: bodies and attachments ----------------------------------------------------------

#[test]
fn get_all_decodes_bodies_from_transfer_encodings_and_charsets() {
    let mb = Mailbox::new("Bodies");
    let cases = corpus::body_cases();
    let raws: Vec<Vec<u8>> = cases.iter().map(|c| c.raw.clone()).collect();
    let ids = mb.seed(&raws);
    let rows = by_uid(mb.rows("getAll", &[]));
    let mut failures = Vec::new();
    for (case, uid) in cases.iter().zip(ids) {
        let row = &rows[&uid];
        let got_text = opt_text(row, "TEXTBODY").map(norm);
        let got_html = opt_text(row, "HTMLBODY").map(norm);
        let got_body = opt_text(row, "BODY").map(norm);
        if got_text.as_deref() != case.text {
            failures.push(format!(
                "{}: TEXTBODY {got_text:?}, expected {:?}",
                case.label, case.text
            ));
        }
        if got_html.as_deref() != case.html {
            failures.push(format!(
                "{}: HTMLBODY {got_html:?}, expected {:?}",
                case.label, case.html
            ));
        }
        if got_body.as_deref() != Some(case.body) {
            failures.push(format!(
                "{}: BODY {got_body:?}, expected {:?}",
                case.label, case.body
            ));
        }
        if list(row, "ATTACHMENTS") != case.attachments {
            failures.push(format!(
                "{}: ATTACHMENTS {:?}, expected {:?}",
                case.label,
                list(row, "ATTACHMENTS"),
                case.attachments
            ));
        }
        assert!(row.get("ERROR").is_none_or(Value::is_null), "{row:#?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn get_all_names_attachments_in_every_form() {
    let mb = Mailbox::new("Names");
    let ids = mb.seed(&[corpus::attachment_names()]);
    let rows = mb.rows("getAll", &[]);
    assert_eq!(uids(&rows), ids);
    let row = &rows[0];
    let names = list(row, "ATTACHMENTS");
    let expected = corpus::attachment_names_expected();
    assert_eq!(names.len(), expected.len(), "ATTACHMENTS {names:?}");
    for (name, pattern) in names.iter().zip(&expected) {
        assert!(
            Regex::new(pattern).unwrap().is_match(name),
            "{name:?} does not match {pattern} (all: {names:?})"
        );
    }
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        names.len(),
        "generated names collide: {names:?}"
    );
    assert_eq!(norm(text(row, "TEXTBODY")), "names");
    assert_eq!(norm(text(row, "BODY")), "names");
    let cids = object(row, "CIDS");
    let want: BTreeMap<String, String> = [
        ("logo.png".to_string(), "logo@cfimap.test".to_string()),
        (names[6].clone(), "spacer.gif@cfimap.test".to_string()),
    ]
    .into_iter()
    .collect();
    assert_eq!(cids, want, "CIDS: file name → Content-ID without <>");
    assert_eq!(list(row, "ATTACHMENTFILES"), Vec::<String>::new());
}

/// RFC 2231 joins continued parameter segments as bytes before decoding: a character split
/// across segments (as long names are split by mailers) must come out whole, in any charset,
/// with language tags, unencoded segments and segments out of order.
#[test]
fn continued_attachment_names_that_split_a_character_decode_whole() {
    let mb = Mailbox::new("SplitNames");
    mb.seed(&[corpus::split_character_names()]);
    let dir = tempfile::tempdir().unwrap();
    let rows = mb.rows(
        "getAll",
        &["--attachmentpath", dir.path().to_str().unwrap()],
    );
    let expected = corpus::split_character_names_expected();
    assert_eq!(list(&rows[0], "ATTACHMENTS"), expected);
    let mut saved = file_names(dir.path());
    saved.sort();
    let mut want: Vec<String> = expected.iter().map(|n| n.to_string()).collect();
    want.sort();
    assert_eq!(saved, want, "saved under their decoded names");
}

#[test]
fn get_all_forwarded_message_is_one_eml_attachment() {
    let mb = Mailbox::new("Forwarded");
    mb.seed(&[corpus::forwarded()]);
    let dir = tempfile::tempdir().unwrap();
    let rows = mb.rows(
        "getAll",
        &["--attachmentpath", dir.path().to_str().unwrap()],
    );
    let row = &rows[0];
    let names = list(row, "ATTACHMENTS");
    assert_eq!(
        names.len(),
        1,
        "one attachment, the forwarded message: {names:?}"
    );
    assert!(names[0].ends_with(".eml"), "{names:?}");
    assert_eq!(norm(text(row, "TEXTBODY")), "See the forwarded message.");
    for column in ["BODY", "TEXTBODY"] {
        assert!(
            !text(row, column).contains("inner secret text"),
            "the forwarded text is not inlined into {column}"
        );
    }
    let files = list(row, "ATTACHMENTFILES");
    assert_eq!(files.len(), 1, "{row:#?}");
    let saved = std::fs::read(&files[0]).unwrap();
    let trim = |b: &[u8]| {
        let mut v = b.to_vec();
        while v.last().is_some_and(|c| *c == b'\r' || *c == b'\n') {
            v.pop();
        }
        v
    };
    assert_eq!(
        String::from_utf8_lossy(&trim(&saved)),
        String::from_utf8_lossy(&trim(&corpus::inner_message())),
        "the .eml is the forwarded message as it was sent"
    );
}

/// Attachments are decoded only as they are written (the structure is read
/// without transfer decoding): every encoding must still come out as sent,
/// a broken one as it stands, and an encoded forwarded message must not
/// swallow the parts after it.
#[test]
fn get_all_saves_every_transfer_encoding_as_the_sender_meant() {
    let mb = Mailbox::new("Encodings");
    let encoded = |name: &str, content_type: &'static str, bytes: &[u8], body: &str| corpus::File {
        header_name: name.into(),
        content_type,
        encoding: "base64",
        bytes: bytes.to_vec(),
        encoded: Some(body.into()),
    };
    let files = vec![
        // RFC 2046 §5.2.1 forbids it; mailers do it.
        corpus::File::base64("fwd.eml", "message/rfc822", corpus::inner_message()),
        encoded(
            "units.txt",
            "application/octet-stream",
            b"hihi!",
            "aGk=\r\naGk=\r\nIQ==\r\n",
        ),
        encoded(
            "spaced.bin",
            "application/octet-stream",
            b"hello world",
            " aGVsbG8g \r\n\td29y bGQ=\r\n",
        ),
        encoded(
            "broken.bin",
            "application/octet-stream",
            b"this is *not* base64",
            "this is *not* base64\r\n",
        ),
        corpus::File::base64("after.zip", "application/zip", b"PK\x03\x04 after".to_vec()),
    ];
    // Read raw, an encoded forward as the last part does not even parse as
    // a message: only its headers say what it is.
    let last = vec![corpus::File::base64(
        "last.eml",
        "message/rfc822",
        corpus::inner_message(),
    )];
    mb.seed(&[
        corpus::with_files("encodings", &files),
        corpus::with_files("forward last", &last),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let rows = mb.rows(
        "getAll",
        &["--attachmentpath", dir.path().to_str().unwrap()],
    );
    assert_eq!(rows.len(), 2);
    for (row, files) in rows.iter().zip([&files, &last]) {
        let names: Vec<&str> = files.iter().map(|f| f.header_name.as_str()).collect();
        assert_eq!(list(row, "ATTACHMENTS"), names, "{row:#?}");
        assert_eq!(norm(text(row, "TEXTBODY")), "files attached");
        let saved = list(row, "ATTACHMENTFILES");
        assert_eq!(saved.len(), files.len(), "{row:#?}");
        for (path, file) in saved.iter().zip(files.iter()) {
            let bytes = std::fs::read(path).unwrap();
            assert!(
                bytes == file.bytes,
                "{}: saved {:?}, sent {:?}",
                file.header_name,
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&file.bytes)
            );
        }
    }
}

#[test]
fn get_all_bounce_fills_deliverystatus() {
    let mb = Mailbox::new("Bounce");
    mb.seed(&[corpus::bounce()]);
    let rows = mb.rows("getAll", &[]);
    let row = &rows[0];
    let status = opt_text(row, "DELIVERYSTATUS")
        .unwrap_or_else(|| panic!("DELIVERYSTATUS is empty: {row:#?}"));
    for line in [
        "Reporting-MTA: dns; mx.example.org",
        "Final-Recipient: rfc822; nobody@example.com",
        "Action: failed",
        "Status: 5.1.1",
    ] {
        assert!(status.contains(line), "{line:?} not in {status:?}");
    }
    assert_eq!(
        norm(text(row, "BODY")),
        "Your message could not be delivered."
    );
    // A message that is no bounce has none.
    let mb2 = Mailbox::new("NoBounce");
    mb2.seed(&[corpus::simple("plain")]);
    let rows = mb2.rows("getAll", &[]);
    assert_eq!(opt_text(&rows[0], "DELIVERYSTATUS"), None);
}

#[test]
fn csv_joins_attachment_lists_with_tabs() {
    let mb = Mailbox::new("Csv");
    let files = corpus::files_to_save();
    mb.seed(&[corpus::with_files("csv", &files[..2])]);
    let out = mb.cli_format("csv", "getAll", &[]);
    out.assert_success();
    assert!(
        out.stdout.contains("binary.bin\tnote.txt"),
        "ATTACHMENTS tab-joined in CSV\n{out}"
    );
}

// ---- attachments on disk ---------------------------------------------------------------------

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(_) => out.push(p),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn attachments_are_saved_byte_identical_and_overwritten() {
    let mb = Mailbox::new("Save");
    let files = corpus::files_to_save();
    mb.seed(&[corpus::with_files("save", &files)]);
    let tmp = tempfile::tempdir().unwrap();
    // Not there yet: attachmentpath is created.
    let dir = tmp.path().join("not").join("yet");
    let dir_arg = dir.to_str().unwrap();

    let rows = mb.rows("getAll", &["--attachmentpath", dir_arg]);
    let row = &rows[0];
    let names: Vec<&str> = files.iter().map(|f| f.header_name.as_str()).collect();
    assert_eq!(list(row, "ATTACHMENTS"), names);
    let paths = list(row, "ATTACHMENTFILES");
    assert_eq!(paths.len(), files.len(), "{row:#?}");
    let mut failures = Vec::new();
    for (path, file) in paths.iter().zip(&files) {
        let p = Path::new(path);
        assert!(p.is_absolute(), "{path}");
        assert_eq!(
            p.parent(),
            Some(dir.as_path()),
            "{path} is in attachmentpath"
        );
        assert_eq!(
            p.file_name().unwrap().to_str().unwrap(),
            file.header_name,
            "saved under its own name"
        );
        let saved = std::fs::read(p).unwrap_or_else(|e| panic!("{path}: {e}"));
        if saved != file.bytes {
            failures.push(format!(
                "{}: {} bytes saved, {} expected; first bytes {:?} vs {:?}",
                file.header_name,
                saved.len(),
                file.bytes.len(),
                String::from_utf8_lossy(&saved[..saved.len().min(40)]),
                String::from_utf8_lossy(&file.bytes[..file.bytes.len().min(40)])
            ));
        }
    }
    let first: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();

    // Without generateuniquefilenames a second save overwrites.
    for p in &paths {
        std::fs::write(p, b"scribbled over").unwrap();
    }
    let rows = mb.rows("getAll", &["--attachmentpath", dir_arg]);
    assert_eq!(list(&rows[0], "ATTACHMENTFILES"), paths);
    assert_eq!(
        file_names(&dir).len(),
        files.len(),
        "{:?}",
        file_names(&dir)
    );
    for (p, saved) in paths.iter().zip(&first) {
        assert_eq!(
            &std::fs::read(p).unwrap(),
            saved,
            "{p} overwritten by the second save"
        );
    }
    assert!(
        failures.is_empty(),
        "saved files differ from the decoded parts:\n{}",
        failures.join("\n")
    );
}

#[test]
fn attachments_get_unique_filenames() {
    let mb = Mailbox::new("Unique");
    let files = vec![
        corpus::File::base64("report.pdf", "application/pdf", corpus::noise(3000, 1)),
        corpus::File::base64("same.txt", "text/plain", b"first same".to_vec()),
        corpus::File::base64("same.txt", "text/plain", b"second same".to_vec()),
        corpus::File::base64("README", "text/plain", b"no extension".to_vec()),
    ];
    mb.seed(&[corpus::with_files("unique", &files)]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let dir_arg = dir.to_str().unwrap();

    let mut all_paths = Vec::new();
    for _ in 0..3 {
        let rows = mb.rows(
            "getAll",
            &["--attachmentpath", dir_arg, "--generateuniquefilenames"],
        );
        let paths = list(&rows[0], "ATTACHMENTFILES");
        assert_eq!(paths.len(), files.len(), "{rows:#?}");
        for (p, f) in paths.iter().zip(&files) {
            assert_eq!(std::fs::read(p).unwrap(), f.bytes, "{p} holds its own part");
        }
        all_paths.extend(paths);
    }
    let mut distinct = all_paths.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        12,
        "every save got a file of its own: {all_paths:?}"
    );
    let names = file_names(dir);
    assert_eq!(names.len(), 12, "{names:?}");
    for expected in [
        "report.pdf",
        "report1.pdf",
        "report2.pdf",
        "same.txt",
        "same1.txt",
        "README",
        "README1",
        "README2",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    let numbered = Regex::new(r"^(report|same|README)\d*(\.pdf|\.txt)?$").unwrap();
    assert!(names.iter().all(|n| numbered.is_match(n)), "{names:?}");
}

/// Within one action no attachment lands on another's file: without
/// generateuniquefilenames the second attachment of a name gets the next name,
/// replacing a file from before the action there too (as the tag does), so the
/// same action run twice writes the same files.
#[test]
fn attachments_of_one_name_in_one_message_both_survive() {
    let mb = Mailbox::new("SameName");
    let files = vec![
        corpus::File::base64("same.txt", "text/plain", b"first same".to_vec()),
        corpus::File::base64("same.txt", "text/plain", b"second same".to_vec()),
        corpus::File::base64("report.pdf", "application/pdf", corpus::noise(2000, 3)),
    ];
    mb.seed(&[corpus::with_files("same names", &files)]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("report.pdf"), b"from before the action").unwrap();
    std::fs::write(dir.join("same1.txt"), b"from before the action").unwrap();
    let expected: Vec<String> = ["same.txt", "same1.txt", "report.pdf"]
        .iter()
        .map(|n| dir.join(n).to_string_lossy().into_owned())
        .collect();

    for run in 1..=2 {
        let rows = mb.rows("getAll", &["--attachmentpath", dir.to_str().unwrap()]);
        let paths = list(&rows[0], "ATTACHMENTFILES");
        assert_eq!(paths, expected, "run {run}: {rows:#?}");
        for (path, file) in paths.iter().zip(&files) {
            assert_eq!(
                std::fs::read(path).unwrap(),
                file.bytes,
                "run {run}: {path}"
            );
        }
        assert_eq!(
            file_names(dir),
            ["report.pdf", "same.txt", "same1.txt"],
            "run {run}: the same files, and no temporary file left behind"
        );
    }

    // With generateuniquefilenames nothing is replaced: every part gets a new name.
    let rows = mb.rows(
        "getAll",
        &[
            "--attachmentpath",
            dir.to_str().unwrap(),
            "--generateuniquefilenames",
        ],
    );
    let paths = list(&rows[0], "ATTACHMENTFILES");
    let expected: Vec<String> = ["same2.txt", "same3.txt", "report1.pdf"]
        .iter()
        .map(|n| dir.join(n).to_string_lossy().into_owned())
        .collect();
    assert_eq!(paths, expected, "{rows:#?}");
    assert_eq!(std::fs::read(dir.join("same.txt")).unwrap(), b"first same");
    assert_eq!(
        std::fs::read(dir.join("same3.txt")).unwrap(),
        b"second same"
    );
}

/// A symbolic link at an attachment's name is never written through: without
/// generateuniquefilenames the link itself is replaced by the file, with it the
/// link counts as a taken name. The file it points to is untouched either way.
#[cfg(unix)]
#[test]
fn attachments_never_write_through_a_symbolic_link() {
    let mb = Mailbox::new("Links");
    let files = vec![corpus::File::base64(
        "report.pdf",
        "application/pdf",
        b"%PDF-1.4 the attachment".to_vec(),
    )];
    mb.seed(&[corpus::with_files("links", &files)]);
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, b"must not change").unwrap();

    for unique in [false, true] {
        let dir = tmp.path().join(if unique { "unique" } else { "replace" });
        std::fs::create_dir(&dir).unwrap();
        let link = dir.join("report.pdf");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let mut args = vec!["--attachmentpath", dir.to_str().unwrap()];
        if unique {
            args.push("--generateuniquefilenames");
        }
        let rows = mb.rows("getAll", &args);
        let paths = list(&rows[0], "ATTACHMENTFILES");
        assert_eq!(paths.len(), 1, "{rows:#?}");
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"must not change",
            "unique={unique}: the link's target was written through"
        );
        assert_eq!(std::fs::read(&paths[0]).unwrap(), files[0].bytes);
        let saved = std::fs::symlink_metadata(&paths[0]).unwrap();
        assert!(saved.file_type().is_file(), "{} is a plain file", paths[0]);
        if unique {
            assert_eq!(Path::new(&paths[0]), dir.join("report1.pdf"));
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "the link stays as it was"
            );
        } else {
            assert_eq!(Path::new(&paths[0]), link, "the link itself is replaced");
        }
    }
}

#[test]
fn attachment_names_cannot_escape_attachmentpath() {
    let mb = Mailbox::new("Traversal");
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path();
    let dir = parent.join("inner").join("att");
    let absolute = parent.join("abs-evil.txt");
    let evil: Vec<(&str, String)> = vec![
        ("dotdot-slash", "../../x.txt".into()),
        ("absolute", absolute.display().to_string()),
        ("nul", "*filename*=UTF-8''nul%00byte.txt".into()),
        ("dotdot", "..".into()),
        ("dot", ".".into()),
        ("backslashes", "..\\\\..\\\\win.txt".into()),
        (
            "encoded slashes",
            "*filename*=UTF-8''..%2F..%2Fenc.txt".into(),
        ),
        (
            "encoded word",
            "*filename=\"=?UTF-8?Q?=2E=2E=2F=2E=2E=2Fq.txt?=\"".into(),
        ),
        ("deep", "ok/../../deep.txt".into()),
        ("control", "*filename*=UTF-8''line%0D%0Abreak.txt".into()),
        ("long", format!("{}.txt", "ä".repeat(300))),
    ];
    let files: Vec<corpus::File> = evil
        .iter()
        .enumerate()
        .map(|(n, (_, name))| {
            corpus::File::base64(name, "application/octet-stream", format!("part {n}").into())
        })
        .collect();
    mb.seed(&[corpus::with_files("traversal", &files)]);
    let out = mb.cli("getAll", &["--attachmentpath", dir.to_str().unwrap()]);
    out.assert_success();
    let rows = out.rows();
    let paths = list(&rows[0], "ATTACHMENTFILES");
    eprintln!(
        "ATTACHMENTS {:?}\nATTACHMENTFILES {paths:?}",
        list(&rows[0], "ATTACHMENTS")
    );
    assert_eq!(paths.len(), evil.len(), "{rows:#?}");
    for (path, ((label, _), file)) in paths.iter().zip(evil.iter().zip(&files)) {
        let p = Path::new(path);
        assert_eq!(
            p.parent(),
            Some(dir.as_path()),
            "{label}: {path} outside attachmentpath"
        );
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(
            !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains(['/', '\\', '\0', '\r', '\n']),
            "{label}: unsafe file name {name:?}"
        );
        assert!(name.len() <= 255, "{label}: name of {} bytes", name.len());
        assert_eq!(std::fs::read(p).unwrap(), file.bytes, "{label}: {path}");
    }
    // Nothing anywhere else: the whole tempdir holds only files directly in attachmentpath.
    for f in files_under(parent) {
        assert_eq!(
            f.parent(),
            Some(dir.as_path()),
            "stray file {} (ATTACHMENTFILES {paths:?})",
            f.display()
        );
    }
    assert!(!absolute.exists());
    let mut distinct = paths.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        paths.len(),
        "distinct parts got distinct files: {paths:?}"
    );
}

// ---- hard messages ---------------------------------------------------------------------------

#[test]
fn hard_messages_never_fail_the_action() {
    let mb = Mailbox::new("Hard");
    let cases = corpus::hard_messages();
    let raws: Vec<Vec<u8>> = cases.iter().map(|c| c.raw.clone()).collect();
    let ids = mb.seed(&raws);
    let dir = tempfile::tempdir().unwrap();
    let header_rows = by_uid(mb.rows("getHeaderOnly", &[]));
    let all_rows = by_uid(mb.rows(
        "getAll",
        &["--attachmentpath", dir.path().to_str().unwrap()],
    ));
    assert_eq!(header_rows.len(), cases.len());
    assert_eq!(all_rows.len(), cases.len());
    let mut failures = Vec::new();
    for (case, uid) in cases.iter().zip(&ids) {
        failures.extend(case.failures("getHeaderOnly", &header_rows[uid]));
        failures.extend(case.failures("getAll", &all_rows[uid]));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- the 15 MB message -----------------------------------------------------------------------

#[test]
fn large_message_with_a_10_mb_attachment() {
    let mb = Mailbox::new("Big");
    let (raw, data) = corpus::big();
    let ids = mb.seed(std::slice::from_ref(raw));
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let uid = ids[0].to_string();
    let rows = mb.rows(
        "getAll",
        &[
            "--uid",
            &uid,
            "--attachmentpath",
            tmp.path().to_str().unwrap(),
        ],
    );
    let took = started.elapsed();
    let row = &rows[0];
    assert_eq!(number(row, "SIZE"), raw.len() as u64);
    assert_eq!(list(row, "ATTACHMENTS"), ["big.bin"]);
    assert!(
        text(row, "TEXTBODY").starts_with("filler line 0000000"),
        "TEXTBODY starts {:?}",
        &text(row, "TEXTBODY")[..80.min(text(row, "TEXTBODY").len())]
    );
    let files = list(row, "ATTACHMENTFILES");
    let saved = std::fs::read(&files[0]).unwrap();
    assert_eq!(saved.len(), data.len(), "size of the saved attachment");
    assert!(saved == *data, "the saved attachment differs from the part");
    eprintln!("getAll of a {} byte message took {took:?}", raw.len());
}

// ---- large messages read as they arrive -------------------------------------------------------

/// A getAll that saves attachments takes each message over a MiB apart as it arrives, its long
/// base64 runs decoded into files before the part they belong to is known: every column must be
/// what the read that holds the message whole gives (the read without attachmentpath), every file
/// what the sender meant, and nothing else may be left in the directory.
#[test]
fn large_messages_read_as_they_arrive_read_as_the_whole_message() {
    let mb = Mailbox::new("Arriving");
    let cases = corpus::arriving();
    let raws: Vec<Vec<u8>> = cases.iter().map(|c| c.raw.clone()).collect();
    mb.seed(&raws);
    let whole = mb.rows("getAll", &[]);
    let dir = tempfile::tempdir().unwrap();
    let saved = mb.rows(
        "getAll",
        &["--attachmentpath", dir.path().to_str().unwrap()],
    );
    assert_eq!(saved.len(), cases.len());
    assert_eq!(whole.len(), cases.len());
    let mut written = 0;
    for ((case, whole), saved) in cases.iter().zip(&whole).zip(&saved) {
        for (column, value) in whole {
            if column != "ATTACHMENTFILES" {
                assert_eq!(
                    saved.get(column),
                    Some(value),
                    "{}: {column} differs from the whole message's",
                    case.what
                );
            }
        }
        let paths = list(saved, "ATTACHMENTFILES");
        assert_eq!(paths.len(), case.files.len(), "{}: {paths:?}", case.what);
        for (path, expected) in paths.iter().zip(&case.files) {
            let bytes = std::fs::read(path).unwrap();
            assert!(
                bytes == *expected,
                "{}: {path} holds {} bytes, not the {} sent",
                case.what,
                bytes.len(),
                expected.len()
            );
        }
        written += paths.len();
    }
    assert_eq!(
        files_under(dir.path()).len(),
        written,
        "only the attachments are left: {:?}",
        file_names(dir.path())
    );
}

/// A file started as its attachment arrived gets its name only at the end, by the rules every
/// file follows: with generateuniquefilenames a file from before keeps its name and the
/// attachment takes the next; without, the attachment replaces it.
#[test]
fn large_attachments_read_as_they_arrive_take_their_names_as_any_other() {
    let mb = Mailbox::new("ArrivingNames");
    let big = corpus::noise(1_300_000, 21);
    let small = b"the second big.bin".to_vec();
    mb.seed(&[corpus::with_files(
        "names",
        &[
            corpus::File::base64("big.bin", "application/octet-stream", big.clone()),
            corpus::File::base64("big.bin", "application/octet-stream", small.clone()),
        ],
    )]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("big.bin"), b"from before").unwrap();
    let rows = mb.rows(
        "getAll",
        &[
            "--attachmentpath",
            dir.to_str().unwrap(),
            "--generateuniquefilenames",
        ],
    );
    let paths = list(&rows[0], "ATTACHMENTFILES");
    let names: Vec<_> = paths
        .iter()
        .map(|p| {
            Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["big1.bin", "big2.bin"], "{rows:#?}");
    assert_eq!(std::fs::read(dir.join("big.bin")).unwrap(), b"from before");
    assert!(std::fs::read(dir.join("big1.bin")).unwrap() == big);
    assert_eq!(std::fs::read(dir.join("big2.bin")).unwrap(), small);

    let rows = mb.rows("getAll", &["--attachmentpath", dir.to_str().unwrap()]);
    let paths = list(&rows[0], "ATTACHMENTFILES");
    assert!(
        paths[0].ends_with("big.bin") && paths[1].ends_with("big1.bin"),
        "{paths:?}"
    );
    assert!(
        std::fs::read(dir.join("big.bin")).unwrap() == big,
        "replaced"
    );
    assert_eq!(std::fs::read(dir.join("big1.bin")).unwrap(), small);
    assert_eq!(file_names(dir).len(), 3, "{:?}", file_names(dir));
}

// ---- one UID FETCH per window ----------------------------------------------------------------

/// The rawlog files (`*.in`) of `user`.
/// Runs `action` and returns what the CLI sent after login (from Dovecot's rawlog).
fn sent_by(mb: &Mailbox, dovecot: &Dovecot, action: &str, extra: &[&str]) -> String {
    let before = dovecot.rawlog_files(&mb.account.username);
    mb.cli(action, extra).assert_success();
    dovecot
        .rawlog_since(&mb.account.username, &before)
        .unwrap_or_else(|text| panic!("no rawlog of the {action} session: {text:?}"))
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_whole_folder_is_one_fetch_by_message_number_with_no_search() {
    let dovecot = Dovecot::shared(Flavor::Default);
    let mb = Mailbox::new("Window");
    let raws: Vec<Vec<u8>> = (0..50).map(|n| corpus::simple(&format!("w{n}"))).collect();
    mb.seed(&raws);

    let fetches = |sent: &str| -> Vec<String> {
        sent.lines()
            .filter(|l| l.to_uppercase().contains(" FETCH "))
            .map(str::to_string)
            .collect()
    };
    // The EXISTS count says which messages a whole folder is: no UID SEARCH to resolve them.
    let by_number = Regex::new(r"(?i)^\S+ \S+ FETCH 1:50 ").expect("regex");
    let sent = sent_by(&mb, dovecot, "getHeaderOnly", &[]);
    let f = fetches(&sent);
    assert_eq!(f.len(), 1, "getHeaderOnly of 50 messages: {f:#?}");
    assert!(by_number.is_match(&f[0]), "{f:?}");
    assert!(f[0].to_uppercase().contains("BODY.PEEK[HEADER]"), "{f:?}");
    assert!(!sent.to_uppercase().contains(" SEARCH "), "{sent}");
    let rows = mb.rows("getHeaderOnly", &[]);
    assert_eq!(rows.len(), 50);

    let sent = sent_by(&mb, dovecot, "getAll", &[]);
    let f = fetches(&sent);
    let with_body: Vec<&String> = f
        .iter()
        .filter(|l| l.to_uppercase().contains("BODY.PEEK["))
        .collect();
    assert_eq!(with_body.len(), 1, "getAll of 50 small messages: {f:#?}");
    assert!(by_number.is_match(with_body[0]), "{f:?}");
    assert!(!sent.to_uppercase().contains(" SEARCH "), "{sent}");
    assert!(
        !with_body[0].contains("]<"),
        "bodies are fetched whole, not in partial chunks: {}",
        with_body[0]
    );
    assert!(f.len() <= 2, "at most a size probe and the fetch: {f:#?}");
    for line in sent.lines() {
        let up = line.to_uppercase();
        assert!(
            !up.contains(" STORE ") && !up.contains(" SELECT "),
            "reading must not SELECT or STORE: {line}"
        );
    }
    assert!(sent.to_uppercase().contains(" EXAMINE "), "{sent}");
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_message_number_list_is_fetched_by_number_with_no_search() {
    let dovecot = Dovecot::shared(Flavor::Default);
    let mb = Mailbox::new("NumberList");
    let raws: Vec<Vec<u8>> = (0..30).map(|n| corpus::simple(&format!("n{n}"))).collect();
    mb.seed(&raws);
    let all = mb.rows("getHeaderOnly", &[]);
    let uid_of_number: HashMap<u64, u32> = all
        .iter()
        .map(|r| (number(r, "MESSAGENUMBER"), uid_of(r)))
        .collect();

    // Out of order, repeated, and past the EXISTS count (left out, as ever).
    let list = "29,3,4,5,3,17,99";
    let fetch = Regex::new(r"(?i)^\S+ \S+ FETCH 3:5,17,29 ").expect("regex");
    for action in ["getHeaderOnly", "getAll"] {
        let sent = sent_by(&mb, dovecot, action, &["--messagenumber", list]);
        assert!(
            !sent.to_uppercase().contains(" SEARCH "),
            "{action}: {sent}"
        );
        let fetches: Vec<&str> = sent.lines().filter(|l| fetch.is_match(l)).collect();
        assert_eq!(fetches.len(), 1, "{action}: one FETCH by number: {sent}");

        let rows = mb.rows(action, &["--messagenumber", list]);
        assert_eq!(numbers(&rows), [3, 4, 5, 17, 29], "{action}");
        for row in &rows {
            assert_eq!(
                Some(&uid_of(row)),
                uid_of_number.get(&number(row, "MESSAGENUMBER")),
                "{action}: each row is the message of its number"
            );
        }
        let rows = mb.rows(action, &["--messagenumber", list, "--newest"]);
        assert_eq!(numbers(&rows), [29, 17, 5, 4, 3], "{action} --newest");
    }
    // Newest first, getAll asks in windows of 8 of the list's numbers from the newest end.
    let many: Vec<String> = (1..=30)
        .filter(|n| n % 3 != 0)
        .map(|n| n.to_string())
        .collect();
    let sent = sent_by(
        &mb,
        dovecot,
        "getAll",
        &["--messagenumber", &many.join(","), "--newest"],
    );
    assert!(!sent.to_uppercase().contains(" SEARCH "), "{sent}");
    let set = Regex::new(r"(?i)^\S+ \S+ FETCH (\S+) ").expect("regex");
    let windows: Vec<&str> = sent
        .lines()
        .filter_map(|l| set.captures(l).and_then(|c| c.get(1)).map(|m| m.as_str()))
        .collect();
    assert_eq!(
        windows,
        [
            "19:20,22:23,25:26,28:29",
            "7:8,10:11,13:14,16:17",
            "1:2,4:5"
        ],
        "{sent}"
    );
    let rows = mb.rows("getAll", &["--messagenumber", &many.join(","), "--newest"]);
    let mut want: Vec<u64> = (1..=30).filter(|n| n % 3 != 0).collect();
    want.reverse();
    assert_eq!(numbers(&rows), want);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn an_empty_folder_reads_as_no_rows_with_no_fetch() {
    // `* 0 EXISTS`: there is no message number to fetch (a FETCH of `1:0` would be a BAD).
    let dovecot = Dovecot::shared(Flavor::Default);
    let mb = Mailbox::new("Empty");
    for action in ["getHeaderOnly", "getAll"] {
        for extra in [&[][..], &["--newest"], &["--maxrows", "5"]] {
            let sent = sent_by(&mb, dovecot, action, extra);
            assert!(sent.to_uppercase().contains(" EXAMINE "), "{sent}");
            assert!(
                !sent.to_uppercase().contains("FETCH"),
                "{action} {extra:?}: nothing to fetch\n{sent}"
            );
            for format in ["json", "ndjson", "csv"] {
                let out = mb.cli_format(format, action, extra);
                out.assert_success();
                let body = out.stdout.trim();
                let expected = match format {
                    "json" => "[]",
                    _ => "",
                };
                if format == "csv" {
                    assert_eq!(body.lines().count(), 1, "the header line only\n{out}");
                } else {
                    assert_eq!(
                        body, expected,
                        "{action} {extra:?} --format {format}\n{out}"
                    );
                }
            }
        }
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn newest_first_reads_of_many_windows_give_every_row_once_newest_first() {
    // 230 messages: getHeaderOnly reads newest first in windows of 100, getAll in windows of
    // 8, several FETCH commands in flight at once (Dovecot then ends a window's answer after
    // the next window's data has come).
    let dovecot = Dovecot::shared(Flavor::Default);
    let mb = Mailbox::new("Pipelined");
    let raws: Vec<Vec<u8>> = (0..230).map(|n| corpus::simple(&format!("p{n}"))).collect();
    let mut seeded = mb.seed(&raws);
    seeded.reverse();
    for (action, extra) in [
        ("getHeaderOnly", &[][..]),
        ("getAll", &[][..]),
        ("getAll", &["--stoponerror=false"][..]),
    ] {
        let rows = mb.rows(action, &[&["--newest"], extra].concat());
        assert_eq!(
            uids(&rows),
            seeded,
            "{action} --newest {extra:?}: all, newest first"
        );
        for row in &rows {
            assert!(
                row.get("ERROR").is_none_or(Value::is_null),
                "{action} --newest {extra:?}: {row:?}"
            );
        }
        let subjects: Vec<&str> = rows.iter().filter_map(|r| r["SUBJECT"].as_str()).collect();
        assert_eq!(
            subjects.first(),
            Some(&"p229"),
            "{action}: the newest row's own subject"
        );
        assert_eq!(
            subjects.last(),
            Some(&"p0"),
            "{action}: the oldest row's own subject"
        );
    }
    // The windows were asked for by message number, newest first, each once: 223:230 down to
    // 7:14, then 1:6.
    let sent = sent_by(&mb, dovecot, "getAll", &["--newest", "--stoponerror=false"]);
    let windows: Vec<String> = sent
        .lines()
        .filter(|l| l.to_uppercase().contains(" FETCH "))
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect();
    let want: Vec<String> = (0..29)
        .map(|w| {
            let top: u32 = 230 - 8 * w;
            format!("{}:{top}", top.saturating_sub(7).max(1))
        })
        .collect();
    assert_eq!(windows, want, "{sent}");
    assert!(!sent.to_uppercase().contains(" SEARCH "), "{sent}");
}

// ---- pipelined windows (fault server) --------------------------------------------------------

/// `* n FETCH (…)` and CRLF, as getAll's `FETCH` is answered for message `n` (UID `n`): a
/// whole message of two header fields and a line of text.
fn whole_fetch(n: u32) -> String {
    let message = format!("{}Text {n}.\r\n", scripted_header(n));
    format!(
        "* {n} FETCH (UID {n} FLAGS () RFC822.SIZE {} INTERNALDATE \"04-Mar-2025 10:00:00 \
         +0000\" BODY[] {{{}}}\r\n{message})\r\n",
        message.len(),
        message.len()
    )
}

/// The answers to a window's FETCH: one response per UID in `uids`, in ascending order.
fn answer(script: Script, uids: std::ops::RangeInclusive<u32>, whole: bool) -> Script {
    uids.fold(script, |s, n| {
        s.send(if whole {
            whole_fetch(n)
        } else {
            header_fetch(n, n, true)
        })
    })
}

/// getHeaderOnly of 250 messages newest first, up to its three windows' FETCH commands
/// (151:250, then 51:150 and 1:50), all read before anything is answered.
fn three_windows_asked() -> Script {
    Script::session(FAULT_CAPS)
        .examine_numbered(250)
        .expect(r"(?i)^\S+ FETCH 51:150 ")
        .expect(r"(?i)^\S+ FETCH 1:50 ")
}

/// `cfimap getHeaderOnly --newest` against `server`, rows as `format`.
fn newest_headers(server: &FaultServer, format: &str) -> CliOutput {
    cfimap(["getHeaderOnly", "--format", format, "--newest"])
        .args(server.cli_args())
        .timeout(Duration::from_secs(30))
        .run()
}

#[test]
fn newest_first_windows_are_asked_for_before_the_first_is_answered() {
    // 250 messages newest first: windows 151:250, 51:150 and 1:50, all three FETCH commands
    // sent before any answer (a client waiting for each answer would stall the script here),
    // then answered with the ends out of order, as a server that runs them at once may.
    let script = three_windows_asked();
    let script = answer(script, 151..=250, false);
    let script = answer(script, 51..=150, false)
        .tagged_earlier(1, "OK second window done")
        .tagged_earlier(2, "OK first window done");
    let script = answer(script, 1..=50, false)
        .tagged("OK third window done")
        .logout();
    let server = FaultServer::start(script);
    let out = newest_headers(&server, "json");
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    out.assert_success();
    let rows = out.rows();
    let want: Vec<u32> = (1..=250).rev().collect();
    assert_eq!(uids(&rows), want, "every row once, newest first\n{out}");
    for row in &rows {
        assert!(row.get("ERROR").is_none_or(Value::is_null), "{row:?}");
        let n = uid_of(row);
        assert_eq!(row["SUBJECT"], format!("scripted {n}"), "UID {n}'s own row");
    }
}

#[test]
fn a_refused_window_among_pipelined_ones_is_reported_and_the_others_read_to_their_ends() {
    // stoponerror: the first window is refused after the two others were asked for. Their
    // answers are read to their ends, so the next action on the same connection (a script's
    // second read) gets its own answers, not the rest of these.
    let script = three_windows_asked().tagged_earlier(2, "NO [SERVERBUG] Internal error occurred");
    let script = answer(script, 51..=150, false).tagged_earlier(1, "OK second window done");
    let script = answer(script, 1..=50, false)
        .tagged("OK third window done")
        .examine_numbered(1)
        .send(header_fetch(1, 1, true))
        .tagged("OK FETCH done")
        .logout();
    let server = FaultServer::start(script);
    let lines = "{\"action\": \"open\", \"connection\": \"c\"}\n\
         {\"action\": \"getHeaderOnly\", \"connection\": \"c\", \"newest\": true}\n\
         {\"action\": \"getHeaderOnly\", \"connection\": \"c\"}\n";
    let out = cfimap(["run", "-", "--keep-going"])
        .args(server.cli_args())
        .stdin(lines)
        .timeout(Duration::from_secs(30))
        .run();
    assert!(
        server.wait_closed(Duration::from_secs(10)),
        "the client hung up"
    );
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    let answers: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}")))
        .collect();
    assert_eq!(answers.len(), 3, "{out}");
    let refused = answers[1].to_string();
    assert!(refused.contains("Internal error occurred"), "{out}");
    assert!(!refused.to_lowercase().contains("unknown tag"), "{out}");
    let rows = answers[2]["rows"]
        .as_array()
        .expect("the second read's rows");
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0]["SUBJECT"], "scripted 1", "{out}");
    assert_eq!(out.code, Some(5), "the refusal's status\n{out}");
}

#[test]
fn an_expunge_that_breaks_a_read_by_number_keeps_the_error_found_before_it() {
    // stoponerror, newest first: the second window is refused while the first is still
    // answered, then the server sends an EXPUNGE in the first window's range (RFC 3501
    // §7.4.1 forbids it). The violation ends the read; the refusal waiting for its turn is
    // not lost with it.
    let script = three_windows_asked();
    let script = answer(script, 151..=200, false)
        .tagged_earlier(1, "NO [SERVERBUG] Internal error occurred")
        .line("* 180 EXPUNGE")
        .close();
    let server = FaultServer::start(script);
    let out = newest_headers(&server, "ndjson");
    assert_eq!(out.code, Some(6), "a protocol violation\n{out}");
    assert!(out.stderr.contains("expunged message number 180"), "{out}");
    assert!(
        out.stderr.contains("Internal error occurred"),
        "the refusal found first\n{out}"
    );
}

#[test]
fn a_later_window_refused_before_an_earlier_one_ends_comes_after_the_earlier_rows() {
    // stoponerror, newest first: the second window's NO arrives before the first window's
    // OK. The first window's rows still come first, a batch (64 rows) at a time as the CLI
    // takes them, as if the windows had been asked for one at a time; the refusal ends the
    // read after them.
    let script = three_windows_asked();
    let script = answer(script, 151..=250, false)
        .tagged_earlier(1, "NO [SERVERBUG] Internal error occurred")
        .tagged_earlier(2, "OK first window done");
    let script = answer(script, 1..=50, false)
        .tagged("OK third window done")
        .logout();
    let server = FaultServer::start(script);
    let out = newest_headers(&server, "ndjson");
    assert!(
        server.wait_closed(Duration::from_secs(10)),
        "the client hung up"
    );
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    assert_eq!(out.code, Some(5), "the refusal's status\n{out}");
    assert!(out.stderr.contains("Internal error occurred"), "{out}");
    let shown: Vec<u32> = out
        .stdout
        .lines()
        .map(|l| {
            let row: Row = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}"));
            uid_of(&row)
        })
        .collect();
    let want: Vec<u32> = (187..=250).rev().collect();
    assert_eq!(
        shown, want,
        "the first window's first batch, newest first\n{out}"
    );
}

#[test]
fn no_window_is_asked_for_once_one_has_reported_the_error_that_ends_the_read() {
    // getAll of 40 messages newest first (windows of 8, stoponerror, nothing saved: three in
    // flight). The third window is refused while the first two are open: after the first is
    // handed on, a fourth FETCH would be the next command, where the script wants LOGOUT.
    let script = Script::session(FAULT_CAPS)
        .examine_numbered(40)
        .expect(r"(?i)^\S+ FETCH 25:32 ")
        .expect(r"(?i)^\S+ FETCH 17:24 ")
        .tagged("NO [SERVERBUG] Internal error occurred");
    let script = answer(script, 33..=40, true).tagged_earlier(2, "OK first window done");
    let script = answer(script, 25..=32, true)
        .tagged_earlier(1, "OK second window done")
        .logout();
    let server = FaultServer::start(script);
    let out = cfimap(["getAll", "--format", "ndjson", "--newest"])
        .args(server.cli_args())
        .timeout(Duration::from_secs(30))
        .run();
    assert!(
        server.wait_closed(Duration::from_secs(10)),
        "the client hung up"
    );
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    assert_eq!(out.code, Some(5), "the refusal's status\n{out}");
    assert!(out.stderr.contains("Internal error occurred"), "{out}");
}

#[test]
fn a_connection_lost_while_reading_the_rest_after_an_error_is_the_error_reported() {
    // The first window is refused with two more under way; the server then closes the
    // connection before answering them. The session is broken, and the error says so, with
    // the refusal that came first.
    let script = three_windows_asked()
        .tagged_earlier(2, "NO [SERVERBUG] Internal error occurred")
        .close();
    let server = FaultServer::start(script);
    let out = newest_headers(&server, "ndjson");
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    assert_ne!(out.code, Some(0), "{out}");
    assert_ne!(
        out.code,
        Some(5),
        "not a mere refusal: the connection is gone\n{out}"
    );
    let stderr = out.stderr.to_lowercase();
    assert!(stderr.contains("closed"), "{out}");
    assert!(out.stderr.contains("Internal error occurred"), "{out}");
    assert!(out.stdout.trim().is_empty(), "no rows\n{out}");
}

#[test]
fn a_get_all_that_stops_at_errors_and_saves_files_asks_for_one_window_at_a_time() {
    // A window's end can report an error after the next window's messages came; with
    // stoponerror no file may be written past it, so such a getAll does not pipeline: the
    // refused first window is the only FETCH (a second one would fail the script's LOGOUT).
    let dir = tempfile::tempdir().expect("temporary directory");
    let script = Script::session(FAULT_CAPS)
        .examine_numbered(20)
        .tagged("NO [SERVERBUG] Internal error occurred")
        .logout();
    let server = FaultServer::start(script);
    let out = cfimap(["getAll", "--format", "json", "--newest"])
        .args(server.cli_args())
        .arg("--attachmentpath")
        .arg(dir.path())
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(out.code, Some(5), "{out}");
    assert!(
        server.wait_closed(Duration::from_secs(10)),
        "the client hung up"
    );
    assert!(server.failures().is_empty(), "{:?}", server.failures());
    let fetches: Vec<String> = server
        .transcripts()
        .iter()
        .flat_map(|t| t.commands.clone())
        .filter(|c| c.to_uppercase().contains(" FETCH "))
        .collect();
    assert_eq!(fetches.len(), 1, "{fetches:#?}");
    assert!(
        fetches[0].contains(" 13:20 "),
        "the newest window: {fetches:?}"
    );

    // Without stoponerror the same read pipelines its three windows, and every row comes.
    let script = Script::session(FAULT_CAPS)
        .examine_numbered(20)
        .expect(r"(?i)^\S+ FETCH 5:12 ")
        .expect(r"(?i)^\S+ FETCH 1:4 ");
    let script = answer(script, 13..=20, true).tagged_earlier(2, "OK done");
    let script = answer(script, 5..=12, true).tagged_earlier(1, "OK done");
    let script = answer(script, 1..=4, true).tagged("OK done").logout();
    let server = FaultServer::start(script);
    let out = cfimap([
        "getAll",
        "--format",
        "json",
        "--newest",
        "--stoponerror=false",
    ])
    .args(server.cli_args())
    .arg("--attachmentpath")
    .arg(dir.path())
    .timeout(Duration::from_secs(30))
    .run();
    out.assert_success();
    assert!(server.failures().is_empty(), "{:?}", server.failures());
    let want: Vec<u32> = (1..=20).rev().collect();
    assert_eq!(uids(&out.rows()), want, "{out}");
    for row in out.rows() {
        let n = uid_of(&row);
        let text = row["TEXTBODY"].as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("Text {n}.")),
            "UID {n}'s own body: {row:?}"
        );
    }
}

// ---- stoponerror (fault server) --------------------------------------------------------------

const FAULT_CAPS: &str = "IMAP4rev1 AUTH=PLAIN SASL-IR UIDPLUS";

/// How a scripted read picks its three messages (UIDs and numbers 1–3), and so how its
/// FETCH, its rows and its errors name them.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// The whole folder: `FETCH 1:3` by message number, no `UID SEARCH`.
    Folder,
    /// `--uid 1,2,3`: resolved by `UID SEARCH`, then `UID FETCH`.
    Uids,
}

impl Pick {
    const BOTH: [Pick; 2] = [Pick::Folder, Pick::Uids];

    /// The column of a row that names its message.
    fn column(self) -> &'static str {
        match self {
            Pick::Folder => "MESSAGENUMBER",
            Pick::Uids => "UID",
        }
    }

    /// The words an error names a message by.
    fn word(self) -> &'static str {
        match self {
            Pick::Folder => "message number",
            Pick::Uids => "UID",
        }
    }
}

/// Login, namespace, EXAMINE of three messages (and, picked by UID, their `UID SEARCH`): then
/// `fetch` answers the FETCH.
fn fault_script(pick: Pick, fetch: impl FnOnce(Script) -> Script) -> Script {
    let start = Script::session(FAULT_CAPS);
    let start = match pick {
        Pick::Folder => start.examine_three(),
        Pick::Uids => start.examine_three_searched(),
    };
    fetch(start).logout()
}

fn fault_cli(server: &FaultServer, pick: Pick, stoponerror: &str) -> CliOutput {
    let mut command = cfimap(["getHeaderOnly", "--format", "json"]);
    if let Pick::Uids = pick {
        command = command.args(["--uid", "1,2,3"]);
    }
    command
        .args(server.cli_args())
        .arg(format!("--stoponerror={stoponerror}"))
        .timeout(Duration::from_secs(30))
        .run()
}

/// `true` if `stderr` names message `n` after `word` (`UID`, `message number`; alone, in a
/// list or in a range).
fn names_message(stderr: &str, word: &str, n: u32) -> bool {
    let re = Regex::new(&format!(r"(?i)\b{word}s?\b\W*([0-9][0-9,:]*)")).unwrap();
    re.captures_iter(stderr).any(|c| {
        c[1].split(',').any(|part| {
            let (a, b) = part.split_once(':').unwrap_or((part, part));
            match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) => (a.min(b)..=a.max(b)).contains(&n),
                _ => false,
            }
        })
    })
}

/// What a stoponerror run should give, checked without stopping at the first difference.
struct Expect {
    failures: Vec<String>,
}

impl Expect {
    fn new() -> Expect {
        Expect {
            failures: Vec::new(),
        }
    }

    fn that(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(what());
        }
    }

    /// stoponerror=false: exit 0, a row for each of messages 1..=3 (by `pick`'s column);
    /// `broken` have an ERROR, the others their SUBJECT and no ERROR.
    fn rows_go_on(&mut self, out: &CliOutput, pick: Pick, broken: &[u32], error_text: &str) {
        if out.code != Some(0) {
            self.failures.push(format!(
                "{pick:?}, stoponerror=false: exit {:?}\n{out}",
                out.code
            ));
            return;
        }
        let column = pick.column();
        // A list, not a map: a duplicated row must show as one.
        let rows: Vec<(u32, Row)> = out
            .rows()
            .into_iter()
            .map(|r| (u32::try_from(number(&r, column)).unwrap_or(0), r))
            .collect();
        let mut got: Vec<u32> = rows.iter().map(|(n, _)| *n).collect();
        got.sort();
        self.that(got == [1, 2, 3], || {
            format!(
                "{pick:?}, stoponerror=false: rows for {column} {got:?}, expected a row for each \
                 of 1, 2, 3\n{out}"
            )
        });
        for (n, row) in &rows {
            let error = opt_text(row, "ERROR");
            if broken.contains(n) {
                self.that(error.is_some_and(|e| e.contains(error_text)), || {
                    format!(
                        "{pick:?}: {column} {n}: ERROR {error:?}, expected one mentioning \
                         {error_text:?}\n{out}"
                    )
                });
            } else {
                let subject = row.get("SUBJECT").and_then(Value::as_str);
                let uid = number(row, "UID");
                self.that(
                    error.is_none()
                        && subject == Some(&format!("scripted {n}"))
                        && uid == u64::from(*n),
                    || {
                        format!(
                            "{pick:?}: {column} {n} was fetched fine: SUBJECT {subject:?} UID \
                             {uid} ERROR {error:?}\n{out}"
                        )
                    },
                );
            }
        }
    }

    /// stoponerror=true: a failure whose message names message `n` (by `pick`'s word) and says
    /// `error_text`.
    fn stops(&mut self, out: &CliOutput, pick: Pick, n: u32, error_text: &str) {
        self.that(!matches!(out.code, Some(0) | None), || {
            format!(
                "{pick:?}, stoponerror=true: exit {:?}, expected a failure\n{out}",
                out.code
            )
        });
        self.that(names_message(&out.stderr, pick.word(), n), || {
            format!(
                "{pick:?}, stoponerror=true: the error does not name {} {n}\n{out}",
                pick.word()
            )
        });
        self.that(out.stderr.contains(error_text), || {
            format!("{pick:?}, stoponerror=true: the error does not say {error_text:?}\n{out}")
        });
    }

    fn check(self, server: &FaultServer) {
        let mut failures = self.failures;
        failures.extend(server.failures());
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }
}

#[test]
fn stoponerror_with_a_message_whose_body_is_missing() {
    for pick in Pick::BOTH {
        let server = FaultServer::start(fault_script(pick, |s| {
            s.send(header_fetch(1, 1, true))
                .send(header_fetch(2, 2, false))
                .send(header_fetch(3, 3, true))
                .tagged("OK FETCH done")
        }));
        let mut expect = Expect::new();
        expect.rows_go_on(&fault_cli(&server, pick, "false"), pick, &[2], "");
        expect.stops(&fault_cli(&server, pick, "true"), pick, 2, "");
        expect.check(&server);
    }
}

/// Large literals skip imap-codec's byte-by-byte NUL check and are checked
/// with memchr instead (src/imap/responses.rs): a NUL in one must still be
/// refused as a protocol violation, with or without stoponerror, and the
/// message after it must not be read as if nothing happened.
#[test]
fn a_nul_in_a_large_literal_is_a_protocol_violation() {
    let mut head = scripted_header(1);
    head.insert_str(
        0,
        &format!("X-Pad: {}\0{}\r\n", "p".repeat(3000), "q".repeat(3000)),
    );
    let server = FaultServer::start(fault_script(Pick::Folder, |s| {
        s.send(format!(
            "* 1 FETCH (UID 1 FLAGS () RFC822.SIZE {} INTERNALDATE \"04-Mar-2025 10:00:00 +0000\" BODY[HEADER] {{{}}}\r\n{head})\r\n",
            head.len(),
            head.len()
        ))
        .send(header_fetch(2, 2, true))
        .send(header_fetch(3, 3, true))
        .tagged("OK FETCH done")
    }));
    for stoponerror in ["true", "false"] {
        let out = fault_cli(&server, Pick::Folder, stoponerror);
        assert_eq!(
            out.code,
            Some(6),
            "stoponerror={stoponerror}: exit 6, protocol\n{out}"
        );
        assert!(
            out.stderr.contains("malformed response"),
            "stoponerror={stoponerror}: the error says what was wrong\n{out}"
        );
        assert!(out.stdout.trim().is_empty(), "no rows\n{out}");
    }
}

#[test]
fn stoponerror_with_a_fetch_refused_by_the_server() {
    for pick in Pick::BOTH {
        let server = FaultServer::start(fault_script(pick, |s| {
            s.tagged("NO [SERVERBUG] Internal error occurred")
        }));
        let mut expect = Expect::new();
        let out = fault_cli(&server, pick, "false");
        expect.rows_go_on(&out, pick, &[1, 2, 3], "Internal error");
        let out = fault_cli(&server, pick, "true");
        expect.that(out.code == Some(5), || {
            format!("{pick:?}: a NO is the server refusing: exit 5\n{out}")
        });
        expect.stops(&out, pick, 2, "Internal error");
        expect.check(&server);
    }
}

#[test]
fn stoponerror_with_a_partial_fetch_and_a_no() {
    // What Dovecot does when one message cannot be read: the others come, then NO.
    for pick in Pick::BOTH {
        let server = FaultServer::start(fault_script(pick, |s| {
            s.send(header_fetch(1, 1, true))
                .send(header_fetch(3, 3, true))
                .tagged("NO [SERVERBUG] Some messages could not be FETCHed")
        }));
        let mut expect = Expect::new();
        let text = "Some messages could not be FETCHed";
        expect.rows_go_on(&fault_cli(&server, pick, "false"), pick, &[2], text);
        expect.stops(&fault_cli(&server, pick, "true"), pick, 2, text);
        expect.check(&server);
    }
}
