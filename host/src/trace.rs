//! The IMAP conversation as a trace log: what a person debugging a server
//! asks for first.
//!
//! Every line the component sends (`C:`) and the server answers (`S:`) is
//! logged at `TRACE` level under the target `cfimap_host::imap`, once the
//! line is complete. Three things never reach the log:
//!
//! - **Credentials.** A `LOGIN` command keeps only its tag and name:
//!   `a1 LOGIN ***`, its literals included. An `AUTHENTICATE` keeps its
//!   mechanism; its initial response and every client line until the
//!   server's tagged answer (the SASL exchange: passwords, OAuth tokens)
//!   are `***`.
//! - **Literal bytes.** A literal (RFC 9051 §4.3) is summarised by its size,
//!   `<1234 bytes>`: message bodies are large and private.
//! - **Control characters**, which are escaped so that a hostile server
//!   cannot rewrite the terminal.
//!
//! The tracer costs nothing unless the target is enabled when the connection
//! is made.

/// The most of one line the log shows; the rest is counted.
const SHOWN: usize = 2000;

/// One direction of the conversation, assembled into lines.
#[derive(Debug, Default)]
struct Direction {
    /// The line so far (its first [`SHOWN`] bytes and one more).
    line: Vec<u8>,
    /// The line's last bytes, where a literal's `{N}` would be.
    tail: Vec<u8>,
    /// Literal bytes still to come (skipped, counted).
    literal_left: u64,
    /// The size of the literal being skipped.
    literal_size: u64,
}

/// The conversation of one connection.
#[derive(Debug, Default)]
pub(crate) struct Conversation {
    client: Direction,
    server: Direction,
    /// Inside a LOGIN command whose literals are still to come.
    in_login: bool,
    /// The tag of an AUTHENTICATE whose SASL exchange is under way: client
    /// lines are secrets until the server answers that tag.
    sasl_tag: Option<Vec<u8>>,
}

impl Conversation {
    /// A tracer, when the trace target is enabled.
    pub(crate) fn if_enabled() -> Option<Conversation> {
        tracing::enabled!(target: "cfimap_host::imap", tracing::Level::TRACE)
            .then(Conversation::default)
    }

    /// Bytes the component sent.
    pub(crate) fn client(&mut self, bytes: &[u8]) {
        for line in feed(&mut self.client, bytes) {
            let shown = self.redact(line);
            tracing::trace!(target: "cfimap_host::imap", "C: {shown}");
        }
    }

    /// Bytes the server sent.
    pub(crate) fn server(&mut self, bytes: &[u8]) {
        for line in feed(&mut self.server, bytes) {
            if let Some(tag) = &self.sasl_tag
                && answers(&line.text, tag)
            {
                self.sasl_tag = None;
            }
            let shown = show(&line);
            tracing::trace!(target: "cfimap_host::imap", "S: {shown}");
        }
    }

    /// A client line as the log shows it.
    fn redact(&mut self, line: Line) -> String {
        if self.in_login {
            // A continuation of LOGIN after a literal: all secret.
            self.in_login = line.literal.is_some();
            return secret(&line);
        }
        if self.sasl_tag.is_some() {
            return secret(&line);
        }
        let mut words = line.text.splitn(3, |b| *b == b' ');
        let tag = words.next().unwrap_or_default();
        let command = words.next().unwrap_or_default().to_ascii_uppercase();
        let rest = words.next().unwrap_or_default();
        match command.as_slice() {
            b"LOGIN" => {
                self.in_login = line.literal.is_some();
                format!("{} LOGIN ***{}", escape(tag), literal_note(&line))
            }
            b"AUTHENTICATE" => {
                self.sasl_tag = Some(tag.to_vec());
                let mechanism = rest.split(|b| *b == b' ').next().unwrap_or_default();
                let initial = rest.len() > mechanism.len();
                format!(
                    "{} AUTHENTICATE {}{}",
                    escape(tag),
                    escape(mechanism),
                    if initial { " ***" } else { "" }
                )
            }
            _ => show(&line),
        }
    }
}

/// A complete line, its literal (if it announced one) already skipped.
struct Line {
    text: Vec<u8>,
    /// The size of the literal that ended the line.
    literal: Option<u64>,
}

/// Adds `bytes` to `d` and returns the lines they complete. A line ending
/// in `{N}` (or `{N+}`) is complete once its N literal bytes have passed;
/// the text after the literal starts a new line.
fn feed(d: &mut Direction, mut bytes: &[u8]) -> Vec<Line> {
    let mut lines = Vec::new();
    while !bytes.is_empty() {
        if d.literal_left > 0 {
            let skip = usize::try_from(d.literal_left)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            d.literal_left -= skip as u64;
            bytes = &bytes[skip..];
            if d.literal_left == 0 {
                lines.push(Line {
                    text: std::mem::take(&mut d.line),
                    literal: Some(d.literal_size),
                });
            }
            continue;
        }
        let Some(end) = bytes.iter().position(|b| *b == b'\n') else {
            keep(d, bytes);
            break;
        };
        keep(d, &bytes[..end]);
        bytes = &bytes[end + 1..];
        if d.line.last() == Some(&b'\r') {
            d.line.pop();
        }
        if d.tail.last() == Some(&b'\r') {
            d.tail.pop();
        }
        let size = literal_size(&d.tail);
        d.tail.clear();
        match size {
            Some(0) => lines.push(Line {
                text: std::mem::take(&mut d.line),
                literal: Some(0),
            }),
            Some(size) => {
                d.literal_left = size;
                d.literal_size = size;
            }
            None => lines.push(Line {
                text: std::mem::take(&mut d.line),
                literal: None,
            }),
        }
    }
    lines
}

