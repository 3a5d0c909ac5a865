//! The hostile-server suite: what a server nobody here controls may send, and how every action
//! ends when it does.
//!
//! Each case is a scripted server ([`FaultServer`]), one `cfimap` run against it, and what the
//! run must end with: its exit status, a bound on its wall-clock time and on its peak resident
//! memory, words its one-line error must contain, and what the server must (or must not) have
//! received. A case that hangs is killed by the harness's own timeout and fails.
//!
//! The bounds are generous on purpose (the machine is shared): they separate "ended promptly in
//! bounded memory" from "read until killed", not fast from slow. Speed is measured by the
//! benchmark. The exit statuses are the CLI's: 3 connection/time, 4 authentication, 5 refused,
//! 6 protocol or a limit.
//!
//! The last cases drive the host library directly, to check that every response code of a NO or
//! BAD reaches a host as its typed [`ResponseCode`], and that the host refuses STARTTLS with
//! unread bytes waiting.

use std::time::Duration;

use cfimap_host::{
    CommandStatus, ConnectOptions, Credentials, Error, MessageRow, Policy, ReadOptions,
    ResponseCode, Runtime, RuntimeOptions, Security, Selection,
};
use cfimap_tests::cli::{CliOutput, cfimap};
use cfimap_tests::fault::{FaultServer, Script, Step, header_fetch, scripted_header};
use serde_json::Value;

/// Capabilities of the scripted servers unless a case says otherwise.
const CAPS: &str = "IMAP4rev1 AUTH=PLAIN SASL-IR UIDPLUS";

/// The password every case logs in with; no output may ever contain it.
const PASSWORD: &str = "hostile-pass-5678";

/// Peak memory any case may use: the CLI needs ~15 MiB; a buffer grown to the 16 MiB line
/// limit, or to a literal of a few MiB, fits well below this. Reading without bound does not.
const RSS_MIB: u64 = 96;

/// Time bound of a case that must end on its own (not by a timeout).
const PROMPT: Duration = Duration::from_secs(8);

/// What starting the CLI and its component may cost before an action's deadline starts.
const STARTUP: Duration = Duration::from_secs(2);

// ---- the scripted sessions ----------------------------------------------------------------------

/// [`Script::session`], then EXAMINE of three messages: getHeaderOnly and getAll of the
/// folder up to their `FETCH 1:3`.
fn read_session() -> Script {
    Script::session(CAPS).examine_three()
}

/// [`Script::session`], then SELECT of INBOX with three messages: what a change starts with.
fn change_session(caps: &str) -> Script {
    Script::session(caps).select_inbox(3)
}

/// The three messages' FETCH answers and the tagged OK.
fn all_three(script: Script) -> Script {
    script
        .send(header_fetch(1, 1, true))
        .send(header_fetch(2, 2, true))
        .send(header_fetch(3, 3, true))
        .tagged("OK Fetch completed.")
}

// ---- running a case -----------------------------------------------------------------------------

/// One case: the CLI's action and arguments against `script`, and what the run must show.
struct Case {
    script: Script,
    action: &'static str,
    secure: &'static str,
    args: Vec<String>,
    exit: i32,
    within: Duration,
    says: Vec<&'static str>,
}

impl Case {
    /// `action` against `script`, expected to end with `exit` promptly.
    fn new(script: Script, action: &'static str, exit: i32) -> Case {
        Case {
            script,
            action,
            secure: "no",
            args: Vec::new(),
            exit,
            within: PROMPT,
            says: Vec::new(),
        }
    }

