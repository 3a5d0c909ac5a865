//! Helpers shared by the conformance test targets: running the CLI for an account, reading
//! listAllFolders rows, and checking the server's state with the raw client (never through the
//! product).
//!
//! Included with `mod common;`; not every target uses every helper.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use cfimap_tests::account::Account;
use cfimap_tests::cli::{CliOutput, cfimap};
use cfimap_tests::dovecot::{Dovecot, Flavor};
use cfimap_tests::imap::{Client, ListEntry, Status};
use cfimap_tests::mail::Message;
use cfimap_tests::target;
use serde_json::{Map, Value};

/// One JSON row of the CLI.
pub type Row = Map<String, Value>;

/// The columns of listAllFolders, exactly.
pub const FOLDER_COLUMNS: [&str; 9] = [
    "FULLNAME",
    "NAME",
    "PARENT",
    "DELIMITER",
    "TOTALMESSAGES",
    "UNREAD",
    "NEW",
    "ATTRIBUTES",
    "SPECIALUSE",
];

/// The accounts a folder test runs on: a fresh user of each private flavor whose namespace
/// differs (Default: `/`, no prefix; Courier: `.`, prefix `INBOX.`), or the one external account
/// when `CFIMAP_TEST_SERVER` is set.
pub fn accounts() -> Vec<Account> {
    if target::is_external() {
        return vec![target::account()];
    }
    [Flavor::Default, Flavor::Courier]
        .into_iter()
        .map(|f| Dovecot::shared(f).user())
        .collect()
}

/// The private flavors of [`accounts`] (Default and Courier), whatever the target: for tests
/// that need the private servers (ignored when the suite is built for an external one).
pub fn private_accounts() -> Vec<Account> {
    [Flavor::Default, Flavor::Courier]
        .into_iter()
        .map(|f| Dovecot::shared(f).user())
        .collect()
}

/// A short description of the account's namespace, for assertion messages.
pub fn label(account: &Account) -> String {
    format!(
        "[{} delimiter {:?} prefix {:?}]",
        account.username, account.delimiter, account.prefix
    )
}

/// `cfimap <action> <connection of account> --format json <extra>`, over the most secure mode
/// the account offers.
pub fn run(account: &Account, action: &str, extra: &[&str]) -> CliOutput {
    cfimap([action])
        .args(account.cli_args(account.best_secure()))
        .args(["--format", "json"])
        .args(extra)
        .run()
}

/// Runs `action` and panics (showing the run) unless it exits 0.
pub fn ok(account: &Account, action: &str, extra: &[&str]) -> CliOutput {
    let out = run(account, action, extra);
    assert_eq!(
        out.code,
        Some(0),
        "{} expected success\n{out}",
        label(account)
    );
    out
}

/// Runs `action` and panics unless it exits with `code`; returns the run.
pub fn fails(account: &Account, action: &str, extra: &[&str], code: i32) -> CliOutput {
    let out = run(account, action, extra);
    assert_eq!(
        out.code,
        Some(code),
        "{} expected exit {code}\n{out}",
        label(account)
    );
    assert!(
        out.stdout.trim().is_empty() || out.stdout.trim() == "[]",
        "{} a failed action prints no result\n{out}",
        label(account)
    );
    assert!(
        !out.stderr.trim().is_empty(),
        "{} a failed action says why on stderr\n{out}",
        label(account)
    );
    out
}

/// `listAllFolders <extra>` rows (must succeed).
pub fn list(account: &Account, extra: &[&str]) -> Vec<Row> {
    ok(account, "listAllFolders", extra).rows()
}

/// The FULLNAME of every row, in order.
pub fn fullnames(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r.get("FULLNAME")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("row without a FULLNAME string: {r:?}"))
                .to_string()
        })
        .collect()
}

/// The row whose FULLNAME is `fullname`; panics listing what there is.
pub fn row<'a>(rows: &'a [Row], fullname: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.get("FULLNAME").and_then(Value::as_str) == Some(fullname))
        .unwrap_or_else(|| panic!("no row {fullname:?} in {:?}", fullnames(rows)))
}

