//! The one error type of the library.
//!
//! Most cases are the component's own WIT `error` variant, one to one: they
//! say what the server or the caller got wrong. The rest are failures of the
//! host itself: loading the component, a trap inside it, an internal fault.
//! No case ever carries a password or token.

use std::fmt;

use crate::bindings::types as wit;
pub use wit::{CommandStatus, ResponseCode};

/// Why an action or the runtime failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An attribute has a wrong or missing value; nothing was sent to the
    /// server. For `attachmentpath` also: a file could not be written there
    /// (after the messages were read).
    #[error("invalid {attribute}: {reason}")]
    InvalidArgument {
        /// The tag's name of the attribute, e.g. `folder` or `cafile`.
        attribute: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// The host's policy does not allow this server, or the attachment
    /// policy this `attachmentpath`.
    #[error("denied by policy: {0}")]
    DeniedByPolicy(String),
    /// The server could not be reached (name resolution, TCP connect).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// TLS could not be established or verified, or was required and not
    /// offered.
    #[error("TLS: {0}")]
    Tls(String),
    /// The server did not answer within the timeout.
    #[error("timeout: {0}")]
    Timeout(String),
    /// The server rejected the credentials.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(String),
    /// The named folder does not exist.
    #[error("folder not found: {0}")]
    FolderNotFound(String),
    /// The folder to create, or to rename to, exists already.
    #[error("folder exists: {0}")]
    FolderExists(String),
    /// The folder may not be deleted or renamed (INBOX).
    #[error("protected folder: {0}")]
    ProtectedFolder(String),
    /// The folder has subfolders and `recurse` was not asked for.
    #[error("folder has subfolders: {0}")]
    FolderHasChildren(String),
    /// The server refused a command: NO or BAD, or an OK without what the
    /// action needs.
    #[error("server refused {command}: {status}{}{}", code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default(), if text.is_empty() { String::new() } else { format!(" {text}") })]
    ServerRefused {
        /// The command the server refused, e.g. `CREATE`.
        command: String,
        /// How the server completed it.
        status: CommandStatus,
        /// The response code, e.g. [`ResponseCode::Alreadyexists`], when the
        /// server sent one.
        code: Option<ResponseCode>,
        /// The server's human-readable text.
        text: String,
    },
    /// The server sent something that is not IMAP, or not what the command
    /// allows.
    #[error("protocol violation by the server: {0}")]
    ProtocolViolation(String),
    /// The connection ended before the action finished.
    #[error("connection closed: {0}")]
    ConnectionClosed(String),
    /// The server lacks a capability the action needs and there is no safe
    /// fallback.
    #[error("unsupported by the server: {0}")]
    Unsupported(String),
    /// The session was closed, or broken by an earlier error.
    #[error("the session is closed")]
    SessionClosed,
    /// A [`RowReader`](crate::RowReader) of this session is still reading.
    /// (Rust's borrow rules prevent this through this library; the
    /// component reports it to hosts that can.)
    #[error("busy: {0}")]
    Busy(String),
    /// A resource limit of the runtime was hit — the component's memory
    /// limit, usually because a server sent more than a client can hold. The
    /// session is over.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// The component could not be loaded or compiled, or
    /// ([`precompile_into`](crate::precompiled::precompile_into)) its compiled
    /// form not written.
    #[error("cannot load the cfimap component: {0}")]
    Load(String),
    /// The component trapped (a bug in it). Its session is unusable
    /// afterwards.
    #[error("the cfimap component failed: {0}")]
    Trap(String),
    /// Any other failure of the host.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Self {
        use wit::Error as E;
        match e {
            E::InvalidArgument(a) => Error::InvalidArgument {
                attribute: a.attribute,
                reason: a.reason,
            },
            E::DeniedByPolicy(m) => Error::DeniedByPolicy(m),
            E::Connect(m) => Error::Connect(m),
            E::Tls(m) => Error::Tls(m),
            E::Timeout(m) => Error::Timeout(m),
            E::AuthenticationFailed(m) => Error::AuthenticationFailed(m),
            E::FolderNotFound(m) => Error::FolderNotFound(m),
            E::FolderExists(m) => Error::FolderExists(m),
            E::ProtectedFolder(m) => Error::ProtectedFolder(m),
            E::FolderHasChildren(m) => Error::FolderHasChildren(m),
            E::ServerRefused(r) => Error::ServerRefused {
                command: r.command,
                status: r.status,
                code: r.code,
                text: r.text,
            },
            E::ProtocolViolation(m) => Error::ProtocolViolation(m),
            E::ConnectionClosed(m) => Error::ConnectionClosed(m),
            E::Unsupported(m) => Error::Unsupported(m),
            E::SessionClosed => Error::SessionClosed,
            E::Busy(m) => Error::Busy(m),
        }
    }
}

impl Error {
    /// A trap or host-call failure inside the component, as an [`Error`].
    pub(crate) fn trap(e: &wasmtime::Error) -> Self {
        // `{:#}` would not exist on every wasmtime error type; join the chain
        // by hand. The chain holds trap messages and host errors, never the
        // arguments of the call, so no secret can appear in it.
        let mut text = e.to_string();
        for cause in e.chain().skip(1) {
            let cause = cause.to_string();
            if !text.contains(&cause) {
                text.push_str(": ");
                text.push_str(&cause);
            }
        }
        Error::Trap(text)
    }
}

impl fmt::Display for CommandStatus {
    /// The status as the server sent it: `OK`, `NO` or `BAD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommandStatus::Ok => "OK",
            CommandStatus::No => "NO",
            CommandStatus::Bad => "BAD",
        })
    }
}

impl fmt::Display for ResponseCode {
    /// The code's atom as the server sent it, e.g. `ALREADYEXISTS`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ResponseCode as C;
        f.write_str(match self {
            C::Alert => "ALERT",
            C::Badcharset => "BADCHARSET",
            C::Parse => "PARSE",
            C::ReadOnly => "READ-ONLY",
            C::Trycreate => "TRYCREATE",
            C::Copyuid => "COPYUID",
            C::Unavailable => "UNAVAILABLE",
            C::Authenticationfailed => "AUTHENTICATIONFAILED",
            C::Authorizationfailed => "AUTHORIZATIONFAILED",
            C::Expired => "EXPIRED",
            C::Privacyrequired => "PRIVACYREQUIRED",
            C::Contactadmin => "CONTACTADMIN",
            C::Noperm => "NOPERM",
            C::Inuse => "INUSE",
            C::Expungeissued => "EXPUNGEISSUED",
            C::Corruption => "CORRUPTION",
            C::Serverbug => "SERVERBUG",
            C::Clientbug => "CLIENTBUG",
            C::Cannot => "CANNOT",
            C::Limit => "LIMIT",
            C::Overquota => "OVERQUOTA",
            C::Alreadyexists => "ALREADYEXISTS",
            C::Nonexistent => "NONEXISTENT",
            C::Other(atom) => atom,
        })
    }
}
