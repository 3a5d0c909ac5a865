//! Conformance of what a server may lawfully refuse: folder names with `"`, messages with 8-bit
//! header bytes. Each test first asks the target server (`cfimap_tests::refusals`); when the
//! server refuses, the test is reported as ignored with the server's answer as the reason —
//! unless `CFIMAP_TEST_REQUIRE_ALL=1`, which makes it a failure. The private Dovecot accepts
//! both, so `make test` runs them all.
//!
//! libtest can only ignore a test decided when it is built; this target runs on libtest-mimic,
//! whose tests can end as "ignored (reason)" at run time, with the same command-line options.

mod common;
// The read tests' corpus; this target uses a part of it, and its own unit tests (cfg(test))
// run under libtest in the read target, not under this harness.
#[allow(dead_code, unused_imports)]
mod corpus;

use std::collections::HashMap;

use cfimap_tests::cli::cfimap;
use cfimap_tests::refusals::{self, Feature};
use cfimap_tests::target;
use common::Row;
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        needing(
            "folder_names_with_double_quotes_round_trip_through_every_folder_action",
            &[Feature::QuoteInFolderNames],
            folder_names_with_double_quotes_round_trip,
        ),
        needing(
            "raw_8bit_headers_decode_in_both_reads",
            &[Feature::EightBitHeaders],
            raw_8bit_headers_decode_in_both_reads,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}

/// A test that runs only where the server accepts `features`: ignored with the server's answer
/// otherwise. A panic in `test` is its failure (libtest-mimic catches it).
fn needing(name: &str, features: &'static [Feature], test: fn()) -> Trial {
    Trial::ignorable_test(name, move || match refusals::verdict(features) {
        Ok(None) => {
            test();
            Ok(Completion::Completed)
        }
        Ok(Some(reason)) => Ok(Completion::ignored_with(reason)),
        Err(why) => Err(Failed::from(why)),
    })
}

/// `"` needs quoting on the wire (RFC 3501 quoted strings escape it) and survives every folder
/// action, alone and beside other specials.
fn folder_names_with_double_quotes_round_trip() {
    common::names_round_trip_through_every_folder_action(&[
        "say \"cheese\"",
        "\"quoted\"",
        "Projekte/\"Q\" & 日本",
    ]);
}

/// Raw UTF-8 and raw Latin-1 header bytes (RFC 6532, and old mailers) decode in getHeaderOnly
/// and getAll rows, and a raw UTF-8 quoted file name names its attachment.
fn raw_8bit_headers_decode_in_both_reads() {
    let account = target::account();
    let _cleanup = account.guard();
    let cases = corpus::hard_8bit_header_messages();
    let mut client = account.connect().expect("raw client connects");
    account
        .seed_folder(&mut client, "Raw")
        .expect("create the test folder");
    let wire = account.wire_name("Raw");
    let uids: Vec<u32> = cases
        .iter()
        .map(|c| {
            client
                .append(&wire, &[], &c.raw)
                .unwrap_or_else(|e| panic!("APPEND {}: {e}", c.label))
                .unwrap_or_else(|| panic!("APPEND {}: the server sent no APPENDUID", c.label))
        })
        .collect();
    client.logout().expect("logout");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let folder = account.path("Raw");
    let rows = |action: &str, extra: &[&str]| -> HashMap<u32, Row> {
        let out = cfimap([action])
            .args(account.cli_args(account.best_secure()))
            .args(["--format", "json", "--folder", &folder])
            .args(extra)
            .run();
        assert_eq!(out.code, Some(0), "{action}\n{out}");
        out.rows()
            .into_iter()
            .map(|r| {
                let uid = r.get("UID").and_then(Value::as_u64).expect("a UID column");
                (u32::try_from(uid).expect("a 32-bit UID"), r)
            })
            .collect()
    };
    let header_rows = rows("getHeaderOnly", &[]);
    let all_rows = rows(
        "getAll",
        &["--attachmentpath", dir.path().to_str().expect("UTF-8 path")],
    );
    let mut failures = Vec::new();
    for (case, uid) in cases.iter().zip(&uids) {
        for (action, rows) in [("getHeaderOnly", &header_rows), ("getAll", &all_rows)] {
            match rows.get(uid) {
                Some(row) => failures.extend(case.failures(action, row)),
                None => failures.push(format!("{} ({action}): no row for UID {uid}", case.label)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        dir.path().join("Grüße.txt").is_file(),
        "the raw UTF-8 name is the saved file's name"
    );
}
