//! Conformance: the `open` action (connect, secure, log in, log out) in every security mode
//! (`--secure`, README.md), and the ways it must fail, with the exit statuses of README.md: 3 connection,
//! TLS, policy or timeout; 4 authentication; 6 protocol violation. Passwords never appear in
//! any output.
//!
//! What the server saw is checked independently of the product: Dovecot's log tells whether a
//! login was over TLS, its rawlog shows the LOGOUT, and the scripted fault server records every
//! byte.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cfimap_tests::account::{Account, Secure};
use cfimap_tests::cli::{CliOutput, cfimap};
use cfimap_tests::dovecot::{Dovecot, Flavor};
use cfimap_tests::fault::{FaultServer, Script, Step};
use cfimap_tests::mail::base64;
use cfimap_tests::{ports, target, unique};

/// How long a CLI run against a misbehaving server may take before the harness kills it: far
/// above the `--timeout` the tests pass, so a hang fails the test instead of stalling CI.
const HANG: Duration = Duration::from_secs(40);

/// Upper bound for a run with `--timeout 1` or `2`: generous for a loaded 2-core machine, far
/// below the 60 s default timeout a product that ignored `--timeout` would take.
const PROMPT: Duration = Duration::from_secs(12);

fn open(account: &Account, secure: Secure) -> CliOutput {
    cfimap(["open", "--format", "json"])
        .args(account.cli_args(secure))
        .run()
}

/// `open` against a fault server (or any loopback port) with throwaway credentials.
fn open_at(port: u16, extra: &[&str]) -> CliOutput {
    cfimap(["open", "--format", "json", "--server", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args(["--username", "joe", "--password", "fault-pass-1234"])
        .args(extra)
        .timeout(HANG)
        .run()
}

/// Dovecot's `Login:` log lines for `user`, once at least `at_least` are there (waits up to
/// 5 s; returns what there is then).
fn login_lines(dovecot: &Dovecot, user: &str, at_least: usize) -> Vec<String> {
    let needle = format!("Login: user=<{user}>");
    let read = || -> Vec<String> {
        dovecot
            .log()
            .lines()
            .filter(|l| l.contains(&needle))
            .map(String::from)
            .collect()
    };
    common::eventually(Duration::from_secs(5), || {
        let lines = read();
        (lines.len() >= at_least).then_some(lines)
    })
    .unwrap_or_else(read)
}

/// Asserts the CLI logged in to the private Dovecot exactly once, over TLS or not as `tls`
/// says, and logged out (LOGOUT in the rawlog).
fn assert_one_login(dovecot: &Dovecot, account: &Account, tls: bool) {
    let lines = login_lines(dovecot, &account.username, 1);
    assert_eq!(
        lines.len(),
        1,
        "exactly one login of {} expected: {lines:?}",
        account.username
    );
    assert_eq!(
        lines[0].contains(", TLS"),
        tls,
        "login must {}be over TLS: {}",
        if tls { "" } else { "not " },
        lines[0]
    );
    let logged_out = common::eventually(Duration::from_secs(5), || {
        dovecot
            .rawlog_in(&account.username)
            .to_ascii_uppercase()
            .contains("LOGOUT")
            .then_some(())
    });
    assert!(
        logged_out.is_some(),
        "open must end with LOGOUT; the client sent after login: {:?}",
        dovecot.rawlog_in(&account.username)
    );
}

fn assert_open_summary(out: &CliOutput, account: &Account, port: u16) {
    out.assert_success();
    let summary = out.json();
    assert_eq!(summary["action"], "open", "{out}");
    assert_eq!(summary["server"], account.server.as_str(), "{out}");
    assert_eq!(summary["port"], port, "{out}");
    assert_eq!(summary["username"], account.username.as_str(), "{out}");
}

fn assert_secrets_absent(out: &CliOutput, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "a secret ({} chars) appears in the output\n{out}",
            secret.len()
        );
    }
}

/// Removes `--password X` from connection arguments.
fn without_password(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if a == "--password" {
            skip = true;
        } else {
            out.push(a);
        }
    }
    out
}

// ---- the three modes -------------------------------------------------------------------------

#[test]
#[cfg_attr(
    all(cfimap_external, not(cfimap_external_secure = "yes")),
    ignore = "CFIMAP_TEST_SECURE is not yes: the external server is not tested for implicit TLS"
)]
fn open_with_implicit_tls() {
    let account = target::account();
    let out = open(&account, Secure::Tls);
    assert_open_summary(&out, &account, account.port_tls.unwrap());
    if account.private {
        assert_one_login(Dovecot::shared(Flavor::Default), &account, true);
    }
}

