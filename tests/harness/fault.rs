//! A scripted fault server: replays a transcript to every client and records what it sent.
//!
//! It covers what Dovecot won't do on demand — malformed or quirky responses, connections
//! dropped mid-literal, stalls, huge literals, `BYE` — and proves what a client sent (or that it
//! never connected at all). It listens on `127.0.0.1:0`, one thread per connection, and runs the
//! same [`Script`] on every connection:
//!
//! ```no_run
//! use cfimap_tests::fault::{FaultServer, Script};
//! let server = FaultServer::start(
//!     Script::new()
//!         .line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fault server ready")
//!         .expect_command("LOGIN")
//!         .tagged("OK logged in")
//!         .expect_command("LIST")
//!         .line("* LIST () \"/\" {5}")   // a literal announced…
//!         .send("INB")                   // …and cut short
//!         .close(),
//! );
//! // run the client against server.port(), then:
//! assert!(server.received_text().contains("LOGIN"));
//! ```
//!
//! Client commands are read whole: a synchronising literal (`{n}`) is acknowledged with
//! `+ go ahead` and its bytes become part of the command, `{n+}` is read without it. Each
//! `expect*` step remembers the command's tag for the following `tagged` steps. When a command
//! does not match, the mismatch is recorded ([`FaultServer::failures`]) and the connection is
//! closed. After the last step the server keeps reading (and recording) until the client closes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use regex::Regex;

/// Longest client command the server reads (literals included) before giving up.
const MAX_COMMAND: usize = 16 * 1024 * 1024;

/// One step of a script.
#[derive(Debug, Clone)]
pub enum Step {
    /// Send these bytes exactly.
    Send(Vec<u8>),
    /// Send `<last tag> ` followed by these bytes.
    SendTagged(Vec<u8>),
    /// Send the tag of the command read `back` commands before the last one (0: the last),
    /// a space and these bytes: how pipelined commands are answered.
    SendTaggedEarlier {
        /// How many commands before the last one.
        back: usize,
        /// What follows the tag.
        bytes: Vec<u8>,
    },
    /// Read one client command; it must match (the tag included in the text matched).
    Expect(Regex),
    /// Read one client command, whatever it is.
    ExpectAny,
    /// Send nothing for this long, while recording what the client sends. If the client closes
    /// meanwhile, the script ends there without a failure.
    Stall(Duration),
    /// Send `prefix`, then `{size}` CRLF, then `size` bytes of `x` (streamed). If the client
    /// goes away meanwhile, the script ends there without a failure.
    HugeLiteral {
        /// Text before the literal, e.g. `* 1 FETCH (BODY[] `.
        prefix: Vec<u8>,
        /// Announced and sent length.
        size: u64,
    },
    /// Send `prefix`, then `size` bytes of `x` and never a line end (streamed). If the client
    /// goes away meanwhile, the script ends there without a failure.
    EndlessLine {
        /// Text the line starts with, e.g. `* OK ` for a greeting.
        prefix: Vec<u8>,
        /// How many bytes follow it.
        size: u64,
    },
    /// Close the connection now (without reading further).
    Close,
}

/// A transcript to replay: built step by step.
#[derive(Debug, Clone, Default)]
pub struct Script {
    steps: Vec<Step>,
}

impl Script {
    /// An empty script (the server then just records until the client closes).
    pub fn new() -> Script {
        Script::default()
    }

    /// The usual greeting plus a simple login: `* OK [CAPABILITY caps] ready`, then expects
    /// `LOGIN` or `AUTHENTICATE` and answers `OK`. `caps` e.g. `"IMAP4rev1 AUTH=PLAIN"`.
    pub fn logged_in(caps: &str) -> Script {
        Script::new()
            .line(&format!("* OK [CAPABILITY {caps}] fault server ready"))
            .expect(r"(?i)^\S+ (LOGIN|AUTHENTICATE)( |$)")
            .tagged(&format!("OK [CAPABILITY {caps}] logged in"))
    }

    /// Appends a step.
    pub fn step(mut self, step: Step) -> Script {
        self.steps.push(step);
        self
    }

    /// Sends `bytes` exactly as given (no CRLF added).
    pub fn send(self, bytes: impl AsRef<[u8]>) -> Script {
        self.step(Step::Send(bytes.as_ref().to_vec()))
    }

