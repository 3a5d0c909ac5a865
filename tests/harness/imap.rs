//! A tiny blocking IMAP client for seeding mail and checking the server's state.
//!
//! It exists so tests can verify what the product did without trusting the product: it speaks
//! wire names (modified UTF-7, see [`crate::mutf7`]), sends each command in one write, waits for
//! `+` before every synchronising literal, and reads responses as logical lines with their
//! literals inline. Plain TCP, implicit TLS and STARTTLS are supported; TLS is verified by
//! rustls against the given CA file (or the webpki roots when none is given).
//!
//! Every server answer is treated as untrusted: malformed responses become
//! [`Error::Protocol`], never a panic.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Longest logical response line (literals included) the client accepts.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// What went wrong talking to the server.
#[derive(Debug)]
pub enum Error {
    /// Socket error, including timeouts and the peer closing the connection.
    Io(io::Error),
    /// The TLS handshake or session failed (e.g. `InvalidCertificate(UnknownIssuer)`).
    Tls(rustls::Error),
    /// The TLS configuration could not be built (bad CA file, bad server name).
    TlsConfig(String),
    /// The server answered `NO`.
    No {
        /// The command (verb only; never arguments such as passwords).
        command: String,
        /// The server's response text.
        text: String,
    },
    /// The server answered `BAD`.
    Bad {
        /// The command (verb only).
        command: String,
        /// The server's response text.
        text: String,
    },
    /// The server sent `* BYE` and closed.
    Bye(String),
    /// The server sent something this client cannot parse.
    Protocol(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o: {e}"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::TlsConfig(e) => write!(f, "TLS configuration: {e}"),
            Error::No { command, text } => write!(f, "{command}: NO {text}"),
            Error::Bad { command, text } => write!(f, "{command}: BAD {text}"),
            Error::Bye(text) => write!(f, "BYE {text}"),
            Error::Protocol(what) => write!(f, "protocol: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        let tls = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned();
        match tls {
            Some(t) => Error::Tls(t),
            None => Error::Io(e),
        }
    }
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, Error>;

/// One token of a parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An atom or number, e.g. `FETCH`, `\Seen`, `42`, `BODY[HEADER]`.
    Atom(String),
    /// A quoted string, unescaped.
    Quoted(Vec<u8>),
    /// A literal's bytes.
    Literal(Vec<u8>),
    /// A parenthesised list.
    List(Vec<Token>),
}

impl Token {
    /// The token as a string: atom, quoted or literal (lossy UTF-8); `None` for a list.
    pub fn as_string(&self) -> Option<String> {
        match self {
            Token::Atom(a) => Some(a.clone()),
            Token::Quoted(b) | Token::Literal(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Token::List(_) => None,
        }
    }

    /// `true` for the atom `NIL` (any case).
    pub fn is_nil(&self) -> bool {
        matches!(self, Token::Atom(a) if a.eq_ignore_ascii_case("NIL"))
    }

    /// The token as a number, if it is a numeric atom.
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            Token::Atom(a) => a.parse().ok(),
            _ => None,
        }
    }
}

/// Splits a logical response line (CRLF and literals included) into tokens.
///
/// Text after a status word (`OK`, `NO`, `BYE`, ...) is not IMAP data; call this on data
/// responses only (`* LIST ...`, `* STATUS ...`, `* n FETCH ...`).
pub fn tokenize(line: &[u8]) -> Result<Vec<Token>> {
    let mut pos = 0;
    let tokens = parse_seq(line, &mut pos, false)?;
    Ok(tokens)
}