    /// Extra arguments.
    fn args(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// `--secure` (default `no`).
    fn secure(mut self, secure: &'static str) -> Case {
        self.secure = secure;
        self
    }

    /// The run must end within `within` (for cases that end at a timeout or deadline).
    fn within(mut self, within: Duration) -> Case {
        self.within = within;
        self
    }

    /// The error line must contain `text` (case-insensitive).
    fn says(mut self, text: &'static str) -> Case {
        self.says.push(text);
        self
    }

    /// Runs the case, checks exit, time, memory, the error's words and that no password shows,
    /// and returns the run and its server for further checks.
    fn run(self) -> (CliOutput, FaultServer) {
        let server = FaultServer::start(self.script);
        let mut args = vec![
            self.action.to_string(),
            "--server".into(),
            "127.0.0.1".into(),
            "--port".into(),
            server.port().to_string(),
            "--username".into(),
            "joe".into(),
            "--secure".into(),
            self.secure.into(),
            "--timeout".into(),
            "3".into(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(self.args);
        let out = cfimap(args)
            .env("CFIMAP_PASSWORD", PASSWORD)
            .timeout(self.within + Duration::from_secs(30))
            .measure_peak_rss(env!("CARGO_BIN_EXE_cfimap-testbed"))
            .run();
        assert_eq!(
            out.code,
            Some(self.exit),
            "exit status\n{out}\n--- the server's script ---\n{:?}",
            server.failures()
        );
        assert!(
            out.elapsed <= self.within,
            "took {:?}, bound {:?}\n{out}",
            out.elapsed,
            self.within
        );
        let rss = out
            .peak_rss_kib
            .expect("the waiter's report of the peak RSS")
            / 1024;
        assert!(
            rss <= RSS_MIB,
            "peak RSS {rss} MiB, bound {RSS_MIB} MiB\n{out}"
        );
        let stderr = out.stderr.to_lowercase();
        for text in &self.says {
            assert!(
                stderr.contains(&text.to_lowercase()),
                "the error must say {text:?}\n{out}"
            );
        }
        assert!(
            !out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD),
            "the password shows\n{out}"
        );
        (out, server)
    }
}

/// The JSON rows of a read, by UID.
fn rows_by_uid(out: &CliOutput) -> Vec<(u64, serde_json::Map<String, Value>)> {
    let mut rows: Vec<_> = out
        .rows()
        .into_iter()
        .map(|r| (r.get("UID").and_then(Value::as_u64).unwrap_or(0), r))
        .collect();
    rows.sort_by_key(|(uid, _)| *uid);
    rows
}

/// Asserts rows for exactly UIDs 1–3 with their subjects and no error.
fn assert_three_rows(out: &CliOutput) {
    let rows = rows_by_uid(out);
    let uids: Vec<u64> = rows.iter().map(|(u, _)| *u).collect();
    assert_eq!(uids, [1, 2, 3], "a row for each message asked for\n{out}");
    for (uid, row) in &rows {
        assert_eq!(
            row.get("SUBJECT").and_then(Value::as_str),
            Some(format!("scripted {uid}").as_str()),
            "{out}"
        );
        assert!(row.get("ERROR").is_none_or(Value::is_null), "{out}");
    }
}

/// The commands the server read, upper-cased, from all connections.
fn sent(server: &FaultServer) -> String {
    server.received_text().to_uppercase()
}

// ---- lines that never end ---------------------------------------------------------------------

#[test]
fn a_greeting_that_never_ends_stops_at_the_line_limit() {
    let script = Script::new().endless_line("* OK ", 300 << 20);
    let (_, server) = Case::new(script, "open", 6).says("16 MiB").run();
    assert!(!sent(&server).contains("LOGIN"), "no login");
}

#[test]
fn an_untagged_line_that_never_ends_stops_at_the_line_limit() {
    let script = Script::logged_in(CAPS)
        .expect(r#"^\S+ LIST "" ""$"#)
        .endless_line("* LIST (\\Noselect) \"/\" ", 300 << 20);
    Case::new(script, "listAllFolders", 6).says("16 MiB").run();
}

#[test]
fn a_fetch_line_that_never_ends_stops_at_the_line_limit() {
    let script = read_session().endless_line("* 1 FETCH (UID 1 FLAGS (", 300 << 20);
    let (out, _) = Case::new(script, "getHeaderOnly", 6).says("16 MiB").run();
    assert_eq!(out.stdout.trim(), "", "no rows");
}

// ---- literal sizes ----------------------------------------------------------------------------

#[test]
fn a_literal_over_the_response_limit_is_refused_at_once() {
    // 4 GB announced (and never sent): refused on the announcement, before any of it arrives.
    let script = read_session()
        .line("* 1 FETCH (UID 1 BODY[HEADER] {4000000000}")
        .stall(Duration::from_secs(30));
    Case::new(script, "getHeaderOnly", 6)
        .says("limit")
        .says("256 MiB")
        .run();
}

#[test]
fn a_literal_size_beyond_32_bits_is_malformed() {
    for size in ["99999999999", "184467440737095516160"] {
        let script = read_session()
            .line(&format!("* 1 FETCH (UID 1 BODY[HEADER] {{{size}}}"))
            .stall(Duration::from_secs(30));
        Case::new(script, "getHeaderOnly", 6)
            .says("malformed")
            .run();
    }
}

#[test]
fn a_negative_literal_size_is_refused() {
    let script = read_session()
        .line("* 1 FETCH (UID 1 BODY[HEADER] {-5}")
        .line("hello)")
        .tagged("OK Fetch completed.");
    Case::new(script, "getHeaderOnly", 6)
        .says("malformed")
        .run();
}

#[test]
fn a_literal_longer_than_announced_is_a_protocol_violation() {
    // {10} announced, the whole header block sent: the rest is no IMAP.
    let head = scripted_header(1);
    let script = read_session()
        .send(format!(
            "* 1 FETCH (UID 1 BODY[HEADER] {{10}}\r\n{head})\r\n"
        ))
        .tagged("OK Fetch completed.");
    let (out, _) = Case::new(script, "getHeaderOnly", 6).run();
    assert_eq!(
        out.stdout.trim(),
        "",
        "no rows from a broken response\n{out}"
    );
}

#[test]
fn a_literal_shorter_than_announced_then_a_close_is_a_dropped_connection() {
    let script = read_session()
        .send(format!(
            "* 1 FETCH (UID 1 BODY[HEADER] {{500}}\r\n{}",
            scripted_header(1)
        ))
        .close();
    Case::new(script, "getHeaderOnly", 3).run();
}

#[test]
fn a_literal_shorter_than_announced_then_silence_times_out() {
    let script = read_session()
        .send(format!(
            "* 1 FETCH (UID 1 BODY[HEADER] {{500}}\r\n{}",
            scripted_header(1)
        ))
        .stall(Duration::from_secs(60));
    Case::new(script, "getHeaderOnly", 3)
        .within(Duration::from_secs(3 + 5))
        .says("tim")
        .run();
}

// ---- drops ------------------------------------------------------------------------------------

#[test]
fn a_drop_before_the_greeting() {
    Case::new(Script::new().close(), "open", 3).run();
}

#[test]
fn a_drop_right_after_login() {
    let script = Script::logged_in(CAPS).close();
    Case::new(script, "getHeaderOnly", 3).run();
}

#[test]
fn a_drop_after_the_folder_is_opened() {
    let script = read_session().close();
    Case::new(script, "getHeaderOnly", 3).run();
}

#[test]
fn a_drop_mid_literal() {
    let script = read_session()
        .send(header_fetch(1, 1, true))
        .send("* 2 FETCH (UID 2 BODY[HEADER] {60}\r\nFrom: f2@")
        .close();
    let (out, _) = Case::new(script, "getHeaderOnly", 3).run();
    assert!(!out.stdout.contains("\"UID\":2"), "no half row\n{out}");
}

#[test]
fn a_drop_mid_window_of_a_change_is_reported_and_not_retried() {
    let script = change_session(CAPS)
        .expect(r"(?i)^\S+ UID SEARCH UID 1:3$")
        .line("* SEARCH 1 2 3")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID STORE 1:3 \+FLAGS\.SILENT \(\\Deleted\)$")
        .close();
    let (_, server) = Case::new(script, "delete", 3)
        .args(&["--uid", "1,2,3"])
        .says("connection closed")
        .run();
    // One connection: the action did not log in again to finish the job.
    assert_eq!(server.connections(), 1);
}

// ---- BYE --------------------------------------------------------------------------------------

#[test]
fn bye_as_the_greeting() {
    let script = Script::new().bye("Too many connections from your IP");
    let (_, server) = Case::new(script, "open", 3)
        .says("Too many connections")
        .run();
    assert!(!sent(&server).contains("LOGIN"));
}

#[test]
fn bye_right_after_login() {
    let script = Script::logged_in(CAPS)
        .expect_any()
        .bye("Server shutting down")
        .close();
    Case::new(script, "listAllFolders", 3)
        .says("shutting down")
        .run();
}

#[test]
fn bye_in_the_middle_of_a_fetch() {
    let script = read_session()
        .send(header_fetch(1, 1, true))
        .bye("Disconnected for inactivity")
        .close();
    Case::new(script, "getHeaderOnly", 3)
        .says("Disconnected for inactivity")
        .run();
}

#[test]
fn bye_in_the_middle_of_a_change() {
    let script = change_session(CAPS)
        .expect(r"(?i)^\S+ UID SEARCH UID 2$")
        .line("* SEARCH 2")
        .tagged("OK Search completed.")
        .expect_command("UID STORE")
        .bye("Maintenance")
        .close();
    Case::new(script, "markRead", 3)
        .args(&["--uid", "2"])
        .says("Maintenance")
        .run();
}

// ---- slow servers -----------------------------------------------------------------------------

/// `text` sent a byte at a time, `gap` apart.
fn trickle(mut script: Script, text: &str, gap: Duration) -> Script {
    for byte in text.bytes() {
        script = script.send([byte]).stall(gap);
    }
    script
}

#[test]
fn a_trickled_greeting_ends_at_the_deadline() {
    let script = trickle(
        Script::new(),
        "* OK [CAPABILITY IMAP4rev1] a very slow server\r\n",
        Duration::from_millis(300),
    );
    Case::new(script, "open", 3)
        .args(&["--deadline", "2"])
        .within(Duration::from_secs(2 + 1) + STARTUP)
        .says("deadline of 2 s")
        .run();
}

#[test]
fn a_trickled_fetch_ends_at_the_deadline() {
    let line = header_fetch(1, 1, true);
    let script = trickle(read_session(), &line.repeat(50), Duration::from_millis(100));
    Case::new(script, "getHeaderOnly", 3)
        .args(&["--deadline", "2"])
        .within(Duration::from_secs(2 + 1) + STARTUP)
        .says("deadline")
        .run();
}

#[test]
fn a_server_that_never_answers_the_fetch_times_out() {
    let script = read_session().stall(Duration::from_secs(60));
    Case::new(script, "getHeaderOnly", 3)
        .within(Duration::from_secs(3) + STARTUP + Duration::from_secs(2))
        .says("tim")
        .run();
}

// ---- floods of untagged responses ------------------------------------------------------------

/// `count` lines made by `line(i)`, as one piece.
fn flood(count: usize, line: impl Fn(usize) -> String) -> String {
    (0..count).map(line).collect()
}

#[test]
fn a_flood_of_exists_and_expunge_during_a_read_changes_no_row() {
    let noise = flood(60_000, |i| match i % 3 {
        0 => format!("* {} EXISTS\r\n", 4 + i),
        1 => "* 9 RECENT\r\n".to_string(),
        _ => format!("* {} EXPUNGE\r\n", 100_000 + i),
    });
    let script = read_session()
        .send(header_fetch(1, 1, true))
        .send(noise.as_bytes())
        .send(header_fetch(2, 2, true))
        .send(noise.as_bytes())
        .send(header_fetch(3, 3, true))
        .tagged("OK Fetch completed.");
    let (out, _) = Case::new(script.logout(), "getHeaderOnly", 0).run();
    assert_three_rows(&out);
}

/// Messages 1–3 asked (`start`: by number, or by UID), message 1 answered, then `* 2 EXPUNGE`
/// and message 3's answer under its new number, 2.
fn expunged_mid_read(start: Script) -> Script {
    start
        .send(header_fetch(1, 1, true))
        .line("* 2 EXPUNGE")
        .send(header_fetch(2, 3, true))
        .tagged("OK Fetch completed.")
        .logout()
}

/// RFC 3501 §7.4.1 forbids EXPUNGE while a FETCH is answered. A server that sends one anyway
/// during a read by number has renumbered the messages not yet answered: message 3 now
/// answers as 2, and its row would carry message 2's number. The read stops and says why.
#[test]
fn an_expunge_during_a_fetch_by_number_is_a_violation_that_names_it() {
    let (out, _) = Case::new(expunged_mid_read(read_session()), "getHeaderOnly", 6)
        .args(&["--stoponerror=false"])
        .says("expunged message number 2 while answering a FETCH by message number")
        .run();
    assert!(
        !out.stdout.contains("scripted 2"),
        "no row built from the shifted answer\n{out}"
    );
}

/// By UID the same EXPUNGE is allowed and harmless: message 3 keeps its UID, so its row is
/// right, and message 2's says it is gone.
#[test]
fn an_expunge_during_a_fetch_by_uid_leaves_the_rows_right() {
    let script = expunged_mid_read(Script::session(CAPS).examine_three_searched());
    let (out, _) = Case::new(script, "getHeaderOnly", 0)
        .args(&BY_UID)
        .args(&["--stoponerror=false"])
        .run();
    let rows = rows_by_uid(&out);
    let uids: Vec<u64> = rows.iter().map(|(u, _)| *u).collect();
    assert_eq!(uids, [1, 2, 3], "{out}");
    let error = |i: usize| rows[i].1.get("ERROR").and_then(Value::as_str);
    assert!(error(0).is_none() && error(2).is_none(), "{out}");
    assert!(
        error(1).is_some_and(|e| e.contains("nothing for UID 2")),
        "{out}"
    );
    let number = rows[2].1.get("MESSAGENUMBER").and_then(Value::as_u64);
    assert_eq!(number, Some(2), "UID 3 under its new number\n{out}");
}

/// The edges of the rule: an EXPUNGE of the read's highest number is refused, newest first
/// too; one just past a `--maxrows` window renumbers none of its messages and is passed over.
#[test]
fn an_expunge_is_refused_up_to_the_highest_number_read_and_passed_over_past_it() {
    let three_then = |expunge: &str| {
        read_session()
            .send(header_fetch(1, 1, true))
            .send(header_fetch(2, 2, true))
            .line(expunge)
            .send(header_fetch(3, 3, true))
            .tagged("OK Fetch completed.")
            .logout()
    };
    Case::new(three_then("* 3 EXPUNGE"), "getHeaderOnly", 6)
        .says("expunged message number 3")
        .run();
    Case::new(three_then("* 1 EXPUNGE"), "getHeaderOnly", 6)
        .args(&["--newest"])
        .says("expunged message number 1")
        .run();
    let window = Script::session(CAPS)
        .examine_numbered(3)
        .send(header_fetch(1, 1, true))
        .send(header_fetch(2, 2, true))
        .line("* 3 EXPUNGE")
        .tagged("OK Fetch completed.")
        .logout();
    let (out, server) = Case::new(window, "getHeaderOnly", 0)
        .args(&["--maxrows", "2"])
        .run();
    assert!(sent(&server).contains("FETCH 1:2 "), "{}", sent(&server));
    let uids: Vec<u64> = rows_by_uid(&out).iter().map(|(u, _)| *u).collect();
    assert_eq!(uids, [1, 2], "{out}");
}

/// [`header_fetch`] without its FLAGS item: the message's flags come only from an earlier
/// update.
fn header_fetch_without_flags(n: u32, uid: u32) -> String {
    header_fetch(n, uid, true).replacen("FLAGS () ", "", 1)
}

/// The SEEN column of each row, by UID.
fn seen_by_uid(out: &CliOutput) -> Vec<(u64, Option<bool>)> {
    rows_by_uid(out)
        .iter()
        .map(|(uid, row)| (*uid, row.get("SEEN").and_then(Value::as_bool)))
        .collect()
}

/// By UID, an unsolicited flag update waits under its message number for the message's
/// answer; an EXPUNGE below it renumbers it, as the server renumbers the message. Left under
/// its old number, message 3's `\Seen` would go to UID 4, whose answer comes under that
/// number after the EXPUNGE, and UID 3 would lose it.
#[test]
fn an_expunge_during_a_read_by_uid_renumbers_the_answers_waiting_for_their_uid() {
    let script = Script::session(CAPS)
        .examine_numbered_searched(4)
        .send(header_fetch(1, 1, true))
        .line("* 3 FETCH (FLAGS (\\Seen))")
        .line("* 2 EXPUNGE")
        .send(header_fetch_without_flags(2, 3).as_bytes())
        .send(header_fetch_without_flags(3, 4).as_bytes())
        .tagged("OK Fetch completed.")
        .logout();
    let (out, _) = Case::new(script, "getHeaderOnly", 0)
        .args(&["--uid", "1,2,3,4", "--stoponerror=false"])
        .run();
    assert_eq!(
        seen_by_uid(&out),
        [
            (1, Some(false)),
            (2, Some(false)),
            (3, Some(true)),
            (4, Some(false))
        ],
        "{out}"
    );
    let rows = rows_by_uid(&out);
    let error = rows[1].1.get("ERROR").and_then(Value::as_str);
    assert!(
        error.is_some_and(|e| e.contains("nothing for UID 2")),
        "{out}"
    );
}

/// A message's own answer is newer than an update that came before it: its explicit empty
/// FLAGS wins over the update's `\Seen`.
#[test]
fn a_message_s_own_empty_flags_win_over_an_earlier_update() {
    let script = read_session()
        .send(header_fetch(1, 1, true))
        .line("* 2 FETCH (FLAGS (\\Seen))")
        .send(header_fetch(2, 2, true))
        .line("* 3 FETCH (FLAGS (\\Seen))")
        .send(header_fetch_without_flags(3, 3).as_bytes())
        .tagged("OK Fetch completed.")
        .logout();
    let (out, _) = Case::new(script, "getHeaderOnly", 0).run();
    assert_eq!(
        seen_by_uid(&out),
        [(1, Some(false)), (2, Some(false)), (3, Some(true))],
        "message 2 answered FLAGS (); message 3 said nothing of its flags\n{out}"
    );
}

/// An answer by number with the message's data but no UID: its row fails, saying what was
/// missing.
#[test]
fn an_answer_by_number_without_its_uid_is_a_row_that_says_so() {
    let without_uid = header_fetch(2, 2, true).replacen("UID 2 ", "", 1);
    let script = read_session()
        .send(header_fetch(1, 1, true))
        .send(without_uid.as_bytes())
        .send(header_fetch(3, 3, true))
        .tagged("OK Fetch completed.")
        .logout();
    let (out, _) = Case::new(script, "getHeaderOnly", 0)
        .args(&["--stoponerror=false"])
        .run();
    let rows = out.rows();
    let errors: Vec<(u64, &str)> = rows
        .iter()
        .filter_map(|r| {
            let number = r.get("MESSAGENUMBER").and_then(Value::as_u64)?;
            Some((number, r.get("ERROR").and_then(Value::as_str)?))
        })
        .collect();
    assert!(
        matches!(&errors[..], [(2, e)] if e.contains("answer for message number 2 carried no UID")),
        "{out}"
    );
}

/// ESEARCH answers are sets, expanded on arrival: 30 bytes can stand for 8 million UIDs. One
/// answer is capped, and so is the sum of the answers to one command.
#[test]
fn esearch_answers_that_expand_past_the_cap_are_a_violation_in_bounded_memory() {
    let esearch = || {
        Script::session("IMAP4rev1 ESEARCH")
            .expect_command("EXAMINE")
            .line("* 3 EXISTS")
            .line("* OK [UIDVALIDITY 7] ok")
            .tagged("OK [READ-ONLY] EXAMINE done")
            .expect(r"^\S+ UID SEARCH RETURN \(ALL\) FROM ")
    };
    // One answer over the cap: refused before anything is expanded.
    let one = esearch().line("* ESEARCH (TAG \"x\") UID ALL 1:4294967294");
    let (out, _) = Case::new(one.logout(), "getHeaderOnly", 6)
        .args(&["--filter", "from=x"])
        .says("more than 8388608 UIDs")
        .run();
    assert!(
        out.stdout.trim().is_empty() || out.stdout.trim() == "[",
        "{out}"
    );
    // Each under the cap, together over it.
    let many = (0..3).fold(esearch(), |script, i| {
        script.line(&format!(
            "* ESEARCH (TAG \"x\") UID ALL {}:{}",
            i * 3_000_000 + 1,
            (i + 1) * 3_000_000
        ))
    });
    Case::new(many.logout(), "getHeaderOnly", 6)
        .args(&["--filter", "from=x"])
        .says("answers to one command list more than 8388608 UIDs")
        .run();
}

/// A plain read fetches the message numbers the EXISTS count gives, holding a flag for each:
/// `* 4294967295 EXISTS` (20 bytes) is refused as a search answer over the cap would be, before
/// any FETCH, while a window of two of those messages is read.
#[test]
fn an_exists_count_past_the_cap_is_a_violation_unless_a_window_bounds_the_read() {
    let huge = || {
        Script::session(CAPS)
            .expect_command("EXAMINE")
            .line("* 4294967295 EXISTS")
            .line("* OK [UIDVALIDITY 7] ok")
            .tagged("OK [READ-ONLY] EXAMINE done")
    };
    let (out, server) = Case::new(huge().logout(), "getHeaderOnly", 6)
        .says("holds 4294967295 messages: a read takes at most 8388608")
        .run();
    assert!(
        out.stdout.trim().is_empty() || out.stdout.trim() == "[",
        "no row: {out}"
    );
    assert!(
        !sent(&server).contains("FETCH"),
        "nothing fetched: {}",
        sent(&server)
    );
    let window = huge()
        .expect(r"(?i)^\S+ FETCH 1:2 ")
        .send(header_fetch(1, 1, true))
        .send(header_fetch(2, 2, true))
        .tagged("OK Fetch completed.");
    let (out, _) = Case::new(window.logout(), "getHeaderOnly", 0)
        .args(&["--maxrows", "2"])
        .run();
    assert_eq!(out.rows().len(), 2, "{out}");
}

#[test]
fn a_flood_of_fetch_responses_for_other_messages_adds_no_row() {
    let noise = flood(60_000, |i| {
        if i % 2 == 0 {
            format!("* {} FETCH (FLAGS (\\Seen))\r\n", 4 + i % 50)
        } else {
            format!("* {} FETCH (UID {} FLAGS ())\r\n", 4 + i % 50, 1000 + i)
        }
    });
    let script = read_session().send(noise.as_bytes());
    let (out, _) = Case::new(all_three(script).logout(), "getHeaderOnly", 0).run();
    assert_three_rows(&out);
}

#[test]
fn a_flood_during_a_change_leaves_its_report_as_it_was() {
    let noise = flood(60_000, |i| {
        format!(
            "* {} FETCH (UID {} FLAGS (\\Seen))\r\n",
            1 + i % 3,
            1 + i % 3
        )
    });
    let script = change_session(CAPS)
        .expect(r"(?i)^\S+ UID SEARCH UID 1:3$")
        .line("* SEARCH 1 2 3")
        .send(noise.as_bytes())
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID STORE 1:3 \+FLAGS\.SILENT \(\\Seen\)$")
        .send(noise.as_bytes())
        .tagged("OK Store completed.");
    let (out, _) = Case::new(script.logout(), "markRead", 0)
        .args(&["--uid", "1,2,3"])
        .run();
    let report = out.json();
    let uids: Vec<u64> = report["uids"]
        .as_array()
        .unwrap_or_else(|| panic!("a report with its uids\n{out}"))
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(uids, [1, 2, 3], "{out}");
}

// ---- answers for messages that were not asked --------------------------------------------------

/// UIDs 1–3 asked (`--uid 1,2,3`, [`BY_UID`]); the server answers 1, 99 and 3 (99 in place
/// of 2).
fn wrong_uid_answers() -> Script {
    let script = Script::session(CAPS)
        .examine_three_searched()
        .send(header_fetch(1, 1, true))
        .send(header_fetch(2, 99, true))
        .send(header_fetch(3, 3, true))
        .tagged("OK Fetch completed.");
    script.logout()
}

/// The selection [`wrong_uid_answers`] answers.
const BY_UID: [&str; 2] = ["--uid", "1,2,3"];

/// Messages 1–3 asked (the whole folder, by number); the server answers 1, 7 (a message not
/// asked) and 3.
fn unasked_number_answers() -> Script {
    let script = read_session()
        .send(header_fetch(1, 1, true))
        .send(header_fetch(7, 7, true))
        .send(header_fetch(3, 3, true))
        .tagged("OK Fetch completed.");
    script.logout()
}

/// [`unasked_number_answers`] read with `--stoponerror=false` (and `args`): the rows'
/// MESSAGENUMBERs, after checking that message 7 has none and that message 2's row says it
/// never came.
fn numbers_without_message_2(args: &[&str]) -> Vec<u64> {
    let (out, _) = Case::new(unasked_number_answers(), "getHeaderOnly", 0)
        .args(&["--stoponerror=false"])
        .args(args)
        .run();
    let rows = out.rows();
    assert!(
        !out.stdout.contains("scripted 7"),
        "no row for a message not asked\n{out}"
    );
    let failed: Vec<_> = rows
        .iter()
        .filter_map(|r| r.get("ERROR").and_then(Value::as_str))
        .collect();
    assert!(
        matches!(&failed[..], [e] if e.contains("nothing for message number 2")),
        "message 2 never came: its row, and only its, says so\n{out}"
    );
    rows.iter()
        .map(|r| r.get("MESSAGENUMBER").and_then(Value::as_u64).unwrap_or(0))
        .collect()
}

#[test]
fn a_message_asked_by_number_and_never_answered_is_an_error_row_without_stoponerror() {
    assert_eq!(
        numbers_without_message_2(&[]),
        [1, 3, 2],
        "the rows as they came, then message 2's"
    );
}

#[test]
fn newest_first_a_message_asked_by_number_and_never_answered_keeps_its_place() {
    // Its row has no UID (the server never said it): it is placed by its number.
    assert_eq!(
        numbers_without_message_2(&["--newest"]),
        [3, 2, 1],
        "newest first, message 2's row between 3 and 1"
    );
}

#[test]
fn a_message_asked_by_number_and_never_answered_fails_the_read_with_stoponerror() {
    let (out, _) = Case::new(unasked_number_answers(), "getHeaderOnly", 6)
        .says("nothing for message number 2")
        .run();
    assert!(
        !out.stdout.contains("scripted 7"),
        "no row for a message not asked\n{out}"
    );
}

#[test]
fn a_message_asked_and_never_answered_is_an_error_row_without_stoponerror() {
    let (out, _) = Case::new(wrong_uid_answers(), "getHeaderOnly", 0)
        .args(&BY_UID)
        .args(&["--stoponerror=false"])
        .run();
    let rows = rows_by_uid(&out);
    let uids: Vec<u64> = rows.iter().map(|(u, _)| *u).collect();
    assert_eq!(
        uids,
        [1, 2, 3],
        "a row for each UID asked, none for 99\n{out}"
    );
    let error = rows[1].1.get("ERROR").and_then(Value::as_str);
    assert!(
        error.is_some_and(|e| !e.is_empty()),
        "UID 2 never came: its row says so\n{out}"
    );
}

#[test]
fn a_message_asked_and_never_answered_fails_the_read_with_stoponerror() {
    let (out, _) = Case::new(wrong_uid_answers(), "getHeaderOnly", 6)
        .args(&BY_UID)
        .says("nothing for UID 2")
        .run();
    assert!(
        !out.stdout.contains("\"UID\":99"),
        "no row for a UID not asked\n{out}"
    );
}

// ---- nesting ----------------------------------------------------------------------------------

#[test]
fn a_bodystructure_nested_ten_thousand_deep_is_refused_without_a_crash() {
    let depth = 10_000;
    let leaf = r#"("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1)"#;
    let structure = format!(
        "{}{leaf}{}",
        "(".repeat(depth),
        r#" "MIXED")"#.repeat(depth)
    );
    let script = read_session()
        .line(&format!("* 1 FETCH (UID 1 BODYSTRUCTURE {structure})"))
        .stall(Duration::from_secs(30));
    // Never a trap (exit 1) or a stack overflow: the nesting is refused as malformed.
    Case::new(script, "getHeaderOnly", 6)
        .says("malformed")
        .run();
}

#[test]
fn a_message_nested_ten_thousand_multiparts_deep_reads_in_bounded_time() {
    let depth = 10_000;
    let mut message = String::from("From: deep@example.org\r\nSubject: deep\r\n");
    for i in 0..depth {
        message.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    message.push_str("Content-Type: text/plain\r\n\r\nthe bottom\r\n");
    for i in (0..depth).rev() {
        message.push_str(&format!("--b{i}--\r\n"));
    }
    let fetch = format!(
        "* 1 FETCH (UID 1 FLAGS () RFC822.SIZE {len} INTERNALDATE \"04-Mar-2025 10:00:00 +0000\" \
         BODY[] {{{len}}}\r\n{message})\r\n",
        len = message.len()
    );
    let script = Script::session(CAPS)
        .expect_command("EXAMINE")
        .line("* 1 EXISTS")
        .line("* OK [UIDVALIDITY 7] ok")
        .tagged("OK [READ-ONLY] EXAMINE done")
        .expect(r"(?i)^\S+ FETCH 1 ")
        .send(fetch)
        .tagged("OK Fetch completed.");
    let (out, _) = Case::new(script.logout(), "getAll", 0).run();
    let rows = out.rows();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0].get("SUBJECT").and_then(Value::as_str), Some("deep"));
}

// ---- large messages read as they arrive --------------------------------------------------------

/// EXAMINE of a folder of one message, up to getAll's `FETCH 1`.
fn one_message_session() -> Script {
    Script::session(CAPS)
        .expect_command("EXAMINE")
        .line("* 1 EXISTS")
        .line("* OK [UIDVALIDITY 7] ok")
        .tagged("OK [READ-ONLY] EXAMINE done")
        .expect(r"(?i)^\S+ FETCH 1 ")
}

/// A message of `len` decoded bytes in one base64 attachment, `big.bin`.
fn big_attachment(len: usize) -> (String, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|i| (i * 31 + i / 997) as u8).collect();
    let message = format!(
        "From: big@example.org\r\nSubject: arriving\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nsee the file\r\n--b\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"big.bin\"\r\n\r\n{}--b--\r\n",
        cfimap_tests::mail::base64_lines(&data)
    );
    (message, data)
}

/// getAll against `script`, saving attachments into a fresh directory, expected to end with
/// `exit`: the run and the directory.
fn saving_get_all(script: Script, exit: i32) -> (CliOutput, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = Case::new(script, "getAll", exit)
        .args(&["--attachmentpath", dir.path().to_str().unwrap()])
        .run();
    (out, dir)
}

/// The names in `dir`.
fn files_in(dir: &tempfile::TempDir) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect()
}

