//! Conformance of the actions that change mail — markRead, delete and moveMail: nothing may be
//! lost that was not asked for (`src/actions/changes.rs` says how).
//!
//! Every test takes its own user of a shared private Dovecot (so tests run in parallel), seeds
//! mail with the raw client, runs the `cfimap` CLI, then checks the server's state message by
//! message with the raw client — by Message-ID and by UID — instead of trusting the product's
//! report. The report (`--format json`) is checked against what really changed.
//!
//! Scripted fault servers cover what Dovecot will not do on demand: a chunk the server refuses
//! (stoponerror), a server without UIDPLUS, capabilities announced only after login, a COPY that
//! fails or is only partly confirmed.

#[path = "common/bulk.rs"]
mod bulk;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bulk::Held;
use cfimap_tests::account::{Account, Secure};
use cfimap_tests::cli::{CliOutput, cfimap};
use cfimap_tests::dovecot::{Dovecot, Flavor};
use cfimap_tests::fault::{FaultServer, Script};
use cfimap_tests::imap::Client;
use cfimap_tests::mail::Message;
use cfimap_tests::{target, unique};

// ---- helpers ---------------------------------------------------------------------------------

/// A fresh user of the shared private Dovecot of `flavor`: these tests seed thousands of
/// messages and read Dovecot's rawlog, so they need the private server (and are ignored when
/// the suite is built for an external one).
fn user(flavor: Flavor) -> Account {
    target::private_account(flavor)
}

/// `cfimap <action> <connection> --format json <extra>`.
fn cli(account: &Account, action: &str, extra: &[&str]) -> CliOutput {
    cfimap([action])
        .args(account.cli_args(Secure::Plain))
        .args(["--format", "json"])
        .args(extra)
        .run()
}

/// A message this test put on the server.
#[derive(Debug, Clone)]
struct Seeded {
    uid: u32,
    message_id: String,
    subject: String,
    size: usize,
}

/// Appends one message per `(subject, flags)` to `wire`, each with a unique Message-ID.
fn seed(client: &mut Client, wire: &str, specs: &[(&str, &[&str])]) -> Vec<Seeded> {
    specs
        .iter()
        .map(|(subject, flags)| {
            let message = Message::new(subject, &format!("Body of {subject}.\n"));
            let bytes = message.to_bytes();
            let uid = client
                .append(wire, flags, &bytes)
                .unwrap_or_else(|e| panic!("append to {wire}: {e}"))
                .expect("Dovecot answers APPEND with APPENDUID");
            Seeded {
                uid,
                message_id: message.message_id,
                subject: subject.to_string(),
                size: bytes.len(),
            }
        })
        .collect()
}

/// `n` plain unread messages.
fn seed_n(client: &mut Client, wire: &str, n: usize) -> Vec<Seeded> {
    let subjects: Vec<String> = (1..=n).map(|i| format!("message {i}")).collect();
    let specs: Vec<(&str, &[&str])> = subjects.iter().map(|s| (s.as_str(), &[][..])).collect();
    seed(client, wire, &specs)
}

/// `n` small messages in few round trips (MULTIAPPEND); every 7th one `\Flagged`.
fn seed_bulk(client: &mut Client, wire: &str, n: usize) -> Vec<Seeded> {
    let run = unique::token(8);
    let messages: Vec<Message> = (1..=n)
        .map(|i| {
            let mut m = Message::new(&format!("bulk {i}"), &format!("Message {i} of {n}.\n"));
            m.message_id = format!("bulk-{i}-{run}@cfimap.test");
            m
        })
        .collect();
    let payload: Vec<(Vec<&str>, Vec<u8>)> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let flags = if i % 7 == 6 {
                vec!["\\Flagged"]
            } else {
                vec![]
            };
            (flags, m.to_bytes())
        })
        .collect();
    let started = Instant::now();
    let uids = bulk::append_many(client, wire, &payload)
        .unwrap_or_else(|e| panic!("seeding {n} messages into {wire}: {e}"));
    eprintln!("seeded {n} messages in {:?}", started.elapsed());
    messages
        .into_iter()
        .zip(payload)
        .zip(uids)
        .map(|((m, (_, bytes)), uid)| Seeded {
            uid,
            message_id: m.message_id,
            subject: m.subject,
            size: bytes.len(),
        })
        .collect()
}

/// What the server holds in the folder `rel` now (a fresh raw connection, EXAMINE).
fn state(account: &Account, rel: &str) -> Vec<Held> {
    let mut client = account
        .connect_with(Secure::Plain)
        .expect("raw client login");
    let held = bulk::held(&mut client, &account.wire_name(rel))
        .unwrap_or_else(|e| panic!("reading {rel}: {e}"));
    let _ = client.logout();
    held
}

/// Asserts that `held` is exactly `expected`: the same messages (Message-ID) under the same
/// UIDs, in UID order, each once — message by message, naming any difference.
fn assert_exactly(where_: &str, held: &[Held], expected: &[&Seeded]) {
    let got: BTreeMap<u32, &str> = held
        .iter()
        .map(|h| (h.uid, h.message_id.as_str()))
        .collect();
    assert_eq!(
        got.len(),
        held.len(),
        "{where_}: a UID appears twice: {held:?}"
    );
    let want: BTreeMap<u32, &str> = expected
        .iter()
        .map(|s| (s.uid, s.message_id.as_str()))
        .collect();
    if got != want {
        let missing: Vec<String> = expected
            .iter()
            .filter(|s| got.get(&s.uid) != Some(&s.message_id.as_str()))
            .map(|s| format!("UID {} {:?}", s.uid, s.subject))
            .collect();
        let extra: Vec<String> = held
            .iter()
            .filter(|h| want.get(&h.uid) != Some(&h.message_id.as_str()))
            .map(|h| format!("UID {} <{}>", h.uid, h.message_id))
            .collect();
        panic!(
            "{where_}: {} message(s) expected, {} held\n  missing: {missing:?}\n  unexpected: {extra:?}",
            want.len(),
            got.len()
        );
    }
}

/// Asserts that `held` (a destination) holds exactly the messages `expected` by Message-ID, each
/// once (the UIDs there are new).
fn assert_same_messages(where_: &str, held: &[Held], expected: &[&Seeded]) {
    let mut got: Vec<&str> = held.iter().map(|h| h.message_id.as_str()).collect();
    got.sort_unstable();
    let mut want: Vec<&str> = expected.iter().map(|s| s.message_id.as_str()).collect();
    want.sort_unstable();
    if got != want {
        let got_set: BTreeSet<&str> = got.iter().copied().collect();
        let want_set: BTreeSet<&str> = want.iter().copied().collect();
        let missing: Vec<&&str> = want_set.difference(&got_set).take(20).collect();
        let extra: Vec<&&str> = got_set.difference(&want_set).take(20).collect();
        panic!(
            "{where_}: {} message(s) expected, {} held (duplicates: {})\n  missing: {missing:?}\n  unexpected: {extra:?}",
            want.len(),
            got.len(),
            got.len() - got_set.len()
        );
    }
}

