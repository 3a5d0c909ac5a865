//! Conformance: the folder actions — listAllFolders, createFolder, deleteFolder, renameFolder
//! (the rules `src/imap/mailbox.rs` and `src/actions/folders.rs` document).
//!
//! Every test runs on two namespaces: the Default flavor (`/`, no prefix) and the Courier flavor
//! (`.`, prefix `INBOX.`), addressing folders as `/` paths and as FULLNAMEs. What the product
//! did is checked with the raw client (wire names in modified UTF-7), never through the product
//! itself. Against an external server (`CFIMAP_TEST_SERVER`) the tests that don't need a
//! particular configuration run on its account, under a scratch folder.

mod common;

use std::collections::BTreeSet;

use cfimap_tests::account::Account;
use cfimap_tests::cli::cfimap;
use cfimap_tests::dovecot::Flavor;
use cfimap_tests::fault::{FaultServer, Script};
use cfimap_tests::{mutf7, target};
use common::{
    Row, accounts, assert_absent, assert_real_folder, attributes, counts, fails, fullnames,
    is_ancestor, label, list, ok, own_names, private_accounts, raw, raw_entry, raw_list, raw_names,
    raw_status, row, seed, summary_folders, text,
};
use serde_json::Value;

fn set<I, S>(items: I) -> BTreeSet<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

/// The FULLNAMEs of `rels` on `account`.
fn full_set(account: &Account, rels: &[&str]) -> BTreeSet<String> {
    rels.iter().map(|r| account.full_name(r)).collect()
}

/// The Courier flavor's account (its tests are ignored when the suite is built for an external
/// server).
fn courier() -> Account {
    target::private_account(Flavor::Courier)
}

// ---- listAllFolders --------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn root_listing_has_inbox_and_top_level_folders_only_with_counts() {
    for account in private_accounts() {
        let l = label(&account);
        seed(&account, "INBOX", 1, 2);
        seed(&account, "Top", 2, 0);
        seed(&account, "Top/Nested", 0, 1);
        seed(&account, "Other", 0, 0);

        let rows = list(&account, &[]);
        let names = fullnames(&rows);
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{l} duplicate rows: {names:?}");
        for rel in ["INBOX", "Top", "Other", "Sent", "Trash", "Drafts"] {
            assert!(
                names.contains(&account.full_name(rel)),
                "{l} root listing lacks {rel}: {names:?}"
            );
        }
        assert!(
            !names.contains(&account.full_name("Top/Nested")),
            "{l} a nested folder is not top level: {names:?}"
        );
        // Only INBOX and direct children of the personal namespace.
        for name in &names {
            let below = name.strip_prefix(account.prefix.as_str()).unwrap_or(name);
            assert!(
                name == "INBOX" || !below.contains(account.delimiter),
                "{l} {name:?} is not top level: {names:?}"
            );
        }
        assert_eq!(
            counts(row(&rows, "INBOX")),
            (Some(3), Some(2), Some(3)),
            "{l} INBOX: 3 messages, 2 unseen, all recent"
        );
        assert_eq!(
            counts(row(&rows, &account.full_name("Top"))),
            (Some(2), Some(0), Some(2)),
            "{l} Top"
        );
        assert_eq!(
            counts(row(&rows, &account.full_name("Other"))),
            (Some(0), Some(0), Some(0)),
            "{l} Other"
        );
        // Listing changed nothing on the server: NEW was read, not consumed.
        let status = raw_status(&account, "INBOX");
        assert_eq!((status.messages, status.unseen, status.recent), (3, 2, 3));
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn recurse_lists_every_folder_the_server_has() {
    for account in private_accounts() {
        let l = label(&account);
        for rel in ["A/B/C", "A/D", "E", "Entwürfe/Ältere"] {
            seed(&account, rel, 0, 0);
        }
        seed(&account, "A/B/C", 1, 1);
        let rows = list(&account, &["--recurse"]);
        let listed = set(fullnames(&rows));
        // Exactly the server's own LIST "" "*", decoded.
        let server: BTreeSet<String> = raw_list(&account)
            .into_iter()
            .map(|e| mutf7::decode(&e.name).unwrap_or_else(|| panic!("bad wire name {e:?}")))
            .collect();
        assert_eq!(listed, server, "{l}");
        assert!(listed.contains(&account.full_name("A/B/C")), "{l}");
        assert!(
            listed.contains(&account.full_name("Entwürfe/Ältere")),
            "{l}"
        );
        assert_eq!(
            counts(row(&rows, &account.full_name("A/B/C"))),
            (Some(2), Some(1), Some(2)),
            "{l}"
        );
    }
}

#[test]
fn folder_lists_its_children_and_recurse_its_descendants() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "Top/Kid1", 0, 1);
        seed(&account, "Top/Kid2/Grand", 1, 0);
        seed(&account, "TopSibling/Kid", 0, 0);
        let top = account.path("Top");

        let rows = list(&account, &["--folder", &top]);
        assert_eq!(
            set(fullnames(&rows)),
            full_set(&account, &["Top/Kid1", "Top/Kid2"]),
            "{l} children of Top only (not Top, not grandchildren, not INBOX)"
        );
        let (total, unread, _) = counts(row(&rows, &account.full_name("Top/Kid1")));
        assert_eq!((total, unread), (Some(1), Some(1)), "{l}");

        let rows = list(&account, &["--folder", &top, "--recurse"]);
        assert_eq!(
            set(fullnames(&rows)),
            full_set(&account, &["Top/Kid1", "Top/Kid2", "Top/Kid2/Grand"]),
            "{l} every descendant of Top"
        );

        // The FULLNAME addresses the same folder as the / path.
        let by_fullname = list(
            &account,
            &["--folder", &account.full_name("Top"), "--recurse"],
        );
        assert_eq!(by_fullname, rows, "{l}");

        // A leaf has no children: an empty array.
        let out = ok(
            &account,
            "listAllFolders",
            &["--folder", &account.path("Top/Kid2/Grand")],
        );
        assert_eq!(out.stdout.trim(), "[]", "{l}\n{out}");
    }
}