#[test]
#[cfg_attr(
    all(cfimap_external, not(cfimap_external_secure = "starttls")),
    ignore = "CFIMAP_TEST_SECURE is not starttls: the external server is not tested for STARTTLS"
)]
fn open_with_starttls() {
    let account = target::account();
    let out = open(&account, Secure::StartTls);
    assert_open_summary(&out, &account, account.port_plain.unwrap());
    if account.private {
        assert_one_login(Dovecot::shared(Flavor::Default), &account, true);
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn open_without_secure_upgrades_with_starttls_when_offered() {
    let account = target::private_account(Flavor::Default);
    let port = account.port_plain.unwrap();
    // STARTTLS is really used, and not given up when it fails: with an untrusted CA the
    // default must refuse rather than fall back to a plaintext login.
    let untrusted = account.with_ca_file(account.unknown_ca_file.clone());
    let out = cfimap(["open", "--format", "json"])
        .args(untrusted.cli_args_without_secure(port))
        .timeout(HANG)
        .run();
    out.assert_code(3);

    let out = cfimap(["open", "--format", "json"])
        .args(account.cli_args_without_secure(port))
        .run();
    assert_open_summary(&out, &account, port);
    // One login in all (the failed run never logged in), and over TLS.
    assert_one_login(Dovecot::shared(Flavor::Default), &account, true);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn open_with_secure_no_is_plaintext_even_when_starttls_is_offered() {
    let account = target::private_account(Flavor::Default);
    let out = open(&account, Secure::Plain);
    assert_open_summary(&out, &account, account.port_plain.unwrap());
    assert_one_login(Dovecot::shared(Flavor::Default), &account, false);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn open_without_secure_logs_in_plaintext_to_a_loopback_server_without_tls() {
    let account = target::private_account(Flavor::NoTls);
    let port = account.port_plain.unwrap();
    let out = cfimap(["open", "--format", "json"])
        .args(account.cli_args_without_secure(port))
        .run();
    assert_open_summary(&out, &account, port);
    assert_one_login(Dovecot::shared(Flavor::NoTls), &account, false);
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn secure_starttls_fails_when_the_server_does_not_offer_it() {
    let account = target::private_account(Flavor::NoTls);
    let out = cfimap(["open", "--format", "json"])
        .args(account.cli_args(Secure::StartTls))
        .timeout(HANG)
        .run();
    out.assert_code(3);
    assert!(
        out.stderr.contains("STARTTLS"),
        "the error must name STARTTLS\n{out}"
    );
    assert_secrets_absent(&out, &[&account.password]);
    // The password was not sent in plaintext instead: the only login is the one below.
    open(&account, Secure::Plain).assert_success();
    let lines = login_lines(Dovecot::shared(Flavor::NoTls), &account.username, 1);
    assert_eq!(
        lines.len(),
        1,
        "only the --secure no run may log in: {lines:?}"
    );
}

/// A non-loopback address of this machine, if it has one (the address a UDP socket would use
/// towards TEST-NET-1; UDP `connect` sends nothing).
fn non_loopback_ipv4() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// A one-connection plaintext server on `ip` that greets without STARTTLS and records what the
/// client sends until it closes (or 15 s pass).
fn plaintext_server(ip: IpAddr) -> (u16, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind((ip, 0)).expect("bind a listener on the non-loopback address");
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let _ = s.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] plaintext only\r\n");
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(got);
    });
    (port, rx)
}

#[test]
#[cfg_attr(
    cfimap_no_public_ipv4,
    ignore = "this machine has no non-loopback IPv4 address"
)]
fn without_secure_plaintext_to_a_non_loopback_server_is_refused() {
    let ip = non_loopback_ipv4().expect("a non-loopback IPv4 address (the build found one)");
    let password = format!("nonloop-{}", unique::token(10));
    let (port, received) = plaintext_server(ip);
    let out = cfimap(["open", "--format", "json", "--server", &ip.to_string()])
        .args(["--port", &port.to_string(), "--username", "joe"])
        .args(["--password", &password, "--timeout", "5"])
        .timeout(HANG)
        .run();
    out.assert_code(3);
    assert!(
        out.stderr.contains("secure=no") || out.stderr.contains("--secure no"),
        "the error must say to pass secure=no explicitly\n{out}"
    );
    let sent = received
        .recv_timeout(Duration::from_secs(20))
        .expect("the test server saw no connection");
    let sent_text = String::from_utf8_lossy(&sent).to_ascii_uppercase();
    assert!(
        !sent_text.contains("LOGIN") && !sent_text.contains("AUTHENTICATE"),
        "no login may be attempted in plaintext: {sent_text:?}"
    );
    assert!(!String::from_utf8_lossy(&sent).contains(&password));

    // Asked for explicitly, plaintext is allowed: the client goes on to log in.
    let (port, received) = plaintext_server(ip);
    let _ = cfimap(["open", "--format", "json", "--server", &ip.to_string()])
        .args(["--port", &port.to_string(), "--username", "joe"])
        .args(["--password", &password, "--secure", "no", "--timeout", "2"])
        .timeout(HANG)
        .run();
    let sent = received
        .recv_timeout(Duration::from_secs(20))
        .expect("the test server saw no connection");
    let sent_text = String::from_utf8_lossy(&sent).to_ascii_uppercase();
    assert!(
        sent_text.contains("LOGIN") || sent_text.contains("AUTHENTICATE"),
        "with --secure no the client logs in: {sent_text:?}"
    );
}