#[test]
fn a_drop_inside_a_large_message_read_as_it_arrives_leaves_no_file() {
    let (message, _) = big_attachment(3 << 20);
    let cut = message.len() * 2 / 3;
    let script = one_message_session()
        .send(format!(
            "* 1 FETCH (UID 1 BODY[] {{{}}}\r\n{}",
            message.len(),
            &message[..cut]
        ))
        .close();
    let (out, dir) = saving_get_all(script, 3);
    assert_eq!(
        out.stdout.trim(),
        "",
        "no row from a message cut off\n{out}"
    );
    let left = files_in(&dir);
    assert!(
        left.is_empty(),
        "the file started as it arrived is gone: {left:?}"
    );
}

#[test]
fn items_after_a_large_literal_read_as_it_arrives_are_read_too() {
    // The literal first, UID and FLAGS after it, and the tagged OK in the same piece: framing
    // goes on past what stands in for the literal.
    let (message, data) = big_attachment(2 << 20);
    let script = one_message_session()
        .send(format!(
            "* 1 FETCH (BODY[] {{{}}}\r\n{message} UID 9 FLAGS (\\Seen))\r\n",
            message.len()
        ))
        .tagged("OK Fetch completed.");
    // The directory lives as long as the files are read.
    let (out, _dir) = saving_get_all(script.logout(), 0);
    let rows = out.rows();
    assert_eq!(rows.len(), 1, "{out}");
    let row = &rows[0];
    assert_eq!(row.get("UID").and_then(Value::as_u64), Some(9), "{out}");
    assert_eq!(
        row.get("SEEN").and_then(Value::as_bool),
        Some(true),
        "{out}"
    );
    assert_eq!(
        row.get("SIZE").and_then(Value::as_u64),
        Some(message.len() as u64),
        "the size is the whole message's, not what stood in for it"
    );
    let files: Vec<&str> = row
        .get("ATTACHMENTFILES")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(files.len(), 1, "{out}");
    assert!(
        std::fs::read(files[0]).unwrap() == data,
        "the file is the attachment"
    );
}