/// `(TOTALMESSAGES, UNREAD, NEW)` of a row, `None` for JSON null.
pub fn counts(row: &Row) -> (Option<u64>, Option<u64>, Option<u64>) {
    let n = |k: &str| match row.get(k) {
        Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .unwrap_or_else(|| panic!("{k} is not a whole number: {row:?}")),
        ),
        None => panic!("row without {k}: {row:?}"),
    };
    (n("TOTALMESSAGES"), n("UNREAD"), n("NEW"))
}

/// The ATTRIBUTES of a row.
pub fn attributes(row: &Row) -> Vec<String> {
    match row.get("ATTRIBUTES") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .unwrap_or_else(|| panic!("attribute is not a string: {row:?}"))
                    .to_string()
            })
            .collect(),
        other => panic!("ATTRIBUTES is not an array: {other:?} in {row:?}"),
    }
}

/// A text column of a row (panics on anything but a string).
pub fn text<'a>(row: &'a Row, column: &str) -> &'a str {
    row.get(column)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{column} is not a string in {row:?}"))
}

/// The wire name of the folder at `/` path `rel` of this test (INBOX is always `INBOX`, also on
/// an external account whose test folders live under a scratch folder).
pub fn wire(account: &Account, rel: &str) -> String {
    if rel.eq_ignore_ascii_case("INBOX") {
        "INBOX".into()
    } else {
        account.wire_name(rel)
    }
}

/// The raw client, logged in.
pub fn raw(account: &Account) -> Client {
    account
        .connect()
        .unwrap_or_else(|e| panic!("{} raw client: {e}", label(account)))
}

/// Every folder the server lists (`LIST "" "*"`), as wire names with attributes.
pub fn raw_list(account: &Account) -> Vec<ListEntry> {
    let mut client = raw(account);
    let all = client
        .list("", "*")
        .unwrap_or_else(|e| panic!("{} LIST: {e}", label(account)));
    let _ = client.logout();
    all
}

/// The wire names of [`raw_list`], sorted.
pub fn raw_names(account: &Account) -> Vec<String> {
    let mut names: Vec<String> = raw_list(account).into_iter().map(|e| e.name).collect();
    names.sort();
    names
}

/// The wire names of the folders this test may touch, sorted: everything on the private
/// Dovecot (the user is the test's own), the scratch folder and what is under it on an external
/// account (other tests share it). For "nothing else changed" comparisons.
pub fn own_names(account: &Account) -> Vec<String> {
    let names = raw_names(account);
    match &account.scratch {
        None => names,
        Some(_) => {
            let root = account.wire_name("");
            let below = format!("{root}{}", account.delimiter);
            names
                .into_iter()
                .filter(|n| *n == root || n.starts_with(&below))
                .collect()
        }
    }
}

/// The LIST entry of the folder at `/` path `rel`, if the server has it.
pub fn raw_entry(account: &Account, rel: &str) -> Option<ListEntry> {
    let wire = wire(account, rel);
    raw_list(account).into_iter().find(|e| e.name == wire)
}

/// Asserts the folder at `rel` exists as a real, selectable folder: listed without
/// `\Noselect`/`\NonExistent`, and STATUS works on it. Returns its STATUS.
pub fn assert_real_folder(account: &Account, rel: &str) -> Status {
    let entry = raw_entry(account, rel).unwrap_or_else(|| {
        panic!(
            "{} {:?} ({}) is not on the server: {:?}",
            label(account),
            rel,
            wire(account, rel),
            raw_names(account)
        )
    });
    assert!(
        !entry.has("\\Noselect") && !entry.has("\\NonExistent"),
        "{} {rel:?} must be a real folder, not a placeholder: {entry:?}",
        label(account)
    );
    let mut client = raw(account);
    let status = client
        .status(&wire(account, rel))
        .unwrap_or_else(|e| panic!("{} STATUS {rel:?}: {e}", label(account)));
    let _ = client.logout();
    status
}

/// Asserts the server has no folder at `rel`.
pub fn assert_absent(account: &Account, rel: &str) {
    let wire = account.wire_name(rel);
    let names = raw_names(account);
    assert!(
        !names.contains(&wire),
        "{} {rel:?} ({wire}) must not exist: {names:?}",
        label(account)
    );
}