    /// Sends `text` followed by CRLF.
    pub fn line(self, text: &str) -> Script {
        self.step(Step::Send(format!("{text}\r\n").into_bytes()))
    }

    /// Sends `<tag> text` CRLF, where tag is that of the last command read.
    pub fn tagged(self, text: &str) -> Script {
        self.step(Step::SendTagged(format!("{text}\r\n").into_bytes()))
    }

    /// Sends `<tag> text` CRLF with the tag of the command read `back` commands before the
    /// last one: ends one of several commands the client sent before any answer (pipelined).
    pub fn tagged_earlier(self, back: usize, text: &str) -> Script {
        self.step(Step::SendTaggedEarlier {
            back,
            bytes: format!("{text}\r\n").into_bytes(),
        })
    }

    /// Expects a client command matching `regex` (applied to the whole command, tag included,
    /// without the final CRLF). Panics on an invalid regex (a bug in the test).
    pub fn expect(self, regex: &str) -> Script {
        let re = Regex::new(regex).unwrap_or_else(|e| panic!("bad regex {regex:?}: {e}"));
        self.step(Step::Expect(re))
    }

    /// Expects the command `name` with any tag, e.g. `expect_command("UID FETCH")`
    /// (case-insensitive; `name` is matched literally, followed by a space or the end).
    pub fn expect_command(self, name: &str) -> Script {
        self.expect(&format!(r"(?i)^\S+ {}( |$)", regex::escape(name)))
    }

    /// Expects any one command.
    pub fn expect_any(self) -> Script {
        self.step(Step::ExpectAny)
    }

    /// Sends nothing for `duration` (the client's timeout should fire).
    pub fn stall(self, duration: Duration) -> Script {
        self.step(Step::Stall(duration))
    }

    /// Sends `prefix{size}` CRLF and `size` bytes; e.g. `huge_literal("* 1 FETCH (BODY[] ", 1 << 30)`.
    pub fn huge_literal(self, prefix: &str, size: u64) -> Script {
        self.step(Step::HugeLiteral {
            prefix: prefix.as_bytes().to_vec(),
            size,
        })
    }

    /// Sends `prefix` and then `size` bytes without a line end; e.g.
    /// `endless_line("* OK ", 300 << 20)` for a greeting that never ends.
    pub fn endless_line(self, prefix: &str, size: u64) -> Script {
        self.step(Step::EndlessLine {
            prefix: prefix.as_bytes().to_vec(),
            size,
        })
    }

    /// Sends `* BYE text` CRLF and closes.
    pub fn bye(self, text: &str) -> Script {
        self.line(&format!("* BYE {text}")).close()
    }

    /// Closes the connection.
    pub fn close(self) -> Script {
        self.step(Step::Close)
    }

    // ---- how cfimap's actions begin and end, for scripts of whole actions ----