#[test]
fn listing_a_missing_folder_exits_5() {
    for account in accounts() {
        let _cleanup = account.guard();
        seed(&account, "Here", 0, 0);
        for rel in ["Nowhere", "Here/Nowhere"] {
            let out = fails(
                &account,
                "listAllFolders",
                &["--folder", &account.path(rel)],
                5,
            );
            assert!(
                out.stderr.to_lowercase().contains("not found")
                    || out.stderr.to_lowercase().contains("no folder")
                    || out.stderr.to_lowercase().contains("does not exist"),
                "{} the error must say the folder is missing\n{out}",
                label(&account)
            );
        }
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_noselect_placeholder_is_listed_without_counts_and_descended_into() {
    let account = courier();
    // Maildir++: creating INBOX.P.Q leaves INBOX.P a \Noselect placeholder.
    let mut client = raw(&account);
    client.create("INBOX.P.Q").unwrap();
    client.logout().unwrap();
    let placeholder = raw_entry(&account, "P").expect("INBOX.P is listed");
    assert!(
        placeholder.has("\\Noselect"),
        "precondition: the server made INBOX.P a placeholder: {placeholder:?}"
    );

    let rows = list(&account, &[]);
    let p = row(&rows, "INBOX.P");
    assert_eq!(
        counts(p),
        (None, None, None),
        "a \\Noselect folder has no counts"
    );
    assert!(
        attributes(p)
            .iter()
            .any(|a| a.eq_ignore_ascii_case("\\Noselect")),
        "{p:?}"
    );

    let rows = list(&account, &["--recurse"]);
    assert_eq!(counts(row(&rows, "INBOX.P.Q")), (Some(0), Some(0), Some(0)));
    assert_eq!(counts(row(&rows, "INBOX.P")), (None, None, None));

    let rows = list(&account, &["--folder", "P"]);
    assert_eq!(fullnames(&rows), ["INBOX.P.Q"]);
    let rows = list(&account, &["--folder", "INBOX.P"]);
    assert_eq!(fullnames(&rows), ["INBOX.P.Q"]);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn special_use_folders_are_marked() {
    for account in private_accounts() {
        let l = label(&account);
        seed(&account, "Plain", 0, 0);
        let rows = list(&account, &[]);
        for (rel, use_) in [
            ("Sent", "\\Sent"),
            ("Trash", "\\Trash"),
            ("Drafts", "\\Drafts"),
        ] {
            let r = row(&rows, &account.full_name(rel));
            assert_eq!(r["SPECIALUSE"], use_, "{l} {rel}: {r:?}");
        }
        for rel in ["INBOX", "Plain"] {
            let r = row(&rows, &account.full_name(rel));
            assert_eq!(r["SPECIALUSE"], Value::Null, "{l} {rel}: {r:?}");
        }
    }
}

#[test]
fn name_parent_and_delimiter_columns() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "Top/Mid/Leaf", 0, 0);
        let rows = list(&account, &["--folder", &account.path("Top"), "--recurse"]);
        let delimiter = account.delimiter.to_string();
        for (rel, name, parent) in [("Top/Mid", "Mid", "Top"), ("Top/Mid/Leaf", "Leaf", "Mid")] {
            let r = row(&rows, &account.full_name(rel));
            assert_eq!(text(r, "NAME"), name, "{l} NAME of {rel}: {r:?}");
            assert_eq!(
                text(r, "PARENT"),
                parent,
                "{l} PARENT is the parent's NAME: {r:?}"
            );
            assert_eq!(text(r, "DELIMITER"), delimiter, "{l} {r:?}");
        }
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn inbox_and_top_level_folders_have_the_parent_the_tag_reports() {
    // INBOX has no parent; a folder at the top of the personal namespace has none on a server
    // without a prefix, and on a Courier-style server it sits under INBOX in the server's own
    // hierarchy (`INBOX.Solo`), so its parent is INBOX, as the tag (Lucee/JavaMail) reports it.
    for account in private_accounts() {
        let l = label(&account);
        seed(&account, "Solo", 0, 0);
        let rows = list(&account, &[]);
        let inbox = row(&rows, "INBOX");
        assert_eq!(text(inbox, "NAME"), "INBOX", "{l} {inbox:?}");
        assert_eq!(
            text(inbox, "PARENT"),
            "",
            "{l} INBOX has no parent: {inbox:?}"
        );
        let solo = row(&rows, &account.full_name("Solo"));
        assert_eq!(text(solo, "NAME"), "Solo", "{l} {solo:?}");
        let parent = account
            .prefix
            .strip_suffix(account.delimiter)
            .unwrap_or(&account.prefix);
        assert_eq!(
            text(solo, "PARENT"),
            parent,
            "{l} PARENT of a top-level folder: {solo:?}"
        );
    }
}

#[test]
fn json_ndjson_and_csv_shapes() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "Shape/Kid", 0, 1);
        let folder = account.path("Shape");

        // listAllFolders --format json: an array of objects with exactly the nine columns.
        let out = ok(
            &account,
            "listAllFolders",
            &["--folder", &folder, "--recurse"],
        );
        let rows: Vec<Row> = out.rows();
        assert_eq!(rows.len(), 1, "{l}\n{out}");
        for r in &rows {
            assert_eq!(
                set(r.keys().cloned()),
                set(common::FOLDER_COLUMNS),
                "{l} exactly the listAllFolders columns: {r:?}"
            );
            assert!(r["FULLNAME"].is_string() && r["NAME"].is_string());
            assert!(r["PARENT"].is_string() && r["DELIMITER"].is_string());
            for k in ["TOTALMESSAGES", "UNREAD", "NEW"] {
                assert!(r[k].is_u64() || r[k].is_null(), "{k}: {r:?}");
            }
            assert!(
                r["ATTRIBUTES"]
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string))
            );
            assert!(r["SPECIALUSE"].is_string() || r["SPECIALUSE"].is_null());
        }

        // ndjson: the same rows, one object per line.
        let nd = cfimap([
            "listAllFolders",
            "--format",
            "ndjson",
            "--folder",
            &folder,
            "--recurse",
        ])
        .args(account.cli_args(account.best_secure()))
        .run();
        nd.assert_success();
        assert_eq!(nd.stdout.lines().count(), rows.len(), "{l}\n{nd}");
        let nd_rows: Vec<Value> = nd.ndjson();
        assert_eq!(
            nd_rows,
            rows.iter().cloned().map(Value::Object).collect::<Vec<_>>(),
            "{l}"
        );

        // csv: a header with the columns in the tag's order, then one line per row.
        let csv = cfimap(["listAllFolders", "--format", "csv", "--folder", &folder])
            .args(account.cli_args(account.best_secure()))
            .run();
        csv.assert_success();
        let mut lines = csv.stdout.lines();
        assert_eq!(
            lines.next(),
            Some(common::FOLDER_COLUMNS.join(",").as_str()),
            "{csv}"
        );
        assert_eq!(lines.filter(|x| !x.is_empty()).count(), 1, "{csv}");

        // createFolder: one object saying what was done.
        let new = account.path("Shape/New/Deeper");
        let out = ok(&account, "createFolder", &["--folder", &new]);
        let summary = out.json();
        let obj = summary
            .as_object()
            .unwrap_or_else(|| panic!("not an object\n{out}"));
        assert_eq!(
            set(obj.keys().cloned()),
            set(["action", "folder", "affected", "folders"]),
            "{l}\n{out}"
        );
        assert_eq!(obj["action"], "createFolder");
        assert_eq!(obj["folder"], new.as_str());
        assert_eq!(obj["affected"], 2);
        assert_eq!(
            summary_folders(&out),
            [
                account.full_name("Shape/New"),
                account.full_name("Shape/New/Deeper")
            ]
        );
        // ndjson of an action without rows: that one object on one line.
        let nd = cfimap([
            "createFolder",
            "--format",
            "ndjson",
            "--folder",
            &account.path("Shape/Nd"),
        ])
        .args(account.cli_args(account.best_secure()))
        .run();
        nd.assert_success();
        assert_eq!(nd.stdout.lines().count(), 1, "{nd}");
        assert_eq!(nd.ndjson()[0]["action"], "createFolder");

        // renameFolder and deleteFolder summaries.
        let out = ok(
            &account,
            "renameFolder",
            &[
                "--folder",
                &account.path("Shape/Nd"),
                "--newfolder",
                &account.path("Shape/Nd2"),
            ],
        );
        let s = out.json();
        assert_eq!(s["action"], "renameFolder", "{out}");
        assert_eq!(s["folder"], account.path("Shape/Nd").as_str(), "{out}");
        assert_eq!(s["newfolder"], account.path("Shape/Nd2").as_str(), "{out}");
        assert_eq!(summary_folders(&out), [account.full_name("Shape/Nd2")]);
        let out = ok(
            &account,
            "deleteFolder",
            &["--folder", &account.path("Shape/Nd2")],
        );
        let s = out.json();
        assert_eq!(s["action"], "deleteFolder", "{out}");
        assert_eq!(s["affected"], 1, "{out}");
        assert_eq!(summary_folders(&out), [account.full_name("Shape/Nd2")]);
    }
}

