//! The host side of the WIT interface `cfimap:imap/transport`: TCP and TLS
//! connections for the component, under the runtime's [`Policy`].
//!
//! The component asks for a [`Connection`] by host, port and wrapping; the
//! host checks the [`Policy`], resolves the name, connects (with
//! `TCP_NODELAY`), and for implicit TLS performs a verified handshake. The
//! component then reads and writes through `wasi:io` streams implemented here
//! over the connection's own state — not wasmtime-wasi's socket adapters, which
//! own their socket — so that `start-tls` can take the socket back and wrap it
//! in TLS once the component has dropped its plaintext streams.
//!
//! Streams behave as IMAP wants them to:
//! - a read wait fills an internal buffer with whatever the server sent,
//!   bounded by the timeout; a timeout or failure is recorded and reported by
//!   the next `read` as `last-operation-failed`, whose error the component can
//!   turn back into a [`TransportFailure`] with `error-code`; end of stream is
//!   `closed`;
//! - writes are buffered (the write permit is 1 MiB) until the component
//!   flushes; the flush writes the whole buffer to the socket at once, so each
//!   command reaches TCP in one piece and Nagle's algorithm never delays a
//!   command's tail.
//!
//! Every wait — connect, handshake, each read wait and each flush — is bounded
//! by the connection's timeout: the one the component asks for, never more
//! than the runtime's limit.

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, StreamError, StreamResult,
};

use crate::bindings::transport as wit;
use crate::policy::Policy;

/// How much the component may write before it must flush (the write permit).
const WRITE_PERMIT: usize = 1 << 20;

/// How much one read wait takes from the socket at most.
const READ_CHUNK: usize = 64 * 1024;

/// Why a transport operation failed: the host's side of the WIT
/// `transport-error`. The text never contains credentials (the transport never
/// sees any).
///
/// A failed stream operation hands the component a `wasi:io` error that wraps
/// this type; the component's call to `error-code` recovers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportFailure {
    /// The policy does not allow the endpoint.
    #[error("{0}")]
    Denied(String),
    /// The host name could not be resolved.
    #[error("{0}")]
    Dns(String),
    /// The TCP connection could not be made.
    #[error("{0}")]
    Connect(String),
    /// The TLS handshake failed or the certificate was not trusted.
    #[error("{0}")]
    Tls(String),
    /// A wait took longer than the timeout.
    #[error("{0}")]
    Timeout(String),
    /// The peer closed or reset the connection.
    #[error("the server closed the connection")]
    Closed,
    /// Any other input/output failure.
    #[error("{0}")]
    Io(String),
}

impl TransportFailure {
    /// The WIT value of this failure.
    pub fn to_wit(&self) -> wit::TransportError {
        match self {
            Self::Denied(m) => wit::TransportError::Denied(m.clone()),
            Self::Dns(m) => wit::TransportError::Dns(m.clone()),
            Self::Connect(m) => wit::TransportError::Connect(m.clone()),
            Self::Tls(m) => wit::TransportError::Tls(m.clone()),
            Self::Timeout(m) => wit::TransportError::Timeout(m.clone()),
            Self::Closed => wit::TransportError::Closed,
            Self::Io(m) => wit::TransportError::Io(m.clone()),
        }
    }

    /// Classifies an I/O error of an established connection.
    fn from_io(e: &io::Error, endpoint: &str) -> Self {
        use io::ErrorKind as K;
        match e.kind() {
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                Self::Closed
            }
            K::InvalidData => Self::Tls(format!("TLS failure on {endpoint}: {e}")),
            _ => Self::Io(format!("{endpoint}: {e}")),
        }
    }
}

/// What every connection of one runtime shares: the policy, the TLS
/// configuration and the timeout limit.
pub(crate) struct TransportCtx {
    pub(crate) policy: Policy,
    pub(crate) tls: Arc<ClientConfig>,
    pub(crate) max_timeout: Duration,
}

/// The view of the store the transport's host functions work on.
pub(crate) struct TransportView<'a> {
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) ctx: &'a TransportCtx,
}

/// Marks [`TransportView`] as the data the generated `add_to_linker` hands
/// to the transport's host functions.
pub(crate) struct HasTransport;