    /// [`Script::logged_in`], then the delimiter probe a client without NAMESPACE sends
    /// (`LIST "" ""`, answered with the delimiter `/`): how every action begins.
    pub fn session(caps: &str) -> Script {
        Script::logged_in(caps)
            .expect(r#"^\S+ LIST "" ""$"#)
            .line(r#"* LIST (\Noselect) "/" """#)
            .tagged("OK List completed.")
    }

    /// `SELECT INBOX` answered with `exists` messages, read-write: how a change opens its
    /// folder.
    pub fn select_inbox(self, exists: usize) -> Script {
        self.expect(r"(?i)^\S+ SELECT (INBOX|\x22INBOX\x22)$")
            .line(r"* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)")
            .line(&format!("* {exists} EXISTS"))
            .line("* 0 RECENT")
            .line("* OK [UIDVALIDITY 1700000000] UIDs valid")
            .line("* OK [UIDNEXT 20000] Predicted next UID")
            .tagged("OK [READ-WRITE] Select completed.")
    }

    /// `EXAMINE` of the folder answered with `count` messages (UIDs 1–`count`), up to its
    /// tagged OK.
    fn examined(self, count: u32) -> Script {
        self.expect_command("EXAMINE")
            .line(&format!("* {count} EXISTS"))
            .line("* 0 RECENT")
            .line("* OK [UIDVALIDITY 7] ok")
            .line(&format!("* OK [UIDNEXT {}] ok", count + 1))
            .tagged("OK [READ-ONLY] EXAMINE done")
    }

    /// `EXAMINE` of the folder answered with three messages (UIDs 1–3): how getHeaderOnly and
    /// getAll of a whole folder begin; their `FETCH 1:3`, by message number with no `UID
    /// SEARCH` before, is the next command.
    pub fn examine_three(self) -> Script {
        self.examined(3).expect(r"(?i)^\S+ FETCH 1:3 ")
    }

    /// [`Script::examine_three`] read by a UID or number selection: `UID SEARCH` of the
    /// selection answered with UIDs 1–3, then its `UID FETCH` is the next command.
    pub fn examine_three_searched(self) -> Script {
        self.examine_numbered_searched(3)
    }

    /// `EXAMINE` of the folder answered with `count` messages (UIDs 1–`count`): how a longer
    /// read of a whole folder begins; its first `FETCH`, by message number, is the next
    /// command.
    pub fn examine_numbered(self, count: u32) -> Script {
        self.examined(count).expect_command("FETCH")
    }

    /// [`Script::examine_numbered`] read by a UID or number selection: `UID SEARCH` of the
    /// selection answered with UIDs 1–`count`, then its `UID FETCH` is the next command.
    pub fn examine_numbered_searched(self, count: u32) -> Script {
        let uids: Vec<String> = (1..=count).map(|n| n.to_string()).collect();
        self.examined(count)
            .expect_command("UID SEARCH")
            .line(&format!("* SEARCH {}", uids.join(" ")))
            .tagged("OK SEARCH done")
            .expect_command("UID FETCH")
    }

    /// `LOGOUT` answered: how an action that went well ends.
    pub fn logout(self) -> Script {
        self.expect_command("LOGOUT")
            .line("* BYE Logging out")
            .tagged("OK Logout completed.")
    }
}

/// What happened on one connection.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// Every byte the client sent, in order.
    pub received: Vec<u8>,
    /// The commands read by `expect*` steps (lossy UTF-8, without CRLF).
    pub commands: Vec<String>,
    /// `true` once every step ran.
    pub completed: bool,
    /// Why the script stopped early, if it did.
    pub failure: Option<String>,
    /// `true` once the connection is closed.
    pub closed: bool,
}

struct Shared {
    transcripts: Mutex<Vec<Transcript>>,
    streams: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
}

/// A running fault server; stops on drop.
pub struct FaultServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

/// The header block of scripted message `n`: `From: f<n>@example.org`, `Subject: scripted <n>`.
pub fn scripted_header(n: u32) -> String {
    format!("From: f{n}@example.org\r\nSubject: scripted {n}\r\n\r\n")
}

/// `* n FETCH (…)` and CRLF, as a header-only read's `UID FETCH` is answered for message `n`
/// with UID `uid`: no flags, its size and date, and [`scripted_header`] unless `header` is false.
pub fn header_fetch(n: u32, uid: u32, header: bool) -> String {
    let head = scripted_header(n);
    let mut line = format!(
        "* {n} FETCH (UID {uid} FLAGS () RFC822.SIZE {} INTERNALDATE \"04-Mar-2025 10:00:00 +0000\"",
        head.len() + 6
    );
    if header {
        line.push_str(&format!(" BODY[HEADER] {{{}}}\r\n{head}", head.len()));
    }
    line.push_str(")\r\n");
    line
}

impl std::fmt::Debug for FaultServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FaultServer {
    /// Starts a server on `127.0.0.1:0` running `script` on every connection.
    /// Panics if it cannot bind (nothing a test could handle).
    pub fn start(script: Script) -> FaultServer {
        let listener =
            TcpListener::bind(("127.0.0.1", 0)).expect("bind the fault server to 127.0.0.1:0");
        let addr = listener.local_addr().expect("fault server address");
        let shared = Arc::new(Shared {
            transcripts: Mutex::new(Vec::new()),
            streams: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(listener, script, shared))
        };
        FaultServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The address, `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The connection attributes of `cfimap` for this server: `--server 127.0.0.1 --port <port>
    /// --username u --password p --secure no` (the scripts accept any login).
    pub fn cli_args(&self) -> Vec<String> {
        let port = self.port().to_string();
        [
            "--server",
            "127.0.0.1",
            "--port",
            &port,
            "--username",
            "u",
            "--password",
            "p",
        ]
        .into_iter()
        .chain(["--secure", "no"])
        .map(str::to_owned)
        .collect()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.lock().len()
    }

    /// Waits up to `timeout` until every accepted connection is closed; `true` if they are.
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.lock().iter().all(|t| t.closed) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Snapshot of every connection's transcript, after waiting up to 5 s for them to close.
    pub fn transcripts(&self) -> Vec<Transcript> {
        self.wait_closed(Duration::from_secs(5));
        self.lock().clone()
    }

    /// Every byte clients sent, all connections concatenated (after [`FaultServer::wait_closed`]
    /// up to 5 s). Empty if nothing connected.
    pub fn received(&self) -> Vec<u8> {
        self.transcripts()
            .into_iter()
            .flat_map(|t| t.received)
            .collect()
    }

    /// [`FaultServer::received`] as lossy UTF-8.
    pub fn received_text(&self) -> String {
        String::from_utf8_lossy(&self.received()).into_owned()
    }

    /// Script failures (mismatched or missing commands), one per affected connection.
    pub fn failures(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter_map(|t| t.failure.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Transcript>> {
        self.shared
            .transcripts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for s in self
            .shared
            .streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
        let _ = TcpStream::connect(self.addr); // wake the acceptor
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, script: Script, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let index = {
            let mut t = shared.transcripts.lock().unwrap_or_else(|e| e.into_inner());
            t.push(Transcript::default());
            t.len() - 1
        };
        if let Ok(clone) = stream.try_clone() {
            shared
                .streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(clone);
        }
        let script = script.clone();
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let mut conn = Conn {
                stream,
                shared: Arc::clone(&shared),
                index,
                buf: Vec::new(),
                tag: "*".into(),
                tags: Vec::new(),
            };
            match conn.run(&script) {
                Ok(()) => {
                    conn.update(|t| t.completed = true);
                    conn.drain();
                }
                // A mismatch closes the connection at once.
                Err(e) => conn.update(|t| t.failure = Some(format!("connection {index}: {e}"))),
            }
            let _ = conn.stream.shutdown(Shutdown::Both);
            conn.update(|t| t.closed = true);
        });
    }
}

struct Conn {
    stream: TcpStream,
    shared: Arc<Shared>,
    index: usize,
    buf: Vec<u8>,
    tag: String,
    /// The tags of every command read, in order.
    tags: Vec<String>,
}

enum Read1 {
    Data,
    Eof,
    Idle,
}

impl Conn {
    fn update(&self, f: impl FnOnce(&mut Transcript)) {
        let mut all = self
            .shared
            .transcripts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(t) = all.get_mut(self.index) {
            f(t);
        }
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Reads once with a short timeout, recording what arrives.
    fn read_some(&mut self) -> io::Result<Read1> {
        self.stream
            .set_read_timeout(Some(Duration::from_millis(100)))?;
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Ok(Read1::Eof),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                let data = chunk[..n].to_vec();
                self.update(|t| t.received.extend_from_slice(&data));
                Ok(Read1::Data)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(Read1::Idle)
            }
            Err(e) => Err(e),
        }
    }

