//! Self-tests of the test harness: they run without the product and prove that the private
//! Dovecot, the raw client, the fault server and the CLI runner do what the conformance tests
//! rely on.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cfimap_tests::account::Secure;
use cfimap_tests::cli::cfimap;
use cfimap_tests::dovecot::{Dovecot, Flavor, UTF8_PASSWORD};
use cfimap_tests::fault::{FaultServer, Script};
use cfimap_tests::imap::{self, Client};
use cfimap_tests::mail::Message;
use cfimap_tests::refusals::{self, Feature};
use cfimap_tests::{mutf7, ports, target};

/// The shared private Dovecot of `flavor`: these are self-tests of the harness's own server
/// (ignored when the suite is built for an external server).
fn private(flavor: Flavor) -> &'static Dovecot {
    Dovecot::shared(flavor)
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn dovecot_starts_in_every_flavor_with_its_namespace() {
    for flavor in Flavor::ALL {
        let dovecot = private(flavor);
        let account = dovecot.user();
        let mut client = account
            .connect_with(Secure::Plain)
            .unwrap_or_else(|e| panic!("{flavor:?}: {e}\n{}", dovecot.log()));
        let list = client.list("", "*").unwrap();
        let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
        assert!(names.contains(&"INBOX"), "{flavor:?}: {names:?}");
        for (folder, attribute) in [
            ("Drafts", "\\Drafts"),
            ("Sent", "\\Sent"),
            ("Trash", "\\Trash"),
        ] {
            let wire = account.wire_name(folder);
            let entry = list
                .iter()
                .find(|e| e.name == wire)
                .unwrap_or_else(|| panic!("{flavor:?}: no {wire} in {names:?}"));
            assert!(entry.has(attribute), "{flavor:?}: {entry:?}");
            assert_eq!(entry.delimiter, Some(flavor.delimiter()));
        }
        let ns = client.personal_namespace().unwrap();
        assert_eq!(
            ns,
            Some((flavor.prefix().to_string(), Some(flavor.delimiter()))),
            "{flavor:?}"
        );
        client.logout().unwrap();
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn starttls_is_offered_as_the_flavor_says() {
    for flavor in Flavor::ALL {
        let dovecot = private(flavor);
        let mut client = Client::connect_plain("127.0.0.1", dovecot.plain_port()).unwrap();
        let caps = client.capabilities().unwrap();
        assert_eq!(
            caps.iter().any(|c| c == "STARTTLS"),
            flavor.tls(),
            "{flavor:?}: {caps:?}"
        );
        assert_eq!(dovecot.tls_port().is_some(), flavor.tls(), "{flavor:?}");
        client.logout().unwrap();
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn tls_verifies_with_the_harness_ca_only() {
    let dovecot = private(Flavor::Default);
    let account = dovecot.user();
    let tls_port = dovecot.tls_port().unwrap();

    // Implicit TLS, by address and by name (both are in the certificate's SAN).
    for host in ["127.0.0.1", "localhost"] {
        let mut client = Client::connect_tls(host, tls_port, Some(dovecot.ca_file()))
            .unwrap_or_else(|e| panic!("{host}: {e}\n{}", dovecot.log()));
        assert!(client.is_tls());
        client.login(&account.username, &account.password).unwrap();
        client.logout().unwrap();
    }
    // STARTTLS.
    let mut client = account.connect_with(Secure::StartTls).unwrap();
    assert!(client.is_tls());
    assert!(!client.has_capability("STARTTLS").unwrap());
    client.logout().unwrap();

    // An unrelated CA: unknown issuer, for implicit TLS and STARTTLS.
    let err =
        Client::connect_tls("127.0.0.1", tls_port, Some(dovecot.unknown_ca_file())).unwrap_err();
    assert!(
        matches!(
            err,
            imap::Error::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{err:?}"
    );
    let err = Client::connect_plain("127.0.0.1", dovecot.plain_port())
        .unwrap()
        .starttls(Some(dovecot.unknown_ca_file()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            imap::Error::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{err:?}"
    );
    // The public roots don't know the harness CA either.
    let err = Client::connect_tls("127.0.0.1", tls_port, None).unwrap_err();
    assert!(matches!(err, imap::Error::Tls(_)), "{err:?}");
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn users_are_fresh_and_logins_are_checked() {
    let dovecot = private(Flavor::Default);
    let a = dovecot.user();
    let b = dovecot.user();
    assert_ne!(a.username, b.username);
    assert_ne!(a.password, b.password);

    let mut client = a.connect().unwrap();
    client
        .append("INBOX", &[], &Message::new("only for a", "x").to_bytes())
        .unwrap();
    client.logout().unwrap();
    let mut client = b.connect().unwrap();
    assert_eq!(
        client.status("INBOX").unwrap().messages,
        0,
        "a new user starts empty"
    );
    client.logout().unwrap();

    let mut client = Client::connect_plain("127.0.0.1", dovecot.plain_port()).unwrap();
    let err = client.login(&a.username, "wrong password").unwrap_err();
    assert!(matches!(err, imap::Error::No { .. }), "{err:?}");

    // 8-bit password: the raw client sends it as a synchronising literal.
    let utf8 = dovecot.utf8_user();
    assert_eq!(utf8.password, UTF8_PASSWORD);
    for secure in [Secure::Plain, Secure::Tls, Secure::StartTls] {
        utf8.connect_with(secure)
            .unwrap_or_else(|e| panic!("{secure:?}: {e}\n{}", dovecot.log()))
            .logout()
            .unwrap();
    }
}

#[test]
fn append_and_status_counts() {
    let account = target::account();
    let _cleanup = account.guard();
    let mut client = account.connect().unwrap();
    let folder = account.wire_name("Counts");
    account.seed_folder(&mut client, "Counts").unwrap();
    let uid1 = client
        .append(&folder, &["\\Seen"], &Message::new("read", "1").to_bytes())
        .unwrap();
    let uid2 = client
        .append(&folder, &[], &Message::new("unread", "2").to_bytes())
        .unwrap();
    client
        .append(
            &folder,
            &["\\Flagged"],
            &Message::new("Grüße aus Köln", "Hallo Wörld\n")
                .attach("b.bin", "application/octet-stream", vec![0, 1, 2, 255])
                .to_bytes(),
        )
        .unwrap();
    if account.private {
        assert_eq!(
            (uid1, uid2),
            (Some(1), Some(2)),
            "Dovecot reports APPENDUID"
        );
    }
    let status = client.status(&folder).unwrap();
    assert_eq!((status.messages, status.unseen), (3, 2), "{status:?}");
    if account.private {
        assert_eq!(status.recent, 3);
    }

    let examined = client.examine(&folder).unwrap();
    assert_eq!(examined.exists, 3);
    assert!(examined.read_only);
    let flags = client.fetch_flags().unwrap();
    assert_eq!(flags.len(), 3);
    assert!(
        flags[0].has("\\Seen") && !flags[1].has("\\Seen") && flags[2].has("\\Flagged"),
        "{flags:?}"
    );

    let selected = client.select(&folder).unwrap();
    assert!(!selected.read_only);
    client
        .add_flags(&flags[1].uid.to_string(), &["\\Seen"])
        .unwrap();
    client.command("UNSELECT").unwrap();
    assert_eq!(client.status(&folder).unwrap().unseen, 1);
    client.logout().unwrap();
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn folders_with_non_ascii_names_use_modified_utf7() {
    for flavor in [Flavor::Default, Flavor::Courier] {
        let dovecot = private(flavor);
        let account = dovecot.user();
        let mut client = account.connect().unwrap();
        for path in [
            "Archive/2024",
            "Entwürfe",
            "Projekte/日本語",
            "A & B",
            "Входящие",
        ] {
            account.seed_folder(&mut client, path).unwrap();
        }
        client.subscribe(&account.wire_name("Entwürfe")).unwrap();
        let list = client.list("", "*").unwrap();
        let names: Vec<String> = list.iter().map(|e| e.name.clone()).collect();
        let expect = |full: &str| {
            assert!(
                names.iter().any(|n| n == full),
                "{flavor:?}: {full} not in {names:?}"
            )
        };
        let p = flavor.prefix();
        let d = flavor.delimiter();
        expect(&format!("{p}Archive{d}2024"));
        expect(&format!("{p}Entw&APw-rfe"));
        expect(&format!("{p}Projekte{d}&ZeVnLIqe-"));
        expect(&format!("{p}A &- B"));
        let decoded: Vec<String> = names.iter().map(|n| mutf7::decode(n).unwrap()).collect();
        assert!(
            decoded.contains(&account.full_name("Projekte/日本語")),
            "{decoded:?}"
        );

        // Deleting and renaming work on wire names.
        client
            .rename(
                &account.wire_name("Entwürfe"),
                &account.wire_name("Entwürfe alt"),
            )
            .unwrap();
        client.delete(&account.wire_name("Entwürfe alt")).unwrap();
        let err = client.create(&account.wire_name("Archive")).unwrap_err();
        assert!(matches!(err, imap::Error::No { .. }), "{err:?}");
        client.logout().unwrap();
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn nomove_hides_move_and_nothing_else() {
    let nomove = private(Flavor::NoMove);
    let mut client = nomove.user().connect().unwrap();
    let caps = client.capabilities().unwrap();
    client.logout().unwrap();
    let mut client = Dovecot::shared(Flavor::Default).user().connect().unwrap();
    let default_caps = client.capabilities().unwrap();
    client.logout().unwrap();

    assert!(
        default_caps.contains(&"MOVE".to_string()),
        "{default_caps:?}"
    );
    let expected: Vec<String> = default_caps.into_iter().filter(|c| c != "MOVE").collect();
    assert_eq!(caps, expected);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn rawlog_shows_what_the_client_sent_after_login() {
    let dovecot = private(Flavor::Default);
    let account = dovecot.user();
    let mut client = account.connect_with(Secure::Tls).unwrap();
    client.command("NOOP").unwrap();
    client.create("rawlog-marker").unwrap();
    client.logout().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let sent = dovecot.rawlog_in(&account.username);
        if sent.contains("CREATE \"rawlog-marker\"") && sent.contains("LOGOUT") {
            assert!(
                !sent.contains(&account.password),
                "the rawlog starts after login"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rawlog: {sent:?}\nlog:\n{}",
            dovecot.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        dovecot
            .rawlog_out(&account.username)
            .contains("Create completed")
    );
    assert!(
        dovecot
            .log()
            .contains(&format!("user=<{}>", account.username))
    );
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_private_instance_stops_on_drop() {
    let dovecot = Dovecot::start(Flavor::NoTls);
    let port = dovecot.plain_port();
    let pid = dovecot.pid().unwrap();
    let dir = dovecot.dir().to_path_buf();
    assert!(dovecot.config_file().exists());
    assert!(
        std::fs::read_to_string(dovecot.config_file())
            .unwrap()
            .contains("ssl = no")
    );
    let client = dovecot.user().connect().unwrap();
    client.logout().unwrap();
    drop(dovecot);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "master {pid} still running"
    );
    assert!(!dir.exists(), "{} not removed", dir.display());
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn scratch_folders_are_cleaned_up() {
    let dovecot = private(Flavor::Courier);
    // Pretend this user is a shared external account.
    let mut account = dovecot.user();
    account.scratch = Some(cfimap_tests::unique::scratch_name());
    let mut client = account.connect().unwrap();
    client.create("INBOX.keep").unwrap();
    account.seed_folder(&mut client, "a/b/c").unwrap();
    account.seed_folder(&mut client, "Entwürfe").unwrap();
    let root = account.wire_name("");
    assert!(root.starts_with("INBOX.cfimap-test-"), "{root}");
    assert_eq!(client.list("", &format!("{root}*")).unwrap().len(), 5);
    {
        let _guard = account.guard();
    }
    assert!(client.list("", &format!("{root}*")).unwrap().is_empty());
    assert_eq!(client.list("", "INBOX.keep").unwrap().len(), 1);
    client.logout().unwrap();
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn cli_args_name_every_connection_attribute() {
    let dovecot = private(Flavor::Default);
    let account = dovecot.user();
    let args = account.cli_args(Secure::Tls);
    let tls = dovecot.tls_port().unwrap().to_string();
    let ca = dovecot.ca_file().display().to_string();
    assert_eq!(
        args,
        [
            "--server",
            "127.0.0.1",
            "--port",
            tls.as_str(),
            "--username",
            account.username.as_str(),
            "--password",
            account.password.as_str(),
            "--cafile",
            ca.as_str(),
            "--secure",
            "yes"
        ]
    );
    assert_eq!(
        account.cli_args(Secure::StartTls)[3],
        dovecot.plain_port().to_string()
    );
    assert_eq!(account.cli_args(Secure::Plain).last().unwrap(), "no");
}

// ---- the CLI runner's measurements ------------------------------------------------------------

/// The memory this test process holds while it measures a child: were the child's figure to
/// carry the parent's peak (as `wait4` of a direct child does on Linux), it would exceed this.
const BALLAST: usize = 256 << 20;

#[test]
fn a_measured_child_reports_its_own_peak_even_when_it_exits_at_once() {
    let waiter = env!("CARGO_BIN_EXE_cfimap-testbed");
    let ballast = std::hint::black_box(vec![1u8; BALLAST]);
    // awk builds a 32 MiB string by doubling (its peak is above 32 MiB) and exits at once.
    let out = cfimap([
        "-c",
        "exec awk 'BEGIN { s = \"x\"; for (i = 0; i < 25; i++) s = s s; exit 3 }'",
    ])
    .program("/bin/sh")
    .measure_peak_rss(waiter)
    .run();
    assert_eq!(out.code, Some(3), "{out}");
    let kib = out.peak_rss_kib.expect("a measured run has a peak");
    assert!(
        (32 << 10..BALLAST as u64 >> 10).contains(&kib),
        "awk's peak is its 32 MiB string, not this process's {} MiB: {kib} KiB",
        BALLAST >> 20
    );

    // A child a signal ends: no exit code, still a peak.
    let out = cfimap(["-c", "kill -KILL $$"])
        .program("/bin/sh")
        .measure_peak_rss(waiter)
        .run();
    assert_eq!((out.code, out.timed_out), (None, false), "{out}");
    assert!(out.peak_rss_kib.is_some_and(|k| k < 64 << 10), "{out}");

    // Unmeasured runs say nothing of memory.
    let out = cfimap(["-c", "exit 0"]).program("/bin/sh").run();
    assert_eq!((out.code, out.peak_rss_kib), (Some(0), None), "{out}");
    drop(ballast);
}

// ---- fault server ----------------------------------------------------------------------------

#[test]
fn fault_server_replays_and_records() {
    let server = FaultServer::start(
        Script::logged_in("IMAP4rev1 AUTH=PLAIN")
            .expect_command("LIST")
            .line("* LIST (\\HasNoChildren) \"/\" {5}")
            .send("INBOX\r\n")
            .tagged("OK LIST done")
            .expect_command("LOGOUT")
            .bye("see you")
            .close(),
    );
    let mut client = Client::connect_plain("127.0.0.1", server.port()).unwrap();
    assert!(client.greeting().contains("fault server ready"));
    client.login("joe", "pässwörd").unwrap(); // 8-bit: sent as a literal, acknowledged with +
    let list = client.list("", "*").unwrap();
    assert_eq!(list[0].name, "INBOX");
    client.logout().unwrap();

    let t = &server.transcripts()[0];
    assert!(t.completed && t.failure.is_none() && t.closed, "{t:?}");
    let text = String::from_utf8(t.received.clone()).unwrap();
    assert!(
        text.starts_with(
            "h1 LOGIN \"joe\" {10}\r\npässwörd\r\nh2 LIST \"\" \"*\"\r\nh3 LOGOUT\r\n"
        ),
        "{text:?}"
    );
    assert_eq!(t.commands.len(), 3);
    assert_eq!(server.connections(), 1);
    assert!(server.failures().is_empty());
}

#[test]
fn fault_server_reports_mismatches() {
    let server = FaultServer::start(
        Script::new()
            .line("* OK hi")
            .expect_command("CAPABILITY")
            .tagged("OK"),
    );
    let mut client = Client::connect_plain("127.0.0.1", server.port()).unwrap();
    let err = client.command("NOOP").unwrap_err();
    assert!(
        matches!(err, imap::Error::Io(_)),
        "closed after the mismatch: {err:?}"
    );
    let failures = server.failures();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].contains("h1 NOOP"), "{failures:?}");
}

#[test]
fn fault_server_proves_nothing_was_sent() {
    let server = FaultServer::start(Script::new().line("* OK hi"));
    // Something that never connects...
    assert_eq!(server.connections(), 0);
    assert!(server.received().is_empty());
    // ...and something that connects but sends nothing.
    let mut s = TcpStream::connect(server.addr()).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"* OK hi\r\n");
    drop(s);
    assert!(server.wait_closed(Duration::from_secs(5)));
    assert_eq!(server.connections(), 1);
    assert!(server.received().is_empty());
}

#[test]
fn fault_server_stalls_drops_and_says_bye() {
    // Stall: the client's timeout fires; the client closing is not a script failure.
    let server = FaultServer::start(Script::new().stall(Duration::from_secs(30)));
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    assert!(
        s.read(&mut [0u8; 8]).is_err(),
        "nothing arrives during a stall"
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    s.write_all(b"a NOOP\r\n").unwrap();
    drop(s);
    assert!(
        server.wait_closed(Duration::from_secs(5)),
        "stall ends when the client closes"
    );
    assert_eq!(server.received(), b"a NOOP\r\n");
    assert!(server.failures().is_empty());

    // BYE at greeting.
    let server = FaultServer::start(Script::new().bye("overloaded"));
    let err = Client::connect_plain("127.0.0.1", server.port()).unwrap_err();
    assert!(
        matches!(&err, imap::Error::Bye(t) if t == "overloaded"),
        "{err:?}"
    );

    // A literal cut short by a dropped connection.
    let server = FaultServer::start(
        Script::logged_in("IMAP4rev1")
            .expect_command("LIST")
            .line("* LIST () \"/\" {50}")
            .send("INB")
            .close(),
    );
    let mut client = Client::connect_plain("127.0.0.1", server.port()).unwrap();
    client.login("u", "p").unwrap();
    let err = client.list("", "*").unwrap_err();
    assert!(
        matches!(&err, imap::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof),
        "{err:?}"
    );
}

#[test]
fn fault_server_sends_huge_literals() {
    let server = FaultServer::start(
        Script::logged_in("IMAP4rev1")
            .expect_command("FETCH")
            .huge_literal("* 1 FETCH (BODY[] ", 3 << 20)
            .line(")")
            .tagged("OK done"),
    );
    let mut client = Client::connect_plain("127.0.0.1", server.port()).unwrap();
    client.login("u", "p").unwrap();
    let done = client.command("FETCH 1 BODY[]").unwrap();
    assert_eq!(done.untagged.len(), 1);
    assert!(done.untagged[0].len() > 3 << 20);

    // A client that gives up half-way does not make the script fail.
    let server = FaultServer::start(Script::new().huge_literal("* 1 FETCH (BODY[] ", 1 << 30));
    let mut s = TcpStream::connect(server.addr()).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let _ = s.read(&mut buf).unwrap();
    drop(s);
    assert!(server.wait_closed(Duration::from_secs(10)));
    assert!(server.failures().is_empty());
}

#[test]
fn closed_ports_refuse() {
    let port = ports::closed_port().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

// ---- refusal probes --------------------------------------------------------------------------

/// An account on the fault server (plain, no scratch folder, `/` namespace).
fn fault_account(server: &FaultServer) -> cfimap_tests::Account {
    cfimap_tests::Account {
        server: "127.0.0.1".into(),
        port_plain: Some(server.port()),
        port_tls: None,
        starttls: false,
        username: "joe".into(),
        password: "secret".into(),
        ca_file: None,
        unknown_ca_file: None,
        delimiter: '/',
        prefix: String::new(),
        scratch: None,
        private: false,
    }
}

#[test]
fn a_refused_feature_is_reported_with_the_servers_answer() {
    let quote = FaultServer::start(
        Script::logged_in("IMAP4rev1")
            .expect(r#"^\S+ CREATE "cfimap probe \\"q\\""$"#)
            .tagged("NO [CANNOT] Invalid mailbox name: '\"' not allowed")
            .logout(),
    );
    let answer = Feature::QuoteInFolderNames
        .probe(&fault_account(&quote))
        .expect("the probe itself works");
    assert_eq!(
        answer.as_deref(),
        Some("CREATE: NO [CANNOT] Invalid mailbox name: '\"' not allowed"),
        "{:?}",
        quote.transcripts()
    );
    assert!(quote.failures().is_empty(), "{:?}", quote.failures());

    // The 8-bit refusal comes on APPEND; the probe's folder is removed all the same.
    let eight_bit = FaultServer::start(
        Script::logged_in("IMAP4rev1")
            .expect_command("CREATE")
            .tagged("OK created")
            .expect("(?s)^\\S+ APPEND .*Subject: Grüße")
            .tagged("BAD [PARSE] 8-bit data in header")
            .expect_command("DELETE")
            .tagged("OK deleted")
            .logout(),
    );
    let answer = Feature::EightBitHeaders
        .probe(&fault_account(&eight_bit))
        .expect("the probe itself works");
    assert_eq!(
        answer.as_deref(),
        Some("APPEND: BAD [PARSE] 8-bit data in header")
    );
    let t = &eight_bit.transcripts()[0];
    assert!(t.completed && t.failure.is_none(), "{t:?}");
}

#[test]
fn an_accepted_feature_leaves_nothing_behind_and_a_broken_probe_is_an_error() {
    let accepted = FaultServer::start(
        Script::logged_in("IMAP4rev1")
            .expect_command("CREATE")
            .tagged("OK created")
            .expect(r#"^\S+ DELETE "cfimap probe \\"q\\""$"#)
            .tagged("OK deleted")
            .logout(),
    );
    let answer = Feature::QuoteInFolderNames.probe(&fault_account(&accepted));
    assert!(matches!(answer, Ok(None)), "{answer:?}");
    assert!(
        accepted.transcripts()[0].completed,
        "the probe deleted its folder"
    );

    // A connection dropped mid-probe is no answer from the server: never a reason to skip.
    let dropped = FaultServer::start(
        Script::logged_in("IMAP4rev1")
            .expect_command("CREATE")
            .close(),
    );
    let err = Feature::QuoteInFolderNames
        .probe(&fault_account(&dropped))
        .expect_err("a dropped connection is an error, not a refusal");
    assert!(
        !matches!(err, imap::Error::No { .. } | imap::Error::Bad { .. }),
        "{err}"
    );

    // Against the private Dovecot, both are accepted.
    let account = private(Flavor::Default).user();
    for feature in [Feature::QuoteInFolderNames, Feature::EightBitHeaders] {
        let answer = feature.probe(&account);
        assert!(matches!(answer, Ok(None)), "{feature:?}: {answer:?}");
    }
}

#[test]
fn a_refusal_skips_unless_every_test_is_required() {
    let answers = |f: Feature| match f {
        Feature::QuoteInFolderNames => Ok(Some("CREATE: NO [CANNOT] no quotes".to_string())),
        Feature::EightBitHeaders => Ok(None),
    };
    let both = [Feature::EightBitHeaders, Feature::QuoteInFolderNames];
    assert_eq!(
        refusals::decide(&both, answers, false),
        Ok(Some(
            "the server refuses a folder name with '\"': CREATE: NO [CANNOT] no quotes".into()
        ))
    );
    let required = refusals::decide(&both, answers, true).expect_err("a skip is a failure");
    assert!(required.contains("NO [CANNOT] no quotes") && required.contains("REQUIRE_ALL"));
    assert_eq!(
        refusals::decide(&[Feature::EightBitHeaders], answers, true),
        Ok(None)
    );
    // A probe that failed fails the test whatever the setting.
    let broken = |_: Feature| Err("probing failed: i/o: reset".to_string());
    assert!(refusals::decide(&both, broken, false).is_err());
}

// ---- CLI runner ------------------------------------------------------------------------------

#[test]
fn cli_runner_captures_output_and_kills_on_timeout() {
    let out = cfimap(["-c", "printf '[{\"A\":1}]'; echo oops >&2; exit 3"])
        .program("/bin/sh")
        .run();
    out.assert_code(3);
    assert_eq!(out.rows()[0]["A"], 1);
    assert_eq!(out.stderr, "oops\n");

    let out = cfimap(["-c", "sleep 20"])
        .program("/bin/sh")
        .timeout(Duration::from_millis(300))
        .run();
    assert!(out.timed_out && out.code.is_none(), "{out}");
    assert!(out.elapsed < Duration::from_secs(5), "{out}");

    let out = cfimap(["-c", "echo \"$CFIMAP_PASSWORD|$X\"; cat"])
        .program("/bin/sh")
        .env("X", "y")
        .stdin("in")
        .run();
    assert_eq!(out.stdout, "|y\nin");

    let out = cfimap([
        "-c",
        "echo '{\"a\":1}'; echo '{\"a\":2}'",
        "--password",
        "hunter2",
    ])
    .program("/bin/sh")
    .run();
    assert_eq!(out.ndjson().len(), 2);
    assert!(!out.to_string().contains("hunter2"));
}

// ---- testbed ---------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn testbed_demo_runs_commands_with_the_demo_variables() {
    let bin = env!("CARGO_BIN_EXE_cfimap-testbed");
    let out = cfimap([
        "demo",
        "--",
        "echo \"user=$CFIMAP_DEMO_USER port=$CFIMAP_DEMO_PORT\"",
        "exit 3",
        "true",
    ])
    .program(bin)
    .run();
    out.assert_code(3);
    assert!(
        out.stdout
            .starts_with("cfimap demo: Dovecot on 127.0.0.1 port "),
        "{out}"
    );
    assert!(out.stdout.contains("$ exit 3\n$ true\n"), "{out}");
    let line = out.stdout.lines().find(|l| l.starts_with("user=")).unwrap();
    assert!(
        line.starts_with("user=user001 port=") && line.len() > "user=user001 port=".len(),
        "{line}"
    );
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn testbed_serve_seeds_the_demo_mailbox() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cfimap-testbed"))
        .arg("serve")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut vars = std::collections::HashMap::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("# press Enter") {
            break;
        }
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            vars.insert(k.to_string(), v.trim_matches('\'').to_string());
        }
    }
    let port: u16 = vars["CFIMAP_DEMO_TLS_PORT"].parse().unwrap();
    let ca = std::path::PathBuf::from(&vars["CFIMAP_DEMO_CAFILE"]);
    let mut client = Client::connect_tls("localhost", port, Some(&ca)).unwrap();
    client
        .login(&vars["CFIMAP_DEMO_USER"], &vars["CFIMAP_DEMO_PASSWORD"])
        .unwrap();
    let counts: Vec<(String, u32, u32)> = ["INBOX", "Archive/2024", "Entwürfe", "Projekte/日本語"]
        .iter()
        .map(|f| {
            let s = client.status(&mutf7::encode(f)).unwrap();
            (f.to_string(), s.messages, s.unseen)
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("INBOX".into(), 4, 3),
            ("Archive/2024".into(), 2, 1),
            ("Entwürfe".into(), 1, 0),
            ("Projekte/日本語".into(), 2, 1)
        ]
    );
    client.logout().unwrap();
    drop(child.stdin.take()); // EOF: stop
    assert!(child.wait().unwrap().success());
    assert!(!ca.exists(), "the demo directory is removed");
}

/// Prints the greeting and capabilities of every flavor (`--nocapture` shows them), and
/// checks each flavor greets, logs in and hides what it should (Courier: UNSELECT, ESEARCH).
#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn every_flavor_greets_and_shows_its_capabilities() {
    for flavor in Flavor::ALL {
        let d = Dovecot::shared(flavor);
        let mut c = Client::connect_plain("127.0.0.1", d.plain_port()).unwrap();
        println!("{flavor:?} greeting: {}", c.greeting());
        let before = c.capabilities().unwrap();
        println!("{flavor:?} pre-login: {before:?}");
        assert!(before.iter().any(|c| c == "IMAP4REV1"), "{flavor:?}");
        let a = d.user();
        c.login(&a.username, &a.password).unwrap();
        let after = c.capabilities().unwrap();
        println!("{flavor:?} post-login: {after:?}");
        assert!(after.iter().any(|c| c == "IMAP4REV1"), "{flavor:?}");
        for hidden in flavor.hidden_capabilities() {
            assert!(
                !after.iter().any(|c| c == hidden),
                "{flavor:?} hides {hidden}"
            );
        }
    }
}
