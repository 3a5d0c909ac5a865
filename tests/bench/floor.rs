//! The floor: what reading the same answer costs with no client at all.
//!
//! A raw socket logs in, examines the folder, sends the FETCH cfimap sends
//! (after the `UID SEARCH` of a filtered job) and reads until the tagged
//! completion, parsing nothing: no literals, no responses, no messages. The end is found by scanning the bytes for
//! `CRLF <tag> `; the tags are chosen so that no line of the bench's mail
//! starts with one (a literal could otherwise end the read early).
//!
//! For listAllFolders ([`list_status`]) the floor has to know the folders to
//! ask STATUS of, so it reads the LIST answer's lines for the names of the
//! selectable folders (atoms and quoted strings; the bench's names need no
//! literal) and then sends one STATUS per folder, all at once as cfimap
//! pipelines them, counting tagged completions and nothing else.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use memchr::memmem;

/// The read buffer: large reads keep the floor's syscalls few.
const BUFFER: usize = 256 * 1024;

/// Reads until the completion of the command tagged `tag`; returns the bytes
/// read and whether it was `OK`.
fn until_tagged(stream: &mut impl Read, tag: &str, buffer: &mut [u8]) -> io::Result<(u64, bool)> {
    let needle = format!("\r\n{tag} ");
    let finder = memmem::Finder::new(needle.as_bytes());
    let overlap = needle.len() - 1;
    // The stream's last bytes before this read, too few to hold the needle,
    // for one that straddles two reads (the command's own line end first).
    let mut tail: Vec<u8> = b"\r\n".to_vec();
    let mut tagged: Option<Vec<u8>> = None;
    let mut total = 0u64;
    loop {
        let n = stream.read(buffer)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the server closed the connection before `{tag}` completed"),
            ));
        }
        total += n as u64;
        let chunk = &buffer[..n];
        if let Some(line) = &mut tagged {
            line.extend_from_slice(chunk);
        } else {
            // Searched where it lies, with memchr's memmem: the floor must
            // cost the client next to nothing, and a search a byte at a time
            // made it CPU-bound on a slow machine.
            let head = &chunk[..n.min(overlap)];
            let mut joint = tail.clone();
            joint.extend_from_slice(head);
            if let Some(at) = finder.find(&joint) {
                let mut line = joint[at + 2..].to_vec();
                line.extend_from_slice(&chunk[head.len()..]);
                tagged = Some(line);
            } else if let Some(at) = finder.find(chunk) {
                tagged = Some(chunk[at + 2..].to_vec());
            } else {
                let keep = joint.len().min(overlap);
                tail = if n >= overlap {
                    chunk[n - overlap..].to_vec()
                } else {
                    joint[joint.len() - keep..].to_vec()
                };
            }
        }
        if let Some(line) = &tagged
            && line.ends_with(b"\r\n")
        {
            let status = &line[tag.len() + 1..];
            return Ok((total, status.starts_with(b"OK")));
        }
    }
}

/// One command: sends it, reads to its completion, insists on `OK`.
fn command(stream: &mut TcpStream, buffer: &mut [u8], tag: &str, text: &str) -> io::Result<u64> {
    stream.write_all(format!("{tag} {text}\r\n").as_bytes())?;
    let (bytes, ok) = until_tagged(stream, tag, buffer)?;
    if !ok {
        return Err(io::Error::other(format!("`{tag} {text:.40}` was refused")));
    }
    Ok(bytes)
}

/// A quoted string of IMAP (RFC 3501 `quoted`).
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Connects and logs in (tag `fb1`); returns the stream and a read buffer.
fn login(port: u16, user: &str, password: &str) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    // As cfimap's host does: commands go out at once.
    stream.set_nodelay(true)?;
    let mut buffer = vec![0u8; BUFFER];
    let mut greeting = Vec::new();
    while !greeting.ends_with(b"\r\n") {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Err(io::Error::other("no greeting"));
        }
        greeting.extend_from_slice(&buffer[..n]);
    }
    if !greeting.starts_with(b"* OK") {
        return Err(io::Error::other("the greeting is not `* OK`"));
    }
    command(
        &mut stream,
        &mut buffer,
        "fb1",
        &format!("LOGIN {} {}", quote(user), quote(password)),
    )?;
    Ok((stream, buffer))
}