// ---- createFolder ----------------------------------------------------------------------------

#[test]
fn create_nested_makes_every_missing_parent_a_real_folder() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        if account.scratch.is_some() {
            // The scratch folder itself is the parent of everything this test makes.
            seed(&account, "", 0, 0);
        }
        let out = ok(
            &account,
            "createFolder",
            &["--folder", &account.path("A/B/C")],
        );
        assert_eq!(
            summary_folders(&out),
            [
                account.full_name("A"),
                account.full_name("A/B"),
                account.full_name("A/B/C")
            ],
            "{l} parents first, each created\n{out}"
        );
        assert_eq!(out.json()["affected"], 3, "{l}\n{out}");
        for rel in ["A", "A/B", "A/B/C"] {
            let status = assert_real_folder(&account, rel);
            assert_eq!(status.messages, 0, "{l} {rel}");
        }
        // Messages can go into a created parent.
        seed(&account, "A", 0, 1);
        assert_eq!(raw_status(&account, "A").messages, 1, "{l}");

        // Only what is missing is created.
        let out = ok(
            &account,
            "createFolder",
            &["--folder", &account.path("A/B/D")],
        );
        assert_eq!(
            summary_folders(&out),
            [account.full_name("A/B/D")],
            "{l}\n{out}"
        );
        assert_real_folder(&account, "A/B/D");
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn create_turns_a_placeholder_parent_into_a_real_folder() {
    let account = courier();
    let mut client = raw(&account);
    client.create("INBOX.P.Q").unwrap();
    client.logout().unwrap();
    assert!(
        raw_entry(&account, "P").unwrap().has("\\Noselect"),
        "precondition"
    );
    let out = ok(&account, "createFolder", &["--folder", "P/R"]);
    assert_eq!(summary_folders(&out), ["INBOX.P", "INBOX.P.R"], "{out}");
    assert_real_folder(&account, "P");
    assert_real_folder(&account, "P/R");
    assert_real_folder(&account, "P/Q");
}