fn parse_seq(s: &[u8], pos: &mut usize, in_list: bool) -> Result<Vec<Token>> {
    let mut out = Vec::new();
    loop {
        while *pos < s.len() && s[*pos] == b' ' {
            *pos += 1;
        }
        if *pos >= s.len() || s[*pos] == b'\r' || s[*pos] == b'\n' {
            if in_list {
                return Err(Error::Protocol("unterminated list".into()));
            }
            return Ok(out);
        }
        match s[*pos] {
            b'(' => {
                *pos += 1;
                out.push(Token::List(parse_seq(s, pos, true)?));
            }
            b')' => {
                if !in_list {
                    return Err(Error::Protocol("unbalanced ')'".into()));
                }
                *pos += 1;
                return Ok(out);
            }
            b'"' => {
                *pos += 1;
                let mut v = Vec::new();
                loop {
                    match s.get(*pos) {
                        None | Some(b'\r') | Some(b'\n') => {
                            return Err(Error::Protocol("unterminated quoted string".into()));
                        }
                        Some(b'\\') => {
                            let c = *s
                                .get(*pos + 1)
                                .ok_or_else(|| Error::Protocol("dangling backslash".into()))?;
                            v.push(c);
                            *pos += 2;
                        }
                        Some(b'"') => {
                            *pos += 1;
                            break;
                        }
                        Some(&c) => {
                            v.push(c);
                            *pos += 1;
                        }
                    }
                }
                out.push(Token::Quoted(v));
            }
            b'{' => {
                let close = s[*pos..]
                    .iter()
                    .position(|&c| c == b'}')
                    .ok_or_else(|| Error::Protocol("unterminated literal length".into()))?;
                let spec = std::str::from_utf8(&s[*pos + 1..*pos + close])
                    .map_err(|_| Error::Protocol("bad literal length".into()))?;
                let n: usize = spec
                    .trim_end_matches('+')
                    .parse()
                    .map_err(|_| Error::Protocol(format!("bad literal length {spec:?}")))?;
                let start = *pos + close + 1;
                if s.get(start..start + 2) != Some(b"\r\n") {
                    return Err(Error::Protocol(
                        "literal length not followed by CRLF".into(),
                    ));
                }
                let data = s
                    .get(start + 2..start + 2 + n)
                    .ok_or_else(|| Error::Protocol("literal shorter than announced".into()))?;
                out.push(Token::Literal(data.to_vec()));
                *pos = start + 2 + n;
            }
            _ => {
                let start = *pos;
                let mut depth = 0usize;
                while *pos < s.len() {
                    let c = s[*pos];
                    if c == b'[' {
                        depth += 1;
                    } else if c == b']' {
                        depth = depth.saturating_sub(1);
                    } else if depth == 0 && matches!(c, b' ' | b'(' | b')' | b'\r' | b'\n') {
                        break;
                    }
                    *pos += 1;
                }
                out.push(Token::Atom(
                    String::from_utf8_lossy(&s[start..*pos]).into_owned(),
                ));
            }
        }
    }
}

/// A part of a command: text sent as is, or a literal sent after the server's `+`.
#[derive(Debug, Clone)]
pub enum Part<'a> {
    /// Command text (no CRLF).
    Text(&'a str),
    /// A synchronising literal: `{n}` CRLF, wait for `+`, then the bytes.
    Literal(&'a [u8]),
}

/// The outcome of a tagged command that the server completed with `OK`.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// Every untagged response (`* ...`) received while the command ran, as logical lines.
    pub untagged: Vec<Vec<u8>>,
    /// The text after the tagged `OK` (response code included), without CRLF.
    pub text: String,
}

impl Completion {
    /// The untagged responses whose first word after `*` (or after a number) is `kind`,
    /// tokenized after the `*`. E.g. `data("LIST")`, `data("FETCH")`.
    pub fn data(&self, kind: &str) -> Result<Vec<Vec<Token>>> {
        let mut out = Vec::new();
        for line in &self.untagged {
            let tokens = tokenize(line.get(2..).unwrap_or_default())?;
            let word = match tokens.first() {
                Some(Token::Atom(a)) if a.parse::<u32>().is_ok() => tokens.get(1),
                first => first,
            };
            if matches!(word, Some(Token::Atom(a)) if a.eq_ignore_ascii_case(kind)) {
                out.push(tokens);
            }
        }
        Ok(out)
    }

    /// The value of a response code in the tagged text, e.g. `code("APPENDUID")` on
    /// `[APPENDUID 38505 3955] APPEND completed` gives `Some("38505 3955")`.
    pub fn code(&self, name: &str) -> Option<String> {
        response_code(&self.text, name)
    }
}

fn response_code(text: &str, name: &str) -> Option<String> {
    let inner = text.strip_prefix('[')?;
    let end = inner.find(']')?;
    let code = &inner[..end];
    let (word, rest) = code.split_once(' ').unwrap_or((code, ""));
    word.eq_ignore_ascii_case(name).then(|| rest.to_string())
}