/// Logs in, sends `UID FETCH 1:* (<items>)` on `folder`, reads the whole
/// answer, logs out. Returns the bytes of the FETCH answer.
///
/// With `search` (criteria of `UID SEARCH`, e.g. `HEADER Message-ID "<777"`)
/// it searches first and fetches only the UIDs found (none: no FETCH). The
/// search answer is the one thing the floor reads: a `* SEARCH` line.
pub fn run(
    port: u16,
    user: &str,
    password: &str,
    folder: &str,
    items: &str,
    search: Option<&str>,
) -> io::Result<u64> {
    let (mut stream, mut buffer) = login(port, user, password)?;
    command(
        &mut stream,
        &mut buffer,
        "fb2",
        &format!("EXAMINE {}", quote(folder)),
    )?;
    let set = match search {
        None => "1:*".to_owned(),
        Some(criteria) => {
            let uids = search_uids(&mut stream, criteria)?;
            if uids.is_empty() {
                command(&mut stream, &mut buffer, "fb4", "LOGOUT")?;
                return Ok(0);
            }
            uids.join(",")
        }
    };
    let fetched = command(
        &mut stream,
        &mut buffer,
        "fb3",
        &format!("UID FETCH {set} ({items})"),
    )?;
    command(&mut stream, &mut buffer, "fb4", "LOGOUT")?;
    Ok(fetched)
}

/// `UID SEARCH <criteria>` (tag `fb5`): the UIDs of its `* SEARCH` lines.
fn search_uids(stream: &mut TcpStream, criteria: &str) -> io::Result<Vec<String>> {
    stream.write_all(format!("fb5 UID SEARCH {criteria}\r\n").as_bytes())?;
    // Byte by byte: nothing after the tagged line may be taken from the
    // stream, and the answer is a line or two.
    let mut reader = BufReader::with_capacity(1, stream.try_clone()?);
    let mut uids = Vec::new();
    let mut line = Vec::new();
    loop {
        read_line(&mut reader, &mut line)?;
        if let Some(ok) = completion(&line, "fb5") {
            if !ok {
                return Err(io::Error::other("UID SEARCH was refused"));
            }
            return Ok(uids);
        }
        if let Some(rest) = line.strip_prefix(b"* SEARCH") {
            uids.extend(
                String::from_utf8_lossy(rest)
                    .split_whitespace()
                    .map(str::to_owned),
            );
        }
    }
}

/// Reads one line (to its LF) into `line`; the end of the stream is an error.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    if reader.read_until(b'\n', line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    Ok(())
}

/// Whether `line` completes the command tagged `tag`: `Some(true)` for `OK`.
fn completion(line: &[u8], tag: &str) -> Option<bool> {
    let rest = line.strip_prefix(tag.as_bytes())?.strip_prefix(b" ")?;
    Some(rest.starts_with(b"OK"))
}

/// The name of the folder in a `* LIST` line if it can be selected (not
/// `\Noselect`, not `\NonExistent`); `None` for other lines. Only what the
/// STATUS commands need is read: the attributes, then the name as an atom
/// or a quoted string.
fn selectable(line: &[u8]) -> io::Result<Option<String>> {
    let Some(rest) = line.strip_prefix(b"* LIST (") else {
        return Ok(None);
    };
    let bad = |what: &str| io::Error::other(format!("{what} in the LIST line {line:?}"));
    let text = std::str::from_utf8(rest).map_err(|_| bad("not UTF-8"))?;
    let text = text.trim_end_matches(['\r', '\n']);
    let (attributes, rest) = text.split_once(") ").ok_or_else(|| bad("no attributes"))?;
    let attributes = attributes.to_ascii_lowercase();
    if attributes.contains("\\noselect") || attributes.contains("\\nonexistent") {
        return Ok(None);
    }
    // The delimiter: NIL, `"\\"` or a quoted character.
    let name = if let Some(r) = rest.strip_prefix("NIL ") {
        r
    } else if let Some(r) = rest.strip_prefix("\"\\\\\" ") {
        r
    } else {
        rest.get(4..).ok_or_else(|| bad("no name"))?
    };
    if name.starts_with('{') {
        return Err(bad("a literal name (not needed by the bench's folders)"));
    }
    let Some(quoted) = name.strip_prefix('"') else {
        return Ok(Some(name.to_owned()));
    };
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Ok(Some(out)),
            '\\' => out.push(chars.next().ok_or_else(|| bad("a cut escape"))?),
            c => out.push(c),
        }
    }
    Err(bad("an unterminated name"))
}

