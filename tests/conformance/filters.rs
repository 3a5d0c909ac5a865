//! Conformance of `<cfimapfilter>` (`--filter`, `--exclude`, `--newest`) for getHeaderOnly and
//! getAll.
//!
//! The oracle is local: every filter must keep exactly the messages a filter over the rows of
//! the whole folder keeps (`getAll` without filters, checked column by column). The corpus has
//! a message on each side of every date boundary, non-ASCII subjects and names, every flag, two
//! keywords and one large message. It runs on both private namespaces — the Default flavor
//! announces ESEARCH (answers as sets), the Courier flavor does not (`* SEARCH` lists) — or on
//! the external server. What was sent is checked in Dovecot's rawlog: one `UID SEARCH`.

mod common;

use std::time::Duration;

use cfimap_tests::account::Account;
use cfimap_tests::cli::{CliOutput, cfimap};
use cfimap_tests::dovecot::{Dovecot, Flavor};
use cfimap_tests::fault::{FaultServer, Script, header_fetch};
use cfimap_tests::imap::{self, Part};
use common::{Row, label};
use serde_json::Value;

/// One message of the corpus.
struct Spec {
    subject: &'static str,
    from: &'static str,
    to: &'static str,
    cc: Option<&'static str>,
    /// Day of the Date header (noon UTC).
    sent: &'static str,
    /// Day of the INTERNALDATE (noon UTC).
    received: &'static str,
    flags: &'static [&'static str],
    list_id: Option<&'static str>,
    body: &'static str,
}

/// The corpus: dates straddle 2024-03-10..2024-03-12; sent and received differ for some.
const CORPUS: [Spec; 9] = [
    Spec {
        subject: "Quarterly report",
        from: "Alice Example <alice@example.com>",
        to: "team@example.com",
        cc: Some("boss@example.com"),
        sent: "2024-03-09",
        received: "2024-03-09",
        flags: &["\\Seen"],
        list_id: None,
        body: "The numbers are inside.",
    },
    Spec {
        subject: "Re: Quarterly report",
        from: "bob@example.org",
        to: "alice@example.com",
        cc: None,
        sent: "2024-03-10",
        received: "2024-03-10",
        flags: &["\\Answered", "\\Seen"],
        list_id: None,
        body: "Thanks.",
    },
    Spec {
        // Grüße aus Köln
        subject: "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=",
        // Jürgen
        from: "=?UTF-8?Q?J=C3=BCrgen?= <juergen@example.de>",
        to: "team@example.com",
        cc: None,
        sent: "2024-03-11",
        received: "2024-03-11",
        flags: &[],
        list_id: None,
        body: "Bis bald.",
    },
    Spec {
        subject: "Invoice 42",
        from: "billing@example.net",
        to: "alice@example.com",
        cc: Some("carol@example.com"),
        sent: "2024-03-12",
        received: "2024-03-12",
        flags: &["\\Flagged"],
        list_id: Some("<billing.example.net>"),
        body: "Please pay.",
    },
    Spec {
        subject: "Draft idea",
        from: "alice@example.com",
        to: "bob@example.org",
        cc: None,
        sent: "2024-03-13",
        received: "2024-03-13",
        flags: &["\\Draft"],
        list_id: None,
        body: "Half a thought.",
    },
    Spec {
        subject: "Old news",
        from: "dave@example.com",
        to: "team@example.com",
        cc: None,
        sent: "2024-03-08",
        received: "2024-03-14",
        flags: &["\\Deleted", "\\Seen"],
        list_id: None,
        body: "Yesterday's.",
    },
    Spec {
        subject: "Newsletter",
        from: "news@lists.example.org",
        to: "alice@example.com",
        cc: None,
        sent: "2024-03-10",
        received: "2024-03-12",
        flags: &["$Work"],
        list_id: Some("<news.lists.example.org>"),
        body: "LONG",
    },
    Spec {
        subject: "quarterly numbers",
        from: "carol@example.com",
        to: "team@example.com",
        cc: None,
        sent: "2024-03-11",
        received: "2024-03-10",
        flags: &["\\Seen", "$Work"],
        list_id: None,
        body: "See attached sheet.",
    },
    Spec {
        subject: "Hello",
        from: "eve@example.com",
        // Müller
        to: "=?UTF-8?Q?M=C3=BCller?= <mueller@example.de>",
        cc: None,
        sent: "2024-03-12",
        received: "2024-03-11",
        flags: &[],
        list_id: None,
        body: "Hi there.",
    },
];

