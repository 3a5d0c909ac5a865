//! An IMAP session: connect, secure, log in, run commands, log out.
//!
//! [`Session::open`] decides how to connect before it does (`plan`: the
//! port, the security and the timeout from the tag's attributes, and the
//! attributes no server may see refused), secures the connection, logs in
//! (`login`: LOGIN or SASL) and learns the personal namespace. Commands
//! then run through `command`: built as imap-codec [`CommandBody`] values
//! and encoded by imap-codec, each run to its end, pipelined, or streamed
//! a response at a time.

mod command;
mod login;
mod plan;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::response::{Capability, Code, Data, GreetingKind};

use crate::bindings::cfimap::imap::types::ConnectOptions;
use crate::error::{Error, Result};
use crate::imap::responses::{Decoder, Limits, LiteralSink};
use crate::imap::transport::Link;

pub use command::{Done, Next, Pending};
use plan::{Mode, Plan};

/// What the server may send at most: one message (a FETCH with a whole
/// message counts as one), and one line of it outside literals — enough for
/// a `SEARCH` answer of a million 10-digit UIDs.
const LIMITS: Limits = Limits {
    message: 256 << 20,
    line: 16 << 20,
};

/// The personal namespace: where the user's own folders live (RFC 2342).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Prefix on the wire (modified UTF-7), e.g. `INBOX.` or empty.
    pub prefix: String,
    /// The hierarchy delimiter, when the server has one.
    pub delimiter: Option<char>,
}

/// A logged-in IMAP session.
pub struct Session {
    link: Link,
    decoder: Decoder,
    next_tag: u32,
    capabilities: HashSet<String>,
    namespace: Namespace,
    /// Text of an untagged BYE, once one arrived.
    bye: Option<String>,
    /// Where large literals go as they arrive ([`Session::spill_into`]).
    spill: Option<Rc<RefCell<dyn LiteralSink>>>,
}

impl Session {
    /// Offers the large literals of the responses read from now on to
    /// `sink` as they arrive (see [`LiteralSink`]); `None` buffers them
    /// whole again.
    pub fn spill_into(&mut self, sink: Option<Rc<RefCell<dyn LiteralSink>>>) {
        self.spill = sink;
    }

    /// Connects, secures the connection as `options.secure` says (the
    /// `security` enum of `wit/types.wit`: absent, implicit TLS on port 993,
    /// else STARTTLS when offered, plaintext only to a loopback peer), and
    /// logs in.
    pub fn open(options: &ConnectOptions) -> Result<Self> {
        let plan = Plan::from_options(options)?;
        let link = Link::open(
            &options.server,
            plan.port,
            plan.implicit_tls,
            plan.timeout_ms,
        )?;
        let mut session = Session {
            link,
            decoder: Decoder::new(LIMITS),
            next_tag: 1,
            capabilities: HashSet::new(),
            namespace: Namespace {
                prefix: String::new(),
                delimiter: None,
            },
            bye: None,
            spill: None,
        };
        let greeting = session.decoder.greeting(&mut session.link)?;
        let preauth = match greeting.kind {
            GreetingKind::Ok => false,
            GreetingKind::PreAuth => true,
            GreetingKind::Bye => {
                return Err(Error::ConnectionClosed(format!(
                    "the server refused the connection: {}",
                    greeting.text.inner()
                )));
            }
        };
        match greeting.code {
            Some(Code::Capability(caps)) => session.set_capabilities(caps.as_ref()),
            _ => session.refresh_capabilities()?,
        }
        session.secure(&plan, preauth)?;
        if !preauth {
            session.login(&options.username, &options.credentials)?;
        }
        session.discover_namespace()?;
        Ok(session)
    }

    /// Whether the server announced `name` (upper case, e.g. `UIDPLUS`).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.contains(name)
    }

    /// The personal namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Logs out. The server's BYE and tagged OK are awaited but a connection
    /// the server closes first is fine.
    pub fn logout(mut self) -> Result<()> {
        match self.run(CommandBody::Logout) {
            Ok(_) | Err(Error::ConnectionClosed(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn set_capabilities(&mut self, capabilities: &[Capability<'_>]) {
        self.capabilities = capabilities
            .iter()
            .map(|c| c.to_string().to_ascii_uppercase())
            .collect();
    }

    fn refresh_capabilities(&mut self) -> Result<()> {
        let done = self.run(CommandBody::Capability)?;
        let caps = done.data.iter().find_map(|d| match d {
            Data::Capability(caps) => Some(caps.as_ref().to_vec()),
            _ => None,
        });
        match caps {
            Some(caps) => {
                self.set_capabilities(&caps);
                Ok(())
            }
            None => Err(Error::ProtocolViolation(
                "CAPABILITY completed without a CAPABILITY response".into(),
            )),
        }
    }

    fn secure(&mut self, plan: &Plan, preauth: bool) -> Result<()> {
        let offered = self.has_capability("STARTTLS");
        let upgrade = match plan.mode {
            Mode::Implicit | Mode::Plain => false,
            Mode::Starttls if !offered => {
                return Err(Error::Tls(
                    "secure=starttls was asked for, but the server does not offer STARTTLS".into(),
                ));
            }
            Mode::Starttls => true,
            Mode::Auto if offered && !preauth => true,
            Mode::Auto if self.link.is_loopback() => false,
            Mode::Auto => {
                return Err(Error::Tls(
                    "the server offers no TLS on this port; refusing to log in in plaintext to a \
                     non-loopback server (pass secure=no to allow it, or secure=yes for port 993)"
                        .into(),
                ));
            }
        };
        if !upgrade {
            return Ok(());
        }
        if preauth {
            return Err(Error::Tls(
                "the server pre-authenticated the connection, so STARTTLS is impossible".into(),
            ));
        }
        self.run(CommandBody::StartTLS)?;
        if self.decoder.has_unread_bytes() {
            return Err(Error::ProtocolViolation(
                "the server sent data after its STARTTLS answer (possible plaintext injection)"
                    .into(),
            ));
        }
        self.link.start_tls()?;
        // Capabilities from before TLS must not be trusted (RFC 3501 §6.2.1).
        self.refresh_capabilities()
    }

    fn discover_namespace(&mut self) -> Result<()> {
        if self.has_capability("NAMESPACE") {
            let done = self.run(CommandBody::Namespace)?;
            let personal = done.data.iter().find_map(|d| match d {
                Data::Namespace { personal, .. } => personal.first().cloned(),
                _ => None,
            });
            if let Some(ns) = personal {
                self.namespace = Namespace {
                    prefix: String::from_utf8_lossy(ns.prefix.as_ref()).into_owned(),
                    delimiter: ns.delimiter.map(|d| d.inner()),
                };
                return Ok(());
            }
        }
        // Without NAMESPACE, LIST "" "" tells the delimiter (RFC 3501 §6.3.8).
        let done = self.run(CommandBody::List {
            reference: "".try_into().map_err(|_| Error::SessionClosed)?,
            mailbox_wildcard: "".try_into().map_err(|_| Error::SessionClosed)?,
        })?;
        self.namespace.delimiter = done.data.iter().find_map(|d| match d {
            Data::List { delimiter, .. } => delimiter.as_ref().map(|q| q.inner()),
            _ => None,
        });
        Ok(())
    }
}
