//! Bytes to and from the server over the host's `transport` connection.
//!
//! The host owns the socket, TLS and timeouts; this module only turns its
//! `wasi:io` streams into "write these bytes" and "give me more bytes", and
//! its failures into [`Error`]s.

use wasip2::io::streams::{InputStream, OutputStream, StreamError};

use crate::bindings::cfimap::imap::transport::{self, Connection, TransportError, Wrapping};
use crate::error::{Error, Result};

/// The most bytes one read returns.
pub const READ_CHUNK: usize = 64 * 1024;

/// A connection to the server with its two streams.
pub struct Link {
    // Field order matters: the streams are children of the connection and
    // must be dropped before it.
    streams: Option<(InputStream, OutputStream)>,
    connection: Connection,
    /// Set once the peer has closed or an I/O error occurred.
    broken: bool,
}

impl Link {
    /// Opens a connection through the host.
    pub fn open(host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<Self> {
        let wrapping = if tls { Wrapping::Tls } else { Wrapping::Plain };
        let connection =
            Connection::open(host, port, wrapping, timeout_ms).map_err(from_transport)?;
        let streams = connection.streams().map_err(from_transport)?;
        Ok(Self {
            streams: Some(streams),
            connection,
            broken: false,
        })
    }

    /// Whether the peer is on a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.connection.is_loopback()
    }

    /// Writes all of `bytes` and waits until the host has sent them.
    pub fn write_all(&mut self, mut bytes: &[u8]) -> Result<()> {
        let (_, output) = self.streams()?;
        let result = (|| {
            while !bytes.is_empty() {
                let permit = output.check_write()?;
                if permit == 0 {
                    output.subscribe().block();
                    continue;
                }
                let n = usize::try_from(permit)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                output.write(&bytes[..n])?;
                bytes = &bytes[n..];
            }
            output.blocking_flush()
        })();
        result.map_err(|e| self.fail(e))
    }

    /// Reads whatever the server sent next: at least one byte.
    pub fn read_some(&mut self) -> Result<Vec<u8>> {
        let (input, _) = self.streams()?;
        loop {
            match input.blocking_read(READ_CHUNK as u64) {
                Ok(bytes) if bytes.is_empty() => continue,
                Ok(bytes) => return Ok(bytes),
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// Upgrades to TLS in place (after the server's OK to STARTTLS).
    pub fn start_tls(&mut self) -> Result<()> {
        // The host needs the old streams gone before it takes the socket.
        self.streams = None;
        self.connection.start_tls().map_err(from_transport)?;
        self.streams = Some(self.connection.streams().map_err(from_transport)?);
        Ok(())
    }

    fn streams(&self) -> Result<&(InputStream, OutputStream)> {
        match (&self.streams, self.broken) {
            (Some(streams), false) => Ok(streams),
            _ => Err(Error::ConnectionClosed(
                "the connection is no longer usable".into(),
            )),
        }
    }

    fn fail(&mut self, error: StreamError) -> Error {
        self.broken = true;
        match error {
            StreamError::Closed => {
                Error::ConnectionClosed("the server closed the connection".into())
            }
            StreamError::LastOperationFailed(io) => match transport::error_code(&io) {
                Some(code) => from_transport(code),
                None => Error::ConnectionClosed(io.to_debug_string()),
            },
        }
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
