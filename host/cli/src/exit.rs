//! Exit statuses and the one line on stderr that explains a failure.

use std::process::ExitCode;

use cfimap_host::{Error, Security};

use crate::settings::Connection;

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
pub fn one_line(message: &str, secrets: &[String]) -> String {
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

/// The error's message, with a hint when it is the sign of a usual
/// mistake in the connection settings.
pub fn with_hint(e: &Error, connection: &Connection) -> String {
    let port = connection.options.effective_port();
    let tls = connection.options.secure == Some(Security::Tls)
        || (connection.options.secure.is_none() && port == 993);
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let hint = match e {
        Error::Timeout(_) if !tls && lower.contains("greeting") => {
            format!("if port {port} expects implicit TLS (as 993 does), add --secure yes")
        }
        Error::ProtocolViolation(_) if lower.contains("tls record") => {
            format!("add --secure yes: port {port} expects implicit TLS")
        }
        Error::Tls(_) if lower.contains("unknownissuer") || lower.contains("unknown issuer") => {
            "the server's certificate is signed by an authority cfimap does not know: pass its \
             CA certificate with --cafile"
                .to_owned()
        }
        Error::Tls(_)
            if tls
                && (lower.contains("invalidcontenttype")
                    || lower.contains("corrupt message")
                    || lower.contains("invalid content type")) =>
        {
            format!(
                "port {port} seems to speak plaintext IMAP: try --secure starttls, or the \
                 implicit-TLS port (usually 993)"
            )
        }
        _ => return text,
    };
    format!("{text} (hint: {hint})")
}

/// Handles a command-line error from clap: help and version print normally
/// and exit 0; anything else is one line on stderr and exit 2. `action`:
/// the action the command line names, if any.
pub fn clap_error(e: clap::Error, action: Option<&str>) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(Exit::Usage as u8)
        }
        _ => {
            let help = match action {
                Some(action) => format!("see cfimap help {action}"),
                None => "see cfimap --help".to_owned(),
            };
            Exit::Usage.report(&format!("{} ({help})", clap_message(&e, action)), &[])
        }
    }
}

/// What clap's error says, on one line: its first paragraph and its tips
/// ("a similar argument exists"). A flag that belongs to other actions says
/// so.
pub fn clap_message(e: &clap::Error, action: Option<&str>) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() == ErrorKind::UnknownArgument
        && let Some(action) = action
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
        && let Some(name) = arg.strip_prefix("--")
    {
        let name = name.split_once('=').map_or(name, |(n, _)| n);
        let others = crate::args::actions_taking(name);
        if !others.is_empty() {
            return format!(
                "--{name} does not apply to {action}; it is an attribute of {}",
                others.join(", ")
            );
        }
    }
    let rendered = e.render().to_string();
    // clap's message is "error: <what>", maybe continued on indented lines,
    // then a blank line and tips, then usage: keep the what and the tips.
    let mut lines = rendered.lines();
    let mut parts: Vec<String> = lines
        .by_ref()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error:").trim().to_owned())
        .collect();
    parts.extend(
        lines
            .map(str::trim)
            .filter(|l| l.starts_with("tip:"))
            .map(|l| format!("({})", l.trim_start_matches("tip:").trim())),
    );
    parts.join(" ")
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
