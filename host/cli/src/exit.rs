//! Exit statuses and the one line on stderr that explains a failure.

use std::process::ExitCode;

use cfimap_host::Error;

/// The exit statuses of `cfimap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 1: anything else (a trap in the component, an internal fault).
    Internal = 1,
    /// 2: bad usage or an invalid attribute.
    Usage = 2,
    /// 3: connection, TLS, policy, timeout, or the connection closed.
    Network = 3,
    /// 4: the server rejected the credentials.
    Auth = 4,
    /// 5: the server refused (NO/BAD, missing or existing folder, protected
    /// folder, a folder with subfolders, a missing capability).
    Refused = 5,
    /// 6: the server violated the protocol, or sent more than a limit
    /// allows.
    Protocol = 6,
}

impl Exit {
    /// The status for a library error.
    pub fn of(e: &Error) -> Exit {
        match e {
            Error::InvalidArgument { .. } => Exit::Usage,
            Error::DeniedByPolicy(_)
            | Error::Connect(_)
            | Error::Tls(_)
            | Error::Timeout(_)
            | Error::ConnectionClosed(_) => Exit::Network,
            Error::AuthenticationFailed(_) => Exit::Auth,
            Error::FolderNotFound(_)
            | Error::FolderExists(_)
            | Error::ProtectedFolder(_)
            | Error::FolderHasChildren(_)
            | Error::ServerRefused { .. }
            | Error::Unsupported(_) => Exit::Refused,
            Error::ProtocolViolation(_) | Error::LimitExceeded(_) => Exit::Protocol,
            _ => Exit::Internal,
        }
    }

    /// Prints `cfimap: <message>` on one line of stderr — control characters
    /// flattened, any of `secrets` blanked out — and returns the status.
    pub fn report(self, message: &str, secrets: &[String]) -> ExitCode {
        eprintln!("cfimap: {}", one_line(message, secrets));
        ExitCode::from(self as u8)
    }
}

/// `message` on one line, without the secrets in it.
fn one_line(message: &str, secrets: &[String]) -> String {
    let mut text: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for secret in secrets {
        // Very short secrets would blank out ordinary words; the component
        // and the host never put a secret in a message anyway.
        if secret.chars().count() >= 4 {
            text = text.replace(secret.as_str(), "******");
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Handles a command-line error from clap: help and version print normally
/// and exit 0; anything else is one line on stderr and exit 2.
pub fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            // clap's message is "error: <what>", maybe continued on indented
            // lines, then a blank line, usage and a hint: keep the what.
            let what: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(|l| l.trim().trim_start_matches("error:").trim())
                .collect();
            Exit::Usage.report(&format!("{} (see cfimap --help)", what.join(" ")), &[])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_flattens_and_redacts() {
        let s = one_line("bad\r\nthing hunter22 said", &["hunter22".into()]);
        assert_eq!(s, "bad thing ****** said");
    }

    #[test]
    fn statuses() {
        assert_eq!(
            Exit::of(&Error::AuthenticationFailed("x".into())),
            Exit::Auth
        );
        assert_eq!(Exit::of(&Error::Timeout("x".into())), Exit::Network);
        assert_eq!(Exit::of(&Error::FolderExists("x".into())), Exit::Refused);
        assert_eq!(
            Exit::of(&Error::ProtocolViolation("x".into())),
            Exit::Protocol
        );
        assert_eq!(Exit::of(&Error::Trap("x".into())), Exit::Internal);
        assert_eq!(
            Exit::of(&Error::InvalidArgument {
                attribute: "folder".into(),
                reason: "x".into()
            }),
            Exit::Usage
        );
    }
}