impl HasData for HasTransport {
    type Data<'a> = TransportView<'a>;
}

/// The socket under a connection: plain TCP or TLS over TCP.
enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Whether a direction of the connection still works.
#[derive(Debug, Clone)]
enum Flow {
    Open,
    /// The server ended the stream (reading only).
    Eof,
    Failed(TransportFailure),
}

/// The reading half with the bytes read but not yet taken by the component.
struct ReadSide {
    io: ReadHalf<Io>,
    buf: BytesMut,
    flow: Flow,
}

/// The writing half with the bytes written by the component but not yet sent.
struct WriteSide {
    io: WriteHalf<Io>,
    buf: BytesMut,
    flush_pending: bool,
    flow: Flow,
}

/// Where a half lives while no stream holds it. A stream takes its half out
/// when it is created and puts it back when the component drops it.
type Slot<T> = Arc<Mutex<Option<T>>>;

fn lock<T>(slot: &Slot<T>) -> MutexGuard<'_, Option<T>> {
    // A poisoned lock only means a panic elsewhere; the data is still whole.
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// One TCP connection of the component: the host's representation of the WIT
/// resource `connection`.
pub struct Connection {
    host: String,
    endpoint: String,
    peer: SocketAddr,
    timeout: Duration,
    tls: Arc<ClientConfig>,
    encrypted: bool,
    reader: Slot<ReadSide>,
    writer: Slot<WriteSide>,
}

impl Connection {
    fn new(
        host: String,
        endpoint: String,
        peer: SocketAddr,
        timeout: Duration,
        tls: Arc<ClientConfig>,
        io: Io,
    ) -> Self {
        let encrypted = matches!(io, Io::Tls(_));
        let mut conn = Self {
            host,
            endpoint,
            peer,
            timeout,
            tls,
            encrypted,
            reader: Arc::new(Mutex::new(None)),
            writer: Arc::new(Mutex::new(None)),
        };
        conn.install(io);
        conn
    }

    /// Splits `io` into fresh halves and parks them in the slots.
    fn install(&mut self, io: Io) {
        let (r, w) = tokio::io::split(io);
        *lock(&self.reader) = Some(ReadSide {
            io: r,
            buf: BytesMut::new(),
            flow: Flow::Open,
        });
        *lock(&self.writer) = Some(WriteSide {
            io: w,
            buf: BytesMut::new(),
            flush_pending: false,
            flow: Flow::Open,
        });
    }

    /// Takes both halves, or neither: `None` while the component holds streams.
    fn take_sides(&self) -> Option<(ReadSide, WriteSide)> {
        let mut r = lock(&self.reader);
        let mut w = lock(&self.writer);
        if r.is_some() && w.is_some() {
            r.take().zip(w.take())
        } else {
            None
        }
    }

    fn put_sides(&self, r: ReadSide, w: WriteSide) {
        *lock(&self.reader) = Some(r);
        *lock(&self.writer) = Some(w);
    }

    fn failure(&self) -> Option<TransportFailure> {
        let r = lock(&self.reader);
        let w = lock(&self.writer);
        [r.as_ref().map(|s| &s.flow), w.as_ref().map(|s| &s.flow)]
            .into_iter()
            .flatten()
            .find_map(|f| match f {
                Flow::Failed(e) => Some(e.clone()),
                _ => None,
            })
    }

