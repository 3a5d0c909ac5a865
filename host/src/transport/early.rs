//! A connection begun before the component asks for it
//! ([`RuntimeOptions::preconnect`](crate::RuntimeOptions::preconnect)).
//!
//! A session's first wait is not its own work: the component loads (a few
//! milliseconds from the file compiled ahead of time, half a second when it
//! compiles), and only then asks the transport to connect, after which the
//! name is resolved, the TCP handshake made and, on a plaintext or STARTTLS
//! port, the server's greeting awaited (Dovecot greets about 10 ms after the
//! connect on loopback; a remote server adds its round trips). A program
//! that knows its server before it loads the component, as the command line
//! does, names it up front: [`Early::start`] resolves and connects on a
//! thread of its own while the component loads, and the transport's first
//! `open` of that same host and port takes the connection ([`Early::take`]),
//! a greeting already waiting in it. Nothing is read from the socket before
//! the component reads it; implicit TLS begins its handshake then.
//!
//! Host names are compared as the [`Policy`](crate::Policy) compares them
//! (case, a trailing dot and IPv6 brackets aside); any other endpoint is
//! connected to as usual. The policy is checked before the early connection
//! is made and again when the component asks. A failure is the one
//! connecting then would have given (the same [`connect`]), so a refused or
//! unresolvable server is reported once, not tried twice.
//!
//! An early connection is for a session opened at once: a session that
//! asks more than [`FRESH`] after it was begun connects anew and the early
//! one is closed unused, since a server soon drops a connection that does
//! not log in, and an old failure says little about the server now. One
//! never asked for is closed when the runtime and its sessions are
//! dropped. The thread stops as soon as nobody waits for it (the runtime
//! and its sessions dropped, or the session that took it gone).

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Mutex;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{TransportFailure, connect};
use crate::policy::normalize;

/// How long after it was begun an early connection may still be taken.
pub(crate) const FRESH: Duration = Duration::from_secs(10);

/// What the connecting thread hands over: the socket, in non-blocking mode,
/// or why there is none.
pub(crate) type Outcome = Result<std::net::TcpStream, TransportFailure>;

/// One connection begun early, until a session takes it.
pub(crate) struct Early {
    /// The host as [`normalize`]d, and the port.
    host: String,
    port: u16,
    started: Instant,
    pending: Mutex<Option<oneshot::Receiver<Outcome>>>,
}

impl Early {
    /// Starts resolving and connecting to `host`:`port` on a thread of its
    /// own, bounded by `limit`. `None` when no thread can be started (the
    /// session then connects as usual).
    pub(crate) fn start(host: &str, port: u16, limit: Duration) -> Option<Early> {
        let (mut tx, rx) = oneshot::channel();
        let name = host.to_owned();
        let endpoint = super::endpoint(host, port);
        std::thread::Builder::new()
            .name("cfimap-connect".into())
            .spawn(move || {
                // A runtime of its own: the caller's may not be running yet,
                // and a current-thread one would not poll a task of ours
                // while the component loads. Without one, nothing is sent
                // and the session connects as usual.
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()
                else {
                    return;
                };
                let outcome = runtime.block_on(async {
                    let connecting = pin!(async {
                        let tcp = connect(&name, port, &endpoint, limit).await?;
                        tcp.into_std()
                            .map_err(|e| TransportFailure::Io(format!("{endpoint}: {e}")))
                    });
                    let abandoned = pin!(tx.closed());
                    first_of(connecting, abandoned).await
                });
                if let Some(outcome) = outcome {
                    // Dropped meanwhile: the socket is closed with the
                    // unsent value.
                    let _ = tx.send(outcome);
                }
                // Not waiting for a name lookup that may still be running
                // on the runtime's blocking pool.
                runtime.shutdown_background();
            })
            .ok()?;
        tracing::debug!(%host, port, "connecting early");
        Some(Early {
            host: normalize(host),
            port,
            started: Instant::now(),
            pending: Mutex::new(Some(rx)),
        })
    }

    /// The connection, when it is to `host`:`port`, not taken yet and begun
    /// no longer than [`FRESH`] ago; to be awaited (a closed channel: the
    /// thread could not run). A stale one is dropped here, closed.
    pub(crate) fn take(&self, host: &str, port: u16) -> Option<oneshot::Receiver<Outcome>> {
        if self.port != port || self.host != normalize(host) {
            return None;
        }
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        if self.started.elapsed() > FRESH {
            tracing::debug!(%host, port, "the connection begun early is stale; closing it");
            return None;
        }
        Some(pending)
    }
}

/// `work`'s output, or `None` once `abandoned` is ready first.
async fn first_of<T>(
    mut work: std::pin::Pin<&mut impl Future<Output = T>>,
    mut abandoned: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Option<T> {
    poll_fn(|cx| {
        if let Poll::Ready(done) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(done));
        }
        match abandoned.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(5);

    #[test]
    fn the_connection_is_taken_once_and_only_for_its_own_endpoint() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
        let port = listener.local_addr().expect("its address").port();
        let early = Early::start("127.0.0.1", port, LIMIT).expect("a thread");

        // Another name for the same address is another endpoint, as for
        // the policy; a trailing dot is not.
        assert!(early.take("localhost", port).is_none());
        assert!(early.take("127.0.0.1", port.wrapping_add(1)).is_none());
        let pending = early.take("127.0.0.1.", port).expect("its own endpoint");
        assert!(early.take("127.0.0.1", port).is_none(), "taken once");

        let (mut server, _) = listener.accept().expect("the early connection");
        server.write_all(b"* OK ready\r\n").expect("greet");
        let mut client = pending
            .blocking_recv()
            .expect("the thread answered")
            .expect("connected");
        // Non-blocking, as tokio takes it: wait for the greeting by hand.
        client.set_nonblocking(false).expect("blocking");
        client
            .set_read_timeout(Some(LIMIT))
            .expect("a read timeout");
        let mut greeting = [0; 12];
        client.read_exact(&mut greeting).expect("read");
        assert_eq!(&greeting, b"* OK ready\r\n");
    }

    #[test]
    fn a_refused_connection_is_the_failure_connecting_gives() {
        // A port that was just free: nothing listens there.
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
            listener.local_addr().expect("its address").port()
        };
        let early = Early::start("127.0.0.1", port, LIMIT).expect("a thread");
        let pending = early.take("127.0.0.1", port).expect("its own endpoint");
        let failure = pending
            .blocking_recv()
            .expect("the thread answered")
            .expect_err("refused");
        assert!(
            matches!(&failure, TransportFailure::Connect(m) if m.contains(&format!("127.0.0.1:{port}"))),
            "{failure:?}"
        );
    }

    #[test]
    fn a_stale_connection_is_closed_not_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
        let port = listener.local_addr().expect("its address").port();
        let mut early = Early::start("127.0.0.1", port, LIMIT).expect("a thread");
        let (mut server, _) = listener.accept().expect("the early connection");
        early.started = Instant::now()
            .checked_sub(FRESH + Duration::from_secs(1))
            .expect("a monotonic clock past FRESH");

        assert!(early.take("127.0.0.1", port).is_none(), "stale");
        // Closed, whether the thread had handed it over yet or not.
        server
            .set_read_timeout(Some(LIMIT))
            .expect("a read timeout");
        let mut byte = [0; 1];
        assert_eq!(server.read(&mut byte).expect("end of stream"), 0);
    }
}