    fn run(&mut self, script: &Script) -> Result<(), String> {
        for (i, step) in script.steps.iter().enumerate() {
            match step {
                Step::Send(bytes) => self
                    .write(bytes)
                    .map_err(|e| format!("step {i}: send: {e}"))?,
                Step::SendTagged(bytes) => {
                    let mut line = format!("{} ", self.tag).into_bytes();
                    line.extend_from_slice(bytes);
                    self.write(&line)
                        .map_err(|e| format!("step {i}: send: {e}"))?;
                }
                Step::SendTaggedEarlier { back, bytes } => {
                    let tag =
                        self.tags.iter().rev().nth(*back).ok_or_else(|| {
                            format!("step {i}: no command {back} before the last")
                        })?;
                    let mut line = format!("{tag} ").into_bytes();
                    line.extend_from_slice(bytes);
                    self.write(&line)
                        .map_err(|e| format!("step {i}: send: {e}"))?;
                }
                Step::Expect(re) => {
                    let cmd = self
                        .read_command()
                        .map_err(|e| format!("step {i}: expected /{re}/: {e}"))?;
                    if !re.is_match(&cmd) {
                        return Err(format!("step {i}: expected /{re}/, got {cmd:?}"));
                    }
                }
                Step::ExpectAny => {
                    self.read_command()
                        .map_err(|e| format!("step {i}: expected a command: {e}"))?;
                }
                Step::Stall(d) => {
                    let deadline = Instant::now() + *d;
                    while Instant::now() < deadline && !self.stopping() {
                        match self.read_some() {
                            // The client gave up (its timeout): that is what a stall is for.
                            Ok(Read1::Eof) | Err(_) => return Ok(()),
                            _ => {}
                        }
                    }
                }
                Step::HugeLiteral { prefix, size } => {
                    let mut head = prefix.clone();
                    head.extend_from_slice(format!("{{{size}}}\r\n").as_bytes());
                    self.write(&head)
                        .map_err(|e| format!("step {i}: send: {e}"))?;
                    if !self.stream_bytes(*size) {
                        // The client refused the literal and closed: expected.
                        return Ok(());
                    }
                }
                Step::EndlessLine { prefix, size } => {
                    self.write(prefix)
                        .map_err(|e| format!("step {i}: send: {e}"))?;
                    if !self.stream_bytes(*size) {
                        // The client gave up on the line and closed: expected.
                        return Ok(());
                    }
                }
                Step::Close => {
                    let _ = self.stream.shutdown(Shutdown::Both);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Sends `size` bytes of `x`; `false` when the client went away first.
    fn stream_bytes(&mut self, size: u64) -> bool {
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if self.write(&chunk[..n]).is_err() || self.stopping() {
                return false;
            }
            left -= n as u64;
        }
        true
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream
            .set_write_timeout(Some(Duration::from_secs(30)))?;
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Reads one command (synchronising literals acknowledged), records and returns it.
    fn read_command(&mut self) -> Result<String, String> {
        let mut cmd: Vec<u8> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // One line.
            let end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i + 2;
                }
                if let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
                    break i + 1; // tolerate bare LF
                }
                self.fill(deadline, cmd.len())?;
            };
            let line: Vec<u8> = self.buf.drain(..end).collect();
            let body = line
                .strip_suffix(b"\r\n")
                .or_else(|| line.strip_suffix(b"\n"))
                .unwrap_or(&line);
            cmd.extend_from_slice(body);
            match literal_spec(body) {
                Some((n, sync)) => {
                    cmd.extend_from_slice(b"\r\n");
                    if sync {
                        self.write(b"+ go ahead\r\n").map_err(|e| e.to_string())?;
                    }
                    while self.buf.len() < n {
                        self.fill(deadline, cmd.len() + self.buf.len())?;
                    }
                    cmd.extend(self.buf.drain(..n));
                }
                None => break,
            }
        }
        let text = String::from_utf8_lossy(&cmd).into_owned();
        self.tag = text.split(' ').next().unwrap_or("*").to_string();
        self.tags.push(self.tag.clone());
        let recorded = text.clone();
        self.update(|t| t.commands.push(recorded));
        Ok(text)
    }