/// Names that need modified UTF-7, `&` escaping, quoting, or all of them. (Names with `"`,
/// which a server may refuse, are `refusable.rs`'s.)
const SPECIAL_NAMES: [&str; 7] = [
    "Entwürfe",
    "Входящие",
    "日本語",
    "Tom & Jerry",
    "with space",
    "Projekte/日本語 & Co",
    "&-literal ~ 100% * ?",
];

#[test]
fn special_names_round_trip_through_every_folder_action() {
    common::names_round_trip_through_every_folder_action(&SPECIAL_NAMES);
}

#[test]
fn creating_an_existing_folder_exits_5_and_changes_nothing() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "Exists", 1, 1);
        seed(&account, "Exists/Kid", 0, 1);
        let before = own_names(&account);
        for folder in [account.path("Exists"), account.full_name("Exists")] {
            let out = fails(&account, "createFolder", &["--folder", &folder], 5);
            assert!(
                out.stderr.to_lowercase().contains("exist"),
                "{l} the error must say the folder exists\n{out}"
            );
        }
        for inbox in ["INBOX", "inbox"] {
            fails(&account, "createFolder", &["--folder", inbox], 5);
        }
        assert_eq!(
            own_names(&account),
            before,
            "{l} nothing created or removed"
        );
        let s = raw_status(&account, "Exists");
        assert_eq!((s.messages, s.unseen), (2, 1), "{l} messages untouched");
        assert_eq!(raw_status(&account, "Exists/Kid").messages, 1, "{l}");
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn courier_slash_paths_map_to_the_inbox_namespace() {
    let account = courier();
    let out = ok(&account, "createFolder", &["--folder", "Archive/2024"]);
    assert_eq!(
        summary_folders(&out),
        ["INBOX.Archive", "INBOX.Archive.2024"],
        "{out}"
    );
    let names = raw_names(&account);
    assert!(
        names.contains(&"INBOX.Archive".to_string())
            && names.contains(&"INBOX.Archive.2024".to_string()),
        "{names:?}"
    );
    assert_real_folder(&account, "Archive");
    assert_real_folder(&account, "Archive/2024");
    assert!(
        !names.iter().any(|n| n.contains('/')),
        "no folder may be created with a literal '/': {names:?}"
    );

    // FULLNAME INBOX.Archive.2024 and the path Archive/2024 are the same folder.
    let mut client = raw(&account);
    client
        .append(
            "INBOX.Archive.2024",
            &[],
            &cfimap_tests::mail::Message::new("x", "y").to_bytes(),
        )
        .unwrap();
    client.logout().unwrap();
    let by_path = list(&account, &["--folder", "Archive"]);
    let by_full = list(&account, &["--folder", "INBOX.Archive"]);
    assert_eq!(by_path, by_full);
    assert_eq!(fullnames(&by_path), ["INBOX.Archive.2024"]);
    assert_eq!(counts(&by_path[0]).0, Some(1));
    fails(
        &account,
        "createFolder",
        &["--folder", "INBOX.Archive.2024"],
        5,
    );

    ok(
        &account,
        "deleteFolder",
        &["--folder", "INBOX.Archive.2024"],
    );
    assert_absent(&account, "Archive/2024");
    assert_real_folder(&account, "Archive");
}