// ---- credentials ---------------------------------------------------------------------------

#[test]
fn wrong_password_exits_4_and_no_password_is_shown() {
    let account = target::account();
    let secure = account.best_secure();
    let wrong = format!("Wr0ng-{}", unique::token(12));
    let bad = Account {
        password: wrong.clone(),
        ..account.clone()
    };
    let out = open(&bad, secure);
    out.assert_code(4);
    assert!(
        out.stderr.to_lowercase().contains("auth"),
        "the error must say authentication failed\n{out}"
    );
    assert!(
        out.stdout.trim().is_empty(),
        "nothing on stdout on failure\n{out}"
    );
    assert_eq!(
        out.stderr.trim().lines().count(),
        1,
        "one line on stderr\n{out}"
    );
    assert_secrets_absent(&out, &[&wrong, &account.password]);

    // The same from CFIMAP_PASSWORD.
    let out = cfimap(["open", "--format", "json"])
        .args(without_password(account.cli_args(secure)))
        .env("CFIMAP_PASSWORD", &wrong)
        .run();
    out.assert_code(4);
    assert_secrets_absent(&out, &[&wrong]);

    // And the right password from CFIMAP_PASSWORD works.
    let out = cfimap(["open", "--format", "json"])
        .args(without_password(account.cli_args(secure)))
        .env("CFIMAP_PASSWORD", &account.password)
        .run();
    out.assert_success();
}

#[test]
fn verbose_logs_never_show_the_password() {
    let account = target::account();
    let secure = account.best_secure();
    let wrong = format!("Wr0ng-{}", unique::token(12));
    for password in [account.password.clone(), wrong] {
        let acc = Account {
            password: password.clone(),
            ..account.clone()
        };
        let out = cfimap(["open", "--format", "json", "-vvv"])
            .args(acc.cli_args(secure))
            .run();
        assert!(
            matches!(out.code, Some(0) | Some(4)),
            "open -vvv must succeed or fail to authenticate\n{out}"
        );
        // The SASL PLAIN message as it goes on the wire.
        let sasl = base64(format!("\0{}\0{}", acc.username, password).as_bytes());
        assert_secrets_absent(&out, &[&password, &sasl]);
    }
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn an_8bit_password_logs_in_in_every_mode() {
    let _ = target::private_account(Flavor::Default);
    let account = Dovecot::shared(Flavor::Default).utf8_user();
    assert!(!account.password.is_ascii());
    for secure in [Secure::Tls, Secure::StartTls, Secure::Plain] {
        let out = open(&account, secure);
        assert!(
            out.code == Some(0),
            "{secure:?}: the 8-bit password must log in\n{out}"
        );
        assert_secrets_absent(&out, &[&account.password]);
    }
}

// ---- certificates ----------------------------------------------------------------------------

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn an_unknown_ca_is_refused_for_tls_and_starttls_and_the_right_cafile_accepted() {
    let account = target::private_account(Flavor::Default);
    let untrusted = account.with_ca_file(account.unknown_ca_file.clone());
    let public_roots = account.with_ca_file(None);
    for secure in [Secure::Tls, Secure::StartTls] {
        for wrong in [&untrusted, &public_roots] {
            let out = cfimap(["open", "--format", "json"])
                .args(wrong.cli_args(secure))
                .timeout(HANG)
                .run();
            assert_eq!(
                out.code,
                Some(3),
                "{secure:?} with CA {:?} must be refused\n{out}",
                wrong.ca_file
            );
            let err = out.stderr.to_lowercase();
            assert!(
                err.contains("certificate") || err.contains("tls") || err.contains("issuer"),
                "the error must say the certificate was not trusted\n{out}"
            );
            assert_secrets_absent(&out, &[&account.password]);
        }
        open(&account, secure).assert_success();
    }
    // Only the two runs with the right CA logged in.
    let lines = login_lines(Dovecot::shared(Flavor::Default), &account.username, 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains(", TLS")), "{lines:?}");
}

