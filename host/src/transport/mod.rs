//! The host side of the WIT interface `cfimap:imap/transport`: TCP and TLS
//! connections for the component, under the runtime's [`Policy`].
//!
//! The component asks for a [`Connection`] by host, port and wrapping; the
//! host checks the [`Policy`], resolves the name, connects (with
//! `TCP_NODELAY`), and for implicit TLS performs a verified handshake. The
//! interface is a byte pipe:
//! - `read` waits for whatever the server sends next, at most the size
//!   asked, bounded by the timeout; it never reads ahead, so nothing the
//!   component has not asked for sits in the host;
//! - `write` queues bytes and `flush` sends them in one piece, so Nagle's
//!   algorithm never delays a command's tail (a queue over [`WRITE_QUEUE`]
//!   is sent at once);
//! - `start-tls` refuses to upgrade while the server has sent anything not
//!   yet read: the kernel's receive queue is peeked, and such bytes would be
//!   a plaintext injection.
//!
//! Every wait — connect, handshake, each read and each flush — is bounded by
//! the connection's timeout: the one the component asks for, never more than
//! the runtime's limit. A connection that failed once keeps failing with the
//! same error.
//!
//! The TCP connection itself may have been begun before the component
//! loaded (`early`).

pub(crate) mod early;

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::transport as wit;
use crate::policy::Policy;
use crate::trace::Conversation;
use early::Early;

/// How many written bytes wait for `flush` at most; past that they are sent
/// at once, so a guest cannot make the host hold unbounded memory.
pub const WRITE_QUEUE: usize = 1 << 20;

/// The most bytes one `read` returns, whatever the component asks for.
pub const READ_MAX: usize = 256 * 1024;

/// Why a transport operation failed: the host's side of the WIT
/// `transport-error`. The text never contains credentials (the transport never
/// sees any).
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
/// configuration, the timeout limit, and a connection begun early.
pub(crate) struct TransportCtx {
    pub(crate) policy: Policy,
    pub(crate) tls: Arc<ClientConfig>,
    pub(crate) max_timeout: Duration,
    pub(crate) early: Option<Early>,
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

/// One TCP connection of the component: the host's representation of the WIT
/// resource `connection`.
pub struct Connection {
    host: String,
    endpoint: String,
    peer: SocketAddr,
    timeout: Duration,
    tls: Arc<ClientConfig>,
    /// `None` once the connection failed (`failed` says how).
    io: Option<Io>,
    /// Bytes written and not yet flushed.
    queue: Vec<u8>,
    failed: Option<TransportFailure>,
    /// The conversation's trace log, when it is enabled.
    trace: Option<Conversation>,
}

impl Connection {
    /// The socket, or the failure that ended it.
    fn io(&mut self) -> Result<&mut Io, TransportFailure> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.io.as_mut().ok_or(TransportFailure::Closed)
    }

    /// Records `e` as the connection's end (a later call gets it again).
    fn fail(&mut self, e: TransportFailure) -> TransportFailure {
        self.io = None;
        self.failed = Some(e.clone());
        e
    }

    /// `read`: at least one byte and at most `max`, within the timeout.
    async fn read(&mut self, max: usize) -> Result<Vec<u8>, TransportFailure> {
        let limit = self.timeout;
        let endpoint = self.endpoint.clone();
        let io = self.io()?;
        let mut buf = Vec::with_capacity(max.clamp(1, READ_MAX));
        let result = match timeout(limit, io.read_buf(&mut buf)).await {
            Ok(Ok(0)) => Err(TransportFailure::Closed),
            Ok(Ok(n)) => {
                tracing::trace!(bytes = n, "read");
                if let Some(trace) = &mut self.trace {
                    trace.server(&buf);
                }
                Ok(buf)
            }
            Ok(Err(e)) => Err(TransportFailure::from_io(&e, &endpoint)),
            Err(_) => Err(TransportFailure::Timeout(format!(
                "{endpoint} sent nothing for {}",
                seconds(limit)
            ))),
        };
        result.map_err(|e| self.fail(e))
    }