#[test]
fn folder_names_with_cr_or_lf_are_rejected_before_anything_is_sent() {
    // A server that records every byte: nothing may reach it.
    let server = FaultServer::start(
        Script::logged_in("IMAP4rev1")
            .expect_any()
            .tagged("OK")
            .expect_any()
            .tagged("OK"),
    );
    let port = server.port().to_string();
    let cases: [&[&str]; 9] = [
        &["createFolder", "--folder", "bad\r\nname"],
        &["createFolder", "--folder", "bad\nname"],
        &["createFolder", "--folder", "bad\rname"],
        &["createFolder", "--folder", "x\r\nA1 DELETE INBOX"],
        &["deleteFolder", "--folder", "bad\r\nname"],
        &[
            "renameFolder",
            "--folder",
            "ok",
            "--newfolder",
            "bad\r\nname",
        ],
        &["renameFolder", "--folder", "bad\nname", "--newfolder", "ok"],
        &["listAllFolders", "--folder", "bad\r\nname"],
        &["getHeaderOnly", "--folder", "bad\r\nname"],
    ];
    for args in cases {
        let out = cfimap(args.iter().copied())
            .args(["--server", "127.0.0.1", "--port", &port, "--secure", "no"])
            .args([
                "--username",
                "joe",
                "--password",
                "secret-1234",
                "--timeout",
                "5",
            ])
            .run();
        assert_eq!(out.code, Some(2), "{args:?} is an invalid attribute\n{out}");
        assert!(
            out.stderr.contains("folder"),
            "the error names the attribute\n{out}"
        );
        assert_eq!(out.stderr.trim().lines().count(), 1, "one line\n{out}");
    }
    assert_eq!(
        server.connections(),
        0,
        "nothing may be sent for an invalid name; the server got: {:?}",
        server.received_text()
    );

    // And against a real server nothing was created.
    for account in accounts() {
        let _cleanup = account.guard();
        let before = own_names(&account);
        fails(
            &account,
            "createFolder",
            &["--folder", &account.path("bad\r\nname")],
            2,
        );
        assert_eq!(own_names(&account), before, "{}", label(&account));
    }
}

