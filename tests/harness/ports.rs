//! Free loopback ports.
//!
//! A port is found by binding `127.0.0.1:0` and letting the kernel choose; the listener is then
//! dropped so a server can take it. Another process may grab it in between, so callers that
//! start a server retry with new ports on "address in use". Within this process no port is
//! handed out twice.

use std::collections::HashSet;
use std::io;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static SET: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A loopback TCP port that was free a moment ago and was not handed out before by this process.
pub fn free_port() -> io::Result<u16> {
    for _ in 0..100 {
        let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        let mut set = handed_out().lock().unwrap_or_else(|e| e.into_inner());
        if set.insert(port) {
            return Ok(port);
        }
    }
    Err(io::Error::other(
        "no fresh free loopback port after 100 tries",
    ))
}

/// A loopback port on which nothing listens (for "connection refused" tests).
///
/// Found like [`free_port`]; nothing in this process will listen on it afterwards.
pub fn closed_port() -> io::Result<u16> {
    free_port()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_distinct() {
        let a = super::free_port().unwrap();
        let b = super::free_port().unwrap();
        assert_ne!(a, b);
    }
}