    /// `write`: queues `bytes`, sending the queue at once when it grows past
    /// [`WRITE_QUEUE`].
    async fn write(&mut self, bytes: &[u8]) -> Result<(), TransportFailure> {
        self.io()?;
        if let Some(trace) = &mut self.trace {
            trace.client(bytes);
        }
        self.queue.extend_from_slice(bytes);
        if self.queue.len() > WRITE_QUEUE {
            self.flush().await?;
        }
        Ok(())
    }

    /// `flush`: sends the queue in one piece, within the timeout.
    async fn flush(&mut self) -> Result<(), TransportFailure> {
        let limit = self.timeout;
        let endpoint = self.endpoint.clone();
        let queue = std::mem::take(&mut self.queue);
        let io = self.io()?;
        let send = async {
            io.write_all(&queue).await?;
            io.flush().await
        };
        let result = match timeout(limit, send).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(TransportFailure::from_io(&e, &endpoint)),
            Err(_) => Err(TransportFailure::Timeout(format!(
                "{endpoint} did not accept data for {}",
                seconds(limit)
            ))),
        };
        result.map_err(|e| self.fail(e))
    }

    /// `start-tls`: upgrades the plain socket in place, refusing when the
    /// server has sent bytes the component has not read.
    async fn start_tls(&mut self, server_name: &str) -> Result<(), TransportFailure> {
        if !server_name.eq_ignore_ascii_case(&self.host) {
            // The certificate must be the one of the host the policy let
            // the component reach, not of a name it picks now.
            return Err(TransportFailure::Tls(format!(
                "start-tls asked for the name {server_name:?}, but the connection was opened to {}",
                self.host
            )));
        }
        if !self.queue.is_empty() {
            return Err(TransportFailure::Io(
                "start-tls called with written bytes not yet flushed".into(),
            ));
        }
        let endpoint = self.endpoint.clone();
        let tcp = match self.io()? {
            Io::Plain(tcp) => tcp,
            Io::Tls(_) => {
                return Err(TransportFailure::Io(format!(
                    "the connection to {endpoint} is already encrypted"
                )));
            }
        };
        // This host never reads ahead of the component, so anything the
        // server sent after its STARTTLS answer is still in the kernel.
        let mut probe = [MaybeUninit::<u8>::uninit(); 1];
        let waiting = match socket2::SockRef::from(&*tcp).peek(&mut probe) {
            Ok(0) => Err(TransportFailure::Closed),
            Ok(_) => Err(TransportFailure::Tls(format!(
                "{endpoint} sent unread bytes after accepting STARTTLS and before the TLS \
                 handshake (possible plaintext injection); refusing to continue"
            ))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(TransportFailure::from_io(&e, &endpoint)),
        };
        if let Err(e) = waiting {
            return Err(self.fail(e));
        }
        let Some(Io::Plain(tcp)) = self.io.take() else {
            return Err(self.fail(TransportFailure::Closed));
        };
        tracing::debug!(%endpoint, "STARTTLS handshake");
        match handshake(&self.tls, &self.host, &endpoint, tcp, self.timeout).await {
            Ok(tls) => {
                self.io = Some(Io::Tls(Box::new(tls)));
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
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

/// `host:port` for messages, an IPv6 address in brackets.
fn endpoint(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
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

impl TransportCtx {
    /// A TCP connection to `host`:`port`: the one begun early for it, if
    /// any, else a new one.
    async fn tcp(
        &self,
        host: &str,
        port: u16,
        endpoint: &str,
        limit: Duration,
    ) -> Result<TcpStream, TransportFailure> {
        if let Some(pending) = self.early.as_ref().and_then(|e| e.take(host, port)) {
            match timeout(limit, pending).await {
                Ok(Ok(outcome)) => {
                    tracing::debug!(%endpoint, "taking the connection begun early");
                    return TcpStream::from_std(outcome?)
                        .map_err(|e| TransportFailure::Io(format!("{endpoint}: {e}")));
                }
                // The thread could not run: connect now.
                Ok(Err(_)) => {}
                Err(_) => {
                    return Err(TransportFailure::Timeout(format!(
                        "connecting to {endpoint} took longer than {}",
                        seconds(limit)
                    )));
                }
            }
        }
        connect(host, port, endpoint, limit).await
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
        let endpoint = endpoint(&host, port);
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
            let tcp = self.ctx.tcp(&host, port, &endpoint, limit).await?;
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
            Ok::<_, TransportFailure>(Connection {
                host: host.clone(),
                endpoint: endpoint.clone(),
                peer,
                timeout: limit,
                tls: Arc::clone(&self.ctx.tls),
                io: Some(io),
                queue: Vec::new(),
                failed: None,
                trace: Conversation::if_enabled(),
            })
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

    async fn read(
        &mut self,
        conn: Resource<Connection>,
        max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, wit::TransportError>> {
        let conn = self.table.get_mut(&conn)?;
        let max = usize::try_from(max).unwrap_or(READ_MAX);
        Ok(conn.read(max).await.map_err(|e| e.to_wit()))
    }

    async fn write(
        &mut self,
        conn: Resource<Connection>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<Result<(), wit::TransportError>> {
        let conn = self.table.get_mut(&conn)?;
        Ok(conn.write(&bytes).await.map_err(|e| e.to_wit()))
    }

    async fn flush(
        &mut self,
        conn: Resource<Connection>,
    ) -> wasmtime::Result<Result<(), wit::TransportError>> {
        let conn = self.table.get_mut(&conn)?;
        Ok(conn.flush().await.map_err(|e| e.to_wit()))
    }

    async fn start_tls(
        &mut self,
        conn: Resource<Connection>,
        server_name: String,
    ) -> wasmtime::Result<Result<(), wit::TransportError>> {
        let conn = self.table.get_mut(&conn)?;
        match conn.start_tls(&server_name).await {
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
        // Dropping the connection closes the socket (without a TLS
        // close_notify: the component has already said LOGOUT, or is giving
        // up).
        self.table.delete(conn)?;
        Ok(())
    }
}

impl wit::Host for TransportView<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A plain connection to a local listener, and the server's end of it.
    async fn plain_pair() -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a listener");
        let addr = listener.local_addr().expect("its address");
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let connection = Connection {
            host: "localhost".into(),
            endpoint: addr.to_string(),
            peer: addr,
            timeout: Duration::from_secs(2),
            tls: crate::tls::client_config(None).expect("a TLS configuration"),
            io: Some(Io::Plain(tcp)),
            queue: Vec::new(),
            failed: None,
            trace: None,
        };
        (connection, server)
    }

    /// The host's own defence against STARTTLS plaintext injection, apart
    /// from the component's: bytes the server sent after its answer and
    /// before the handshake are never read as if they came over TLS.
    #[tokio::test]
    async fn start_tls_with_unread_bytes_waiting_is_refused() {
        let (mut connection, mut server) = plain_pair().await;
        server
            .write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n")
            .await
            .expect("the server writes");
        // Until the bytes are in the client's receive queue.
        let mut probe = [0u8; 1];
        let tcp = match &connection.io {
            Some(Io::Plain(tcp)) => tcp,
            _ => unreachable!("a plain connection"),
        };
        tokio::time::timeout(Duration::from_secs(5), tcp.peek(&mut probe))
            .await
            .expect("the bytes arrive")
            .expect("peek");
        let e = connection.start_tls("localhost").await.unwrap_err();
        assert!(
            matches!(&e, TransportFailure::Tls(m) if m.contains("plaintext injection")),
            "{e:?}"
        );
        // The connection is over: nothing more is read from it.
        assert!(connection.read(100).await.is_err());
    }

    /// With nothing waiting, the upgrade goes ahead to the handshake (which
    /// times out here: the peer never answers the ClientHello).
    #[tokio::test]
    async fn start_tls_with_nothing_waiting_goes_on_to_the_handshake() {
        let (mut connection, _server) = plain_pair().await;
        let e = connection.start_tls("localhost").await.unwrap_err();
        assert!(matches!(e, TransportFailure::Timeout(_)), "{e:?}");
    }

    /// The certificate name is the host's the connection was opened to.
    #[tokio::test]
    async fn start_tls_for_another_name_is_refused() {
        let (mut connection, _server) = plain_pair().await;
        let e = connection.start_tls("elsewhere.example").await.unwrap_err();
        assert!(matches!(e, TransportFailure::Tls(_)), "{e:?}");
    }

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
}