fn find<'a>(held: &'a [Held], seeded: &Seeded) -> &'a Held {
    held.iter()
        .find(|h| h.message_id == seeded.message_id)
        .unwrap_or_else(|| panic!("{:?} is missing: {held:?}", seeded.subject))
}

fn uids_of(seeded: &[&Seeded]) -> Vec<u32> {
    let mut uids: Vec<u32> = seeded.iter().map(|s| s.uid).collect();
    uids.sort_unstable();
    uids
}

fn join(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The object `--format json` prints for delete, markRead and moveMail.
#[derive(Debug)]
struct Report {
    action: String,
    folder: String,
    newfolder: Option<String>,
    affected: u64,
    uids: Vec<u32>,
    failures: Vec<String>,
}

fn report(out: &CliOutput) -> Report {
    let v = out.json();
    let text = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(String::from)
            .unwrap_or_else(|| panic!("no string {k:?} in the report\n{out}"))
    };
    let list = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_array())
            .cloned()
            .unwrap_or_else(|| panic!("no list {k:?} in the report\n{out}"))
    };
    Report {
        action: text("action"),
        folder: text("folder"),
        newfolder: v
            .get("newfolder")
            .and_then(|x| x.as_str())
            .map(String::from),
        affected: v
            .get("affected")
            .and_then(|x| x.as_u64())
            .unwrap_or_else(|| panic!("no number \"affected\" in the report\n{out}")),
        uids: list("uids")
            .iter()
            .map(|u| {
                u.as_u64()
                    .and_then(|u| u32::try_from(u).ok())
                    .unwrap_or_else(|| panic!("UID {u} is not a number\n{out}"))
            })
            .collect(),
        failures: list("failures")
            .iter()
            .map(|f| {
                f.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| f.to_string())
            })
            .collect(),
    }
}

/// Asserts a successful run whose report says `action` changed exactly `uids` in `folder`.
fn assert_report(out: &CliOutput, action: &str, folder: &str, uids: &[u32]) -> Report {
    out.assert_success();
    let r = report(out);
    assert_eq!(r.action, action, "{out}");
    assert_eq!(r.folder, folder, "{out}");
    let mut sorted = r.uids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, uids, "the reported UIDs are those changed\n{out}");
    assert_eq!(
        r.affected,
        uids.len() as u64,
        "affected counts the changed messages\n{out}"
    );
    assert!(r.failures.is_empty(), "{out}");
    r
}

/// A small deterministic PRNG (xorshift64), for scattered selections that reruns reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// The commands the product sent (per a rawlog) whose verb is `verb`, e.g. `"UID MOVE"`,
/// without timestamp and tag. Rawlog lines are `<timestamp> <tag> <command>`; the raw client's
/// own commands (tags `h1`, `h2`, …) are left out.
fn sent_commands(log: &str, verb: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let mut words = l.splitn(3, ' ');
            let (_, tag, command) = (words.next()?, words.next()?, words.next()?);
            let head = command.get(..verb.len())?;
            let matches = !tag.starts_with('h')
                && head.eq_ignore_ascii_case(verb)
                && command[verb.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c == ' ');
            matches.then(|| command.to_string())
        })
        .collect()
}

/// Asserts the product changed `count` messages in a few commands of `verb` — one per chunk of
/// a compressed UID set, at least two here, each line within the 8 KB budget — never one per
/// message.
fn assert_chunked(flavor: Flavor, username: &str, verb: &str, count: usize) {
    let log = rawlog_with(Dovecot::shared(flavor), username, verb);
    let commands = sent_commands(&log, verb);
    let longest = commands.iter().map(String::len).max().unwrap_or(0);
    eprintln!(
        "{count} messages: {} x {verb}, longest {longest} bytes",
        commands.len()
    );
    assert!(
        (2..=8).contains(&commands.len()),
        "{count} scattered messages in {} {verb} command(s)",
        commands.len()
    );
    // A line is the tag, a space, the command and CRLF.
    assert!(longest + 16 <= 8192, "a {verb} line of {longest} bytes");
}

