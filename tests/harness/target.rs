//! Where the conformance tests run: the private Dovecot, or a server of the user's choosing.
//!
//! By default every test gets a fresh user of the shared private Dovecot
//! ([`crate::dovecot::Dovecot::shared`]). When `CFIMAP_TEST_SERVER` is set, tests run against
//! that server instead, with one throwaway account:
//!
//! | variable | meaning |
//! |---|---|
//! | `CFIMAP_TEST_SERVER` | host name or address (switches the suite to this server) |
//! | `CFIMAP_TEST_PORT` | port (default 993 for `yes`, else 143) |
//! | `CFIMAP_TEST_USER`, `CFIMAP_TEST_PASSWORD` | the throwaway account |
//! | `CFIMAP_TEST_SECURE` | `yes` (implicit TLS, default), `starttls` or `no` |
//! | `CFIMAP_TEST_CAFILE` | extra CA (PEM) to trust; default: the public webpki roots |
//!
//! Tests then create and remove their own folders under a unique `cfimap-test-<random>`
//! folder ([`Account::path`], [`Account::guard`]). Tests about one server configuration (the
//! Courier namespace, a server without TLS, ...) use [`private_account`] and are marked to be
//! ignored when the suite is built for an external server (see `tests/build.rs`).

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::account::{Account, Secure};
use crate::dovecot::{Dovecot, Flavor};
use crate::unique;

/// The external server from the `CFIMAP_TEST_*` variables.
#[derive(Debug, Clone)]
pub struct External {
    /// `CFIMAP_TEST_SERVER`.
    pub server: String,
    /// `CFIMAP_TEST_PORT` or the default for `secure`.
    pub port: u16,
    /// `CFIMAP_TEST_SECURE`.
    pub secure: Secure,
    /// `CFIMAP_TEST_USER`.
    pub username: String,
    /// `CFIMAP_TEST_PASSWORD`.
    pub password: String,
    /// `CFIMAP_TEST_CAFILE`.
    pub ca_file: Option<PathBuf>,
}

impl External {
    /// Reads the variables; `Ok(None)` when `CFIMAP_TEST_SERVER` is unset or empty,
    /// `Err` naming the variable that is missing or invalid.
    pub fn from_env() -> Result<Option<External>, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let Some(server) = var("CFIMAP_TEST_SERVER") else {
            return Ok(None);
        };
        let secure = match var("CFIMAP_TEST_SECURE") {
            None => Secure::Tls,
            Some(v) => Secure::parse(&v)
                .ok_or_else(|| format!("CFIMAP_TEST_SECURE={v:?}: expected yes, starttls or no"))?,
        };
        let port = match var("CFIMAP_TEST_PORT") {
            None if secure == Secure::Tls => 993,
            None => 143,
            Some(p) => p
                .parse()
                .map_err(|_| format!("CFIMAP_TEST_PORT={p:?} is not a port"))?,
        };
        let username = var("CFIMAP_TEST_USER")
            .ok_or("CFIMAP_TEST_SERVER is set but CFIMAP_TEST_USER is not")?;
        let password = var("CFIMAP_TEST_PASSWORD")
            .ok_or("CFIMAP_TEST_SERVER is set but CFIMAP_TEST_PASSWORD is not")?;
        let ca_file = var("CFIMAP_TEST_CAFILE").map(PathBuf::from);
        Ok(Some(External {
            server,
            port,
            secure,
            username,
            password,
            ca_file,
        }))
    }

    /// An account on this server with a fresh scratch folder name (not yet created) and the
    /// server's personal namespace (prefix, delimiter) as NAMESPACE / LIST report it.
    pub fn account(&self) -> Result<Account, String> {
        let (prefix, delimiter) = self.namespace()?;
        Ok(Account {
            server: self.server.clone(),
            port_plain: (self.secure != Secure::Tls).then_some(self.port),
            port_tls: (self.secure == Secure::Tls).then_some(self.port),
            starttls: self.secure == Secure::StartTls,
            username: self.username.clone(),
            password: self.password.clone(),
            ca_file: self.ca_file.clone(),
            unknown_ca_file: None,
            delimiter,
            prefix,
            scratch: Some(unique::scratch_name()),
            private: false,
        })
    }

    fn namespace(&self) -> Result<(String, char), String> {
        static NS: OnceLock<Result<(String, char), String>> = OnceLock::new();
        NS.get_or_init(|| {
            let probe = Account {
                server: self.server.clone(),
                port_plain: (self.secure != Secure::Tls).then_some(self.port),
                port_tls: (self.secure == Secure::Tls).then_some(self.port),
                starttls: self.secure == Secure::StartTls,
                username: self.username.clone(),
                password: self.password.clone(),
                ca_file: self.ca_file.clone(),
                unknown_ca_file: None,
                delimiter: '/',
                prefix: String::new(),
                scratch: None,
                private: false,
            };
            let err = |e: crate::imap::Error| {
                format!(
                    "{}:{} ({}): {e}",
                    self.server,
                    self.port,
                    self.secure.as_arg()
                )
            };
            let mut client = probe.connect_with(self.secure).map_err(err)?;
            let ns = client.personal_namespace().map_err(err)?;
            let delimiter = match ns.as_ref().and_then(|(_, d)| *d) {
                Some(d) => d,
                None => client
                    .list("", "")
                    .map_err(err)?
                    .first()
                    .and_then(|e| e.delimiter)
                    .unwrap_or('/'),
            };
            let _ = client.logout();
            Ok((ns.map(|(p, _)| p).unwrap_or_default(), delimiter))
        })
        .clone()
    }
}

/// The external server, if `CFIMAP_TEST_SERVER` is set. Panics on incomplete settings.
pub fn external() -> Option<&'static External> {
    static EXT: OnceLock<Option<External>> = OnceLock::new();
    EXT.get_or_init(|| {
        External::from_env().unwrap_or_else(|e| panic!("CFIMAP_TEST_* settings: {e}"))
    })
    .as_ref()
}

/// `true` when the suite runs against an external server.
pub fn is_external() -> bool {
    external().is_some()
}

/// An account for one test: on the external server if configured (with its own scratch
/// folder), else a fresh user of the shared private Dovecot ([`Flavor::Default`]).
pub fn account() -> Account {
    match external() {
        Some(ext) => ext
            .account()
            .unwrap_or_else(|e| panic!("cannot use the external test server: {e}")),
        None => Dovecot::shared(Flavor::Default).user(),
    }
}

/// A fresh user of the shared private Dovecot of `flavor`, whatever the target. A test that
/// needs it says so with
/// `#[cfg_attr(cfimap_external, ignore = "needs the private Dovecot, and CFIMAP_TEST_SERVER is set")]`:
/// built for an external server (and without `CFIMAP_TEST_REQUIRE_ALL=1`), it is reported as
/// ignored with that reason, never as passed (see `tests/build.rs`).
pub fn private_account(flavor: Flavor) -> Account {
    Dovecot::shared(flavor).user()
}
