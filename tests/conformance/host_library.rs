//! Conformance: the host library `cfimap-host` used directly from Rust, as README.md's
//! "Embedding the host library" shows — a `Runtime` under a `Policy`, sessions opened from it,
//! typed rows back — and the policy denying every server it does not name, before any packet
//! is sent.

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use cfimap_host::{
    ConnectOptions, Credentials, Day, DayRange, Error, Filter, FlagState, Policy, ReadOptions,
    RowReader, RowWindow, Runtime, RuntimeOptions, Security, Selection, Session,
};
use cfimap_tests::account::{Account, Secure};
use cfimap_tests::fault::{FaultServer, Script};
use cfimap_tests::mail::Message;
use cfimap_tests::{Dovecot, Flavor, ports, target};

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread Tokio runtime")
        .block_on(f)
}

fn connect_options(account: &Account, secure: Secure) -> ConnectOptions {
    ConnectOptions {
        port: account.port(secure),
        secure: Some(match secure {
            Secure::Tls => Security::Tls,
            Secure::StartTls => Security::Starttls,
            Secure::Plain => Security::None,
        }),
        timeout: Some(30),
        ..ConnectOptions::new(
            &account.server,
            &account.username,
            Credentials::Password(account.password.clone()),
        )
    }
}

/// Options for a scripted fault server at `host`:`port`: plaintext, a
/// short timeout, a login the scripts refuse or accept as they say.
fn scripted_options(host: &str, port: u16) -> ConnectOptions {
    ConnectOptions {
        port: Some(port),
        secure: Some(Security::None),
        timeout: Some(5),
        ..ConnectOptions::new(host, "joe", Credentials::Password("secret-1234".into()))
    }
}

