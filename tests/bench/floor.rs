//! The floor: what reading the same answer costs with no client at all.
//!
//! A raw socket logs in, examines the folder, sends the FETCH cfimap sends
//! and reads until the tagged completion, parsing nothing: no literals, no
//! responses, no messages. The end is found by scanning the bytes for
//! `CRLF <tag> `; the tags are chosen so that no line of the bench's mail
//! starts with one (a literal could otherwise end the read early).

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// The read buffer: large reads keep the floor's syscalls few.
const BUFFER: usize = 256 * 1024;

/// Reads until the completion of the command tagged `tag`; returns the bytes
/// read and whether it was `OK`.
fn until_tagged(stream: &mut TcpStream, tag: &str, buffer: &mut [u8]) -> io::Result<(u64, bool)> {
    let needle = format!("\r\n{tag} ");
    let needle = needle.as_bytes();
    // The end of the previous read (a needle may straddle two reads), then
    // the tagged line once it has started.
    let mut carry: Vec<u8> = b"\r\n".to_vec();
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
            carry.extend_from_slice(chunk);
            if let Some(at) = carry.windows(needle.len()).position(|w| w == needle) {
                tagged = Some(carry[at + 2..].to_vec());
            } else {
                let keep = carry.len().saturating_sub(needle.len() - 1);
                carry.drain(..keep);
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

/// Logs in, sends `UID FETCH 1:* (<items>)` on `folder`, reads the whole
/// answer, logs out. Returns the bytes of the FETCH answer.
pub fn run(port: u16, user: &str, password: &str, folder: &str, items: &str) -> io::Result<u64> {
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
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    command(
        &mut stream,
        &mut buffer,
        "fb1",
        &format!("LOGIN {} {}", quote(user), quote(password)),
    )?;
    command(
        &mut stream,
        &mut buffer,
        "fb2",
        &format!("EXAMINE {}", quote(folder)),
    )?;
    let fetched = command(
        &mut stream,
        &mut buffer,
        "fb3",
        &format!("UID FETCH 1:* ({items})"),
    )?;
    command(&mut stream, &mut buffer, "fb4", "LOGOUT")?;
    Ok(fetched)
}