#[test]
fn a_second_body_after_a_large_one_read_as_it_arrives_is_the_message() {
    // Two BODY[] items in one FETCH: the last is the message (as for any response), and what
    // was written of the first as it arrived is dropped.
    let (large, _) = big_attachment(2 << 20);
    let small = "From: small@example.org\r\nSubject: the second\r\n\r\nsmall\r\n";
    let script = one_message_session()
        .send(format!(
            "* 1 FETCH (UID 1 BODY[] {{{}}}\r\n{large} BODY[] {{{}}}\r\n{small})\r\n",
            large.len(),
            small.len()
        ))
        .tagged("OK Fetch completed.");
    let (out, dir) = saving_get_all(script.logout(), 0);
    let rows = out.rows();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(
        rows[0].get("SUBJECT").and_then(Value::as_str),
        Some("the second"),
        "{out}"
    );
    let left = files_in(&dir);
    assert!(left.is_empty(), "nothing of the first is saved: {left:?}");
}

// ---- STARTTLS ---------------------------------------------------------------------------------

#[test]
fn plaintext_injected_after_the_starttls_answer_is_refused_before_login() {
    let script = Script::new()
        .line("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready")
        .expect_command("STARTTLS")
        // The answer and the injected line in one piece: the component reads both at once.
        .step(Step::SendTagged(
            b"OK Begin TLS negotiation now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"
                .to_vec(),
        ))
        .stall(Duration::from_secs(10));
    let (_, server) = Case::new(script, "open", 6)
        .secure("starttls")
        .says("injection")
        .run();
    assert!(!sent(&server).contains("LOGIN"), "no credentials sent");
}