/// The longest `{N+}\r` a line can end with, and then some.
const TAIL: usize = 32;

/// Appends to a line, keeping at most [`SHOWN`] bytes of it (a hostile
/// server's endless line must not fill memory) and its last bytes.
fn keep(d: &mut Direction, bytes: &[u8]) {
    let room = (SHOWN + 1).saturating_sub(d.line.len());
    d.line.extend_from_slice(&bytes[..room.min(bytes.len())]);
    d.tail
        .extend_from_slice(&bytes[bytes.len().saturating_sub(TAIL)..]);
    let excess = d.tail.len().saturating_sub(TAIL);
    d.tail.drain(..excess);
}

/// `{N}` or `{N+}` at the end of a line.
fn literal_size(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|b| *b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Whether a server line is the tagged answer to `tag`.
fn answers(line: &[u8], tag: &[u8]) -> bool {
    line.len() > tag.len() && line.starts_with(tag) && line[tag.len()] == b' '
}

fn literal_note(line: &Line) -> String {
    match line.literal {
        Some(size) => format!(" <{size} bytes>"),
        None => String::new(),
    }
}

fn secret(line: &Line) -> String {
    format!("***{}", literal_note(line))
}

/// The line, escaped, with its literal's size.
fn show(line: &Line) -> String {
    let mut text = escape(&line.text[..line.text.len().min(SHOWN)]);
    if line.text.len() > SHOWN {
        text.push_str(" …");
    }
    text + &literal_note(line)
}

/// Text with control characters and bidirectional controls escaped, and
/// invalid UTF-8 replaced by U+FFFD.
fn escape(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .flat_map(|c| {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_lines(c: &mut Conversation, bytes: &[u8]) -> Vec<String> {
        feed(&mut c.client, bytes)
            .into_iter()
            .map(|l| c.redact(l))
            .collect()
    }

    #[test]
    fn login_keeps_no_credentials() {
        let mut c = Conversation::default();
        assert_eq!(
            client_lines(&mut c, b"a1 LOGIN alice \"hunter22\"\r\n"),
            ["a1 LOGIN ***"]
        );
        // Literals, split anywhere.
        let mut lines = client_lines(&mut c, b"a2 login {5}\r\nal");
        lines.extend(client_lines(&mut c, b"ice {8}\r\nhunter22\r\na3 NOOP\r\n"));
        assert_eq!(
            lines,
            ["a2 LOGIN *** <5 bytes>", "*** <8 bytes>", "***", "a3 NOOP"]
        );
        assert!(!lines.concat().contains("hunter22"));
        assert!(!lines.concat().contains("alice"));
    }

    #[test]
    fn sasl_is_secret_until_the_tagged_answer() {
        let mut c = Conversation::default();
        assert_eq!(
            client_lines(&mut c, b"a1 AUTHENTICATE OAUTHBEARER bixhPXVzZXI=\r\n"),
            ["a1 AUTHENTICATE OAUTHBEARER ***"]
        );
        c.server(b"+ eyJzdGF0dXMiOiI0MDEifQ==\r\n");
        // Neither an empty line nor another tag's answer ends the exchange.
        c.server(b"\r\nb7 OK what\r\n");
        assert_eq!(client_lines(&mut c, b"AQ==\r\n"), ["***"]);
        c.server(b"a1 NO [AUTHENTICATIONFAILED] no\r\n");
        assert_eq!(client_lines(&mut c, b"a2 LOGOUT\r\n"), ["a2 LOGOUT"]);
    }

    #[test]
    fn literals_are_summarised_and_controls_escaped() {
        let mut d = Direction::default();
        let lines = feed(
            &mut d,
            "* 1 FETCH (BODY[] {12}\r\nhello\r\nworld)\r\n* OK \x1b[31mred \u{202e}\r\n".as_bytes(),
        );
        let shown: Vec<String> = lines.iter().map(show).collect();
        assert_eq!(
            shown,
            [
                "* 1 FETCH (BODY[] {12} <12 bytes>",
                ")",
                "* OK \\u{1b}[31mred \\u{202e}"
            ]
        );
    }

    #[test]
    fn an_endless_line_is_cut() {
        let mut d = Direction::default();
        for _ in 0..1000 {
            assert!(feed(&mut d, &[b'x'; 1000]).is_empty());
        }
        assert!(d.line.len() <= SHOWN + 1);
        assert!(d.tail.len() <= TAIL);
        let lines = feed(&mut d, b"\r\n");
        assert!(show(&lines[0]).ends_with(" …"));
        // A long line's literal is still found by its end.
        let mut long = vec![b'*'; 5000];
        long.extend_from_slice(b" BODY[] {6}\r\nsecretrest\r\n");
        let lines = feed(&mut d, &long);
        assert_eq!(lines.len(), 2, "the literal ends the first line");
        assert_eq!(lines[0].literal, Some(6));
        assert_eq!(lines[1].text, b"rest");
    }
}
