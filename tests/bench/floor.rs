//! The floor: what reading the same answer costs with no client at all. A
//! raw socket logs in, examines the folder, sends the FETCH the client
//! would, and reads until the tagged completion, parsing nothing.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Reads until a whole line that starts with `tag ` has arrived; returns
/// the bytes read. Only the last bytes are kept: tagged lines are short.
fn until_tagged(stream: &mut TcpStream, tag: &str, buffer: &mut [u8]) -> io::Result<u64> {
    let prefix = format!("{tag} ");
    let mut tail: Vec<u8> = Vec::with_capacity(2048);
    let mut total = 0u64;
    loop {
        let n = stream.read(buffer)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        total += n as u64;
        tail.extend_from_slice(&buffer[n.saturating_sub(1024)..n]);
        if tail.len() > 1024 {
            tail.drain(..tail.len() - 1024);
        }
        let Some(text) = tail.strip_suffix(b"\r\n") else {
            continue;
        };
        let line = match text.windows(2).rposition(|w| w == b"\r\n") {
            Some(i) => &text[i + 2..],
            // The answer is this one line.
            None if total == tail.len() as u64 => text,
            None => continue,
        };
        if line.starts_with(prefix.as_bytes()) {
            return Ok(total);
        }
    }
}

/// Logs in, sends `UID FETCH 1:* (<items>)` on `folder`, reads the whole
/// answer, logs out. Returns the bytes of the FETCH answer.
pub fn run(port: u16, user: &str, password: &str, folder: &str, items: &str) -> io::Result<u64> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    let mut buffer = vec![0u8; 256 * 1024];
    let n = stream.read(&mut buffer)?;
    if !buffer[..n].starts_with(b"* OK") {
        return Err(io::Error::other("no greeting"));
    }
    let steps = [
        ("a", format!("a LOGIN \"{user}\" \"{password}\"\r\n")),
        ("b", format!("b EXAMINE \"{folder}\"\r\n")),
        ("c", format!("c UID FETCH 1:* ({items})\r\n")),
        ("d", "d LOGOUT\r\n".to_owned()),
    ];
    let mut fetched = 0;
    for (tag, command) in steps {
        stream.write_all(command.as_bytes())?;
        let bytes = until_tagged(&mut stream, tag, &mut buffer)?;
        if tag == "c" {
            fetched = bytes;
        }
    }
    Ok(fetched)
}