/// listAllFolders' job, raw: logs in, sends `LIST "" "*"`, then one
/// `STATUS <folder> (MESSAGES UNSEEN RECENT)` per selectable folder, all in
/// one write (from a thread, so that the answers can never stall the
/// writing), and reads until every STATUS has completed `OK`; logs out.
/// Returns the number of folders counted.
pub fn list_status(port: u16, user: &str, password: &str) -> io::Result<usize> {
    let (mut stream, _) = login(port, user, password)?;
    let mut reader = BufReader::with_capacity(BUFFER, stream.try_clone()?);
    stream.write_all(b"fb2 LIST \"\" \"*\"\r\n")?;
    let mut names = Vec::new();
    let mut line = Vec::new();
    loop {
        read_line(&mut reader, &mut line)?;
        match completion(&line, "fb2") {
            Some(true) => break,
            Some(false) => return Err(io::Error::other("LIST was refused")),
            None => names.extend(selectable(&line)?),
        }
    }
    let mut commands = Vec::with_capacity(names.len() * 64);
    for (i, name) in names.iter().enumerate() {
        write!(
            commands,
            "fs{i} STATUS {} (MESSAGES UNSEEN RECENT)\r\n",
            quote(name)
        )?;
    }
    let mut writer = stream.try_clone()?;
    let sender = std::thread::spawn(move || writer.write_all(&commands));
    let mut done = 0;
    while done < names.len() {
        read_line(&mut reader, &mut line)?;
        if line.starts_with(b"fs") {
            if line.split(|&b| b == b' ').nth(1) != Some(b"OK") {
                return Err(io::Error::other(format!(
                    "a STATUS was refused: {}",
                    String::from_utf8_lossy(&line).trim_end()
                )));
            }
            done += 1;
        }
    }
    sender
        .join()
        .map_err(|_| io::Error::other("the writing thread panicked"))??;
    stream.write_all(b"fb9 LOGOUT\r\n")?;
    loop {
        read_line(&mut reader, &mut line)?;
        if completion(&line, "fb9").is_some() {
            return Ok(done);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LIST lines as Dovecot writes them, and the names the floor reads.
    #[test]
    fn selectable_reads_names() {
        let name = |line: &str| selectable(line.as_bytes()).ok().flatten();
        assert_eq!(
            name("* LIST (\\HasNoChildren) \"/\" INBOX\r\n").as_deref(),
            Some("INBOX")
        );
        assert_eq!(
            name("* LIST (\\HasChildren) \"/\" \"Scale/g000\"\r\n").as_deref(),
            Some("Scale/g000")
        );
        assert_eq!(
            name("* LIST () NIL \"a \\\"b\\\" \\\\c\"\r\n").as_deref(),
            Some("a \"b\" \\c")
        );
        assert_eq!(
            name("* LIST (\\Noselect \\HasChildren) \"/\" Scale\r\n"),
            None
        );
        assert_eq!(name("* STATUS INBOX (MESSAGES 1)\r\n"), None);
        assert!(selectable(b"* LIST () \"/\" {5}\r\n").is_err());
    }

    /// A reader handing out its bytes `step` at a time.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// The completion is found wherever the reads split it, only at a line's
    /// start, and its status read; every byte is counted.
    #[test]
    fn until_tagged_finds_the_completion_across_reads() {
        let answer = b"* 1 FETCH (BODY[] {15}\r\nnot fb3 OK here)\r\n\
                       * 2 FETCH (FLAGS ())\r\nfb3 OK Fetch completed.\r\n";
        let refused = b"* 1 FETCH (FLAGS ())\r\nfb3 NO [SERVERBUG] oops\r\n";
        for step in 1..=answer.len() {
            let mut buffer = vec![0u8; 64];
            let mut reader = Trickle {
                bytes: answer,
                step,
            };
            let read = until_tagged(&mut reader, "fb3", &mut buffer).ok();
            assert_eq!(read, Some((answer.len() as u64, true)), "step {step}");
            let mut reader = Trickle {
                bytes: refused,
                step,
            };
            let read = until_tagged(&mut reader, "fb3", &mut buffer).ok();
            assert_eq!(read, Some((refused.len() as u64, false)), "step {step}");
        }
        // At the very start of the answer: the command's own line end
        // stands before it.
        let mut reader = Trickle {
            bytes: b"fb3 OK done\r\n",
            step: 2,
        };
        let read = until_tagged(&mut reader, "fb3", &mut [0u8; 8]).ok();
        assert_eq!(read, Some((13, true)));
        // A stream that ends first is an error, not a completion.
        let mut reader = Trickle {
            bytes: b"* 1 FETCH (FLAGS ())\r\nfb3 O",
            step: 5,
        };
        assert!(until_tagged(&mut reader, "fb3", &mut [0u8; 8]).is_err());
    }
}
