//! Decides, when the tests are built, which of them this configuration cannot run, so that
//! libtest reports each as ignored with its reason instead of passing it. (libtest has no
//! runtime skip: a test that returns early is counted as passed.)
//!
//! - `cfimap_external`: `CFIMAP_TEST_SERVER` is set, so tests that need the private Dovecot
//!   (its rawlog, its flavors, thousands of seeded messages) are ignored;
//! - `cfimap_external_secure = "yes" | "starttls" | "no"`: the external server's mode, so the
//!   tests of the other modes are ignored;
//! - `cfimap_no_public_ipv4`: this machine has no non-loopback IPv4 address to test the
//!   plaintext refusal against (decided when the build script runs: a machine that gains or
//!   loses its network later needs `cargo clean -p cfimap-tests`).
//!
//! `CFIMAP_TEST_REQUIRE_ALL=1` (set by `make test` and `.ci/run`) sets none of them: every
//! test runs, and one that cannot fails, naming what it lacked.

use std::net::UdpSocket;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cfimap_external)");
    println!(
        "cargo::rustc-check-cfg=cfg(cfimap_external_secure, values(\"yes\", \"starttls\", \"no\"))"
    );
    println!("cargo::rustc-check-cfg=cfg(cfimap_no_public_ipv4)");
    for var in [
        "CFIMAP_TEST_SERVER",
        "CFIMAP_TEST_SECURE",
        "CFIMAP_TEST_REQUIRE_ALL",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if var("CFIMAP_TEST_REQUIRE_ALL").as_deref() == Some("1") {
        return;
    }
    if var("CFIMAP_TEST_SERVER").is_some() {
        println!("cargo::rustc-cfg=cfimap_external");
        // The same spellings the harness accepts (`account::Secure::parse`); its default is yes.
        let secure = match var("CFIMAP_TEST_SECURE").map(|s| s.trim().to_ascii_lowercase()) {
            Some(s) if s == "starttls" => "starttls",
            Some(s) if s == "no" || s == "false" || s == "plain" => "no",
            _ => "yes",
        };
        println!("cargo::rustc-cfg=cfimap_external_secure=\"{secure}\"");
    }
    if !has_public_ipv4() {
        println!("cargo::rustc-cfg=cfimap_no_public_ipv4");
    }
}

/// Whether a route leaves this machine from a non-loopback IPv4 address (no packet is sent:
/// connecting a UDP socket only picks the source address).
fn has_public_ipv4() -> bool {
    let Ok(socket) = UdpSocket::bind("0.0.0.0:0") else {
        return false;
    };
    socket.connect("192.0.2.1:9").is_ok()
        && socket
            .local_addr()
            .is_ok_and(|a| !a.ip().is_loopback() && !a.ip().is_unspecified())
}