fn imap_day(day: &str) -> String {
    let (y, rest) = day.split_at(4);
    let m: usize = rest[1..3].parse().unwrap();
    let d: u32 = rest[4..6].parse().unwrap();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{d:02}-{}-{y}", months[m - 1])
}

fn raw(spec: &Spec, n: usize) -> Vec<u8> {
    let (y, m, d) = (&spec.sent[0..4], &spec.sent[5..7], &spec.sent[8..10]);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months[m.parse::<usize>().unwrap() - 1];
    let mut head = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {} {month} {y} 12:00:00 +0000\r\n\
         Message-ID: <filter-{n}@cfimap.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n",
        spec.from,
        spec.to,
        spec.subject,
        d.trim_start_matches('0'),
    );
    if let Some(cc) = spec.cc {
        head.push_str(&format!("Cc: {cc}\r\n"));
    }
    if let Some(id) = spec.list_id {
        head.push_str(&format!("List-Id: {id}\r\n"));
    }
    let body = if spec.body == "LONG" {
        "All the news that fits.\r\n".repeat(200)
    } else {
        format!("{}\r\n", spec.body)
    };
    format!("{head}\r\n{body}").into_bytes()
}

/// A folder holding the corpus on `account`; returns its `/` path and the UIDs in corpus order.
fn seed(account: &Account) -> (String, Vec<u32>) {
    let mut client = account.connect().expect("raw client connects");
    account
        .seed_folder(&mut client, "Filters")
        .unwrap_or_else(|e| panic!("{} create Filters: {e}", label(account)));
    let wire = imap::quote(&account.wire_name("Filters")).expect("an ASCII wire name");
    let uids = CORPUS
        .iter()
        .enumerate()
        .map(|(n, spec)| {
            let head = format!(
                "APPEND {wire} ({}) \"{} 12:00:00 +0000\" ",
                spec.flags.join(" "),
                imap_day(spec.received)
            );
            let done = client
                .command_parts(&[Part::Text(&head), Part::Literal(&raw(spec, n))])
                .unwrap_or_else(|e| panic!("{} APPEND {n}: {e}", label(account)));
            done.code("APPENDUID")
                .and_then(|v| v.split_whitespace().nth(1).and_then(|u| u.parse().ok()))
                .unwrap_or_else(|| panic!("{} APPEND {n}: no APPENDUID", label(account)))
        })
        .collect();
    client.logout().expect("logout");
    (account.path("Filters"), uids)
}

fn run(account: &Account, folder: &str, action: &str, extra: &[&str]) -> CliOutput {
    cfimap([action])
        .args(account.cli_args(account.best_secure()))
        .args(["--folder", folder, "--format", "json"])
        .args(extra)
        .timeout(Duration::from_secs(120))
        .run()
}

fn rows(account: &Account, folder: &str, action: &str, extra: &[&str]) -> Vec<Row> {
    let out = run(account, folder, action, extra);
    assert_eq!(out.code, Some(0), "{} {extra:?}\n{out}", label(account));
    out.rows()
}

fn uid(row: &Row) -> u32 {
    row["UID"].as_u64().expect("UID") as u32
}

fn uids(rows: &[Row]) -> Vec<u32> {
    rows.iter().map(uid).collect()
}

fn text(row: &Row, column: &str) -> String {
    row.get(column)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase()
}

fn flag(row: &Row, column: &str) -> bool {
    row[column].as_bool().expect("a boolean column")
}

