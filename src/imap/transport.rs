//! Bytes to and from the server over the host's `transport` connection.
//!
//! The host owns the socket, TLS and timeouts; the interface is a byte pipe
//! (`read`, `write`, `flush`, `start-tls`). This module turns it into "send
//! these bytes" and "give me more bytes", and its failures into [`Error`]s.
//! The receive buffer is the caller's ([`crate::imap::responses::Decoder`]).

use crate::bindings::cfimap::imap::transport::{Connection, TransportError, Wrapping};
use crate::error::{Error, Result};

/// The most bytes one read asks for: as many as the host gives at once
/// (`READ_MAX` in `cfimap-host`). A read returns what has arrived, never
/// waiting for more, so larger reads cost no latency; they only spare calls
/// and system calls (a quarter of them, against 64 KiB, in a 25 MB getAll).
pub const READ_CHUNK: usize = 256 * 1024;

/// A connection to the server.
pub struct Link {
    connection: Connection,
    /// The name the server was asked for by: what its certificate must show
    /// after STARTTLS.
    host: String,
    /// Set once the peer has closed or an I/O error occurred: the host's
    /// connection may be in any state then, so it is not used again.
    broken: bool,
}

impl Link {
    /// Opens a connection through the host.
    pub fn open(host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<Self> {
        let wrapping = if tls { Wrapping::Tls } else { Wrapping::Plain };
        let connection =
            Connection::open(host, port, wrapping, timeout_ms).map_err(from_transport)?;
        Ok(Self {
            connection,
            host: host.to_owned(),
            broken: false,
        })
    }

    /// Whether the peer is on a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.connection.is_loopback()
    }

    /// Sends all of `bytes` and waits until the host has handed them to the
    /// socket. One write and one flush: a command reaches TCP in one piece.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.usable()?;
        let sent = self
            .connection
            .write(bytes)
            .and_then(|()| self.connection.flush());
        sent.map_err(|e| self.fail(e))
    }

    /// Reads whatever the server sent next: at least one byte.
    pub fn read_some(&mut self) -> Result<Vec<u8>> {
        self.usable()?;
        match self.connection.read(READ_CHUNK as u32) {
            // The contract promises at least one byte; an empty answer would
            // make the caller spin, so it ends the connection instead.
            Ok(bytes) if bytes.is_empty() => Err(self.fail(TransportError::Io(
                "the host's transport returned no bytes from a read".into(),
            ))),
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Upgrades to TLS in place (after the server's OK to STARTTLS), the
    /// certificate checked for the name the connection was opened with.
    pub fn start_tls(&mut self) -> Result<()> {
        self.usable()?;
        let upgraded = self.connection.start_tls(&self.host);
        upgraded.map_err(|e| self.fail(e))
    }

    fn usable(&self) -> Result<()> {
        if self.broken {
            return Err(Error::ConnectionClosed(
                "the connection is no longer usable".into(),
            ));
        }
        Ok(())
    }

    fn fail(&mut self, error: TransportError) -> Error {
        self.broken = true;
        from_transport(error)
    }
}

/// Maps the host's transport failure onto the action's error.
pub fn from_transport(error: TransportError) -> Error {
    match error {
        TransportError::Denied(s) => Error::DeniedByPolicy(s),
        TransportError::Dns(s) | TransportError::Connect(s) => Error::Connect(s),
        TransportError::Tls(s) => Error::Tls(s),
        TransportError::Timeout(s) => Error::Timeout(s),
        TransportError::Closed => {
            Error::ConnectionClosed("the server closed the connection".into())
        }
        TransportError::Io(s) => Error::ConnectionClosed(s),
    }
}