/// Waits until Dovecot's rawlog of `username` (what its clients sent after login) contains
/// `needle` and has stopped growing, for up to 5 s; returns the rawlog either way.
fn rawlog_with(dovecot: &Dovecot, username: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = String::new();
    loop {
        let log = dovecot.rawlog_in(username);
        if (log.contains(needle) && log == last) || Instant::now() > deadline {
            return log;
        }
        last = log;
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- markRead --------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn mark_read_sets_seen_on_the_selection_only_and_keeps_other_flags() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed(
        &mut client,
        "INBOX",
        &[
            ("plain unread", &[]),
            ("flagged", &["\\Flagged"]),
            (
                "answered with keywords",
                &["\\Answered", "$Label1", "project-x"],
            ),
            ("draft", &["\\Draft"]),
            ("not selected", &["\\Flagged"]),
        ],
    );
    client.logout().unwrap();

    let out = cli(
        &account,
        "markRead",
        &["--uid", &join(&[m[1].uid, m[2].uid, m[3].uid])],
    );
    assert_report(&out, "markRead", "INBOX", &[m[1].uid, m[2].uid, m[3].uid]);

    let held = state(&account, "INBOX");
    assert_exactly("INBOX", &held, &m.iter().collect::<Vec<_>>());
    let flags = |i: usize| find(&held, &m[i]).stable_flags();
    assert_eq!(flags(0), Vec::<String>::new(), "not selected: still unread");
    assert_eq!(flags(1), ["\\Flagged", "\\Seen"]);
    assert_eq!(flags(2), ["$Label1", "\\Answered", "\\Seen", "project-x"]);
    assert_eq!(flags(3), ["\\Draft", "\\Seen"]);
    assert_eq!(flags(4), ["\\Flagged"], "not selected: still unread");
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn mark_read_of_a_window_leaves_the_rest_unread() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 5);
    client.logout().unwrap();

    let out = cli(&account, "markRead", &["--startrow", "2", "--maxrows", "2"]);
    assert_report(&out, "markRead", "INBOX", &[m[1].uid, m[2].uid]);

    let held = state(&account, "INBOX");
    assert_exactly("INBOX", &held, &m.iter().collect::<Vec<_>>());
    for (i, s) in m.iter().enumerate() {
        let seen = find(&held, s).has("\\Seen");
        assert_eq!(
            seen,
            i == 1 || i == 2,
            "message {} (row {})",
            s.subject,
            i + 1
        );
    }

    // A window that starts past the end selects nothing.
    let out = cli(&account, "markRead", &["--startrow", "9", "--maxrows", "2"]);
    assert_report(&out, "markRead", "INBOX", &[]);
    let held = state(&account, "INBOX");
    assert_eq!(held.iter().filter(|h| h.has("\\Seen")).count(), 2);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn mark_read_without_a_selection_marks_the_whole_folder_and_only_it() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let inbox = seed(
        &mut client,
        "INBOX",
        &[("a", &[]), ("b", &["\\Flagged"]), ("c", &["\\Seen"])],
    );
    account.seed_folder(&mut client, "Work").unwrap();
    let work = seed(
        &mut client,
        &account.wire_name("Work"),
        &[("w1", &[]), ("w2", &[])],
    );
    client.logout().unwrap();

    // No folder, no selection: the whole INBOX (the tag's documented meaning).
    let out = cli(&account, "markRead", &[]);
    assert_report(
        &out,
        "markRead",
        "INBOX",
        &uids_of(&inbox.iter().collect::<Vec<_>>()),
    );
    let held = state(&account, "INBOX");
    assert_exactly("INBOX", &held, &inbox.iter().collect::<Vec<_>>());
    assert!(held.iter().all(|h| h.has("\\Seen")), "{held:?}");
    assert!(find(&held, &inbox[1]).has("\\Flagged"), "{held:?}");
    let held = state(&account, "Work");
    assert!(
        held.iter().all(|h| !h.has("\\Seen")),
        "another folder is untouched: {held:?}"
    );

    // The whole of another folder.
    let out = cli(&account, "markRead", &["--folder", "Work"]);
    assert_report(
        &out,
        "markRead",
        "Work",
        &uids_of(&work.iter().collect::<Vec<_>>()),
    );
    assert!(state(&account, "Work").iter().all(|h| h.has("\\Seen")));

    // An empty folder: nothing to do, and that is no error.
    let mut client = account.connect_with(Secure::Plain).unwrap();
    account.seed_folder(&mut client, "Empty").unwrap();
    client.logout().unwrap();
    let out = cli(&account, "markRead", &["--folder", "Empty"]);
    assert_report(&out, "markRead", "Empty", &[]);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn mark_read_by_message_number_and_empty_lists() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 4);
    client.logout().unwrap();

    // An empty list selects nothing (it is not "no selection", which means the whole folder).
    let out = cli(&account, "markRead", &["--uid", ""]);
    assert_report(&out, "markRead", "INBOX", &[]);
    let out = cli(&account, "markRead", &["--messagenumber", ""]);
    assert_report(&out, "markRead", "INBOX", &[]);
    assert!(state(&account, "INBOX").iter().all(|h| !h.has("\\Seen")));

    // Out-of-range numbers are skipped.
    let out = cli(&account, "markRead", &["--messagenumber", "4,1,99"]);
    assert_report(&out, "markRead", "INBOX", &[m[0].uid, m[3].uid]);
    let held = state(&account, "INBOX");
    let seen: Vec<bool> = m.iter().map(|s| find(&held, s).has("\\Seen")).collect();
    assert_eq!(seen, [true, false, false, true]);

    // A non-numeric entry is an invalid attribute, and nothing is changed.
    let out = cli(
        &account,
        "markRead",
        &["--uid", &format!("{},abc", m[1].uid)],
    );
    out.assert_code(2);
    assert!(out.stderr.contains("uid"), "{out}");
    let held = state(&account, "INBOX");
    assert!(!find(&held, &m[1]).has("\\Seen"), "{held:?}");
}