// ---- deleteFolder ----------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn inbox_cannot_be_deleted_in_any_case() {
    for account in private_accounts() {
        let l = label(&account);
        seed(&account, "INBOX", 0, 2);
        seed(&account, "Kept", 0, 0);
        let before = own_names(&account);
        for inbox in ["INBOX", "inbox", "Inbox", "iNbOx"] {
            for recurse in [false, true] {
                let mut args = vec!["--folder", inbox];
                if recurse {
                    args.push("--recurse");
                }
                let out = fails(&account, "deleteFolder", &args, 5);
                assert!(
                    out.stderr.to_lowercase().contains("protect") || out.stderr.contains("INBOX"),
                    "{l} the error must say INBOX is protected\n{out}"
                );
            }
        }
        assert_eq!(own_names(&account), before, "{l} nothing deleted");
        assert_eq!(raw_status(&account, "INBOX").messages, 2, "{l}");
    }
}

#[test]
fn a_folder_with_children_needs_recurse() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "A/B/C", 0, 1);
        seed(&account, "A", 0, 1);
        let before = own_names(&account);
        for rel in ["A", "A/B"] {
            let out = fails(
                &account,
                "deleteFolder",
                &["--folder", &account.path(rel)],
                5,
            );
            let err = out.stderr.to_lowercase();
            assert!(
                err.contains("recurse") || err.contains("subfolder") || err.contains("children"),
                "{l} the error must say why\n{out}"
            );
        }
        assert_eq!(own_names(&account), before, "{l} nothing deleted");
        assert_eq!(raw_status(&account, "A").messages, 1);
        assert_eq!(raw_status(&account, "A/B/C").messages, 1);
    }
}