/// The day part of an RFC 3339 column.
fn day(row: &Row, column: &str) -> String {
    text(row, column).chars().take(10).collect()
}

fn within(d: &str, from: &str, to: &str) -> bool {
    (from.is_empty() || d >= from) && (to.is_empty() || d <= to)
}

type Local = Box<dyn Fn(&Row) -> bool>;

fn contains(column: &'static str, needle: &'static str) -> Local {
    Box::new(move |r| text(r, column).contains(&needle.to_lowercase()))
}

fn has(column: &'static str, want: bool) -> Local {
    Box::new(move |r| flag(r, column) == want)
}

fn days(column: &'static str, from: &'static str, to: &'static str) -> Local {
    Box::new(move |r| within(&day(r, column), from, to))
}

/// Every `--filter` the tag and the extensions have, with the local filter it must agree with.
fn cases() -> Vec<(&'static str, Local)> {
    vec![
        ("subject=quarterly", contains("SUBJECT", "quarterly")),
        ("Subject=Grüße", contains("SUBJECT", "grüße")),
        ("SUBJECT=KÖLN", contains("SUBJECT", "köln")),
        ("from=alice", contains("FROM", "alice")),
        ("from=Jürgen", contains("FROM", "jürgen")),
        ("to=team@example.com", contains("TO", "team@example.com")),
        ("to=Müller", contains("TO", "müller")),
        ("cc=boss", contains("CC", "boss")),
        ("flag=seen", has("SEEN", true)),
        ("flag=UNSEEN", has("SEEN", false)),
        ("flag=answered", has("ANSWERED", true)),
        ("flag=unanswered", has("ANSWERED", false)),
        ("flag=flagged", has("FLAGGED", true)),
        ("flag=unflagged", has("FLAGGED", false)),
        ("flag=deleted", has("DELETED", true)),
        ("flag=undeleted", has("DELETED", false)),
        ("flag=draft", has("DRAFT", true)),
        ("flag=undraft", has("DRAFT", false)),
        (
            "timeReceived=2024-03-10..2024-03-12",
            days("RXDDATE", "2024-03-10", "2024-03-12"),
        ),
        (
            "timereceived=2024-03-12..",
            days("RXDDATE", "2024-03-12", ""),
        ),
        (
            "timereceived=..2024-03-10",
            days("RXDDATE", "", "2024-03-10"),
        ),
        (
            "timereceived=2024-03-11",
            days("RXDDATE", "2024-03-11", "2024-03-11"),
        ),
        (
            "timeSent=2024-03-10..2024-03-12",
            days("DATE", "2024-03-10", "2024-03-12"),
        ),
        ("timesent=..2024-03-09", days("DATE", "", "2024-03-09")),
        ("timesent=2024-03-13..", days("DATE", "2024-03-13", "")),
        ("body=numbers", contains("TEXTBODY", "numbers")),
        (
            "text=numbers",
            Box::new(|r: &Row| {
                text(r, "TEXTBODY").contains("numbers") || text(r, "HEADER").contains("numbers")
            }),
        ),
        (
            "header=List-Id:billing",
            Box::new(|r: &Row| {
                text(r, "HEADER")
                    .lines()
                    .any(|l| l.starts_with("list-id:") && l.contains("billing"))
            }),
        ),
        (
            "keyword=$Work",
            Box::new(|r: &Row| {
                r["USER"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|v| v.as_str() == Some("$Work")))
            }),
        ),
        (
            "larger=3000",
            Box::new(|r: &Row| r["SIZE"].as_u64().unwrap() > 3000),
        ),
        (
            "smaller=3000",
            Box::new(|r: &Row| r["SIZE"].as_u64().unwrap() < 3000),
        ),
        (
            "subject=no such subject anywhere",
            Box::new(|_: &Row| false),
        ),
    ]
}

/// The UIDs of `all` that `keep` keeps, ascending.
fn kept(all: &[Row], keep: &dyn Fn(&Row) -> bool) -> Vec<u32> {
    let mut kept: Vec<u32> = all.iter().filter(|r| keep(r)).map(uid).collect();
    kept.sort_unstable();
    kept
}