// ---- delete ----------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_without_a_selection_is_refused_and_changes_nothing() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 3);
    client.logout().unwrap();

    for extra in [&[][..], &["--all=false"][..], &["--folder", "INBOX"][..]] {
        let out = cli(&account, "delete", extra);
        out.assert_code(2);
        assert!(out.stdout.is_empty(), "{out}");
        assert!(
            out.stderr.contains("selection") || out.stderr.contains("--all"),
            "the error says a selection is needed\n{out}"
        );
        let held = state(&account, "INBOX");
        assert_exactly("INBOX", &held, &m.iter().collect::<Vec<_>>());
        assert!(
            held.iter()
                .all(|h| h.flags.iter().all(|f| f != "\\Deleted"))
        );
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_by_uid_removes_exactly_those() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 6);
    client.logout().unwrap();

    let out = cli(&account, "delete", &["--uid", &join(&[m[4].uid, m[1].uid])]);
    assert_report(&out, "delete", "INBOX", &[m[1].uid, m[4].uid]);

    let held = state(&account, "INBOX");
    assert_exactly("INBOX", &held, &[&m[0], &m[2], &m[3], &m[5]]);
    assert!(held.iter().all(|h| !h.has("\\Deleted")), "{held:?}");
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_keeps_a_message_someone_else_flagged_deleted() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed(
        &mut client,
        "INBOX",
        &[
            ("one", &[]),
            ("foreign deleted", &["\\Deleted"]),
            ("three", &[]),
            ("four", &[]),
        ],
    );
    client.logout().unwrap();

    // By UID.
    let out = cli(&account, "delete", &["--uid", &m[0].uid.to_string()]);
    assert_report(&out, "delete", "INBOX", &[m[0].uid]);
    let held = state(&account, "INBOX");
    assert_exactly("INBOX", &held, &[&m[1], &m[2], &m[3]]);
    assert!(
        find(&held, &m[1]).has("\\Deleted"),
        "the foreign message keeps its flag"
    );

    // By a window that does not include it (rows 2..3 are now "three" and "four").
    let out = cli(&account, "delete", &["--startrow", "2", "--maxrows", "2"]);
    assert_report(&out, "delete", "INBOX", &[m[2].uid, m[3].uid]);
    let held = state(&account, "INBOX");
    assert_exactly("INBOX", &held, &[&m[1]]);
    assert!(find(&held, &m[1]).has("\\Deleted"));
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_by_message_number_means_the_numbers_when_the_action_begins() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 6); // rows 1..6 = m0..m5
    client.logout().unwrap();

    // One action over several numbers: all of them mean the messages numbered so before it
    // began (m0, m2, m3), not what the numbers point to after each removal.
    let out = cli(&account, "delete", &["--messagenumber", "1,3,4"]);
    assert_report(&out, "delete", "INBOX", &[m[0].uid, m[2].uid, m[3].uid]);
    let held = state(&account, "INBOX");
    assert_exactly("INBOX", &held, &[&m[1], &m[4], &m[5]]);

    // After that expunge the numbers are the new sequence: rows 1..3 = m1, m4, m5.
    let out = cli(&account, "delete", &["--messagenumber", "2"]);
    assert_report(&out, "delete", "INBOX", &[m[4].uid]);
    let held = state(&account, "INBOX");
    assert_exactly("INBOX", &held, &[&m[1], &m[5]]);

    // Numbers beyond the end match nothing.
    let out = cli(&account, "delete", &["--messagenumber", "3,40"]);
    assert_report(&out, "delete", "INBOX", &[]);
    assert_exactly("INBOX", &state(&account, "INBOX"), &[&m[1], &m[5]]);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_by_message_number_over_several_chunks_is_resolved_up_front() {
    let account = user(Flavor::Default);
    // 2,000 scattered numbers make a set of ~9.4 KB: more than one command under the 8 KB
    // line budget. Were later chunks resolved after earlier ones were expunged, they would hit
    // the wrong messages.
    let n = 4000;
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_bulk(&mut client, "INBOX", n);
    client.logout().unwrap();
    let numbers: Vec<u32> = (1..=n as u32).filter(|i| i % 2 == 0).collect();

    let out = cli(&account, "delete", &["--messagenumber", &join(&numbers)]);
    let deleted: Vec<&Seeded> = m.iter().skip(1).step_by(2).collect();
    assert_report(&out, "delete", "INBOX", &uids_of(&deleted));
    let kept: Vec<&Seeded> = m.iter().step_by(2).collect();
    assert_exactly("INBOX", &state(&account, "INBOX"), &kept);
    assert_chunked(
        Flavor::Default,
        &account.username,
        "UID EXPUNGE",
        deleted.len(),
    );
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_all_removes_every_message_of_that_folder_only() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    account.seed_folder(&mut client, "Old").unwrap();
    let old = seed(
        &mut client,
        &account.wire_name("Old"),
        &[("x", &[]), ("y", &["\\Deleted"]), ("z", &["\\Seen"])],
    );
    let inbox = seed_n(&mut client, "INBOX", 2);
    client.logout().unwrap();

    let out = cli(&account, "delete", &["--folder", "Old", "--all"]);
    assert_report(
        &out,
        "delete",
        "Old",
        &uids_of(&old.iter().collect::<Vec<_>>()),
    );
    assert!(state(&account, "Old").is_empty());
    assert_exactly(
        "INBOX",
        &state(&account, "INBOX"),
        &inbox.iter().collect::<Vec<_>>(),
    );

    // --all on an empty folder: nothing to do.
    let out = cli(&account, "delete", &["--folder", "Old", "--all"]);
    assert_report(&out, "delete", "Old", &[]);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_skips_unknown_uids_and_an_empty_list_selects_nothing() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 3);
    client.logout().unwrap();
    let all: Vec<&Seeded> = m.iter().collect();

    // Present but empty: selects nothing (and is not "no selection").
    for empty in ["", " ", ","] {
        let out = cli(&account, "delete", &["--uid", empty]);
        assert_report(&out, "delete", "INBOX", &[]);
        assert_exactly("INBOX", &state(&account, "INBOX"), &all);
    }
    let out = cli(&account, "delete", &["--messagenumber", ""]);
    assert_report(&out, "delete", "INBOX", &[]);
    assert_exactly("INBOX", &state(&account, "INBOX"), &all);

    // Only unknown UIDs: nothing.
    let out = cli(&account, "delete", &["--uid", "0,777,4000000000"]);
    assert_report(&out, "delete", "INBOX", &[]);
    assert_exactly("INBOX", &state(&account, "INBOX"), &all);

    // Unknown UIDs beside a known one are skipped.
    let out = cli(
        &account,
        "delete",
        &["--uid", &format!("999, {} ,12345678901", m[1].uid)],
    );
    assert_report(&out, "delete", "INBOX", &[m[1].uid]);
    assert_exactly("INBOX", &state(&account, "INBOX"), &[&m[0], &m[2]]);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_of_the_largest_possible_uid_does_not_mean_the_newest_message() {
    // 4294967295 is a valid UID number that no message here has. On the wire it must not
    // become `*` (RFC 3501: the largest UID in use), which would select the newest message;
    // nor may a range ending there (`n:*` always includes the newest message).
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 3);
    client.logout().unwrap();
    let all: Vec<&Seeded> = m.iter().collect();

    for list in ["4294967295", "4294967294,4294967295", "100,4294967295"] {
        let out = cli(&account, "markRead", &["--uid", list]);
        assert_report(&out, "markRead", "INBOX", &[]);
        let held = state(&account, "INBOX");
        assert!(
            held.iter().all(|h| !h.has("\\Seen")),
            "--uid {list}: {held:?}"
        );

        let out = cli(&account, "delete", &["--uid", list]);
        assert_report(&out, "delete", "INBOX", &[]);
        assert_exactly(&format!("--uid {list}"), &state(&account, "INBOX"), &all);
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_with_a_non_numeric_entry_is_an_invalid_attribute() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 3);
    client.logout().unwrap();
    let all: Vec<&Seeded> = m.iter().collect();

    for (attribute, value) in [
        ("--uid", format!("{},x", m[0].uid)),
        // Ranges (1:3, 1-3) are lists since issue 13; a range of something else is not.
        ("--uid", "1:x".to_string()),
        ("--uid", "-1".to_string()),
        ("--messagenumber", "1,two".to_string()),
        ("--messagenumber", "1.5".to_string()),
    ] {
        let out = cli(&account, "delete", &[attribute, &value]);
        out.assert_code(2);
        assert!(
            out.stderr.contains(attribute.trim_start_matches('-')),
            "the error names the attribute\n{out}"
        );
        assert_exactly("INBOX", &state(&account, "INBOX"), &all);
    }
}

// ---- moveMail --------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_without_a_selection_is_refused_and_changes_nothing() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_n(&mut client, "INBOX", 3);
    account.seed_folder(&mut client, "Archive").unwrap();
    client.logout().unwrap();

    let out = cli(&account, "moveMail", &["--newfolder", "Archive"]);
    out.assert_code(2);
    assert!(out.stderr.contains("selection"), "{out}");
    assert_exactly(
        "INBOX",
        &state(&account, "INBOX"),
        &m.iter().collect::<Vec<_>>(),
    );
    assert!(state(&account, "Archive").is_empty());

    // Without --newfolder: a usage error too.
    let out = cli(&account, "moveMail", &["--all"]);
    out.assert_code(2);
    assert!(out.stderr.contains("newfolder"), "{out}");
    assert_exactly(
        "INBOX",
        &state(&account, "INBOX"),
        &m.iter().collect::<Vec<_>>(),
    );
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_to_a_missing_folder_is_refused_and_changes_nothing() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed(
        &mut client,
        "INBOX",
        &[("a", &[]), ("b", &["\\Seen"]), ("c", &[])],
    );
    client.logout().unwrap();

    for target in ["Nowhere", "Archive/Missing"] {
        let out = cli(&account, "moveMail", &["--all", "--newfolder", target]);
        out.assert_code(5);
        assert!(
            out.stderr
                .contains(target.rsplit('/').next().unwrap_or(target)),
            "the error names the folder\n{out}"
        );
        let held = state(&account, "INBOX");
        assert_exactly("INBOX", &held, &m.iter().collect::<Vec<_>>());
        assert!(held.iter().all(|h| !h.has("\\Deleted")), "{held:?}");
        assert_eq!(find(&held, &m[1]).stable_flags(), ["\\Seen"]);
    }
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let names: Vec<String> = client
        .list("", "*")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    client.logout().unwrap();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("Nowhere") || n.starts_with("Archive")),
        "no folder was created: {names:?}"
    );
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_moves_exactly_the_selection_with_its_content_and_flags() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed(
        &mut client,
        "INBOX",
        &[
            ("stay 1", &[]),
            ("go flagged", &["\\Flagged", "\\Seen"]),
            ("stay 2", &["\\Answered"]),
            ("go keyword", &["project-x"]),
            ("stay 3", &[]),
        ],
    );
    account.seed_folder(&mut client, "Archive").unwrap();
    let archived = seed(
        &mut client,
        &account.wire_name("Archive"),
        &[("was there", &[])],
    );
    client.logout().unwrap();

    let out = cli(
        &account,
        "moveMail",
        &[
            "--uid",
            &join(&[m[3].uid, m[1].uid]),
            "--newfolder",
            "Archive",
        ],
    );
    let r = assert_report(&out, "moveMail", "INBOX", &[m[1].uid, m[3].uid]);
    assert_eq!(r.newfolder.as_deref(), Some("Archive"), "{out}");

    let inbox = state(&account, "INBOX");
    assert_exactly("INBOX", &inbox, &[&m[0], &m[2], &m[4]]);
    assert_eq!(find(&inbox, &m[2]).stable_flags(), ["\\Answered"]);
    assert!(inbox.iter().all(|h| !h.has("\\Deleted")));

    let archive = state(&account, "Archive");
    assert_same_messages("Archive", &archive, &[&archived[0], &m[1], &m[3]]);
    assert_eq!(
        find(&archive, &m[1]).stable_flags(),
        ["\\Flagged", "\\Seen"]
    );
    assert_eq!(find(&archive, &m[3]).stable_flags(), ["project-x"]);
    for s in [&m[1], &m[3]] {
        assert_eq!(find(&archive, s).size, s.size as u64, "{}", s.subject);
    }

    // Moving into the folder the messages are in is refused (it would be a no-op at best).
    let out = cli(
        &account,
        "moveMail",
        &["--uid", &m[0].uid.to_string(), "--newfolder", "INBOX"],
    );
    assert!(
        out.code == Some(2) || out.code == Some(5),
        "moving into the same folder is refused\n{out}"
    );
    assert_exactly("INBOX", &state(&account, "INBOX"), &[&m[0], &m[2], &m[4]]);
}