#[test]
fn a_runtime_opens_sessions_that_list_create_delete_and_close() {
    let account = target::account();
    let _cleanup = account.guard();
    let secure = account.best_secure();
    common::seed(&account, "Lib/Kid", 0, 1);

    let options = RuntimeOptions {
        extra_ca: account.ca_file.clone(),
        ..RuntimeOptions::new(Policy::only(&account.server, account.port(secure).unwrap()))
    };
    let runtime = Runtime::new(options).expect("Runtime::new");
    let connect = connect_options(&account, secure);
    let lib = account.path("Lib");
    let new = account.path("Lib/New");

    block_on(async {
        let mut session = runtime.open(&connect).await.expect("open");
        let rows = session
            .list_all_folders(Some(&lib), true)
            .await
            .expect("list_all_folders");
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].fullname, account.full_name("Lib/Kid"));
        assert_eq!(rows[0].name, "Kid");
        assert_eq!(rows[0].parent, "Lib");
        assert_eq!(rows[0].totalmessages, Some(1));
        assert_eq!(rows[0].unread, Some(1));

        let change = session.create_folder(&new).await.expect("create_folder");
        assert_eq!(change.folders, [account.full_name("Lib/New")]);
        // A refusal is a typed error and leaves the session usable.
        let err = session.create_folder(&new).await.unwrap_err();
        assert!(matches!(err, Error::FolderExists(_)), "{err:?}");
        let err = session.delete_folder("INBOX", true).await.unwrap_err();
        assert!(matches!(err, Error::ProtectedFolder(_)), "{err:?}");
        let change = session
            .delete_folder(&new, false)
            .await
            .expect("delete_folder");
        assert_eq!(change.folders, [account.full_name("Lib/New")]);
        session.close().await.expect("close");

        // The same runtime opens another session.
        let mut again = runtime.open(&connect).await.expect("second open");
        let rows = again.list_all_folders(None, false).await.expect("list");
        assert!(rows.iter().any(|r| r.fullname == "INBOX"), "{rows:?}");
        again.close().await.expect("close");
    });
    common::assert_real_folder(&account, "Lib/Kid");
    common::assert_absent(&account, "Lib/New");

    // A wrong password is a typed error too.
    let wrong = ConnectOptions {
        credentials: Credentials::Password("not-the-password-42".into()),
        ..connect
    };
    let err = block_on(runtime.open(&wrong)).unwrap_err();
    assert!(matches!(err, Error::AuthenticationFailed(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("not-the-password-42"));
}

#[test]
fn the_policy_denies_every_server_it_does_not_name() {
    let server = FaultServer::start(
        Script::new()
            .line("* OK [CAPABILITY IMAP4rev1] hi")
            .expect_any()
            .tagged("NO [AUTHENTICATIONFAILED] not this time"),
    );
    let port = server.port();
    let other_port = ports::free_port().unwrap();
    let options = |host: &str| scripted_options(host, port);
    let denied = [
        // Another port of the same host.
        (Policy::only("127.0.0.1", other_port), "127.0.0.1"),
        // The same address by another name: names are compared as asked, before resolution.
        (Policy::only("localhost", port), "127.0.0.1"),
        (Policy::only("127.0.0.1", port), "localhost"),
        // The default allows nothing.
        (Policy::default(), "127.0.0.1"),
    ];
    for (policy, host) in denied {
        let runtime = Runtime::new(RuntimeOptions::new(policy.clone())).expect("Runtime::new");
        let err = block_on(runtime.open(&options(host))).unwrap_err();
        assert!(
            matches!(err, Error::DeniedByPolicy(_)),
            "{policy:?} must deny {host}:{port}: {err:?}"
        );
    }
    assert_eq!(
        server.connections(),
        0,
        "a denied connection must not reach the server"
    );

    // The named server itself is allowed (the control: the denials above were the policy's).
    let runtime = Runtime::new(RuntimeOptions::new(Policy::only("127.0.0.1", port))).unwrap();
    let result = block_on(runtime.open(&options("127.0.0.1")));
    assert!(
        !matches!(result, Err(Error::DeniedByPolicy(_))),
        "{:?}",
        result.err()
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_connection_begun_early_is_the_sessions_own_and_only_where_allowed() {
    let greeted = || {
        Script::new()
            .line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi")
            .expect_any()
            .tagged("NO [AUTHENTICATIONFAILED] not this time")
    };
    let server = FaultServer::start(greeted());
    let other = FaultServer::start(greeted());
    let unnamed = FaultServer::start(greeted());
    let options = scripted_options("127.0.0.1", server.port());
    let runtime = |preconnect: u16| {
        Runtime::new(RuntimeOptions {
            preconnect: Some(("127.0.0.1".to_owned(), preconnect)),
            ..RuntimeOptions::new(
                Policy::only("127.0.0.1", server.port()).allow("127.0.0.1", other.port()),
            )
        })
        .expect("Runtime::new")
    };
    let refused = |runtime: &Runtime| {
        let err = block_on(runtime.open(&options)).unwrap_err();
        // The server's answer: the session spoke over the connection.
        assert!(matches!(err, Error::AuthenticationFailed(_)), "{err:?}");
    };
    let connections = |server: &FaultServer, n: usize| {
        let waited = Instant::now();
        while server.connections() < n && waited.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        server.connections()
    };

    // Made before the session opens, and then the session's own: the server
    // sees one connection, greeted and asked.
    let early = runtime(server.port());
    assert_eq!(connections(&server, 1), 1, "connected while nothing opened");
    refused(&early);
    drop(early);
    assert!(server.wait_closed(Duration::from_secs(5)));
    assert_eq!(server.connections(), 1);
    assert!(server.failures().is_empty(), "{:?}", server.failures());

    // Begun for another endpoint: that one is closed unused, and the
    // session connects on its own.
    let elsewhere = runtime(other.port());
    assert_eq!(connections(&other, 1), 1);
    refused(&elsewhere);
    drop(elsewhere);
    assert!(other.wait_closed(Duration::from_secs(5)));
    assert_eq!(other.connections(), 1);
    assert!(
        other.transcripts()[0].commands.is_empty(),
        "nothing said there"
    );
    assert_eq!(server.connections(), 2);

    // A server the policy does not name is never connected to early (the
    // host's unit test `only_an_endpoint_the_policy_allows_is_connected_to_early`
    // shows that without a wait).
    let denied = runtime(unnamed.port());
    refused(&denied);
    assert_eq!(server.connections(), 3);
    assert_eq!(
        unnamed.connections(),
        0,
        "the policy holds for early connections"
    );
}

#[test]
fn filters_built_in_rust_narrow_a_read_and_newest_first_reverses_it() {
    let account = target::account();
    let _cleanup = account.guard();
    let secure = account.best_secure();
    // Messages 0–3 seen, 4–9 unseen.
    common::seed(&account, "Filtered", 4, 6);
    let folder = account.path("Filtered");
    let runtime = Runtime::new(RuntimeOptions {
        extra_ca: account.ca_file.clone(),
        ..RuntimeOptions::new(Policy::only(&account.server, account.port(secure).unwrap()))
    })
    .expect("Runtime::new");
    let connect = connect_options(&account, secure);
    let subjects = |rows: &[cfimap_host::MessageRow]| -> Vec<String> {
        rows.iter()
            .map(|r| r.subject.clone().unwrap_or_default())
            .collect()
    };

    block_on(async {
        let mut session = runtime.open(&connect).await.expect("open");
        // The three newest unseen messages but message 9, newest first.
        let options = ReadOptions::default()
            .filter(Filter::flag(FlagState::Unseen))
            .filter(!Filter::subject("message 9"))
            .newest_first();
        let window = Selection::Rows(RowWindow {
            startrow: 1,
            maxrows: Some(3),
        });
        let want = [
            "Filtered message 8",
            "Filtered message 7",
            "Filtered message 6",
        ];
        let rows = session
            .get_header_only(Some(&folder), &window, &options)
            .await
            .expect("get_header_only");
        assert_eq!(subjects(&rows), want);

        // The reader hands out the same rows in the same order.
        let mut reader = session
            .begin_get_all(Some(&folder), &window, &options)
            .await
            .expect("begin_get_all");
        let mut batched = Vec::new();
        loop {
            let rows = reader.next(2).await.expect("next");
            if rows.is_empty() {
                break;
            }
            batched.extend(rows);
        }
        drop(reader);
        assert_eq!(subjects(&batched), want);

        // An impossible day is the caller's mistake, named, and the session goes on.
        let err = session
            .get_header_only(
                Some(&folder),
                &Selection::All,
                &ReadOptions::default().filter(Filter::received(DayRange::between(
                    Day::new(2024, 2, 30),
                    Day::new(2024, 3, 1),
                ))),
            )
            .await
            .expect_err("2024-02-30 is no day");
        match err {
            Error::InvalidArgument { attribute, reason } => {
                assert_eq!(attribute, "filter");
                assert!(reason.contains("2024-02-30"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let seen = session
            .get_header_only(
                Some(&folder),
                &Selection::All,
                &ReadOptions::default().filter(Filter::flag(FlagState::Seen)),
            )
            .await
            .expect("the session is still usable");
        assert_eq!(seen.len(), 4);
        session.close().await.expect("close");
    });
}

#[test]
fn readers_hand_out_rows_in_batches_and_a_dropped_reader_leaves_the_session_usable() {
    let account = target::account();
    let _cleanup = account.guard();
    let secure = account.best_secure();
    common::seed(&account, "Batches", 3, 20);
    let folder = account.path("Batches");
    let runtime = Runtime::new(RuntimeOptions {
        extra_ca: account.ca_file.clone(),
        ..RuntimeOptions::new(Policy::only(&account.server, account.port(secure).unwrap()))
    })
    .expect("Runtime::new");
    let connect = connect_options(&account, secure);
    let key = |r: &cfimap_host::MessageRow| (r.messagenumber, r.uid, r.subject.clone(), r.seen);

    block_on(async {
        let mut session = runtime.open(&connect).await.expect("open");
        let options = ReadOptions::default();
        let whole = session
            .get_header_only(Some(&folder), &Selection::All, &options)
            .await
            .expect("get_header_only");
        assert_eq!(whole.len(), 23);

        // Batches of at most 5, together the same rows as the whole read, in order.
        let mut reader = session
            .begin_get_header_only(Some(&folder), &Selection::All, &options)
            .await
            .expect("begin_get_header_only");
        let mut batched = Vec::new();
        let mut sizes = Vec::new();
        loop {
            let rows = reader.next(5).await.expect("next");
            if rows.is_empty() {
                break;
            }
            sizes.push(rows.len());
            batched.extend(rows);
        }
        assert_eq!(sizes, [5, 5, 5, 5, 3]);
        assert_eq!(
            batched.iter().map(key).collect::<Vec<_>>(),
            whole.iter().map(key).collect::<Vec<_>>()
        );
        assert!(reader.next(5).await.expect("after the end").is_empty());
        let err = reader.next(0).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { attribute, .. } if attribute == "max"),
            "{err:?}"
        );
        drop(reader);

        // A reader dropped in the middle of its read abandons it; the session stays in step
        // for the next action.
        let mut reader = session
            .begin_get_all(Some(&folder), &Selection::All, &options)
            .await
            .expect("begin_get_all");
        assert_eq!(reader.next(4).await.expect("first batch").len(), 4);
        drop(reader);
        let folders = session
            .list_all_folders(Some(&folder), false)
            .await
            .expect("an action after a dropped reader");
        assert!(folders.is_empty(), "{folders:?}");
        let again = session
            .get_header_only(Some(&folder), &Selection::All, &options)
            .await
            .expect("a read after an abandoned one");
        assert_eq!(
            again.iter().map(key).collect::<Vec<_>>(),
            whole.iter().map(key).collect::<Vec<_>>()
        );

        // Closing right after a reader was dropped mid-read logs out cleanly.
        let mut reader = session
            .begin_get_header_only(Some(&folder), &Selection::All, &options)
            .await
            .expect("begin");
        assert_eq!(reader.next(2).await.expect("batch").len(), 2);
        drop(reader);
        session
            .close()
            .await
            .expect("close after an abandoned read");
    });
    // Reading changed nothing.
    let status = common::raw_status(&account, "Batches");
    assert_eq!((status.messages, status.unseen), (23, 20), "{status:?}");
}

/// A read of the whole of `folder` begun: getAll when `all`, else getHeaderOnly.
async fn begin_read<'s>(
    session: &'s mut Session,
    folder: &str,
    all: bool,
    options: &ReadOptions,
) -> RowReader<'s> {
    if all {
        session
            .begin_get_all(Some(folder), &Selection::All, options)
            .await
    } else {
        session
            .begin_get_header_only(Some(folder), &Selection::All, options)
            .await
    }
    .expect("begin")
}

#[test]
fn next_ndjson_hands_out_the_tags_json_lines() {
    let account = target::account();
    let _cleanup = account.guard();
    let secure = account.best_secure();
    common::seed(&account, "Lines", 2, 9);
    let folder = account.path("Lines");
    let runtime = Runtime::new(RuntimeOptions {
        extra_ca: account.ca_file.clone(),
        ..RuntimeOptions::new(Policy::only(&account.server, account.port(secure).unwrap()))
    })
    .expect("Runtime::new");
    let connect = connect_options(&account, secure);

    block_on(async {
        let mut session = runtime.open(&connect).await.expect("open");
        let options = ReadOptions::default();
        let whole = session
            .get_all(Some(&folder), &Selection::All, &options)
            .await
            .expect("get_all");
        assert_eq!(whole.len(), 11);

        for (all, columns) in [(false, 22), (true, 29)] {
            let mut reader = begin_read(&mut session, &folder, all, &options).await;
            // Rows of one read by either call: two as records, the rest as lines.
            let first = reader.next(2).await.expect("next");
            let mut lines = Vec::new();
            loop {
                let bytes = reader.next_ndjson(4).await.expect("next_ndjson");
                if bytes.is_empty() {
                    break;
                }
                assert_eq!(bytes.last(), Some(&b'\n'), "every line ends");
                let text = String::from_utf8(bytes).expect("UTF-8");
                lines.extend(text.lines().map(str::to_owned));
            }
            assert_eq!(first.len() + lines.len(), whole.len());
            for (line, row) in lines.iter().zip(&whole[2..]) {
                // The tag's columns, in the order of message-row.
                assert!(line.starts_with(r#"{"MESSAGENUMBER":"#), "{line}");
                assert!(line.ends_with(r#","ERROR":null}"#), "{line}");
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(line).expect("a JSON object");
                assert_eq!(object.len(), columns, "{line}");
                // Every column says what the row's field does (the record's
                // names, in lower case); CIDS pairs become an object.
                let serde_json::Value::Object(fields) = serde_json::to_value(row).unwrap() else {
                    panic!("a row is a record");
                };
                for (column, value) in &object {
                    let field = &fields[&column.to_lowercase()];
                    if column == "CIDS" {
                        let pairs: Vec<(String, String)> =
                            serde_json::from_value(field.clone()).unwrap();
                        let cids: serde_json::Map<_, _> =
                            pairs.into_iter().map(|(c, f)| (c, f.into())).collect();
                        assert_eq!(value, &serde_json::Value::Object(cids), "{line}");
                    } else {
                        assert_eq!(value, field, "{column}: {line}");
                    }
                }
                assert_eq!(object["UID"], row.uid, "{line}");
                if all {
                    assert_eq!(object["TEXTBODY"], serde_json::json!(row.textbody));
                } else {
                    assert!(!object.contains_key("TEXTBODY"), "{line}");
                }
            }
        }
        session.close().await.expect("close");
    });
}

/// The row as serde_json writes each of its values, keyed by the tag's column names in the
/// order of the WIT record: what the component's JSON lines must be, byte for byte.
fn serde_json_line(row: &cfimap_host::MessageRow, all: bool) -> String {
    use serde_json::to_string as json;
    let mut columns = vec![
        ("MESSAGENUMBER", json(&row.messagenumber)),
        ("UID", json(&row.uid)),
        ("SUBJECT", json(&row.subject)),
        ("FROM", json(&row.from)),
        ("TO", json(&row.to)),
        ("CC", json(&row.cc)),
        ("REPLYTO", json(&row.replyto)),
        ("MESSAGEID", json(&row.messageid)),
        ("DATE", json(&row.date)),
        ("SENTDATE", json(&row.sentdate)),
        ("RXDDATE", json(&row.rxddate)),
        ("SIZE", json(&row.size)),
        ("LINES", json(&row.lines)),
        ("HEADER", json(&row.header)),
        ("ANSWERED", json(&row.answered)),
        ("DELETED", json(&row.deleted)),
        ("DRAFT", json(&row.draft)),
        ("FLAGGED", json(&row.flagged)),
        ("RECENT", json(&row.recent)),
        ("SEEN", json(&row.seen)),
        ("USER", json(&row.user)),
    ];
    if all {
        let cids: Vec<String> = row
            .cids
            .iter()
            .map(|(cid, file)| format!("{}:{}", json(cid).unwrap(), json(file).unwrap()))
            .collect();
        columns.extend([
            ("BODY", json(&row.body)),
            ("TEXTBODY", json(&row.textbody)),
            ("HTMLBODY", json(&row.htmlbody)),
            ("ATTACHMENTS", json(&row.attachments)),
            ("ATTACHMENTFILES", json(&row.attachmentfiles)),
            ("CIDS", Ok(format!("{{{}}}", cids.join(",")))),
            ("DELIVERYSTATUS", json(&row.deliverystatus)),
        ]);
    }
    columns.push(("ERROR", json(&row.error)));
    let fields: Vec<String> = columns
        .into_iter()
        .map(|(name, value)| format!("\"{name}\":{}", value.unwrap()))
        .collect();
    format!("{{{}}}", fields.join(","))
}

#[test]
fn next_ndjson_lines_are_serde_jsons_bytes() {
    let account = target::account();
    let _cleanup = account.guard();
    let secure = account.best_secure();
    // Every character JSON escapes, its neighbours, and text beyond ASCII, where the component
    // writes lines eight bytes at a time: in subjects, bodies, names and Content-IDs.
    let controls: String = (1u8..0x20).map(char::from).collect();
    let tricky = format!("a\"b\\c\u{7f} {controls} é€😀\u{2028} !#[]{{}}~ \"\"\\\\");
    let long = format!("{tricky}\n{}\n", "0123456789\"abcdef\\".repeat(40));
    let messages = [
        Message::new(&tricky, &long),
        Message::new("plain and html", &long).html(&format!("<p>{tricky}</p>")),
        Message::new(&format!("files {tricky}"), "see attached\n")
            .attach(
                "r\u{e9}sum\u{e9} \"q\".txt",
                "text/plain",
                long.clone().into_bytes(),
            )
            .inline(
                "logo.png",
                "image/png",
                vec![0x89, b'P', b'N', b'G'],
                "id\"\\1@x",
            ),
    ];
    let mut client = common::raw(&account);
    account.seed_folder(&mut client, "Escapes").expect("create");
    let wire = common::wire(&account, "Escapes");
    for message in &messages {
        client
            .append(&wire, &[], &message.to_bytes())
            .expect("append");
    }
    let _ = client.logout();
    let folder = account.path("Escapes");
    let runtime = Runtime::new(RuntimeOptions {
        extra_ca: account.ca_file.clone(),
        ..RuntimeOptions::new(Policy::only(&account.server, account.port(secure).unwrap()))
    })
    .expect("Runtime::new");

    block_on(async {
        let mut session = runtime
            .open(&connect_options(&account, secure))
            .await
            .expect("open");
        let options = ReadOptions::default();
        for all in [false, true] {
            // One read as rows, one as lines, each to its end.
            let mut rows = Vec::new();
            let mut lines = Vec::new();
            for as_lines in [false, true] {
                let mut reader = begin_read(&mut session, &folder, all, &options).await;
                loop {
                    let taken = if as_lines {
                        let bytes = reader.next_ndjson(2).await.expect("next_ndjson");
                        let taken = bytes.len();
                        lines.extend(bytes);
                        taken
                    } else {
                        let batch = reader.next(2).await.expect("next");
                        let taken = batch.len();
                        rows.extend(batch);
                        taken
                    };
                    if taken == 0 {
                        break;
                    }
                }
            }
            let lines = String::from_utf8(lines).expect("UTF-8");
            assert_eq!(rows.len(), messages.len());
            assert_eq!(lines.lines().count(), rows.len(), "{lines}");
            for (line, row) in lines.lines().zip(&rows) {
                assert_eq!(line, serde_json_line(row, all), "getAll: {all}");
            }
            if all {
                // The texts went through the word loop and its escapes.
                assert!(
                    rows[0]
                        .subject
                        .as_deref()
                        .is_some_and(|s| s.contains('\u{1f}'))
                );
                assert!(
                    rows[0]
                        .body
                        .as_deref()
                        .is_some_and(|b| b.contains("\"abcdef\\"))
                );
                assert_eq!(rows[1].body, rows[1].textbody);
                assert!(
                    rows[1]
                        .htmlbody
                        .as_deref()
                        .is_some_and(|h| h.contains('\u{2028}'))
                );
                assert_eq!(rows[2].cids.len(), 1, "{:?}", rows[2].cids);
            }
        }
        session.close().await.expect("close");
    });
}

/// The example `host/examples/embed.rs`, as `cargo test --release -p cfimap-host` builds it.
fn example_binary(name: &str) -> std::path::PathBuf {
    let cli = cfimap_tests::cli::binary();
    let release = cli.parent().unwrap_or(std::path::Path::new("."));
    release.join("examples").join(name)
}

#[test]
fn the_readme_shows_the_embedding_example_as_it_is() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../../host/examples/embed.rs");
    assert!(
        readme.contains(example),
        "README.md must show host/examples/embed.rs verbatim (a test runs the file)"
    );
}

/// The README's embedding example, run as written against the private Dovecot: STARTTLS on the
/// plain port with the harness's CA, the folders, the headers a batch at a time, and two
/// attachments of one name saved under two paths in the directory the policy allows.
#[test]
fn the_embedding_example_runs_against_dovecot() {
    let account = Dovecot::shared(Flavor::Default).user();
    let first = b"%PDF-1.4 first".to_vec();
    let second = b"%PDF-1.4 second".to_vec();
    let message = Message::new("Quarterly figures", "see attached")
        .attach("report.pdf", "application/pdf", first.clone())
        .attach("report.pdf", "application/pdf", second.clone())
        .to_bytes();
    let mut client = account.connect().expect("raw client");
    client.append("INBOX", &[], &message).expect("APPEND");
    client.logout().expect("logout");

    let tmp = tempfile::tempdir().expect("tempdir");
    let files = tmp.path().join("files");
    let port = account.port(Secure::StartTls).expect("a STARTTLS port");
    let mut run = cfimap_tests::cli::cfimap(Vec::<String>::new())
        .program(example_binary("embed"))
        .env("CFIMAP_SERVER", &account.server)
        .env("CFIMAP_PORT", port.to_string())
        .env("CFIMAP_USERNAME", &account.username)
        .env("CFIMAP_PASSWORD", &account.password)
        .env("CFIMAP_ATTACHMENTS", &files);
    if let Some(ca) = &account.ca_file {
        run = run.env("CFIMAP_CAFILE", ca);
    }
    let out = run.run();
    out.assert_success();
    assert!(out.stdout.contains("INBOX (1 unread)"), "{out}");
    assert!(out.stdout.contains("Quarterly figures"), "{out}");
    for (name, bytes) in [("report.pdf", &first), ("report1.pdf", &second)] {
        let path = files.join(name);
        assert!(
            out.stdout.contains(&format!("saved {}", path.display())),
            "{name}: {out}"
        );
        assert_eq!(&std::fs::read(&path).expect("saved file"), bytes, "{name}");
    }
}

/// The runtime's limits are typed errors, not traps: a server that sends more than the
/// component's memory can hold ends the session with `LimitExceeded`, and one that trickles
/// inside every per-wait timeout ends it with `Timeout` at the deadline.
#[test]
fn the_memory_limit_and_the_deadline_are_typed_errors() {
    let options = |port: u16| scripted_options("127.0.0.1", port);

    // A greeting that never ends, under a memory limit smaller than the line limit.
    let server = FaultServer::start(Script::new().endless_line("* OK ", 64 << 20));
    let runtime = Runtime::new(RuntimeOptions {
        memory_limit: 8 << 20,
        ..RuntimeOptions::new(Policy::only("127.0.0.1", server.port()))
    })
    .expect("Runtime::new");
    let err = block_on(runtime.open(&options(server.port()))).unwrap_err();
    assert!(
        matches!(&err, Error::LimitExceeded(m) if m.contains("8 MiB")),
        "{err:?}"
    );

    let mut script = Script::new();
    for byte in b"* OK [CAPABILITY IMAP4rev1] slow\r\n" {
        script = script
            .send([*byte])
            .stall(std::time::Duration::from_millis(300));
    }
    let server = FaultServer::start(script);
    let runtime = Runtime::new(RuntimeOptions {
        deadline: Some(std::time::Duration::from_secs(1)),
        ..RuntimeOptions::new(Policy::only("127.0.0.1", server.port()))
    })
    .expect("Runtime::new");
    let err = block_on(runtime.open(&options(server.port()))).unwrap_err();
    assert!(
        matches!(&err, Error::Timeout(m) if m.contains("deadline")),
        "{err:?}"
    );
}