/// STATUS of the folder at `rel` with the raw client.
pub fn raw_status(account: &Account, rel: &str) -> Status {
    let mut client = raw(account);
    let s = client
        .status(&wire(account, rel))
        .unwrap_or_else(|e| panic!("{} STATUS {rel:?}: {e}", label(account)));
    let _ = client.logout();
    s
}

/// Creates the folder at `rel` (parents first, with explicit CREATEs) and appends `seen`
/// messages flagged `\Seen` and `unseen` without, with the raw client.
pub fn seed(account: &Account, rel: &str, seen: usize, unseen: usize) {
    let mut client = raw(account);
    if !rel.eq_ignore_ascii_case("INBOX") {
        account
            .seed_folder(&mut client, rel)
            .unwrap_or_else(|e| panic!("{} create {rel:?}: {e}", label(account)));
    }
    let wire = wire(account, rel);
    for i in 0..seen + unseen {
        let flags: &[&str] = if i < seen { &["\\Seen"] } else { &[] };
        let msg = Message::new(&format!("{rel} message {i}"), "body\n").to_bytes();
        client
            .append(&wire, flags, &msg)
            .unwrap_or_else(|e| panic!("{} APPEND to {rel:?}: {e}", label(account)));
    }
    let _ = client.logout();
}

/// `true` if `ancestor` is a proper ancestor of `folder` (both full names, `delimiter`).
pub fn is_ancestor(ancestor: &str, folder: &str, delimiter: char) -> bool {
    folder
        .strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with(delimiter))
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The folders a summary object says were changed.
pub fn summary_folders(out: &CliOutput) -> Vec<String> {
    match &out.json()["folders"] {
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .unwrap_or_else(|| panic!("folders holds a non-string\n{out}"))
                    .to_string()
            })
            .collect(),
        other => panic!("folders is not an array: {other}\n{out}"),
    }
}

/// Creates each of `names` (`/` paths, Unicode) on every account of [`accounts`], checks the
/// server holds it under its modified UTF-7 wire name as a real folder, that listAllFolders
/// shows it decoded with empty counts, and that its FULLNAME is accepted back by renameFolder
/// (messages kept) and deleteFolder.
pub fn names_round_trip_through_every_folder_action(names: &[&str]) {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        if account.scratch.is_some() {
            seed(&account, "", 0, 0);
        }
        for &name in names {
            ok(&account, "createFolder", &["--folder", &account.path(name)]);
            // The server has it under the right modified UTF-7 wire name, as a real folder.
            assert_real_folder(&account, name);
        }
        let rows: Vec<Row> = if account.scratch.is_some() {
            list(&account, &["--folder", &account.path(""), "--recurse"])
        } else {
            list(&account, &["--recurse"])
        };
        for &name in names {
            let full = account.full_name(name);
            let r = row(&rows, &full);
            let last = name.rsplit('/').next().unwrap();
            assert_eq!(text(r, "NAME"), last, "{l} {r:?}");
            assert_eq!(counts(r), (Some(0), Some(0), Some(0)), "{l} {r:?}");
        }
        // No row shows a wire name instead of the Unicode one.
        let listed = fullnames(&rows);
        for &name in names {
            let wire = account.wire_name(name);
            if wire != account.full_name(name) {
                assert!(
                    !listed.contains(&wire),
                    "{l} FULLNAMEs must be decoded, found {wire:?}: {listed:?}"
                );
            }
        }

        // The FULLNAME is accepted back: rename by FULLNAME, then delete by FULLNAME.
        for &name in names {
            let full = account.full_name(name);
            let renamed = format!("{name} 2");
            seed(&account, name, 1, 0);
            ok(
                &account,
                "renameFolder",
                &["--folder", &full, "--newfolder", &account.path(&renamed)],
            );
            assert_absent(&account, name);
            assert_eq!(
                assert_real_folder(&account, &renamed).messages,
                1,
                "{l} {renamed:?} keeps the message"
            );
            let out = ok(
                &account,
                "deleteFolder",
                &["--folder", &account.full_name(&renamed)],
            );
            assert_eq!(
                summary_folders(&out),
                [account.full_name(&renamed)],
                "{l}\n{out}"
            );
            assert_absent(&account, &renamed);
        }
    }
}