/// One `LIST` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Mailbox attributes as sent, e.g. `\HasNoChildren`, `\Sent`.
    pub attributes: Vec<String>,
    /// The hierarchy delimiter, `None` for `NIL`.
    pub delimiter: Option<char>,
    /// The wire name, as sent (modified UTF-7 unless UTF8=ACCEPT is enabled).
    pub name: String,
}

impl ListEntry {
    /// `true` if the entry has `attribute` (case-insensitive, e.g. `"\\Noselect"`).
    pub fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }
}

/// Counts from `STATUS (MESSAGES UNSEEN RECENT)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// MESSAGES.
    pub messages: u32,
    /// UNSEEN.
    pub unseen: u32,
    /// RECENT.
    pub recent: u32,
}

/// What `SELECT`/`EXAMINE` reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    /// EXISTS.
    pub exists: u32,
    /// RECENT.
    pub recent: u32,
    /// UIDVALIDITY, if sent.
    pub uid_validity: Option<u32>,
    /// UIDNEXT, if sent.
    pub uid_next: Option<u32>,
    /// `true` if the server opened it read-only (`[READ-ONLY]`).
    pub read_only: bool,
}

/// Flags of one message from `FETCH (UID FLAGS)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFlags {
    /// Message sequence number.
    pub seq: u32,
    /// UID.
    pub uid: u32,
    /// Flags, e.g. `\Seen`.
    pub flags: Vec<String>,
}

impl MessageFlags {
    /// `true` if the message has `flag` (case-insensitive).
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    Closed,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Closed => Ok(()),
        }
    }
}

/// Builds a rustls client configuration trusting `ca_file`, or the webpki roots when `None`.
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::TlsConfig(format!("{}: {e}", path.display())))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| Error::TlsConfig(format!("{}: {e}", path.display())))?;
                roots.add(cert).map_err(Error::Tls)?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn tls_wrap(
    tcp: TcpStream,
    host: &str,
    ca_file: Option<&Path>,
) -> Result<StreamOwned<ClientConnection, TcpStream>> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| Error::TlsConfig(format!("server name {host:?}: {e}")))?;
    let conn = ClientConnection::new(tls_config(ca_file)?, name).map_err(Error::Tls)?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// A blocking IMAP connection.
pub struct Client {
    stream: Stream,
    buf: Vec<u8>,
    next_tag: u32,
    greeting: String,
    host: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.host)
            .field("tls", &self.is_tls())
            .finish()
    }
}

/// Default read/write timeout of the raw client.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

fn connect_tcp(host: &str, port: u16) -> Result<TcpStream> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
            Ok(s) => {
                s.set_read_timeout(Some(DEFAULT_TIMEOUT))?;
                s.set_write_timeout(Some(DEFAULT_TIMEOUT))?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Io(last.unwrap_or_else(|| {
        io::Error::other(format!("{host}: no address"))
    })))
}

impl Client {
    /// Connects without TLS and reads the greeting.
    pub fn connect_plain(host: &str, port: u16) -> Result<Client> {
        let tcp = connect_tcp(host, port)?;
        Client::start(Stream::Plain(tcp), host)
    }

    /// Connects with implicit TLS (verified against `ca_file`, or the webpki roots) and reads
    /// the greeting.
    pub fn connect_tls(host: &str, port: u16, ca_file: Option<&Path>) -> Result<Client> {
        let tcp = connect_tcp(host, port)?;
        let tls = tls_wrap(tcp, host, ca_file)?;
        Client::start(Stream::Tls(Box::new(tls)), host)
    }

    fn start(stream: Stream, host: &str) -> Result<Client> {
        let mut client = Client {
            stream,
            buf: Vec::new(),
            next_tag: 1,
            greeting: String::new(),
            host: host.into(),
        };
        let line = client.read_response()?;
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        if let Some(bye) = text.strip_prefix("* BYE") {
            return Err(Error::Bye(bye.trim().to_string()));
        }
        if !(text.starts_with("* OK") || text.starts_with("* PREAUTH")) {
            return Err(Error::Protocol(format!("unexpected greeting {text:?}")));
        }
        client.greeting = text;
        Ok(client)
    }