    /// `start-tls`: upgrades the plain socket in place.
    async fn start_tls(&mut self) -> Result<(), TransportFailure> {
        if self.encrypted {
            return Err(TransportFailure::Tls(format!(
                "the connection to {} is already encrypted",
                self.endpoint
            )));
        }
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let Some((r, w)) = self.take_sides() else {
            return Err(TransportFailure::Io(
                "start-tls called while the connection's streams are still alive; drop them first"
                    .into(),
            ));
        };
        if !r.buf.is_empty() {
            // The halves are not put back: the connection is not trustworthy.
            return Err(TransportFailure::Tls(format!(
                "{} sent {} unread byte(s) after accepting STARTTLS and before the TLS \
                 handshake (possible plaintext injection); refusing to continue",
                self.endpoint,
                r.buf.len()
            )));
        }
        if !w.buf.is_empty() {
            self.put_sides(r, w);
            return Err(TransportFailure::Io(
                "start-tls called with written bytes not yet flushed".into(),
            ));
        }
        let tcp = match r.io.unsplit(w.io) {
            Io::Plain(tcp) => tcp,
            Io::Tls(_) => {
                return Err(TransportFailure::Tls(
                    "the connection is already encrypted".into(),
                ));
            }
        };
        // Bytes already waiting in the kernel are an injection too.
        let mut probe = [MaybeUninit::<u8>::uninit(); 1];
        match socket2::SockRef::from(&tcp).peek(&mut probe) {
            Ok(0) => return Err(TransportFailure::Closed),
            Ok(_) => {
                return Err(TransportFailure::Tls(format!(
                    "{} sent unread bytes after accepting STARTTLS and before the TLS \
                     handshake (possible plaintext injection); refusing to continue",
                    self.endpoint
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(TransportFailure::from_io(&e, &self.endpoint)),
        }
        tracing::debug!(endpoint = %self.endpoint, "STARTTLS handshake");
        let tls = handshake(&self.tls, &self.host, &self.endpoint, tcp, self.timeout).await?;
        self.encrypted = true;
        self.install(Io::Tls(Box::new(tls)));
        Ok(())
    }
}

/// Verified TLS handshake over `tcp` for the name `host`.
async fn handshake(
    config: &Arc<ClientConfig>,
    host: &str,
    endpoint: &str,
    tcp: TcpStream,
    limit: Duration,
) -> Result<TlsStream<TcpStream>, TransportFailure> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let name = ServerName::try_from(bare.to_owned())
        .map_err(|_| TransportFailure::Tls(format!("{host:?} is not a valid TLS server name")))?;
    let connector = TlsConnector::from(Arc::clone(config));
    match timeout(limit, connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(TransportFailure::Tls(format!(
            "handshake with {endpoint} failed: {e}"
        ))),
        Err(_) => Err(TransportFailure::Timeout(format!(
            "TLS handshake with {endpoint} took longer than {}",
            seconds(limit)
        ))),
    }
}

fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Resolves `host` and connects to the first address that answers, all
/// within `limit`.
async fn connect(
    host: &str,
    port: u16,
    endpoint: &str,
    limit: Duration,
) -> Result<TcpStream, TransportFailure> {
    let deadline = Instant::now() + limit;
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let addrs: Vec<SocketAddr> =
        match timeout_at(deadline, tokio::net::lookup_host((bare, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(e)) => {
                return Err(TransportFailure::Dns(format!(
                    "{host}: name not resolved ({e})"
                )));
            }
            Err(_) => {
                return Err(TransportFailure::Timeout(format!(
                    "resolving {host} took longer than {}",
                    seconds(limit)
                )));
            }
        };
    if addrs.is_empty() {
        return Err(TransportFailure::Dns(format!("{host} has no address")));
    }
    let mut last = None;
    for addr in addrs {
        match timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => return Ok(tcp),
            Ok(Err(e)) => {
                tracing::debug!(%addr, error = %e, "connect failed");
                last = Some(e);
            }
            Err(_) => {
                return Err(TransportFailure::Timeout(format!(
                    "connecting to {endpoint} took longer than {}",
                    seconds(limit)
                )));
            }
        }
    }
    let why = last.map_or_else(|| "no address answered".to_owned(), |e| e.to_string());
    Err(TransportFailure::Connect(format!("{endpoint}: {why}")))
}

/// The component's input stream over a connection's reading half.
struct HostInput {
    side: Option<ReadSide>,
    home: Slot<ReadSide>,
    timeout: Duration,
    endpoint: String,
}

impl Drop for HostInput {
    fn drop(&mut self) {
        if let Some(side) = self.side.take() {
            *lock(&self.home) = Some(side);
        }
    }
}

#[async_trait::async_trait]
impl Pollable for HostInput {
    async fn ready(&mut self) {
        let Some(side) = self.side.as_mut() else {
            return;
        };
        if !side.buf.is_empty() || !matches!(side.flow, Flow::Open) {
            return;
        }
        side.buf.reserve(READ_CHUNK);
        // `read_buf` is cancel-safe: if this future is dropped, nothing was read.
        let mut limited = (&mut side.io).take(READ_CHUNK as u64);
        match timeout(self.timeout, limited.read_buf(&mut side.buf)).await {
            Ok(Ok(0)) => side.flow = Flow::Eof,
            Ok(Ok(n)) => tracing::trace!(bytes = n, "read"),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => side.flow = Flow::Eof,
            Ok(Err(e)) => side.flow = Flow::Failed(TransportFailure::from_io(&e, &self.endpoint)),
            Err(_) => {
                side.flow = Flow::Failed(TransportFailure::Timeout(format!(
                    "{} sent nothing for {}",
                    self.endpoint,
                    seconds(self.timeout)
                )));
            }
        }
    }
}

#[async_trait::async_trait]
impl InputStream for HostInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        let Some(side) = self.side.as_mut() else {
            return Err(StreamError::Closed);
        };
        if !side.buf.is_empty() {
            let n = size.min(side.buf.len());
            return Ok(side.buf.split_to(n).freeze());
        }
        match &side.flow {
            Flow::Open => Ok(Bytes::new()),
            Flow::Eof => Err(StreamError::Closed),
            Flow::Failed(e) => Err(StreamError::LastOperationFailed(wasmtime::Error::new(
                e.clone(),
            ))),
        }
    }
}

/// The component's output stream over a connection's writing half.
struct HostOutput {
    side: Option<WriteSide>,
    home: Slot<WriteSide>,
    timeout: Duration,
    endpoint: String,
}

impl Drop for HostOutput {
    fn drop(&mut self) {
        if let Some(side) = self.side.take() {
            *lock(&self.home) = Some(side);
        }
    }
}

impl HostOutput {
    fn side(&mut self) -> StreamResult<&mut WriteSide> {
        let side = self.side.as_mut().ok_or(StreamError::Closed)?;
        match &side.flow {
            Flow::Failed(e) => Err(StreamError::LastOperationFailed(wasmtime::Error::new(
                e.clone(),
            ))),
            Flow::Eof => Err(StreamError::Closed),
            Flow::Open => Ok(side),
        }
    }
}

#[async_trait::async_trait]
impl Pollable for HostOutput {
    async fn ready(&mut self) {
        let Some(side) = self.side.as_mut() else {
            return;
        };
        if !matches!(side.flow, Flow::Open) {
            return;
        }
        if !(side.flush_pending || side.buf.len() >= WRITE_PERMIT) {
            return;
        }
        let WriteSide { io, buf, .. } = side;
        let send = async {
            // Bytes leave `buf` as the socket takes them, so a cancelled wait
            // resumes where it stopped and never sends a byte twice.
            while !buf.is_empty() {
                let n = io.write(buf).await?;
                if n == 0 {
                    return Err(io::Error::from(io::ErrorKind::WriteZero));
                }
                buf.advance(n);
            }
            io.flush().await
        };
        match timeout(self.timeout, send).await {
            Ok(Ok(())) => side.flush_pending = false,
            Ok(Err(e)) => side.flow = Flow::Failed(TransportFailure::from_io(&e, &self.endpoint)),
            Err(_) => {
                side.flow = Flow::Failed(TransportFailure::Timeout(format!(
                    "{} did not accept data for {}",
                    self.endpoint,
                    seconds(self.timeout)
                )));
            }
        }
    }
}

#[async_trait::async_trait]
impl OutputStream for HostOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let side = self.side()?;
        if side.flush_pending || side.buf.len() + bytes.len() > WRITE_PERMIT {
            return Err(StreamError::trap(
                "write exceeds the permit given by check-write",
            ));
        }
        side.buf.extend_from_slice(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        let side = self.side()?;
        if !side.buf.is_empty() {
            side.flush_pending = true;
        }
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        let side = self.side()?;
        if side.flush_pending {
            return Ok(0);
        }
        Ok(WRITE_PERMIT.saturating_sub(side.buf.len()))
    }
}