#[test]
fn recurse_deletes_deepest_first_and_spares_folders_sharing_a_prefix() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        for rel in ["A/B/C", "A/D", "AB/X", "A-B", "A B"] {
            seed(&account, rel, 0, 1);
        }
        seed(&account, "A", 0, 1);
        let out = ok(
            &account,
            "deleteFolder",
            &["--folder", &account.path("A"), "--recurse"],
        );
        let deleted = summary_folders(&out);
        assert_eq!(
            set(deleted.clone()),
            full_set(&account, &["A", "A/B", "A/B/C", "A/D"]),
            "{l}\n{out}"
        );
        assert_eq!(out.json()["affected"], 4, "{l}\n{out}");
        // Every folder is deleted after all of its descendants.
        for (i, f) in deleted.iter().enumerate() {
            for later in &deleted[i + 1..] {
                assert!(
                    !is_ancestor(f, later, account.delimiter),
                    "{l} {f:?} deleted before its descendant {later:?}: {deleted:?}"
                );
            }
        }
        for rel in ["A", "A/B", "A/B/C", "A/D"] {
            assert_absent(&account, rel);
        }
        for rel in ["AB", "AB/X", "A-B", "A B"] {
            assert_real_folder(&account, rel);
        }
        assert_eq!(raw_status(&account, "AB/X").messages, 1, "{l}");
    }
}

#[test]
fn deleting_a_missing_folder_exits_5() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "A", 0, 1);
        let before = own_names(&account);
        for rel in ["Nowhere", "A/Nowhere"] {
            for recurse in [false, true] {
                let path = account.path(rel);
                let mut args = vec!["--folder", path.as_str()];
                if recurse {
                    args.push("--recurse");
                }
                fails(&account, "deleteFolder", &args, 5);
            }
        }
        assert_eq!(own_names(&account), before, "{l}");
        assert_eq!(raw_status(&account, "A").messages, 1, "{l}");
    }
}

#[test]
fn deleting_a_nested_folder_deletes_only_it_never_its_parent() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "A", 0, 2);
        seed(&account, "A/B", 0, 1);
        seed(&account, "A/B2", 0, 1);
        let out = ok(
            &account,
            "deleteFolder",
            &["--folder", &account.path("A/B")],
        );
        assert_eq!(
            summary_folders(&out),
            [account.full_name("A/B")],
            "{l}\n{out}"
        );
        assert_absent(&account, "A/B");
        assert_eq!(
            assert_real_folder(&account, "A").messages,
            2,
            "{l} the parent and its mail survive"
        );
        assert_real_folder(&account, "A/B2");
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn recurse_deletes_a_placeholder_parent_and_its_children() {
    let account = courier();
    let mut client = raw(&account);
    client.create("INBOX.P.Q").unwrap();
    client.create("INBOX.P.R").unwrap();
    client.create("INBOX.PQ").unwrap();
    client.logout().unwrap();
    assert!(
        raw_entry(&account, "P").unwrap().has("\\Noselect"),
        "precondition"
    );
    fails(&account, "deleteFolder", &["--folder", "P"], 5);
    assert!(raw_entry(&account, "P/Q").is_some());
    ok(&account, "deleteFolder", &["--folder", "P", "--recurse"]);
    for rel in ["P", "P/Q", "P/R"] {
        assert_absent(&account, rel);
    }
    assert_real_folder(&account, "PQ");
}

// ---- renameFolder ----------------------------------------------------------------------------