    /// The greeting line, e.g. `* OK [CAPABILITY ...] Dovecot ready.`
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// `true` once the connection is TLS (implicit or after STARTTLS).
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Sets the read timeout of the underlying socket.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        match &self.stream {
            Stream::Plain(s) => s.set_read_timeout(Some(timeout))?,
            Stream::Tls(s) => s.sock.set_read_timeout(Some(timeout))?,
            Stream::Closed => {}
        }
        Ok(())
    }

    /// Sends `CAPABILITY` and returns the capabilities in upper case.
    pub fn capabilities(&mut self) -> Result<Vec<String>> {
        let done = self.command("CAPABILITY")?;
        let mut caps = Vec::new();
        for tokens in done.data("CAPABILITY")? {
            caps.extend(
                tokens
                    .iter()
                    .skip(1)
                    .filter_map(Token::as_string)
                    .map(|c| c.to_uppercase()),
            );
        }
        Ok(caps)
    }

    /// `true` if `CAPABILITY` lists `cap` (case-insensitive).
    pub fn has_capability(&mut self, cap: &str) -> Result<bool> {
        Ok(self
            .capabilities()?
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cap)))
    }

    /// Sends `STARTTLS` and upgrades the connection, verifying against `ca_file` (or the
    /// webpki roots). Fails with [`Error::Protocol`] if the server sent bytes after its `OK`
    /// before the handshake (command injection).
    pub fn starttls(mut self, ca_file: Option<&Path>) -> Result<Client> {
        self.command("STARTTLS")?;
        if !self.buf.is_empty() {
            return Err(Error::Protocol("bytes received after STARTTLS OK".into()));
        }
        let tcp = match std::mem::replace(&mut self.stream, Stream::Closed) {
            Stream::Plain(tcp) => tcp,
            other => {
                self.stream = other;
                return Err(Error::Protocol("STARTTLS on a TLS connection".into()));
            }
        };
        let tls = tls_wrap(tcp, &self.host.clone(), ca_file)?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(self)
    }

    /// Logs in with `LOGIN`, sending user and password as literals when they are not plain
    /// printable ASCII (an 8-bit password forces a synchronising literal).
    pub fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let mut parts = vec![Part::Text("LOGIN ")];
        let (u, p) = (quote(user), quote(password));
        match &u {
            Some(q) => parts.push(Part::Text(q)),
            None => parts.push(Part::Literal(user.as_bytes())),
        }
        parts.push(Part::Text(" "));
        match &p {
            Some(q) => parts.push(Part::Text(q)),
            None => parts.push(Part::Literal(password.as_bytes())),
        }
        self.command_parts(&parts)?;
        Ok(())
    }

    /// `CREATE wire_name`.
    pub fn create(&mut self, wire_name: &str) -> Result<()> {
        self.mailbox_command("CREATE", wire_name, "")
    }

    /// `DELETE wire_name`.
    pub fn delete(&mut self, wire_name: &str) -> Result<()> {
        self.mailbox_command("DELETE", wire_name, "")
    }

    /// `RENAME from to`.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let to = astring(to);
        self.mailbox_command("RENAME", from, &format!(" {to}"))
    }

    /// `SUBSCRIBE wire_name`.
    pub fn subscribe(&mut self, wire_name: &str) -> Result<()> {
        self.mailbox_command("SUBSCRIBE", wire_name, "")
    }

    fn mailbox_command(&mut self, verb: &str, mailbox: &str, rest: &str) -> Result<()> {
        let name = astring(mailbox);
        self.command_parts(&[
            Part::Text(verb),
            Part::Text(" "),
            Part::Text(&name),
            Part::Text(rest),
        ])?;
        Ok(())
    }

    /// `APPEND mailbox (flags) {n}` + message; returns the UID from `APPENDUID` when sent.
    ///
    /// `flags` are system or keyword flags, e.g. `&["\\Seen"]`.
    pub fn append(
        &mut self,
        wire_name: &str,
        flags: &[&str],
        message: &[u8],
    ) -> Result<Option<u32>> {
        let head = format!("APPEND {} ({}) ", astring(wire_name), flags.join(" "));
        let done = self.command_parts(&[Part::Text(&head), Part::Literal(message)])?;
        Ok(done
            .code("APPENDUID")
            .and_then(|v| v.split_whitespace().nth(1).and_then(|uid| uid.parse().ok())))
    }

    /// `LIST reference pattern`, names as they are on the wire.
    pub fn list(&mut self, reference: &str, pattern: &str) -> Result<Vec<ListEntry>> {
        let cmd = format!("LIST {} {}", astring(reference), astring(pattern));
        let done = self.command_parts(&[Part::Text(&cmd)])?;
        let mut out = Vec::new();
        for tokens in done.data("LIST")? {
            let attributes = match tokens.get(1) {
                Some(Token::List(items)) => items.iter().filter_map(Token::as_string).collect(),
                other => return Err(Error::Protocol(format!("LIST attributes: {other:?}"))),
            };
            let delimiter = match tokens.get(2) {
                Some(t) if t.is_nil() => None,
                Some(t @ (Token::Quoted(_) | Token::Literal(_))) => {
                    t.as_string().and_then(|s| s.chars().next())
                }
                other => return Err(Error::Protocol(format!("LIST delimiter: {other:?}"))),
            };
            let name = tokens
                .get(3)
                .and_then(Token::as_string)
                .ok_or_else(|| Error::Protocol("LIST without a name".into()))?;
            out.push(ListEntry {
                attributes,
                delimiter,
                name,
            });
        }
        Ok(out)
    }

    /// The personal namespace `(prefix, delimiter)` from `NAMESPACE`; `None` if the server has
    /// no NAMESPACE or no personal namespace.
    pub fn personal_namespace(&mut self) -> Result<Option<(String, Option<char>)>> {
        if !self.has_capability("NAMESPACE")? {
            return Ok(None);
        }
        let done = self.command("NAMESPACE")?;
        let data = done.data("NAMESPACE")?;
        let Some(tokens) = data.first() else {
            return Ok(None);
        };
        let Some(Token::List(namespaces)) = tokens.get(1) else {
            return Ok(None);
        };
        let Some(Token::List(first)) = namespaces.first() else {
            return Ok(None);
        };
        let prefix = first.first().and_then(Token::as_string).unwrap_or_default();
        let delim = first
            .get(1)
            .filter(|t| !t.is_nil())
            .and_then(Token::as_string)
            .and_then(|s| s.chars().next());
        Ok(Some((prefix, delim)))
    }

    /// `STATUS mailbox (MESSAGES UNSEEN RECENT)`.
    pub fn status(&mut self, wire_name: &str) -> Result<Status> {
        let cmd = format!("STATUS {} (MESSAGES UNSEEN RECENT)", astring(wire_name));
        let done = self.command_parts(&[Part::Text(&cmd)])?;
        let data = done.data("STATUS")?;
        let items = match data.first().and_then(|t| t.get(2)) {
            Some(Token::List(items)) => items.clone(),
            other => return Err(Error::Protocol(format!("STATUS items: {other:?}"))),
        };
        let mut status = Status::default();
        for pair in items.chunks(2) {
            let (Some(key), Some(value)) = (
                pair.first().and_then(Token::as_string),
                pair.get(1).and_then(Token::as_u32),
            ) else {
                return Err(Error::Protocol("malformed STATUS item".into()));
            };
            match key.to_uppercase().as_str() {
                "MESSAGES" => status.messages = value,
                "UNSEEN" => status.unseen = value,
                "RECENT" => status.recent = value,
                _ => {}
            }
        }
        Ok(status)
    }

    /// `SELECT mailbox` (read-write).
    pub fn select(&mut self, wire_name: &str) -> Result<Selected> {
        self.open("SELECT", wire_name)
    }

    /// `EXAMINE mailbox` (read-only: reading does not set `\Seen`).
    pub fn examine(&mut self, wire_name: &str) -> Result<Selected> {
        self.open("EXAMINE", wire_name)
    }

    fn open(&mut self, verb: &str, wire_name: &str) -> Result<Selected> {
        let cmd = format!("{verb} {}", astring(wire_name));
        let done = self.command_parts(&[Part::Text(&cmd)])?;
        let mut sel = Selected {
            read_only: done.code("READ-ONLY").is_some(),
            ..Selected::default()
        };
        for line in &done.untagged {
            let text = String::from_utf8_lossy(line);
            let words: Vec<&str> = text.split_whitespace().collect();
            match words.as_slice() {
                ["*", n, kind, ..] if kind.eq_ignore_ascii_case("EXISTS") => {
                    sel.exists = n.parse().map_err(|_| Error::Protocol("EXISTS".into()))?
                }
                ["*", n, kind, ..] if kind.eq_ignore_ascii_case("RECENT") => {
                    sel.recent = n.parse().map_err(|_| Error::Protocol("RECENT".into()))?
                }
                ["*", "OK", ..] => {
                    let rest = text.get(5..).unwrap_or_default();
                    if let Some(v) = response_code(rest, "UIDVALIDITY") {
                        sel.uid_validity = v.trim().parse().ok();
                    }
                    if let Some(v) = response_code(rest, "UIDNEXT") {
                        sel.uid_next = v.trim().parse().ok();
                    }
                }
                _ => {}
            }
        }
        Ok(sel)
    }

    /// `UID FETCH 1:* (UID FLAGS)` on the selected mailbox, in sequence order.
    pub fn fetch_flags(&mut self) -> Result<Vec<MessageFlags>> {
        let done = self.command("UID FETCH 1:* (UID FLAGS)")?;
        let mut out = Vec::new();
        for tokens in done.data("FETCH")? {
            let seq = tokens
                .first()
                .and_then(Token::as_u32)
                .ok_or_else(|| Error::Protocol("FETCH seq".into()))?;
            let Some(Token::List(items)) = tokens.get(2) else {
                return Err(Error::Protocol("FETCH without items".into()));
            };
            let mut uid = None;
            let mut flags = Vec::new();
            for pair in items.chunks(2) {
                match (pair.first().and_then(Token::as_string), pair.get(1)) {
                    (Some(k), Some(v)) if k.eq_ignore_ascii_case("UID") => uid = v.as_u32(),
                    (Some(k), Some(Token::List(f))) if k.eq_ignore_ascii_case("FLAGS") => {
                        flags = f.iter().filter_map(Token::as_string).collect()
                    }
                    _ => {}
                }
            }
            let uid = uid.ok_or_else(|| Error::Protocol("FETCH without UID".into()))?;
            out.push(MessageFlags { seq, uid, flags });
        }
        out.sort_by_key(|m| m.seq);
        Ok(out)
    }

    /// `UID STORE uids +FLAGS.SILENT (flags)` on the selected mailbox.
    pub fn add_flags(&mut self, uids: &str, flags: &[&str]) -> Result<()> {
        self.command(&format!(
            "UID STORE {uids} +FLAGS.SILENT ({})",
            flags.join(" ")
        ))?;
        Ok(())
    }

    /// `LOGOUT`, then closes the connection.
    pub fn logout(mut self) -> Result<()> {
        let result = self.command("LOGOUT");
        self.stream = Stream::Closed;
        match result {
            Ok(_) | Err(Error::Bye(_)) => Ok(()),
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends one command (text without tag and CRLF) and waits for its completion.
    pub fn command(&mut self, text: &str) -> Result<Completion> {
        self.command_parts(&[Part::Text(text)])
    }

    /// Sends a command made of text and literals; waits for `+` before each literal.
    /// Returns the untagged responses on `OK`; `NO`/`BAD`/`BYE` become errors.
    pub fn command_parts(&mut self, parts: &[Part<'_>]) -> Result<Completion> {
        let tag = format!("h{}", self.next_tag);
        self.next_tag += 1;
        let verb = match parts.first() {
            Some(Part::Text(t)) => t.split_whitespace().next().unwrap_or("").to_uppercase(),
            _ => String::new(),
        };
        let mut pending = format!("{tag} ").into_bytes();
        let mut untagged = Vec::new();
        for part in parts {
            match part {
                Part::Text(t) => pending.extend_from_slice(t.as_bytes()),
                Part::Literal(data) => {
                    pending.extend_from_slice(format!("{{{}}}\r\n", data.len()).as_bytes());
                    self.write_all(&pending)?;
                    pending.clear();
                    loop {
                        let line = self.read_response()?;
                        if line.starts_with(b"+") {
                            break;
                        }
                        if line.starts_with(tag.as_bytes()) {
                            return finish(&verb, &tag, &line, untagged);
                        }
                        check_bye(&line)?;
                        untagged.push(line);
                    }
                    pending.extend_from_slice(data);
                }
            }
        }
        pending.extend_from_slice(b"\r\n");
        self.write_all(&pending)?;
        loop {
            let line = self.read_response()?;
            if line.starts_with(format!("{tag} ").as_bytes()) {
                return finish(&verb, &tag, &line, untagged);
            }
            if verb != "LOGOUT" {
                check_bye(&line)?;
            }
            untagged.push(line);
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()?;
        Ok(())
    }

    fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            )));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Reads one logical response line: up to CRLF, with every literal it announces inline.
    pub fn read_response(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i + 2;
                }
                if self.buf.len() + out.len() > MAX_RESPONSE {
                    return Err(Error::Protocol("response line too long".into()));
                }
                self.fill()?;
            };
            let line: Vec<u8> = self.buf.drain(..line_end).collect();
            let literal = literal_len(&line[..line.len() - 2]);
            out.extend_from_slice(&line);
            match literal {
                Some(n) => {
                    if out.len().saturating_add(n) > MAX_RESPONSE {
                        return Err(Error::Protocol(format!(
                            "literal of {n} bytes is too large"
                        )));
                    }
                    while self.buf.len() < n {
                        self.fill()?;
                    }
                    out.extend(self.buf.drain(..n));
                }
                None => return Ok(out),
            }
        }
    }
}

