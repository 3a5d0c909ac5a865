//! An IMAP session: connect, secure, log in, run commands, log out.
//!
//! Commands are built as imap-codec [`CommandBody`] values and encoded by
//! imap-codec; synchronising literals wait for the server's `+`. Several
//! commands without literals can be pipelined in one write. Untagged data is
//! collected for the caller; a tagged NO or BAD becomes
//! [`Error::ServerRefused`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use imap_codec::encode::{Encoder, Fragment};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::auth::{AuthMechanism, AuthenticateData};
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::{AString, LiteralMode, Tag};
use imap_codec::imap_types::response::{
    Capability, Code, CommandContinuationRequest, Data, GreetingKind, Response, Status, StatusBody,
    StatusKind,
};
use imap_codec::imap_types::secret::Secret;
use imap_codec::{AuthenticateDataCodec, CommandCodec};

use crate::bindings::cfimap::imap::types::{ConnectOptions, Credentials, Security};
use crate::error::{self, Error, Result};
use crate::responses::{Decoder, Limits, code_name};
use crate::transport::Link;

/// The tag's default `timeout`, in seconds.
const DEFAULT_TIMEOUT_S: u32 = 60;
/// What the server may send at most: one message (a FETCH with a whole
/// message counts as one), and one line of it outside literals — enough for
/// a `SEARCH` answer of a million 10-digit UIDs.
const LIMITS: Limits = Limits {
    message: 256 << 20,
    line: 16 << 20,
};

/// The server's answer to a command that completed with OK.
#[derive(Debug, Default)]
pub struct Done {
    /// Untagged data that arrived while the command ran.
    pub data: Vec<Data<'static>>,
    /// The response code of the tagged OK.
    pub code: Option<Code<'static>>,
    /// The response codes of untagged OKs that arrived while the command
    /// ran (MOVE reports its COPYUID so, RFC 6851).
    pub notes: Vec<Code<'static>>,
}

/// A command sent by [`Session::send`] whose answer is still to be read.
#[derive(Debug)]
pub struct Pending {
    tag: String,
    name: &'static str,
}

/// What [`Session::next_of`] read.
#[derive(Debug)]
pub enum Next<R> {
    /// Untagged data, as `on_data` made it.
    Data(R),
    /// The end of the answer: `None` for OK, else the refusal (NO or BAD).
    Done(Option<Error>),
}

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
}

impl Session {
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

    /// Runs one command to completion.
    pub fn run(&mut self, body: CommandBody<'_>) -> Result<Done> {
        self.run_with(body, |_| Err(()))
    }

    /// Runs one command with `extension` written after its name, where
    /// RFC 4466 §2.6 puts the options of extended commands (ESEARCH's
    /// `RETURN (ALL)`) and imap-codec writes none: `C5 UID SEARCH RETURN
    /// (ALL) ...`.
    pub fn run_extended(&mut self, body: CommandBody<'_>, extension: &str) -> Result<Done> {
        let name = body.name();
        let (tag, mut fragments) = self.encode(body)?;
        let Some(Fragment::Line { data }) = fragments.first_mut() else {
            return Err(Error::ProtocolViolation(format!(
                "{name} encoded without a line"
            )));
        };
        let head = format!(" {name} ").into_bytes();
        let at = memchr::memmem::find(data, &head)
            .ok_or_else(|| Error::ProtocolViolation(format!("{name} encoded without its name")))?
            + head.len();
        data.splice(at..at, format!("{extension} ").into_bytes());
        self.complete(&tag, name, fragments, &mut |_| Err(()))
    }