#[test]
fn rename_keeps_messages_and_children() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "Old", 1, 1);
        seed(&account, "Old/Child", 0, 1);
        let out = ok(
            &account,
            "renameFolder",
            &[
                "--folder",
                &account.path("Old"),
                "--newfolder",
                &account.path("New"),
            ],
        );
        assert_eq!(
            summary_folders(&out),
            [account.full_name("New")],
            "{l}\n{out}"
        );
        assert_absent(&account, "Old");
        assert_absent(&account, "Old/Child");
        let s = assert_real_folder(&account, "New");
        assert_eq!((s.messages, s.unseen), (2, 1), "{l} flags kept too");
        assert_eq!(assert_real_folder(&account, "New/Child").messages, 1, "{l}");
    }
}

#[test]
fn rename_to_an_existing_folder_exits_5() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "X", 0, 1);
        seed(&account, "Y", 0, 2);
        let before = own_names(&account);
        for target in [account.path("Y"), account.full_name("Y")] {
            let out = fails(
                &account,
                "renameFolder",
                &["--folder", &account.path("X"), "--newfolder", &target],
                5,
            );
            assert!(out.stderr.to_lowercase().contains("exist"), "{l}\n{out}");
        }
        assert_eq!(own_names(&account), before, "{l}");
        assert_eq!(raw_status(&account, "X").messages, 1, "{l}");
        assert_eq!(raw_status(&account, "Y").messages, 2, "{l}");
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn inbox_cannot_be_renamed_nor_be_the_new_name() {
    for account in private_accounts() {
        let l = label(&account);
        seed(&account, "INBOX", 0, 1);
        seed(&account, "X", 0, 1);
        let before = own_names(&account);
        for inbox in ["INBOX", "inbox"] {
            fails(
                &account,
                "renameFolder",
                &["--folder", inbox, "--newfolder", "Elsewhere"],
                5,
            );
            fails(
                &account,
                "renameFolder",
                &["--folder", "X", "--newfolder", inbox],
                5,
            );
        }
        assert_eq!(own_names(&account), before, "{l}");
        assert_eq!(raw_status(&account, "INBOX").messages, 1, "{l}");
        assert_eq!(raw_status(&account, "X").messages, 1, "{l}");
    }
}

#[test]
fn renaming_a_missing_folder_exits_5() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "Here", 0, 0);
        let before = own_names(&account);
        fails(
            &account,
            "renameFolder",
            &[
                "--folder",
                &account.path("Nowhere"),
                "--newfolder",
                &account.path("Target"),
            ],
            5,
        );
        assert_eq!(
            own_names(&account),
            before,
            "{l} the target was not created"
        );
    }
}

#[test]
fn rename_creates_the_missing_parents_of_the_new_name() {
    for account in accounts() {
        let _cleanup = account.guard();
        let l = label(&account);
        seed(&account, "X", 0, 1);
        ok(
            &account,
            "renameFolder",
            &[
                "--folder",
                &account.path("X"),
                "--newfolder",
                &account.path("P1/P2/X"),
            ],
        );
        assert_absent(&account, "X");
        assert_real_folder(&account, "P1");
        assert_real_folder(&account, "P1/P2");
        assert_eq!(assert_real_folder(&account, "P1/P2/X").messages, 1, "{l}");
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn courier_rename_with_slash_paths() {
    let account = courier();
    seed(&account, "Projects/2023", 0, 1);
    assert!(raw_names(&account).contains(&"INBOX.Projects.2023".to_string()));
    ok(
        &account,
        "renameFolder",
        &["--folder", "Projects/2023", "--newfolder", "Archive/2023"],
    );
    let names = raw_names(&account);
    assert!(
        names.contains(&"INBOX.Archive.2023".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"INBOX.Projects.2023".to_string()),
        "{names:?}"
    );
    assert_real_folder(&account, "Archive");
    assert_eq!(raw_status(&account, "Archive/2023").messages, 1);
    // FULLNAMEs work the same way.
    ok(
        &account,
        "renameFolder",
        &[
            "--folder",
            "INBOX.Archive.2023",
            "--newfolder",
            "INBOX.Archive.Old",
        ],
    );
    assert_eq!(raw_status(&account, "Archive/Old").messages, 1);
}
