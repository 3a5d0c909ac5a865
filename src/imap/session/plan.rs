//! How to connect, decided from the tag's attributes before any byte is
//! sent: the port, implicit TLS or STARTTLS or plaintext, the timeout; and
//! attributes no server should see (a CR in a username) refused here.

use crate::bindings::cfimap::imap::types::{ConnectOptions, Credentials, Security};
use crate::error::{Error, Result};

/// The tag's default `timeout`, in seconds.
const DEFAULT_TIMEOUT_S: u32 = 60;

/// How the connection is to be secured, decided before connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Implicit,
    Starttls,
    Plain,
    /// `secure` absent on a port other than 993: STARTTLS when offered,
    /// plaintext only to loopback.
    Auto,
}

/// How to connect: the decision [`Plan::from_options`] takes.
pub(super) struct Plan {
    pub(super) mode: Mode,
    pub(super) implicit_tls: bool,
    pub(super) port: u16,
    pub(super) timeout_ms: u32,
}

impl Plan {
    /// The plan for `options`, or the attribute that is wrong.
    pub(super) fn from_options(options: &ConnectOptions) -> Result<Self> {
        let server = options.server.trim();
        if server.is_empty() {
            return Err(Error::invalid("server", "is required"));
        }
        if server.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::invalid(
                "server",
                "contains spaces or control characters",
            ));
        }
        if options.username.contains(['\0', '\r', '\n']) {
            return Err(Error::invalid("username", "contains NUL, CR or LF"));
        }
        let secret_ok = match &options.credentials {
            Credentials::Password(p) | Credentials::BearerToken(p) => {
                !p.contains(['\0', '\r', '\n'])
            }
        };
        if !secret_ok {
            // Say which attribute, never its value.
            let attribute = match options.credentials {
                Credentials::Password(_) => "password",
                Credentials::BearerToken(_) => "token",
            };
            return Err(Error::invalid(attribute, "contains NUL, CR or LF"));
        }
        let port = options.port.unwrap_or(match options.secure {
            Some(Security::Tls) => 993,
            _ => 143,
        });
        if port == 0 {
            return Err(Error::invalid("port", "must be between 1 and 65535"));
        }
        let mode = match options.secure {
            Some(Security::Tls) => Mode::Implicit,
            Some(Security::Starttls) => Mode::Starttls,
            Some(Security::None) => Mode::Plain,
            None if port == 993 => Mode::Implicit,
            None => Mode::Auto,
        };
        let timeout = options.timeout.unwrap_or(DEFAULT_TIMEOUT_S);
        if timeout == 0 {
            return Err(Error::invalid("timeout", "must be at least 1 second"));
        }
        Ok(Self {
            mode,
            implicit_tls: mode == Mode::Implicit,
            port,
            timeout_ms: timeout.saturating_mul(1000),
        })
    }
}