/// Moves between nested folders with non-ASCII names, given as `/` paths and as FULLNAMEs.
fn move_between_nested_non_ascii_folders(flavor: Flavor) {
    let account = user(flavor);
    let (src, dst) = ("Projekte/日本語", "Archive/Entwürfe");
    let mut client = account.connect_with(Secure::Plain).unwrap();
    account.seed_folder(&mut client, src).unwrap();
    account.seed_folder(&mut client, dst).unwrap();
    let m = seed(
        &mut client,
        &account.wire_name(src),
        &[
            ("一", &[]),
            ("zwei", &["\\Seen"]),
            ("三", &[]),
            ("vier", &[]),
        ],
    );
    client.logout().unwrap();

    // As `/` paths.
    let out = cli(
        &account,
        "moveMail",
        &[
            "--folder",
            src,
            "--newfolder",
            dst,
            "--uid",
            &join(&[m[0].uid, m[2].uid]),
        ],
    );
    assert_report(
        &out,
        "moveMail",
        &account.full_name(src),
        &[m[0].uid, m[2].uid],
    );
    assert_exactly(src, &state(&account, src), &[&m[1], &m[3]]);
    assert_same_messages(dst, &state(&account, dst), &[&m[0], &m[2]]);

    // As FULLNAMEs (the server's delimiter and namespace prefix), everything back.
    let (src_full, dst_full) = (account.full_name(src), account.full_name(dst));
    let out = cli(
        &account,
        "moveMail",
        &["--folder", &dst_full, "--newfolder", &src_full, "--all"],
    );
    out.assert_success();
    let r = report(&out);
    assert_eq!(
        (r.folder.as_str(), r.affected),
        (dst_full.as_str(), 2),
        "{out}"
    );
    assert!(state(&account, dst).is_empty());
    let back = state(&account, src);
    assert_same_messages(src, &back, &m.iter().collect::<Vec<_>>());
    assert_eq!(
        find(&back, &m[1]).uid,
        m[1].uid,
        "the unmoved keep their UIDs"
    );
    assert_eq!(find(&back, &m[1]).stable_flags(), ["\\Seen"]);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_between_nested_non_ascii_folders_default() {
    move_between_nested_non_ascii_folders(Flavor::Default);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_between_nested_non_ascii_folders_courier() {
    move_between_nested_non_ascii_folders(Flavor::Courier);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_of_a_10_mb_message_keeps_it_intact() {
    for flavor in [Flavor::Default, Flavor::NoMove] {
        let account = user(flavor);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let blob: Vec<u8> = (0..7_600_000 / 8)
            .flat_map(|_| rng.next().to_le_bytes())
            .collect();
        let big = Message::new("ten megabytes", "The attachment is large.\n").attach(
            "blob.bin",
            "application/octet-stream",
            blob,
        );
        let bytes = big.to_bytes();
        assert!(bytes.len() > 10_000_000, "{}", bytes.len());

        let mut client = account.connect_with(Secure::Plain).unwrap();
        let small = seed(&mut client, "INBOX", &[("small", &[])]);
        let uid = client
            .append("INBOX", &["\\Flagged"], &bytes)
            .unwrap()
            .unwrap();
        account.seed_folder(&mut client, "Archive").unwrap();
        client.logout().unwrap();

        let out = cli(
            &account,
            "moveMail",
            &["--uid", &uid.to_string(), "--newfolder", "Archive"],
        );
        assert_report(&out, "moveMail", "INBOX", &[uid]);

        assert_exactly("INBOX", &state(&account, "INBOX"), &[&small[0]]);
        let archive = state(&account, "Archive");
        assert_eq!(archive.len(), 1, "{flavor:?}: {archive:?}");
        assert_eq!(archive[0].message_id, big.message_id, "{flavor:?}");
        assert_eq!(archive[0].size, bytes.len() as u64, "{flavor:?}");
        assert_eq!(archive[0].stable_flags(), ["\\Flagged"], "{flavor:?}");
        let mut client = account.connect_with(Secure::Plain).unwrap();
        let moved = bulk::body(&mut client, &account.wire_name("Archive"), archive[0].uid).unwrap();
        client.logout().unwrap();
        assert!(
            moved == bytes,
            "{flavor:?}: the moved message differs from the original"
        );
    }
}

/// The same move with a foreign `\Deleted` message present; returns the outcome in terms of the
/// seed's indices, so flavors can be compared: (INBOX: (index, uid, flags), Archive: (index,
/// flags)).
type Outcome = (Vec<(usize, u32, Vec<String>)>, Vec<(usize, Vec<String>)>);

fn standard_move(flavor: Flavor) -> (Outcome, Account) {
    let account = user(flavor);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed(
        &mut client,
        "INBOX",
        &[
            ("go 1", &["\\Seen"]),
            ("stay", &[]),
            ("go 2", &["\\Flagged"]),
            ("foreign deleted", &["\\Deleted"]),
            ("go 3", &[]),
        ],
    );
    account.seed_folder(&mut client, "Archive").unwrap();
    client.logout().unwrap();

    let moved = [&m[0], &m[2], &m[4]];
    let out = cli(
        &account,
        "moveMail",
        &["--uid", &join(&uids_of(&moved)), "--newfolder", "Archive"],
    );
    assert_report(&out, "moveMail", "INBOX", &uids_of(&moved));
    let inbox = state(&account, "INBOX");
    assert_exactly(&format!("{flavor:?} INBOX"), &inbox, &[&m[1], &m[3]]);
    assert!(find(&inbox, &m[3]).has("\\Deleted"));
    let archive = state(&account, "Archive");
    assert_same_messages(&format!("{flavor:?} Archive"), &archive, &moved);
    assert!(
        archive.iter().all(|h| !h.has("\\Deleted")),
        "{flavor:?}: a moved message must not arrive flagged \\Deleted: {archive:?}"
    );
    let index = |h: &Held| m.iter().position(|s| s.message_id == h.message_id).unwrap();
    let mut outcome: Outcome = (
        inbox
            .iter()
            .map(|h| (index(h), h.uid, h.stable_flags()))
            .collect(),
        archive
            .iter()
            .map(|h| (index(h), h.stable_flags()))
            .collect(),
    );
    outcome.1.sort();
    (outcome, account)
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_uses_uid_move_when_offered() {
    let (_, account) = standard_move(Flavor::Default);
    let log = rawlog_with(
        Dovecot::shared(Flavor::Default),
        &account.username,
        "UID MOVE",
    );
    assert!(log.contains("UID MOVE"), "rawlog:\n{log}");
    assert!(!log.contains("UID COPY"), "rawlog:\n{log}");
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_without_the_move_capability_copies_then_expunges_with_the_same_outcome() {
    let dovecot = Dovecot::shared(Flavor::NoMove);
    // The server really hides MOVE after login (and still offers UIDPLUS).
    let probe = dovecot.user();
    let mut client = probe.connect_with(Secure::Plain).unwrap();
    let caps = client.capabilities().unwrap();
    client.logout().unwrap();
    assert!(!caps.iter().any(|c| c == "MOVE"), "{caps:?}");
    assert!(caps.iter().any(|c| c == "UIDPLUS"), "{caps:?}");

    let (by_copy, account) = standard_move(Flavor::NoMove);
    let (by_move, _) = standard_move(Flavor::Default);
    assert_eq!(by_copy, by_move, "COPY path vs MOVE path");

    let log = rawlog_with(dovecot, &account.username, "UID EXPUNGE");
    assert!(log.contains("UID COPY"), "rawlog:\n{log}");
    assert!(log.contains("UID EXPUNGE"), "rawlog:\n{log}");
    assert!(
        !log.contains("MOVE"),
        "MOVE was not offered\nrawlog:\n{log}"
    );
    let bare_expunge = sent_commands(&log, "EXPUNGE");
    assert!(
        bare_expunge.is_empty(),
        "never a bare EXPUNGE: {bare_expunge:?}"
    );
}

/// `n` bulk messages, about half of them (chosen at random, reproducibly) selected.
fn scattered(n: usize, seed: u64) -> (Vec<bool>, usize) {
    let mut rng = Rng(seed);
    let picks: Vec<bool> = (0..n).map(|_| rng.next().is_multiple_of(2)).collect();
    let count = picks.iter().filter(|p| **p).count();
    (picks, count)
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn move_of_5000_messages_by_a_scattered_uid_list() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_bulk(&mut client, "INBOX", 5000);
    account.seed_folder(&mut client, "Archive").unwrap();
    client.logout().unwrap();
    let (picks, count) = scattered(m.len(), 0x5EED_0001);
    let (moved, kept) = split(&m, &picks);
    assert_eq!(moved.len(), count);

    let started = Instant::now();
    let out = cli(
        &account,
        "moveMail",
        &["--uid", &join(&uids_of(&moved)), "--newfolder", "Archive"],
    );
    eprintln!("moveMail of {count} messages: {:?}", started.elapsed());
    assert_report(&out, "moveMail", "INBOX", &uids_of(&moved));
    assert_chunked(Flavor::Default, &account.username, "UID MOVE", moved.len());

    // Every 7th seeded message is \Flagged: flags stay with the unmoved and travel with the moved.
    let flagged: BTreeSet<&str> = m
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 7 == 6)
        .map(|(_, s)| s.message_id.as_str())
        .collect();
    let inbox = state(&account, "INBOX");
    assert_exactly("INBOX", &inbox, &kept);
    let archive = state(&account, "Archive");
    assert_same_messages("Archive", &archive, &moved);
    for h in inbox.iter().chain(&archive) {
        let want: &[&str] = if flagged.contains(h.message_id.as_str()) {
            &["\\Flagged"]
        } else {
            &[]
        };
        assert_eq!(h.stable_flags(), want, "<{}>: {h:?}", h.message_id);
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn delete_of_5000_messages_by_a_scattered_uid_list() {
    let account = user(Flavor::Default);
    let mut client = account.connect_with(Secure::Plain).unwrap();
    let m = seed_bulk(&mut client, "INBOX", 5000);
    // One unselected message already flagged \Deleted by someone else must survive too.
    let foreign = m[2].uid;
    client.select("INBOX").unwrap();
    client
        .add_flags(&foreign.to_string(), &["\\Deleted"])
        .unwrap();
    client.logout().unwrap();
    let (mut picks, _) = scattered(m.len(), 0x5EED_0002);
    picks[2] = false;
    let (deleted, kept) = split(&m, &picks);

    let started = Instant::now();
    let out = cli(&account, "delete", &["--uid", &join(&uids_of(&deleted))]);
    eprintln!(
        "delete of {} messages: {:?}",
        deleted.len(),
        started.elapsed()
    );
    assert_report(&out, "delete", "INBOX", &uids_of(&deleted));
    assert_chunked(
        Flavor::Default,
        &account.username,
        "UID STORE",
        deleted.len(),
    );
    assert_chunked(
        Flavor::Default,
        &account.username,
        "UID EXPUNGE",
        deleted.len(),
    );

    let inbox = state(&account, "INBOX");
    assert_exactly("INBOX", &inbox, &kept);
    for h in &inbox {
        assert_eq!(h.has("\\Deleted"), h.uid == foreign, "UID {}: {h:?}", h.uid);
    }
}

/// The picked messages and the others.
fn split<'a>(m: &'a [Seeded], picks: &[bool]) -> (Vec<&'a Seeded>, Vec<&'a Seeded>) {
    let (picked, other): (Vec<_>, Vec<_>) = m.iter().zip(picks).partition(|(_, p)| **p);
    (
        picked.into_iter().map(|(s, _)| s).collect(),
        other.into_iter().map(|(s, _)| s).collect(),
    )
}

// ---- scripted servers: stoponerror, UIDPLUS, capabilities after login, COPY -------------------

/// `cfimap <action> … --format json` against a fault server on `port`.
fn cli_fault(port: u16, action: &str, extra: &[&str]) -> CliOutput {
    cfimap([action])
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--username",
            "joe",
            "--password",
            "secret-pw",
            "--secure",
            "no",
            "--timeout",
            "10",
            "--format",
            "json",
        ])
        .args(extra)
        .run()
}

/// The commands a fault server read, from its first connection.
fn commands(server: &FaultServer) -> Vec<String> {
    let t = server.transcripts();
    assert_eq!(t.len(), 1, "one connection: {t:?}");
    t[0].commands.clone()
}

/// The UID set of each command matching `re` (its first capture group).
fn sets_of(commands: &[String], re: &str) -> Vec<Vec<u32>> {
    let re = regex::Regex::new(re).unwrap();
    commands
        .iter()
        .filter_map(|c| re.captures(c))
        .map(|c| bulk::expand_set(&c[1]).unwrap_or_else(|| panic!("not a UID set: {:?}", &c[1])))
        .collect()
}

/// Every number in `text` that is at least 10000 (the scripted UIDs), ranges `a:b` expanded.
fn big_numbers(text: &str) -> BTreeSet<u32> {
    let re = regex::Regex::new(r"\d+(:\d+)?").unwrap();
    re.find_iter(text)
        .filter_map(|m| bulk::expand_set(m.as_str()))
        .flatten()
        .filter(|n| *n >= 10_000)
        .collect()
}

/// 1,700 scattered UIDs (10001, 10003, …): a set of ~10 KB, i.e. exactly two commands under any
/// line budget between 5 KB and 10 KB (the design's is 8 KB).
fn two_chunk_uids() -> Vec<u32> {
    (0..1700).map(|i| 10_001 + 2 * i).collect()
}

const STORE_DELETED: &str = r"(?i)^\S+ UID STORE ([0-9:,]+) \+FLAGS\.SILENT \(\\Deleted\)$";
const STORE_SEEN: &str = r"(?i)^\S+ UID STORE ([0-9:,]+) \+FLAGS\.SILENT \(\\Seen\)$";
const UID_EXPUNGE: &str = r"(?i)^\S+ UID EXPUNGE ([0-9:,]+)$";

#[test]
fn delete_with_stoponerror_stops_at_a_refused_chunk_and_says_what_was_done() {
    let uids = two_chunk_uids();
    let search = format!(
        "* SEARCH {}",
        uids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let script = Script::session("IMAP4rev1 UIDPLUS")
        .select_inbox(uids.len())
        .expect(r"(?i)^\S+ UID SEARCH ALL$")
        .line(&search)
        .tagged("OK Search completed.")
        .expect(STORE_DELETED)
        .tagged("OK Store completed.")
        .expect(UID_EXPUNGE)
        .tagged("OK Expunge completed.")
        .expect(STORE_DELETED)
        .tagged("NO Simulated refusal of this chunk.");
    let server = FaultServer::start(script.logout());

    let out = cli_fault(server.port(), "delete", &["--all"]);
    out.assert_code(5);
    assert!(out.stdout.is_empty(), "{out}");
    let cmds = commands(&server);
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    for c in &cmds {
        assert!(
            c.len() + 2 <= 8192,
            "a command of {} bytes: {c:.80}",
            c.len()
        );
    }
    let stores = sets_of(&cmds, STORE_DELETED);
    let expunges = sets_of(&cmds, UID_EXPUNGE);
    assert_eq!(stores.len(), 2, "{cmds:?}");
    assert_eq!(
        expunges,
        [stores[0].clone()],
        "only the stored chunk is expunged"
    );
    let mut all: Vec<u32> = stores.concat();
    all.sort_unstable();
    assert_eq!(all, uids, "the chunks cover the selection, each UID once");

    // The message says why it stopped and what was already done.
    assert!(out.stderr.contains("Simulated refusal"), "{out}");
    let done = &stores[0];
    assert!(
        out.stderr.contains(&done.len().to_string()),
        "names the count\n{out}"
    );
    let named = big_numbers(&out.stderr);
    assert_eq!(
        named,
        done.iter().copied().collect::<BTreeSet<u32>>(),
        "names exactly the UIDs already deleted\n{out}"
    );
}

#[test]
fn mark_read_without_stoponerror_reports_a_refused_chunk_and_goes_on() {
    let uids = two_chunk_uids();
    let search = format!(
        "* SEARCH {}",
        uids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let script = Script::session("IMAP4rev1 UIDPLUS")
        .select_inbox(uids.len())
        .expect(r"(?i)^\S+ UID SEARCH ALL$")
        .line(&search)
        .tagged("OK Search completed.")
        .expect(STORE_SEEN)
        .tagged("NO Simulated refusal of this chunk.")
        .expect(STORE_SEEN)
        .tagged("OK Store completed.");
    let server = FaultServer::start(script.logout());

    let out = cli_fault(server.port(), "markRead", &["--stoponerror=false"]);
    out.assert_success();
    let cmds = commands(&server);
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    let stores = sets_of(&cmds, STORE_SEEN);
    assert_eq!(stores.len(), 2, "{cmds:?}");

    let r = report(&out);
    assert_eq!(
        (r.action.as_str(), r.folder.as_str()),
        ("markRead", "INBOX")
    );
    assert_eq!(r.uids, stores[1], "only the second chunk changed\n{out}");
    assert_eq!(r.affected, stores[1].len() as u64, "{out}");
    assert_eq!(r.failures.len(), 1, "{out}");
    assert!(r.failures[0].contains("Simulated refusal"), "{out}");
    assert_eq!(
        big_numbers(&r.failures[0]),
        stores[0].iter().copied().collect::<BTreeSet<u32>>(),
        "the failure names the UIDs of the refused chunk\n{out}"
    );
}

#[test]
fn delete_without_uidplus_refuses_when_another_message_is_flagged_deleted() {
    let script = Script::session("IMAP4rev1")
        .select_inbox(3)
        .expect(r"(?i)^\S+ UID SEARCH UID 2$")
        .line("* SEARCH 2")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ (UID )?SEARCH (.* )?DELETED( |$)")
        .line("* SEARCH 3")
        .tagged("OK Search completed.");
    let server = FaultServer::start(script.logout());

    let out = cli_fault(server.port(), "delete", &["--uid", "2"]);
    out.assert_code(5);
    assert!(out.stderr.contains("UIDPLUS"), "a clear message\n{out}");
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    let sent = server.received_text();
    assert!(
        !sent.to_uppercase().contains("EXPUNGE"),
        "no EXPUNGE:\n{sent}"
    );
    assert!(
        !sent.to_uppercase().contains("STORE"),
        "nothing flagged:\n{sent}"
    );
    assert!(!sent.to_uppercase().contains("CLOSE"), "no CLOSE:\n{sent}");
}

#[test]
fn delete_without_uidplus_expunges_when_no_other_message_is_flagged_deleted() {
    // The selected message itself is already flagged \Deleted: that is no reason to refuse.
    let script = Script::session("IMAP4rev1")
        .select_inbox(3)
        .expect(r"(?i)^\S+ UID SEARCH UID 2$")
        .line("* SEARCH 2")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ (UID )?SEARCH (.* )?DELETED( |$)")
        .line("* SEARCH 2")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID STORE 2 \+FLAGS\.SILENT \(\\Deleted\)$")
        .tagged("OK Store completed.")
        .expect(r"(?i)^\S+ EXPUNGE$")
        .line("* 2 EXPUNGE")
        .tagged("OK Expunge completed.");
    let server = FaultServer::start(script.logout());

    let out = cli_fault(server.port(), "delete", &["--uid", "2"]);
    assert_report(&out, "delete", "INBOX", &[2]);
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
}

/// Like Dovecot: the greeting names neither UIDPLUS nor MOVE and the LOGIN answer has no
/// capabilities; CAPABILITY after login has both.
fn caps_after_login() -> Script {
    Script::new()
        .line("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready")
        .expect(r"(?i)^\S+ LOGIN ")
        .tagged("OK Logged in")
        .expect_command("CAPABILITY")
        .line("* CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS MOVE")
        .tagged("OK Capability completed.")
        .expect(r#"^\S+ LIST "" ""$"#)
        .line(r#"* LIST (\Noselect) "/" """#)
        .tagged("OK List completed.")
}

/// The destination check of moveMail: `LIST "" Archive` answered with the folder.
fn archive_exists(script: Script) -> Script {
    script
        .expect(r#"(?i)^\S+ LIST "" "?Archive"?$"#)
        .line(r#"* LIST (\HasNoChildren) "/" Archive"#)
        .tagged("OK List completed.")
}

#[test]
fn delete_acts_only_on_uids_asked_for_even_if_the_server_answers_more() {
    // A faulty server answers the UID SEARCH with a UID that was not asked for. The server's
    // answer may narrow a UID selection (unknown UIDs are skipped), never widen it.
    let script = Script::session("IMAP4rev1 UIDPLUS")
        .select_inbox(3)
        .expect(r"(?i)^\S+ UID SEARCH UID 1,3$")
        .line("* SEARCH 1 2 3")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID STORE 1,3 \+FLAGS\.SILENT \(\\Deleted\)$")
        .tagged("OK Store completed.")
        .expect(r"(?i)^\S+ UID EXPUNGE 1,3$")
        .line("* 3 EXPUNGE")
        .line("* 1 EXPUNGE")
        .tagged("OK Expunge completed.");
    let server = FaultServer::start(script.logout());

    let out = cli_fault(server.port(), "delete", &["--uid", "1,3"]);
    let sent = commands(&server);
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    assert_report(&out, "delete", "INBOX", &[1, 3]);
    for set in sets_of(&sent, STORE_DELETED)
        .into_iter()
        .chain(sets_of(&sent, UID_EXPUNGE))
    {
        assert!(!set.contains(&2), "UID 2 was not asked for: {sent:?}");
    }
}

#[test]
fn capabilities_announced_only_after_login_are_used() {
    // delete: UID EXPUNGE (UIDPLUS), so no check for other \Deleted messages is needed.
    let delete = caps_after_login()
        .select_inbox(3)
        .expect(r"(?i)^\S+ UID SEARCH UID 2$")
        .line("* SEARCH 2")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID STORE 2 \+FLAGS\.SILENT \(\\Deleted\)$")
        .tagged("OK Store completed.")
        .expect(r"(?i)^\S+ UID EXPUNGE 2$")
        .line("* 2 EXPUNGE")
        .tagged("OK Expunge completed.");
    let server = FaultServer::start(delete.logout());
    let out = cli_fault(server.port(), "delete", &["--uid", "2"]);
    assert_report(&out, "delete", "INBOX", &[2]);
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );

    // moveMail: UID MOVE.
    let move_ = archive_exists(caps_after_login())
        .select_inbox(3)
        .expect(r"(?i)^\S+ UID SEARCH UID 2$")
        .line("* SEARCH 2")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID MOVE 2 .?Archive.?$")
        .line("* OK [COPYUID 1700000001 2 7] Moved")
        .line("* 2 EXPUNGE")
        .tagged("OK Move completed.");
    let server = FaultServer::start(move_.logout());
    let out = cli_fault(
        server.port(),
        "moveMail",
        &["--uid", "2", "--newfolder", "Archive"],
    );
    assert_report(&out, "moveMail", "INBOX", &[2]);
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
}

#[test]
fn move_by_copy_leaves_every_original_when_the_copy_fails() {
    let script = archive_exists(Script::session("IMAP4rev1 UIDPLUS"))
        .select_inbox(3)
        .expect(r"(?i)^\S+ UID SEARCH UID 1:3$")
        .line("* SEARCH 1 2 3")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID COPY 1:3 .?Archive.?$")
        .tagged("NO [OVERQUOTA] Quota exceeded (mailbox for user is full)");
    let server = FaultServer::start(script.logout());

    let out = cli_fault(
        server.port(),
        "moveMail",
        &["--uid", "1,2,3", "--newfolder", "Archive"],
    );
    out.assert_code(5);
    assert!(out.stderr.contains("Quota exceeded"), "{out}");
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    let sent = server.received_text().to_uppercase();
    assert!(!sent.contains("STORE"), "no original flagged:\n{sent}");
    assert!(!sent.contains("EXPUNGE"), "no original removed:\n{sent}");
}

#[test]
fn move_by_copy_removes_only_the_originals_whose_copy_was_confirmed() {
    // COPYUID names 1 and 3 only: 2 was not copied and must stay where it is.
    let script = archive_exists(Script::session("IMAP4rev1 UIDPLUS"))
        .select_inbox(3)
        .expect(r"(?i)^\S+ UID SEARCH UID 1:3$")
        .line("* SEARCH 1 2 3")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID COPY 1:3 .?Archive.?$")
        .tagged("OK [COPYUID 1700000001 1,3 50:51] Copy completed.")
        .expect(r"(?i)^\S+ UID STORE 1,3 \+FLAGS\.SILENT \(\\Deleted\)$")
        .tagged("OK Store completed.")
        .expect(r"(?i)^\S+ UID EXPUNGE 1,3$")
        .line("* 3 EXPUNGE")
        .line("* 1 EXPUNGE")
        .tagged("OK Expunge completed.");
    let server = FaultServer::start(script.logout());

    let out = cli_fault(
        server.port(),
        "moveMail",
        &["--uid", "1,2,3", "--newfolder", "Archive"],
    );
    // Not everything asked for was moved: that is a failure the caller must hear about.
    out.assert_code(5);
    assert!(out.stderr.contains("COPY"), "{out}");
    assert!(
        server.failures().is_empty(),
        "{:?}\n{out}",
        server.failures()
    );
    let cmds = commands(&server);
    for set in sets_of(&cmds, STORE_DELETED)
        .into_iter()
        .chain(sets_of(&cmds, UID_EXPUNGE))
    {
        assert!(!set.contains(&2), "UID 2 was not confirmed: {cmds:?}");
    }
}