#[test]
fn every_filter_keeps_what_a_local_filter_over_the_whole_folder_keeps() {
    for account in common::accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        let (folder, seeded) = seed(&account);
        let all = rows(&account, &folder, "getAll", &[]);
        assert_eq!(uids(&all), seeded, "{l} the whole folder");
        let mut nonempty = 0;
        for (spec, keep) in cases() {
            let want = kept(&all, keep.as_ref());
            nonempty += usize::from(!want.is_empty());
            for action in ["getHeaderOnly", "getAll"] {
                let got = uids(&rows(&account, &folder, action, &["--filter", spec]));
                assert_eq!(got, want, "{l} {action} --filter {spec}");
            }
            // --exclude keeps the rest.
            let rest: Vec<u32> = seeded
                .iter()
                .copied()
                .filter(|u| !want.contains(u))
                .collect();
            let got = uids(&rows(
                &account,
                &folder,
                "getHeaderOnly",
                &["--exclude", spec],
            ));
            assert_eq!(got, rest, "{l} --exclude {spec}");
        }
        assert!(nonempty >= 25, "{l} the corpus exercises the filters");

        // The UID filter, by the seeded UIDs.
        let range = format!("uid={}:{},{}", seeded[1], seeded[3], seeded[7]);
        let want = vec![seeded[1], seeded[2], seeded[3], seeded[7]];
        let got = uids(&rows(
            &account,
            &folder,
            "getHeaderOnly",
            &["--filter", &range],
        ));
        assert_eq!(got, want, "{l} --filter {range}");

        // Filters combine with AND.
        let combined = [
            "--filter",
            "to=team@example.com",
            "--filter",
            "flag=seen",
            "--exclude",
            "subject=old",
        ];
        let want = kept(&all, &|r: &Row| {
            text(r, "TO").contains("team@example.com")
                && flag(r, "SEEN")
                && !text(r, "SUBJECT").contains("old")
        });
        assert_eq!(
            uids(&rows(&account, &folder, "getHeaderOnly", &combined)),
            want,
            "{l} {combined:?}"
        );
        assert!(!want.is_empty(), "{l} the combination keeps something");
    }
}