#[test]
fn starttls_refused_by_a_server_that_offered_it_sends_no_credentials() {
    let script = Script::new()
        .line("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready")
        .expect_command("STARTTLS")
        .tagged("NO [UNAVAILABLE] TLS is broken today")
        .stall(Duration::from_secs(10));
    let (_, server) = Case::new(script, "open", 5)
        .secure("starttls")
        .says("STARTTLS")
        .says("TLS is broken today")
        .run();
    assert!(!sent(&server).contains("LOGIN"), "no credentials sent");
}

// ---- capabilities that lie --------------------------------------------------------------------

#[test]
fn move_advertised_then_refused_keeps_every_original() {
    let archive = Script::session("IMAP4rev1 UIDPLUS MOVE")
        .expect(r#"(?i)^\S+ LIST "" "?Archive"?$"#)
        .line(r#"* LIST (\HasNoChildren) "/" Archive"#)
        .tagged("OK List completed.");
    let script = archive
        .select_inbox(3)
        .expect(r"(?i)^\S+ UID SEARCH UID 1:3$")
        .line("* SEARCH 1 2 3")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID MOVE 1:3 .?Archive.?$")
        .tagged("BAD Unknown command MOVE");
    let (_, server) = Case::new(script.logout(), "moveMail", 5)
        .args(&["--uid", "1,2,3", "--newfolder", "Archive"])
        .says("MOVE")
        .run();
    let sent = sent(&server);
    assert!(!sent.contains("STORE"), "no original flagged:\n{sent}");
    assert!(!sent.contains("EXPUNGE"), "no original removed:\n{sent}");
}

#[test]
fn uidplus_advertised_then_uid_expunge_refused_never_falls_back_to_expunge() {
    let script = change_session("IMAP4rev1 UIDPLUS")
        .expect(r"(?i)^\S+ UID SEARCH UID 2$")
        .line("* SEARCH 2")
        .tagged("OK Search completed.")
        .expect(r"(?i)^\S+ UID STORE 2 \+FLAGS\.SILENT \(\\Deleted\)$")
        .tagged("OK Store completed.")
        .expect(r"(?i)^\S+ UID EXPUNGE 2$")
        .tagged("BAD Unknown command");
    let (_, server) = Case::new(script.logout(), "delete", 5)
        .args(&["--uid", "2"])
        .says("EXPUNGE")
        .run();
    // A plain EXPUNGE would also remove messages others flagged \Deleted.
    let plain_expunge = server
        .transcripts()
        .iter()
        .flat_map(|t| t.commands.clone())
        .any(|c| c.to_uppercase().ends_with(" EXPUNGE") || c.to_uppercase().contains(" CLOSE"));
    assert!(!plain_expunge, "no EXPUNGE or CLOSE of the whole folder");
}

// ---- NO and BAD, by the CLI's statuses --------------------------------------------------------

#[test]
fn login_refused_with_authenticationfailed_is_exit_4() {
    let script = Script::new()
        .line(&format!("* OK [CAPABILITY {CAPS}] ready"))
        .expect(r"(?i)^\S+ (LOGIN|AUTHENTICATE)( |$)")
        .tagged("NO [AUTHENTICATIONFAILED] Authentication failed.");
    Case::new(script, "open", 4)
        .says("Authentication failed")
        .run();
}

#[test]
fn examine_refused_with_nonexistent_is_a_missing_folder() {
    let script = Script::session(CAPS)
        .expect_command("EXAMINE")
        .tagged("NO [NONEXISTENT] Mailbox doesn't exist: Gone");
    Case::new(script.logout(), "getHeaderOnly", 5)
        .args(&["--folder", "Gone"])
        .says("not found")
        .run();
}

#[test]
fn a_bad_answer_to_a_read_is_a_refusal_naming_the_command() {
    let script = read_session().tagged("BAD Error in IMAP command FETCH: Invalid arguments");
    Case::new(script.logout(), "getHeaderOnly", 5)
        .says("Invalid arguments")
        .run();
}

// ---- the host library: typed response codes and the transport's STARTTLS check -----------------

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread Tokio runtime")
        .block_on(f)
}

/// Opens a session on `server` and reads INBOX with the host library.
fn library_read(server: &FaultServer) -> Result<usize, Error> {
    library_rows(server, &Selection::All, &ReadOptions::default()).map(|rows| rows.len())
}

/// Opens a session on `server` and reads `selection` of INBOX with the host library's
/// whole-list getHeaderOnly.
fn library_rows(
    server: &FaultServer,
    selection: &Selection,
    read: &ReadOptions,
) -> Result<Vec<MessageRow>, Error> {
    let runtime = Runtime::new(RuntimeOptions::new(Policy::only(
        "127.0.0.1",
        server.port(),
    )))
    .expect("Runtime::new");
    let options = ConnectOptions {
        port: Some(server.port()),
        secure: Some(Security::None),
        timeout: Some(5),
        ..ConnectOptions::new("127.0.0.1", "joe", Credentials::Password(PASSWORD.into()))
    };
    block_on(async {
        let mut session = runtime.open(&options).await?;
        session.get_header_only(None, selection, read).await
    })
}

#[test]
fn the_whole_list_places_a_message_never_answered_by_its_key() {
    // (script, selection, newest first, the rows' (MESSAGENUMBER, UID) in order): a failed
    // row knows the key it was asked by, the other number is 0 where the server never said
    // it, and the list is in the folder's order by that key all the same.
    let cases = [
        (
            unasked_number_answers(),
            Selection::All,
            false,
            [(1, 1), (2, 0), (3, 3)],
        ),
        (
            unasked_number_answers(),
            Selection::All,
            true,
            [(3, 3), (2, 0), (1, 1)],
        ),
        (
            wrong_uid_answers(),
            Selection::Uids(vec![1, 2, 3]),
            false,
            [(1, 1), (0, 2), (3, 3)],
        ),
        (
            wrong_uid_answers(),
            Selection::Uids(vec![1, 2, 3]),
            true,
            [(3, 3), (0, 2), (1, 1)],
        ),
    ];
    for (script, selection, newest, expected) in cases {
        let mut read = ReadOptions {
            stoponerror: false,
            ..ReadOptions::default()
        };
        if newest {
            read = read.newest_first();
        }
        let server = FaultServer::start(script);
        let rows = library_rows(&server, &selection, &read).expect("the read");
        let keys: Vec<(u32, u32)> = rows.iter().map(|r| (r.messagenumber, r.uid)).collect();
        assert_eq!(keys, expected, "{selection:?}, newest first: {newest}");
        let failed: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].error.is_some())
            .collect();
        assert_eq!(
            failed,
            [1],
            "only the message never answered failed: {rows:?}"
        );
    }
}