    /// Runs commands pipelined: all are written at once, then every answer
    /// is read. Untagged data of all of them comes back together; each
    /// command has its own outcome. Commands with synchronising literals are
    /// run one after the other instead.
    pub fn run_pipelined(
        &mut self,
        bodies: Vec<CommandBody<'_>>,
    ) -> Result<(Vec<Data<'static>>, Vec<Result<Done>>)> {
        let mut wire = Vec::new();
        let mut pending = BTreeMap::new();
        let mut sequential = Vec::new();
        let count = bodies.len();
        for (index, body) in bodies.into_iter().enumerate() {
            let name = body.name();
            let (tag, fragments) = self.encode(body)?;
            match unsynchronised(&fragments) {
                Some(bytes) => wire.extend_from_slice(&bytes),
                None => {
                    sequential.push((index, tag, name, fragments));
                    continue;
                }
            }
            pending.insert(tag, (index, name));
        }
        let mut outcomes: Vec<Option<Result<Done>>> = (0..count).map(|_| None).collect();
        let mut data = Vec::new();
        if !pending.is_empty() {
            self.link.write_all(&wire)?;
            while !pending.is_empty() {
                match self.next_response()? {
                    Response::Data(d) => data.push(d),
                    Response::Status(Status::Tagged(tagged)) => {
                        let Some((index, name)) = pending.remove(tagged.tag.inner()) else {
                            return Err(unexpected_tag(tagged.tag.inner()));
                        };
                        outcomes[index] = Some(conclude(name, tagged.body, Vec::new()));
                    }
                    Response::Status(_) => {}
                    Response::CommandContinuationRequest(_) => {
                        return Err(Error::ProtocolViolation(
                            "continuation request to a command without a literal".into(),
                        ));
                    }
                }
            }
        }
        for (index, tag, name, fragments) in sequential {
            let (mut done, refusal) = self.exchange(&tag, name, fragments, &mut |_| Err(()))?;
            data.append(&mut done.data);
            let outcome = match refusal {
                None => Ok(done),
                Some(e) => Err(e),
            };
            outcomes[index] = Some(outcome);
        }
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Err(Error::SessionClosed)))
            .collect();
        Ok((data, outcomes))
    }

    /// Runs one command; `respond` answers continuation requests that are
    /// not for a literal (SASL challenges) with the bytes to send, or `Err`
    /// when none are expected.
    fn run_with(
        &mut self,
        body: CommandBody<'_>,
        mut respond: impl FnMut(&CommandContinuationRequest<'_>) -> std::result::Result<Vec<u8>, ()>,
    ) -> Result<Done> {
        let name = body.name();
        let (tag, fragments) = self.encode(body)?;
        self.complete(&tag, name, fragments, &mut respond)
    }

    /// Sends an encoded command and reads it to its end: its outcome, a
    /// refusal as `Err`.
    fn complete(
        &mut self,
        tag: &str,
        name: &'static str,
        fragments: Vec<Fragment>,
        respond: &mut dyn FnMut(
            &CommandContinuationRequest<'_>,
        ) -> std::result::Result<Vec<u8>, ()>,
    ) -> Result<Done> {
        match self.exchange(tag, name, fragments, respond)? {
            (done, None) => Ok(done),
            (_, Some(refusal)) => Err(refusal),
        }
    }

    fn encode(&mut self, body: CommandBody<'_>) -> Result<(String, Vec<Fragment>)> {
        let tag = format!("C{}", self.next_tag);
        self.next_tag += 1;
        let command = Command {
            tag: Tag::try_from(tag.as_str()).map_err(|_| Error::ProtocolViolation("tag".into()))?,
            body,
        };
        let fragments = CommandCodec::default().encode(&command).collect();
        Ok((tag, fragments))
    }

    fn exchange(
        &mut self,
        tag: &str,
        name: &'static str,
        fragments: Vec<Fragment>,
        respond: &mut dyn FnMut(
            &CommandContinuationRequest<'_>,
        ) -> std::result::Result<Vec<u8>, ()>,
    ) -> Result<(Done, Option<Error>)> {
        let mut done = Done::default();
        let mut wire = Vec::new();
        for fragment in fragments {
            match fragment {
                Fragment::Line { data } => wire.extend_from_slice(&data),
                Fragment::Literal {
                    data,
                    mode: LiteralMode::Sync,
                } => {
                    // The announcing line goes first; the literal follows
                    // only once the server says `+`.
                    self.link.write_all(&wire)?;
                    wire.clear();
                    loop {
                        match self.next_response()? {
                            Response::CommandContinuationRequest(_) => break,
                            Response::Data(d) => done.data.push(d),
                            Response::Status(Status::Tagged(t)) if t.tag.inner() == tag => {
                                return Ok(settle(name, t.body, done));
                            }
                            Response::Status(Status::Tagged(t)) => {
                                return Err(unexpected_tag(t.tag.inner()));
                            }
                            Response::Status(Status::Untagged(StatusBody {
                                code: Some(code),
                                ..
                            })) => done.notes.push(code),
                            Response::Status(_) => {}
                        }
                    }
                    wire.extend_from_slice(&data);
                }
                Fragment::Literal { data, .. } => wire.extend_from_slice(&data),
            }
        }
        self.link.write_all(&wire)?;
        loop {
            match self.next_response()? {
                Response::Data(d) => done.data.push(d),
                Response::Status(Status::Tagged(t)) if t.tag.inner() == tag => {
                    return Ok(settle(name, t.body, done));
                }
                Response::Status(Status::Tagged(t)) => return Err(unexpected_tag(t.tag.inner())),
                Response::Status(Status::Untagged(StatusBody {
                    code: Some(code), ..
                })) => done.notes.push(code),
                Response::Status(_) => {}
                Response::CommandContinuationRequest(request) => match respond(&request) {
                    Ok(bytes) => self.link.write_all(&bytes)?,
                    Err(()) => {
                        return Err(Error::ProtocolViolation(format!(
                            "unexpected continuation request to {name}"
                        )));
                    }
                },
            }
        }
    }

    /// Sends one command whose answer is then read a response at a time
    /// with [`Session::next_of`]. The command must not carry a
    /// synchronising literal. Until its answer is complete no other command
    /// may run.
    pub fn send(&mut self, body: CommandBody<'_>) -> Result<Pending> {
        let name = body.name();
        let (tag, fragments) = self.encode(body)?;
        let wire = unsynchronised(&fragments).ok_or_else(|| {
            Error::Unsupported(format!(
                "{name} with a synchronising literal cannot be streamed"
            ))
        })?;
        self.link.write_all(&wire)?;
        Ok(Pending { tag, name })
    }

    /// Reads the answer to `pending` up to its next untagged data, which is
    /// handed to `on_data` borrowed from the receive buffer (a FETCH of a
    /// whole message is neither copied nor held), or to its end. A NO or BAD
    /// is the outcome (the data before it stays good), not `Err`.
    pub fn next_of<R>(
        &mut self,
        pending: &Pending,
        on_data: impl FnOnce(Data<'_>) -> R,
    ) -> Result<Next<R>> {
        enum Step<R> {
            Data(R),
            Untagged,
            Tagged(StatusBody<'static>),
            Stray(String),
            Continuation,
        }
        let mut on_data = Some(on_data);
        loop {
            let step = self.next_with(|response| match response {
                Response::Data(data) => match on_data.take() {
                    Some(f) => Step::Data(f(data)),
                    None => Step::Untagged,
                },
                Response::Status(Status::Tagged(t)) if t.tag.inner() == pending.tag => {
                    Step::Tagged(t.body.into_static())
                }
                Response::Status(Status::Tagged(t)) => Step::Stray(t.tag.inner().to_owned()),
                Response::Status(_) => Step::Untagged,
                Response::CommandContinuationRequest(_) => Step::Continuation,
            })?;
            match step {
                Step::Data(r) => return Ok(Next::Data(r)),
                Step::Untagged => {}
                Step::Tagged(body) => {
                    return Ok(Next::Done(settle(pending.name, body, Done::default()).1));
                }
                Step::Stray(other) => return Err(unexpected_tag(&other)),
                Step::Continuation => {
                    return Err(Error::ProtocolViolation(format!(
                        "unexpected continuation request to {}",
                        pending.name
                    )));
                }
            }
        }
    }

    /// The next response, owned.
    fn next_response(&mut self) -> Result<Response<'static>> {
        self.next_with(|r| r.into_static())
    }

    /// The next response, handed to `f` borrowed; BYE is remembered so that
    /// the connection's end can be explained.
    fn next_with<R>(&mut self, f: impl FnOnce(Response<'_>) -> R) -> Result<R> {
        let bye = &mut self.bye;
        let result = self.decoder.with_response(&mut self.link, |response| {
            if let Response::Status(Status::Bye(b)) = &response {
                *bye = Some(b.text.inner().to_owned());
            }
            f(response)
        });
        match result {
            Err(Error::ConnectionClosed(_)) if self.bye.is_some() => {
                let text = self.bye.take().unwrap_or_default();
                Err(Error::ConnectionClosed(format!(
                    "the server said BYE: {text}"
                )))
            }
            other => other,
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

    fn login(&mut self, username: &str, credentials: &Credentials) -> Result<()> {
        let outcome = match credentials {
            Credentials::Password(password) => self.login_password(username, password),
            Credentials::BearerToken(token) => self.login_bearer(username, token),
        };
        let done = outcome.map_err(|e| match e {
            Error::ServerRefused { text, .. } => Error::AuthenticationFailed(text),
            other => other,
        })?;
        // Servers such as Dovecot announce UIDPLUS and MOVE only after login.
        match done.code {
            Some(Code::Capability(caps)) => {
                self.set_capabilities(caps.as_ref());
                Ok(())
            }
            _ => self.refresh_capabilities(),
        }
    }

    fn login_password(&mut self, username: &str, password: &str) -> Result<Done> {
        if self.has_capability("AUTH=PLAIN") {
            let mut message = Vec::with_capacity(username.len() + password.len() + 2);
            message.push(0);
            message.extend_from_slice(username.as_bytes());
            message.push(0);
            message.extend_from_slice(password.as_bytes());
            return self.authenticate(AuthMechanism::Plain, message, None);
        }
        if self.has_capability("LOGINDISABLED") {
            return Err(Error::Unsupported(
                "the server disables LOGIN and offers no AUTH=PLAIN".into(),
            ));
        }
        let username = AString::try_from(username)
            .map_err(|_| Error::invalid("username", "cannot be sent in a LOGIN command"))?;
        let password = AString::try_from(password)
            .map_err(|_| Error::invalid("password", "cannot be sent in a LOGIN command"))?;
        self.run(CommandBody::Login {
            username,
            password: Secret::new(password),
        })
    }

    fn login_bearer(&mut self, username: &str, token: &str) -> Result<Done> {
        if self.has_capability("AUTH=OAUTHBEARER") {
            let message = format!(
                "n,a={},\x01auth=Bearer {token}\x01\x01",
                sasl_name(username)
            );
            // On failure the server sends a JSON challenge; the client answers
            // with a lone ^A and then gets the tagged NO (RFC 7628 §3.2.3).
            return self.authenticate(
                AuthMechanism::OAuthBearer,
                message.into_bytes(),
                Some(vec![1]),
            );
        }
        if self.has_capability("AUTH=XOAUTH2") {
            let message = format!("user={username}\x01auth=Bearer {token}\x01\x01");
            return self.authenticate(AuthMechanism::XOAuth2, message.into_bytes(), Some(vec![]));
        }
        Err(Error::Unsupported(
            "the server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2 for a bearer token".into(),
        ))
    }

    /// AUTHENTICATE with one client message: as the initial response when the
    /// server offers SASL-IR, otherwise after its first `+`. `on_error` is the
    /// answer to an error challenge that follows.
    fn authenticate(
        &mut self,
        mechanism: AuthMechanism<'static>,
        message: Vec<u8>,
        on_error: Option<Vec<u8>>,
    ) -> Result<Done> {
        let sasl_ir = self.has_capability("SASL-IR");
        let mut pending = if sasl_ir { None } else { Some(message.clone()) };
        let initial_response = sasl_ir.then(|| Secret::new(Cow::Owned(message)));
        let mut error_answer = on_error;
        self.run_with(
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            },
            move |_challenge| {
                let data = match pending.take() {
                    Some(message) => message,
                    None => error_answer.take().ok_or(())?,
                };
                Ok(AuthenticateDataCodec::default()
                    .encode(&AuthenticateData::Continue(Secret::new(Cow::Owned(data))))
                    .dump())
            },
        )
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

/// How the connection is to be secured, decided before connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Implicit,
    Starttls,
    Plain,
    /// `secure` absent on a port other than 993: STARTTLS when offered,
    /// plaintext only to loopback.
    Auto,
}

struct Plan {
    mode: Mode,
    implicit_tls: bool,
    port: u16,
    timeout_ms: u32,
}

impl Plan {
    fn from_options(options: &ConnectOptions) -> Result<Self> {
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

/// The bytes of an encoded command that can be written at once: `None` if
/// it has a synchronising literal, which must wait for the server's `+`.
fn unsynchronised(fragments: &[Fragment]) -> Option<Vec<u8>> {
    let mut wire = Vec::new();
    for fragment in fragments {
        match fragment {
            Fragment::Literal {
                mode: LiteralMode::Sync,
                ..
            } => return None,
            Fragment::Line { data } | Fragment::Literal { data, .. } => {
                wire.extend_from_slice(data);
            }
        }
    }
    Some(wire)
}

/// Turns a tagged status into the command's outcome, keeping the untagged
/// data that arrived whether the command succeeded or not.
fn settle(name: &str, body: StatusBody<'static>, done: Done) -> (Done, Option<Error>) {
    match body.kind {
        StatusKind::Ok => (
            Done {
                code: body.code,
                ..done
            },
            None,
        ),
        kind => (done, Some(refusal(name, kind, body))),
    }
}

/// Turns a tagged status into the command's outcome.
fn conclude(name: &str, body: StatusBody<'static>, data: Vec<Data<'static>>) -> Result<Done> {
    let done = Done {
        data,
        ..Done::default()
    };
    match settle(name, body, done) {
        (done, None) => Ok(done),
        (_, Some(e)) => Err(e),
    }
}

fn refusal(name: &str, kind: StatusKind, body: StatusBody<'static>) -> Error {
    Error::ServerRefused {
        command: name.to_owned(),
        status: if kind == StatusKind::No {
            error::Status::No
        } else {
            error::Status::Bad
        },
        code: body.code.as_ref().map(code_name),
        text: body.text.inner().to_owned(),
    }
}

fn unexpected_tag(tag: &str) -> Error {
    Error::ProtocolViolation(format!("a tagged response for unknown tag {tag:?}"))
}

/// A SASL `saslname` (RFC 5801): `,` and `=` escaped.
fn sasl_name(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}