#[test]
fn the_selection_applies_to_the_matching_messages() {
    for account in common::accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        let (folder, seeded) = seed(&account);
        let all = rows(&account, &folder, "getHeaderOnly", &[]);
        let unseen = kept(&all, &|r: &Row| !flag(r, "SEEN"));
        assert!(unseen.len() >= 4, "{l} precondition: {unseen:?}");
        let f = ["--filter", "flag=unseen"];

        // A window counts the matching messages, oldest first or newest first.
        let window = uids(&rows(
            &account,
            &folder,
            "getHeaderOnly",
            &[&f[..], &["--startrow", "2", "--maxrows", "2"]].concat(),
        ));
        assert_eq!(window, unseen[1..3], "{l} window over the unseen");
        let newest = uids(&rows(
            &account,
            &folder,
            "getHeaderOnly",
            &[&f[..], &["--newest", "--maxrows", "3"]].concat(),
        ));
        let mut want: Vec<u32> = unseen[unseen.len() - 3..].to_vec();
        want.reverse();
        assert_eq!(newest, want, "{l} the 3 newest unseen, newest first");
        // Past the matches (not past the folder) is empty, from either end.
        let past = (unseen.len() + 1).to_string();
        for newest in [&[][..], &["--newest"][..]] {
            let got = uids(&rows(
                &account,
                &folder,
                "getAll",
                &[&f[..], &["--startrow", &past], newest].concat(),
            ));
            assert!(
                got.is_empty(),
                "{l} {newest:?} a window past the matches: {got:?}"
            );
        }
        // Newest first, a window further in: the 2nd and 3rd newest unseen.
        let got = uids(&rows(
            &account,
            &folder,
            "getAll",
            &[&f[..], &["--newest", "--startrow", "2", "--maxrows", "2"]].concat(),
        ));
        let n = unseen.len();
        assert_eq!(
            got,
            [unseen[n - 2], unseen[n - 3]],
            "{l} --newest --startrow 2"
        );

        // uid and messagenumber keep those that match.
        let asked = format!("{},{},{},{}", seeded[0], seeded[2], seeded[4], seeded[8]);
        let got = uids(&rows(
            &account,
            &folder,
            "getHeaderOnly",
            &[&f[..], &["--uid", &asked]].concat(),
        ));
        let want: Vec<u32> = [seeded[0], seeded[2], seeded[4], seeded[8]]
            .into_iter()
            .filter(|u| unseen.contains(u))
            .collect();
        assert_eq!(got, want, "{l} --uid {asked} ∩ unseen");
        let got = uids(&rows(
            &account,
            &folder,
            "getHeaderOnly",
            &[&f[..], &["--messagenumber", "1,2,3,4,5"]].concat(),
        ));
        let want: Vec<u32> = seeded[..5]
            .iter()
            .copied()
            .filter(|u| unseen.contains(u))
            .collect();
        assert_eq!(got, want, "{l} --messagenumber 1-5 ∩ unseen");

        // --newest without filters: the newest messages, newest first, in both reads.
        for action in ["getHeaderOnly", "getAll"] {
            let got = uids(&rows(
                &account,
                &folder,
                action,
                &["--newest", "--startrow", "2", "--maxrows", "3"],
            ));
            let n = seeded.len();
            assert_eq!(
                got,
                [seeded[n - 2], seeded[n - 3], seeded[n - 4]],
                "{l} {action} --newest --startrow 2 --maxrows 3"
            );
            let every = uids(&rows(&account, &folder, action, &["--newest"]));
            let mut reversed = seeded.clone();
            reversed.reverse();
            assert_eq!(every, reversed, "{l} {action} --newest: all, newest first");
        }
    }
}

// ---- on the wire -----------------------------------------------------------------------------

/// What the CLI sent in its session for `extra`, from the server's rawlog.
fn sent(dovecot: &Dovecot, account: &Account, folder: &str, extra: &[&str]) -> String {
    let before = dovecot.rawlog_files(&account.username);
    run(account, folder, "getHeaderOnly", extra).assert_success();
    dovecot
        .rawlog_since(&account.username, &before)
        .unwrap_or_else(|text| panic!("no rawlog of the session: {text:?}"))
}