fn literal_len(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&c| c == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn check_bye(line: &[u8]) -> Result<()> {
    if line.starts_with(b"* BYE") {
        let text = String::from_utf8_lossy(&line[5..]).trim().to_string();
        return Err(Error::Bye(text));
    }
    Ok(())
}

fn finish(verb: &str, tag: &str, line: &[u8], untagged: Vec<Vec<u8>>) -> Result<Completion> {
    let text = String::from_utf8_lossy(&line[tag.len()..])
        .trim()
        .to_string();
    let (status, rest) = text.split_once(' ').unwrap_or((text.as_str(), ""));
    let rest = rest.to_string();
    match status.to_uppercase().as_str() {
        "OK" => Ok(Completion {
            untagged,
            text: rest,
        }),
        "NO" => Err(Error::No {
            command: verb.to_string(),
            text: rest,
        }),
        "BAD" => Err(Error::Bad {
            command: verb.to_string(),
            text: rest,
        }),
        _ => Err(Error::Protocol(format!("tagged response {text:?}"))),
    }
}

/// Quotes `s` as an IMAP quoted string when it is printable ASCII; `None` when it needs a
/// literal (8-bit characters, CR, LF, NUL).
pub fn quote(s: &str) -> Option<String> {
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    Some(q)
}

/// A mailbox argument: quoted when printable ASCII, else a best-effort quoted form of its bytes.
/// Wire names are normally modified UTF-7 and so always quotable.
fn astring(s: &str) -> String {
    quote(s).unwrap_or_else(|| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_list_and_fetch() {
        let t = tokenize(b"LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n").unwrap();
        assert_eq!(t[0], Token::Atom("LIST".into()));
        assert_eq!(
            t[1],
            Token::List(vec![
                Token::Atom("\\HasNoChildren".into()),
                Token::Atom("\\Sent".into())
            ])
        );
        assert_eq!(t[3], Token::Quoted(b"Sent Items".to_vec()));
        let t = tokenize(
            b"1 FETCH (UID 7 BODY[HEADER.FIELDS (SUBJECT)] {5}\r\nab\r\nc FLAGS (\\Seen))\r\n",
        )
        .unwrap();
        let Token::List(items) = &t[2] else { panic!() };
        assert_eq!(
            items[2],
            Token::Atom("BODY[HEADER.FIELDS (SUBJECT)]".into())
        );
        assert_eq!(items[3], Token::Literal(b"ab\r\nc".to_vec()));
        assert!(tokenize(b"(a b\r\n").is_err());
        assert!(tokenize(b"{9}\r\nab").is_err());
    }

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12}"), Some(12));
        assert_eq!(literal_len(b"a LOGIN {3+}"), Some(3));
        assert_eq!(literal_len(b"* OK {x}"), None);
        assert_eq!(literal_len(b"* OK done"), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c").as_deref(), Some("\"a\\\"b\\\\c\""));
        assert_eq!(quote("pässwörd"), None);
        assert_eq!(
            response_code("[APPENDUID 5 9] done", "appenduid").as_deref(),
            Some("5 9")
        );
    }
}