impl wit::HostConnection for TransportView<'_> {
    async fn open(
        &mut self,
        host: String,
        port: u16,
        wrapping: wit::Wrapping,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Resource<Connection>, wit::TransportError>> {
        let endpoint = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        if !self.ctx.policy.allows(&host, port) {
            tracing::info!(%endpoint, "connection denied by policy");
            return Ok(Err(wit::TransportError::Denied(format!(
                "{endpoint} is not a server this host allows"
            ))));
        }
        let limit = if timeout_ms == 0 {
            self.ctx.max_timeout
        } else {
            Duration::from_millis(u64::from(timeout_ms)).min(self.ctx.max_timeout)
        };
        tracing::debug!(%endpoint, ?wrapping, ?limit, "connecting");
        let result = async {
            let tcp = connect(&host, port, &endpoint, limit).await?;
            tcp.set_nodelay(true)
                .map_err(|e| TransportFailure::from_io(&e, &endpoint))?;
            let peer = tcp
                .peer_addr()
                .map_err(|e| TransportFailure::from_io(&e, &endpoint))?;
            let io = match wrapping {
                wit::Wrapping::Plain => Io::Plain(tcp),
                wit::Wrapping::Tls => Io::Tls(Box::new(
                    handshake(&self.ctx.tls, &host, &endpoint, tcp, limit).await?,
                )),
            };
            Ok::<_, TransportFailure>(Connection::new(
                host.clone(),
                endpoint.clone(),
                peer,
                limit,
                Arc::clone(&self.ctx.tls),
                io,
            ))
        }
        .await;
        match result {
            Ok(conn) => {
                tracing::debug!(%endpoint, peer = %conn.peer, "connected");
                Ok(Ok(self.table.push(conn)?))
            }
            Err(e) => {
                tracing::info!(%endpoint, error = %e, "connection failed");
                Ok(Err(e.to_wit()))
            }
        }
    }

    async fn streams(
        &mut self,
        conn: Resource<Connection>,
    ) -> wasmtime::Result<
        Result<(Resource<DynInputStream>, Resource<DynOutputStream>), wit::TransportError>,
    > {
        let conn = self.table.get(&conn)?;
        let Some((r, w)) = conn.take_sides() else {
            return Ok(Err(wit::TransportError::Io(
                "the connection's streams are already taken; drop them before asking again".into(),
            )));
        };
        let input: DynInputStream = Box::new(HostInput {
            side: Some(r),
            home: Arc::clone(&conn.reader),
            timeout: conn.timeout,
            endpoint: conn.endpoint.clone(),
        });
        let output: DynOutputStream = Box::new(HostOutput {
            side: Some(w),
            home: Arc::clone(&conn.writer),
            timeout: conn.timeout,
            endpoint: conn.endpoint.clone(),
        });
        let input = self.table.push(input)?;
        let output = self.table.push(output)?;
        Ok(Ok((input, output)))
    }

    async fn start_tls(
        &mut self,
        conn: Resource<Connection>,
    ) -> wasmtime::Result<Result<(), wit::TransportError>> {
        let conn = self.table.get_mut(&conn)?;
        match conn.start_tls().await {
            Ok(()) => Ok(Ok(())),
            Err(e) => {
                tracing::info!(endpoint = %conn.endpoint, error = %e, "STARTTLS failed");
                Ok(Err(e.to_wit()))
            }
        }
    }

    async fn is_loopback(&mut self, conn: Resource<Connection>) -> wasmtime::Result<bool> {
        let conn = self.table.get(&conn)?;
        Ok(conn.peer.ip().to_canonical().is_loopback())
    }

    async fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        // Dropping the halves closes the socket (without a TLS close_notify:
        // the component has already said LOGOUT, or is giving up).
        self.table.delete(conn)?;
        Ok(())
    }
}

impl wit::Host for TransportView<'_> {
    async fn error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<wit::TransportError>> {
        let err = self.table.get(&err)?;
        Ok(err
            .downcast_ref::<TransportFailure>()
            .map(TransportFailure::to_wit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(
            TransportFailure::from_io(&reset, "h:1"),
            TransportFailure::Closed
        );
        let other = io::Error::other("boom");
        assert!(matches!(
            TransportFailure::from_io(&other, "h:1"),
            TransportFailure::Io(_)
        ));
    }

    #[test]
    fn failure_survives_a_wasmtime_error() {
        let e = wasmtime::Error::new(TransportFailure::Timeout("slow".into()));
        assert_eq!(
            e.downcast_ref::<TransportFailure>(),
            Some(&TransportFailure::Timeout("slow".into()))
        );
    }
}