/// The lines of `session` that are SEARCH commands.
fn searches(session: &str) -> Vec<String> {
    session
        .lines()
        .filter(|l| l.to_ascii_uppercase().contains(" SEARCH "))
        .map(str::to_owned)
        .collect()
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn filters_are_one_uid_search_with_esearch_when_offered() {
    for flavor in [Flavor::Default, Flavor::Courier] {
        let dovecot = Dovecot::shared(flavor);
        let account = dovecot.user();
        let (folder, _) = seed(&account);
        let session = sent(
            dovecot,
            &account,
            &folder,
            &[
                "--filter",
                "subject=Grüße",
                "--filter",
                "timeReceived=2024-03-10..2024-03-12",
                "--exclude",
                "flag=seen",
                "--maxrows",
                "5",
            ],
        );
        let found = searches(&session);
        assert_eq!(found.len(), 1, "{flavor:?} one UID SEARCH: {session}");
        let search = &found[0];
        let esearch = flavor == Flavor::Default;
        let head = if esearch {
            "UID SEARCH RETURN (ALL) CHARSET UTF-8 SUBJECT {7"
        } else {
            "UID SEARCH CHARSET UTF-8 SUBJECT {7"
        };
        assert!(search.contains(head), "{flavor:?}: {search}");
        // The literal's bytes follow the announcing line; then the rest of the keys.
        assert!(
            session.contains("Grüße SINCE \"10-Mar-2024\" BEFORE \"13-Mar-2024\" NOT SEEN"),
            "{flavor:?}: {session}"
        );
    }
}

// ---- what servers refuse, and bad filters ----------------------------------------------------

/// A session on the fault server up to the read's search: login, EXAMINE of three messages.
fn examined(caps: &str) -> Script {
    Script::session(caps)
        .expect_command("EXAMINE")
        .line("* 3 EXISTS")
        .line("* OK [UIDVALIDITY 7] ok")
        .tagged("OK [READ-ONLY] EXAMINE done")
}

/// `cfimap getHeaderOnly --filter <filter>` against the fault server.
fn fault_cli(server: &FaultServer, filter: &str) -> CliOutput {
    cfimap(["getHeaderOnly", "--format", "json"])
        .args(server.cli_args())
        .args(["--filter", filter])
        .timeout(Duration::from_secs(30))
        .run()
}

#[test]
fn a_server_without_the_charset_is_a_badcharset_refusal() {
    let server = FaultServer::start(
        examined("IMAP4rev1")
            .expect(r"(?s)^\S+ UID SEARCH CHARSET UTF-8 SUBJECT \{7\}\r\nGrüße$")
            .tagged("NO [BADCHARSET (US-ASCII)] unknown charset")
            .logout(),
    );
    let out = fault_cli(&server, "subject=Grüße");
    assert_eq!(out.code, Some(5), "a refusal is exit 5\n{out}");
    assert!(
        out.stderr.contains("BADCHARSET") && out.stderr.contains("SEARCH"),
        "the error names the code and the command\n{out}"
    );
    assert!(server.failures().is_empty(), "{:?}", server.failures());
}

#[test]
fn an_esearch_answer_is_read_as_its_set() {
    let server = FaultServer::start(
        examined("IMAP4rev1 ESEARCH")
            .expect(r#"^\S+ UID SEARCH RETURN \(ALL\) FROM "bob"$"#)
            .line("* ESEARCH (TAG \"whatever\") UID ALL 2:3")
            .tagged("OK SEARCH done")
            .expect(r"^\S+ UID FETCH 2:3 ")
            .send(header_fetch(2, 2, true))
            .send(header_fetch(3, 3, true))
            .tagged("OK FETCH done")
            .logout(),
    );
    let out = fault_cli(&server, "from=bob");
    assert_eq!(out.code, Some(0), "{out}\n{:?}", server.transcripts());
    assert_eq!(uids(&out.rows()), [2, 3]);
    assert!(server.failures().is_empty(), "{:?}", server.failures());
}

#[test]
fn bad_filters_exit_2_naming_the_filter_before_anything_is_sent() {
    // A server that lets the client log in and expects it to log out: the component checks
    // its filters before it opens the folder, so anything else is a script failure.
    let server = FaultServer::start(Script::session("IMAP4rev1").logout());
    for (filter, says) in [
        ("colour=red", "unknown filter"),
        ("flag=read", "unseen"),
        ("timesent=2024-02-30", "2024-02-30 is not a date"),
        ("timereceived=2024-03-02..2024-03-01", "after the last day"),
        ("keyword=two words", "keyword"),
        ("header=Bad Name:x", "header"),
        ("uid=5:3", "5:3"),
    ] {
        let out = fault_cli(&server, filter);
        assert_eq!(out.code, Some(2), "--filter {filter}\n{out}");
        assert!(
            out.stderr.contains(says),
            "--filter {filter} says {says:?}\n{out}"
        );
    }
    let out = cfimap(["delete", "--all", "--filter", "flag=seen"])
        .args([
            "--server",
            "127.0.0.1",
            "--username",
            "u",
            "--password",
            "p",
        ])
        .run();
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains(
            "--filter does not apply to delete; it is an attribute of getHeaderOnly, getAll"
        ),
        "{out}"
    );
    let received = server.received_text();
    assert!(
        !received.contains("EXAMINE") && !received.contains("SEARCH"),
        "{received}"
    );
    assert!(server.failures().is_empty(), "{:?}", server.failures());
}