#[test]
fn every_response_code_of_a_refusal_reaches_the_host_typed() {
    let codes = [
        ("ALERT", ResponseCode::Alert),
        ("BADCHARSET", ResponseCode::Badcharset),
        ("PARSE", ResponseCode::Parse),
        ("UNAVAILABLE", ResponseCode::Unavailable),
        ("AUTHORIZATIONFAILED", ResponseCode::Authorizationfailed),
        ("EXPIRED", ResponseCode::Expired),
        ("PRIVACYREQUIRED", ResponseCode::Privacyrequired),
        ("CONTACTADMIN", ResponseCode::Contactadmin),
        ("NOPERM", ResponseCode::Noperm),
        ("INUSE", ResponseCode::Inuse),
        ("EXPUNGEISSUED", ResponseCode::Expungeissued),
        ("CORRUPTION", ResponseCode::Corruption),
        ("SERVERBUG", ResponseCode::Serverbug),
        ("CLIENTBUG", ResponseCode::Clientbug),
        ("CANNOT", ResponseCode::Cannot),
        ("LIMIT", ResponseCode::Limit),
        ("OVERQUOTA", ResponseCode::Overquota),
        (
            "X-VENDOR-THING",
            ResponseCode::Other("X-VENDOR-THING".into()),
        ),
    ];
    for (status, word) in [(CommandStatus::No, "NO"), (CommandStatus::Bad, "BAD")] {
        for (atom, code) in &codes {
            let script = read_session().tagged(&format!("{word} [{atom}] refused for a reason"));
            let server = FaultServer::start(script.logout());
            match library_read(&server) {
                Err(Error::ServerRefused {
                    command,
                    status: got_status,
                    code: got_code,
                    text,
                }) => {
                    assert_eq!(got_status, status, "{word} [{atom}]");
                    assert_eq!(got_code.as_ref(), Some(code), "{word} [{atom}]");
                    assert!(command.to_uppercase().contains("FETCH"), "{command}");
                    assert!(text.contains("refused for a reason"), "{text}");
                }
                other => panic!("{word} [{atom}]: expected ServerRefused, got {other:?}"),
            }
        }
    }
}

