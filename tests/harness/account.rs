//! An account a test may use: where the server is, how to reach it, who to log in as.
//!
//! Accounts come from [`crate::target`] (the private Dovecot or an external server) or directly
//! from [`crate::dovecot::Dovecot::user`]. On the private Dovecot each account is a fresh user
//! with an empty mailbox tree; on an external server many tests share one throwaway account, so
//! each [`Account`] carries a unique *scratch* folder (`cfimap-test-<random>`) and tests put
//! everything they create under it ([`Account::path`], [`Account::wire_name`]), then remove it
//! ([`Account::cleanup`], or [`Account::guard`] which does it on drop).

use std::path::PathBuf;

use crate::imap::{self, Client};
use crate::mutf7;

/// The `secure` attribute: how a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secure {
    /// Implicit TLS (`--secure yes`).
    Tls,
    /// Plain connection upgraded with STARTTLS (`--secure starttls`).
    StartTls,
    /// No TLS (`--secure no`).
    Plain,
}

impl Secure {
    /// The CLI value: `yes`, `starttls` or `no`.
    pub fn as_arg(self) -> &'static str {
        match self {
            Secure::Tls => "yes",
            Secure::StartTls => "starttls",
            Secure::Plain => "no",
        }
    }

    /// Parses `yes|true|tls|ssl`, `starttls`, `no|false|plain` (case-insensitive).
    pub fn parse(value: &str) -> Option<Secure> {
        match value.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "tls" | "ssl" => Some(Secure::Tls),
            "starttls" => Some(Secure::StartTls),
            "no" | "false" | "plain" => Some(Secure::Plain),
            _ => None,
        }
    }
}

/// A server account for one test.
#[derive(Debug, Clone)]
pub struct Account {
    /// Host name or address to connect to (`127.0.0.1` for the private Dovecot).
    pub server: String,
    /// Port without implicit TLS (plaintext or STARTTLS), if the server has one.
    pub port_plain: Option<u16>,
    /// Port with implicit TLS, if the server has one.
    pub port_tls: Option<u16>,
    /// `true` if the plain port offers STARTTLS.
    pub starttls: bool,
    /// Login name.
    pub username: String,
    /// Password (may contain 8-bit characters).
    pub password: String,
    /// CA certificate (PEM) to trust; `None` means the public webpki roots.
    pub ca_file: Option<PathBuf>,
    /// A CA that did *not* sign the server's certificate (private Dovecot only).
    pub unknown_ca_file: Option<PathBuf>,
    /// The hierarchy delimiter of the personal namespace.
    pub delimiter: char,
    /// The personal namespace prefix, e.g. `""` or `"INBOX."`.
    pub prefix: String,
    /// The folder this test may use on a shared external account, as a `/` path
    /// (`cfimap-test-<random>`); `None` on the private Dovecot, where the user is fresh.
    pub scratch: Option<String>,
    /// `true` for the private Dovecot, `false` for a server named by `CFIMAP_TEST_SERVER`.
    pub private: bool,
}

impl Account {
    /// The port for `secure`: the TLS port for [`Secure::Tls`], else the plain port.
    pub fn port(&self, secure: Secure) -> Option<u16> {
        match secure {
            Secure::Tls => self.port_tls,
            Secure::StartTls | Secure::Plain => self.port_plain,
        }
    }

    /// `true` if the account can be reached with `secure`.
    pub fn supports(&self, secure: Secure) -> bool {
        match secure {
            Secure::Tls => self.port_tls.is_some(),
            Secure::StartTls => self.port_plain.is_some() && self.starttls,
            Secure::Plain => self.port_plain.is_some(),
        }
    }

    /// The most secure way to reach the account: TLS, else STARTTLS, else plain.
    pub fn best_secure(&self) -> Secure {
        [Secure::Tls, Secure::StartTls]
            .into_iter()
            .find(|s| self.supports(*s))
            .unwrap_or(Secure::Plain)
    }

    /// CLI arguments for this account with `secure`:
    /// `--server S --port P --username U --password PW --secure X [--cafile F]`.
    ///
    /// Panics if the account has no port for `secure` (check [`Account::supports`] first).
    pub fn cli_args(&self, secure: Secure) -> Vec<String> {
        let port = self.port(secure).unwrap_or_else(|| {
            panic!(
                "account on {} has no port for secure={}",
                self.server,
                secure.as_arg()
            )
        });
        let mut args = self.cli_args_without_secure(port);
        args.push("--secure".into());
        args.push(secure.as_arg().into());
        args
    }

    /// Like [`Account::cli_args`] but without `--secure`, for tests of the default rule.
    pub fn cli_args_without_secure(&self, port: u16) -> Vec<String> {
        let mut args = vec![
            "--server".to_string(),
            self.server.clone(),
            "--port".into(),
            port.to_string(),
            "--username".into(),
            self.username.clone(),
            "--password".into(),
            self.password.clone(),
        ];
        if let Some(ca) = &self.ca_file {
            args.push("--cafile".into());
            args.push(ca.display().to_string());
        }
        args
    }

    /// The same account trusting `ca_file` instead (`None`: the public webpki roots). E.g.
    /// `account.with_ca_file(account.unknown_ca_file.clone())` for "unknown CA" tests.
    pub fn with_ca_file(&self, ca_file: Option<PathBuf>) -> Account {
        Account {
            ca_file,
            ..self.clone()
        }
    }