#[test]
#[cfg_attr(
    cfimap_external,
    ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set"
)]
fn a_cafile_that_cannot_be_read_is_an_invalid_attribute() {
    let account = target::private_account(Flavor::Default);
    let missing = account.with_ca_file(Some("/nonexistent/cfimap-test-ca.pem".into()));
    let out = open(&missing, Secure::Tls);
    out.assert_code(2);
    assert!(out.stderr.contains("cafile"), "{out}");
}

// ---- network failures ------------------------------------------------------------------------

#[test]
fn a_closed_port_fails_with_exit_3_within_the_timeout() {
    let port = ports::closed_port().unwrap();
    for secure in [Some("yes"), Some("starttls"), Some("no"), None] {
        let mut extra = vec!["--timeout", "2"];
        if let Some(s) = secure {
            extra.extend(["--secure", s]);
        }
        let out = open_at(port, &extra);
        assert_eq!(
            out.code,
            Some(3),
            "secure={secure:?}: a closed port is a connection error\n{out}"
        );
        assert!(
            out.elapsed < PROMPT,
            "secure={secure:?}: took {:?}\n{out}",
            out.elapsed
        );
        assert_secrets_absent(&out, &["fault-pass-1234"]);
    }
}

#[test]
fn a_server_that_stalls_times_out_with_exit_3() {
    // Silent from the start: no greeting.
    let silent = FaultServer::start(Script::new().stall(Duration::from_secs(60)));
    // Greets, then never answers the login.
    let mute = FaultServer::start(
        Script::new()
            .line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] fault server ready")
            .expect_any()
            .stall(Duration::from_secs(60)),
    );
    for server in [&silent, &mute] {
        let out = open_at(server.port(), &["--secure", "no", "--timeout", "1"]);
        out.assert_code(3);
        assert!(
            out.elapsed < PROMPT,
            "--timeout 1 must end the wait: took {:?}\n{out}",
            out.elapsed
        );
        assert!(
            out.stderr.to_lowercase().contains("tim"),
            "the error must say it timed out\n{out}"
        );
    }
}

#[test]
fn a_garbage_greeting_is_a_protocol_violation() {
    for greeting in [
        "SSH-2.0-OpenSSH_9.6p1 Debian-4",
        "+ go ahead",
        "HTTP/1.1 400 Bad",
    ] {
        let server = FaultServer::start(Script::new().line(greeting));
        let out = open_at(server.port(), &["--secure", "no", "--timeout", "5"]);
        assert_eq!(
            out.code,
            Some(6),
            "greeting {greeting:?} is a protocol violation\n{out}"
        );
        assert!(
            !server.received_text().contains("fault-pass-1234"),
            "no credentials after a garbage greeting"
        );
    }
}

#[test]
fn a_connection_dropped_mid_response_fails_with_exit_3() {
    let scripts = [
        // Cut inside the tagged answer to the login.
        Script::new()
            .line("* OK [CAPABILITY IMAP4rev1] fault server ready")
            .expect(r"(?i)^\S+ (LOGIN|AUTHENTICATE)( |$)")
            .step(Step::SendTagged(b"OK [CAPABILITY IMAP4".to_vec()))
            .close(),
        // Cut inside a literal of the first command after login.
        Script::logged_in("IMAP4rev1")
            .expect_any()
            .line("* LIST () \"/\" {50}")
            .send("INB")
            .close(),
        // Closed without a word after the greeting.
        Script::new()
            .line("* OK [CAPABILITY IMAP4rev1] fault server ready")
            .close(),
    ];
    for (i, script) in scripts.into_iter().enumerate() {
        let server = FaultServer::start(script);
        let out = open_at(server.port(), &["--secure", "no", "--timeout", "5"]);
        assert_eq!(out.code, Some(3), "script {i}: a dropped connection\n{out}");
        assert!(out.elapsed < PROMPT, "script {i}: {:?}\n{out}", out.elapsed);
        assert!(server.failures().is_empty(), "{:?}", server.failures());
    }
}