#[test]
fn response_codes_with_a_meaning_of_their_own_become_their_own_errors() {
    // Login refused: AuthenticationFailed whatever the code.
    for code in ["AUTHENTICATIONFAILED", "EXPIRED", "CONTACTADMIN"] {
        let server = FaultServer::start(
            Script::new()
                .line(&format!("* OK [CAPABILITY {CAPS}] ready"))
                .expect(r"(?i)^\S+ (LOGIN|AUTHENTICATE)( |$)")
                .tagged(&format!("NO [{code}] no")),
        );
        let err = library_read(&server).unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationFailed(_)),
            "[{code}]: {err:?}"
        );
    }
    // The folder refused with NONEXISTENT: FolderNotFound.
    let server = FaultServer::start(
        Script::session(CAPS)
            .expect_command("EXAMINE")
            .tagged("NO [NONEXISTENT] Mailbox doesn't exist")
            .logout(),
    );
    let err = library_read(&server).unwrap_err();
    assert!(matches!(err, Error::FolderNotFound(_)), "{err:?}");
}

/// A library session on `server` with `deadline`, and the time its read took.
fn library_read_within(
    server: &FaultServer,
    deadline: Duration,
    whole: bool,
) -> (Result<usize, Error>, Duration) {
    let runtime = Runtime::new(RuntimeOptions {
        deadline: Some(deadline),
        ..RuntimeOptions::new(Policy::only("127.0.0.1", server.port()))
    })
    .expect("Runtime::new");
    let options = ConnectOptions {
        port: Some(server.port()),
        secure: Some(Security::None),
        timeout: Some(30),
        ..ConnectOptions::new("127.0.0.1", "joe", Credentials::Password(PASSWORD.into()))
    };
    block_on(async {
        let mut session = match runtime.open(&options).await {
            Ok(s) => s,
            Err(e) => return (Err(e), Duration::ZERO),
        };
        let started = std::time::Instant::now();
        let result = if whole {
            session
                .get_all(None, &Selection::All, &ReadOptions::default())
                .await
        } else {
            session
                .get_header_only(None, &Selection::All, &ReadOptions::default())
                .await
        };
        (result.map(|rows| rows.len()), started.elapsed())
    })
}

#[test]
fn a_trickling_server_cannot_hold_a_call_past_its_deadline_by_a_second() {
    let line = header_fetch(1, 1, true);
    let server = FaultServer::start(trickle(
        read_session(),
        &line.repeat(50),
        Duration::from_millis(50),
    ));
    let (result, took) = library_read_within(&server, Duration::from_secs(1), false);
    assert!(
        matches!(result, Err(Error::Timeout(ref m)) if m.contains("deadline")),
        "{result:?}"
    );
    assert!(
        took < Duration::from_secs(2),
        "deadline 1 s, the call took {took:?}"
    );
}