    fn fill(&mut self, deadline: Instant, have: usize) -> Result<(), String> {
        if have > MAX_COMMAND {
            return Err("command too long".into());
        }
        loop {
            if self.stopping() {
                return Err("server stopping".into());
            }
            match self.read_some() {
                Ok(Read1::Data) => return Ok(()),
                Ok(Read1::Eof) => return Err("client closed the connection".into()),
                Ok(Read1::Idle) if Instant::now() > deadline => {
                    return Err("no command within 60 s".into());
                }
                Ok(Read1::Idle) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// After the script: record until the client closes or the server stops.
    fn drain(&mut self) {
        while !self.stopping() {
            match self.read_some() {
                Ok(Read1::Data) | Ok(Read1::Idle) => continue,
                _ => return,
            }
        }
    }
}

/// `{n}` → (n, true), `{n+}` → (n, false) at the end of a line.
fn literal_spec(line: &[u8]) -> Option<(usize, bool)> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&c| c == b'{')?;
    let digits = &body[open + 1..];
    let (digits, sync) = match digits.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (digits, true),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((std::str::from_utf8(digits).ok()?.parse().ok()?, sync))
}

#[cfg(test)]
mod tests {
    #[test]
    fn literal_specs() {
        assert_eq!(super::literal_spec(b"a LOGIN {3}"), Some((3, true)));
        assert_eq!(super::literal_spec(b"a LOGIN {3+}"), Some((3, false)));
        assert_eq!(super::literal_spec(b"a LOGIN x"), None);
    }
}
