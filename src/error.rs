//! What can go wrong in an action, as one enum that says what happened.
//!
//! Each case maps one-to-one onto the WIT `error` variant (see
//! [`crate::component`]). No case ever carries a password or token: the only
//! text they hold is the caller's attribute values, the server's words, or
//! the transport's description.

/// Why an action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An attribute has a wrong or missing value; nothing was sent for it.
    #[error("invalid attribute {attribute}: {reason}")]
    InvalidArgument {
        /// The tag's name of the attribute.
        attribute: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The host's policy does not allow the server.
    #[error("denied by policy: {0}")]
    DeniedByPolicy(String),
    /// Name resolution or the TCP connect failed.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// TLS could not be established, verified, or was required and missing.
    #[error("TLS: {0}")]
    Tls(String),
    /// The server did not answer in time.
    #[error("timeout: {0}")]
    Timeout(String),
    /// The server rejected the credentials.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(String),
    /// The folder does not exist.
    #[error("folder not found: {0}")]
    FolderNotFound(String),
    /// The folder exists already.
    #[error("folder exists: {0}")]
    FolderExists(String),
    /// The folder may not be deleted or renamed.
    #[error("protected folder: {0}")]
    ProtectedFolder(String),
    /// The folder has subfolders and `recurse` was not asked for.
    #[error("folder has subfolders: {0}")]
    FolderHasChildren(String),
    /// A tagged NO or BAD, or an OK that did not do what the action needs.
    #[error("server refused {command}: {status} {text}")]
    ServerRefused {
        /// The command's name, e.g. `CREATE`.
        command: String,
        /// How the command completed.
        status: Status,
        /// The response code's atom in upper case (e.g. `TRYCREATE`), when
        /// one was sent; [`crate::component`] types it for the WIT face.
        code: Option<String>,
        /// The server's text.
        text: String,
    },
    /// The server broke the protocol; says how.
    #[error("protocol violation: {0}")]
    ProtocolViolation(String),
    /// A well-formed answer lacked what the command asked for; the
    /// connection itself is still in step and stays usable.
    #[error("protocol violation: {0}")]
    IncompleteAnswer(String),
    /// The connection ended early.
    #[error("connection closed: {0}")]
    ConnectionClosed(String),
    /// The server lacks what the action needs and there is no safe fallback.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The session was closed or broken by an earlier error.
    #[error("session closed")]
    SessionClosed,
    /// A read's rows are still being handed out by its reader: the session
    /// runs one command at a time.
    #[error("busy: {0}")]
    Busy(String),
}

impl Error {
    /// An invalid-attribute error.
    pub fn invalid(attribute: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            attribute,
            reason: reason.into(),
        }
    }

    /// The same error with `note` appended to its text, for cases that
    /// carry one (e.g. which UIDs it was about, what was already done).
    pub fn annotated(self, note: &str) -> Self {
        match self {
            Self::ServerRefused {
                command,
                status,
                code,
                text,
            } => Self::ServerRefused {
                command,
                status,
                code,
                text: text + note,
            },
            Self::ConnectionClosed(s) => Self::ConnectionClosed(s + note),
            Self::Timeout(s) => Self::Timeout(s + note),
            Self::ProtocolViolation(s) => Self::ProtocolViolation(s + note),
            Self::IncompleteAnswer(s) => Self::IncompleteAnswer(s + note),
            Self::Unsupported(s) => Self::Unsupported(s + note),
            other => other,
        }
    }

    /// Whether the connection can no longer be trusted to carry commands:
    /// after such an error the session refuses further actions.
    pub fn breaks_session(&self) -> bool {
        matches!(
            self,
            Self::Connect(_)
                | Self::Tls(_)
                | Self::Timeout(_)
                | Self::ProtocolViolation(_)
                | Self::ConnectionClosed(_)
                | Self::SessionClosed
        )
    }
}

/// How a refused command completed (RFC 3501 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`, yet without what the action needs: `SELECT` answered
    /// `[READ-ONLY]`, or `COPY` confirmed fewer messages than asked.
    Ok,
    /// `NO`: the server could not do it.
    No,
    /// `BAD`: the server did not accept the command.
    Bad,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ok => "OK",
            Self::No => "NO",
            Self::Bad => "BAD",
        })
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