    /// A `/` path for a folder of this test: `rel` itself on the private Dovecot, or
    /// `<scratch>/rel` on an external account. `rel` is Unicode and `/`-separated.
    pub fn path(&self, rel: &str) -> String {
        match &self.scratch {
            Some(root) if rel.is_empty() => root.clone(),
            Some(root) => format!("{root}/{rel}"),
            None => rel.to_string(),
        }
    }

    /// The server's full name (Unicode) for the `/` path [`Account::path`]`(rel)`: delimiter
    /// mapped, namespace prefix added. This is what listAllFolders reports as FULLNAME.
    pub fn full_name(&self, rel: &str) -> String {
        let path = self.path(rel);
        if path.eq_ignore_ascii_case("INBOX") {
            return "INBOX".into();
        }
        let mapped: String = path
            .split('/')
            .collect::<Vec<_>>()
            .join(&self.delimiter.to_string());
        if !self.prefix.is_empty() && !mapped.starts_with(&self.prefix) {
            format!("{}{}", self.prefix, mapped)
        } else {
            mapped
        }
    }

    /// The wire name (modified UTF-7) of [`Account::full_name`]`(rel)`, for the raw client.
    pub fn wire_name(&self, rel: &str) -> String {
        mutf7::encode(&self.full_name(rel))
    }

    /// Connects the raw client with the most secure available mode and logs in.
    pub fn connect(&self) -> imap::Result<Client> {
        self.connect_with(self.best_secure())
    }

    /// Connects the raw client with `secure` and logs in.
    pub fn connect_with(&self, secure: Secure) -> imap::Result<Client> {
        let mut client = self.connect_unauthenticated(secure)?;
        client.login(&self.username, &self.password)?;
        Ok(client)
    }

    /// Connects the raw client with `secure` without logging in (greeting read; STARTTLS done).
    pub fn connect_unauthenticated(&self, secure: Secure) -> imap::Result<Client> {
        let no_port = || imap::Error::Protocol(format!("no port for secure={}", secure.as_arg()));
        let ca = self.ca_file.as_deref();
        match secure {
            Secure::Tls => {
                Client::connect_tls(&self.server, self.port_tls.ok_or_else(no_port)?, ca)
            }
            Secure::StartTls => {
                Client::connect_plain(&self.server, self.port_plain.ok_or_else(no_port)?)?
                    .starttls(ca)
            }
            Secure::Plain => {
                Client::connect_plain(&self.server, self.port_plain.ok_or_else(no_port)?)
            }
        }
    }

    /// Creates each folder of the `/` path `rel` (parents first) with the raw client;
    /// existing folders are fine.
    /// On an external account the scratch folder itself is created first.
    pub fn seed_folder(&self, client: &mut Client, rel: &str) -> imap::Result<()> {
        let parts: Vec<&str> = rel.split('/').collect();
        let first = if self.scratch.is_some() { 0 } else { 1 };
        for i in first..=parts.len() {
            let wire = self.wire_name(&parts[..i].join("/"));
            match client.create(&wire) {
                Ok(()) => {}
                Err(imap::Error::No { text, .. })
                    if text.contains("ALREADYEXISTS") || text.to_lowercase().contains("exist") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Deletes the scratch folder and everything under it (external accounts only; a no-op
    /// on the private Dovecot, whose users are thrown away with it).
    pub fn cleanup(&self) -> imap::Result<()> {
        let Some(_) = &self.scratch else {
            return Ok(());
        };
        let mut client = self.connect()?;
        let root = self.wire_name("");
        let mut names: Vec<String> = client
            .list("", &format!("{root}*"))?
            .into_iter()
            .map(|e| e.name)
            .filter(|n| n == &root || n.starts_with(&format!("{root}{}", self.delimiter)))
            .collect();
        // Deepest first: longer names are never parents of shorter ones.
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for name in names {
            match client.delete(&name) {
                Ok(()) | Err(imap::Error::No { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        client.logout()
    }

    /// A guard that calls [`Account::cleanup`] when dropped (errors are printed, not raised).
    pub fn guard(&self) -> CleanupGuard<'_> {
        CleanupGuard(self)
    }
}

/// Removes an account's scratch folder on drop; see [`Account::guard`].
#[derive(Debug)]
pub struct CleanupGuard<'a>(&'a Account);

impl Drop for CleanupGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.cleanup() {
            eprintln!(
                "cleanup of {:?} on {} failed: {e}",
                self.0.scratch, self.0.server
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(prefix: &str, delimiter: char, scratch: Option<&str>) -> Account {
        Account {
            server: "127.0.0.1".into(),
            port_plain: Some(143),
            port_tls: None,
            starttls: true,
            username: "u".into(),
            password: "p".into(),
            ca_file: None,
            unknown_ca_file: None,
            delimiter,
            prefix: prefix.into(),
            scratch: scratch.map(String::from),
            private: scratch.is_none(),
        }
    }

    #[test]
    fn names() {
        let a = account("INBOX.", '.', None);
        assert_eq!(a.full_name("Archive/2024"), "INBOX.Archive.2024");
        assert_eq!(a.full_name("inbox"), "INBOX");
        assert_eq!(a.wire_name("Entwürfe"), "INBOX.Entw&APw-rfe");
        let b = account("", '/', Some("cfimap-test-1"));
        assert_eq!(b.path("x/y"), "cfimap-test-1/x/y");
        assert_eq!(b.full_name(""), "cfimap-test-1");
        assert_eq!(b.best_secure(), Secure::StartTls);
        assert_eq!(
            b.cli_args(Secure::Plain)[..4],
            ["--server", "127.0.0.1", "--port", "143"]
        );
    }
}
