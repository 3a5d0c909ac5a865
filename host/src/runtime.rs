//! The [`Runtime`]: the compiled component, ready to be instantiated, with the
//! capabilities every instance gets.
//!
//! A runtime is made once per process (it loads the component, from the
//! compile cache when possible) and opens any number of [`Session`]s. Each
//! session is a fresh instance of the component in its own store, with its own
//! memory limit. The component reaches the network only through the
//! transport and its [`Policy`], and writes files only through the
//! attachment sink and its [`AttachmentPolicy`]. The WASI its standard
//! library links in grants nothing: no environment variables, no arguments,
//! no sockets, no files, no stdin or stdout. The component's stderr (a panic
//! message) goes to the host's stderr only when
//! [`RuntimeOptions::guest_stderr`] is set (the CLI sets it with `-v`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::attachments::{AttachmentPolicy, HasSink, LastDir, SinkCtx, SinkView};
use crate::bindings::{Cfimap, CfimapPre};
use crate::component::{self, CompileCache};
use crate::deadline::{Guard, Interruption, Overdue, within};
use crate::session::{ConnectOptions, Session};
use crate::transport::early::Early;
use crate::transport::{HasTransport, TransportCtx, TransportView};
use crate::{Error, Policy, tls};

/// How a [`Runtime`] is set up. Start from [`RuntimeOptions::new`] and change
/// what you need:
///
/// ```
/// use cfimap_host::{Policy, RuntimeOptions};
///
/// let options = RuntimeOptions {
///     extra_ca: Some("/etc/ssl/private-ca.pem".into()),
///     ..RuntimeOptions::new(Policy::only("imap.example.com", 993))
/// };
/// assert_eq!(options.memory_limit, 512 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Which servers the component may connect to. The default allows none.
    pub policy: Policy,
    /// Which directories `getAll` may write attachments into (the tag's
    /// `attachmentpath`). The default allows none.
    pub attachments: AttachmentPolicy,
    /// A PEM file of certificate authorities trusted in addition to the
    /// built-in Mozilla roots (`webpki-roots`). TLS is always verified.
    pub extra_ca: Option<PathBuf>,
    /// The most linear memory one session's component may use, in bytes
    /// (default 512 MiB). Going over it ends the session with
    /// [`Error::LimitExceeded`].
    pub memory_limit: usize,
    /// The longest any single network wait may take, whatever timeout the
    /// caller asks for (default 10 minutes).
    pub max_timeout: Duration,
    /// The longest one call into the component may take — an action, `open`
    /// included, or one [`RowReader::next`](crate::RowReader::next) — however
    /// the server trickles its bytes and however long the component
    /// computes (default one hour; `None`: no limit). A call past it fails
    /// with [`Error::Timeout`] within a fraction of a second, and its session
    /// is over; under [`Interruption::Watchdog`], one that does not return
    /// to the executor (it computes, or a file operation stalls) is handed
    /// to the watchdog's function instead.
    pub deadline: Option<Duration>,
    /// How a call that computes is held to the deadline (default
    /// [`Interruption::Epoch`]: checks compiled into the component's code,
    /// which cost about a tenth of its CPU; see [`Interruption`]). It
    /// changes the compiled code: pass the same options to
    /// [`precompile_into`](crate::precompile_into).
    pub interruption: Interruption,
    /// Where the compiled component is cached (default: the user's cache
    /// directory).
    pub compile_cache: CompileCache,
    /// Directories holding the component compiled ahead of time by
    /// [`precompile_into`](crate::precompile_into), looked in first, in
    /// order, and never written (default none). On Unix a file there is used
    /// only when it and every directory on its path belong to this user or
    /// root and nobody else may write to them (see [`crate::precompiled`]);
    /// otherwise, or when it does not load, the compile cache is used. Let
    /// nothing else write into these directories: what is there runs as
    /// native code.
    pub precompiled: Vec<PathBuf>,
    /// Whether the component's stderr goes to the host's stderr (default
    /// off). The component never writes secrets there, but keep it off in
    /// servers.
    pub guest_stderr: bool,
    /// Whether attachment bytes are written on the thread that runs the
    /// component instead of tokio's blocking pool (default off). Opening,
    /// renaming and removing files always run on the component's thread. Handing every open and write to another thread and back cost
    /// about a tenth of a getAll that saves 400 attachments; a program that
    /// runs one session on its own runtime, like the CLI, turns it on.
    /// Leave it off when one executor thread serves many sessions: a slow
    /// disk would stall them all.
    pub files_on_current_thread: bool,
    /// A server to start connecting to as the runtime is made, while the
    /// component loads: `(host, port)` as the session's
    /// [`ConnectOptions`] will name them (default
    /// none). The first session that connects to that host and port (as
    /// the policy compares names) within ten seconds takes the connection;
    /// any other, or a later one, connects as usual, and the connection
    /// is closed unused then, or with the runtime and its sessions when
    /// nothing asks for it. Nothing is connected to unless the policy
    /// allows it. For a program that runs one session and knows its server
    /// before it starts, like the command line: the name lookup, the TCP
    /// handshake and, on a plaintext or STARTTLS port, the wait for the
    /// server's greeting then overlap the loading (implicit TLS begins its
    /// handshake when the session asks).
    pub preconnect: Option<(String, u16)>,
}

impl RuntimeOptions {
    /// Defaults with the given policy.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }
}

impl Default for RuntimeOptions {
    /// Allows no server at all: set [`RuntimeOptions::policy`].
    fn default() -> Self {
        Self {
            policy: Policy::deny_all(),
            attachments: AttachmentPolicy::deny_all(),
            extra_ca: None,
            memory_limit: 512 << 20,
            max_timeout: Duration::from_secs(600),
            deadline: Some(Duration::from_secs(3600)),
            interruption: Interruption::Epoch,
            compile_cache: CompileCache::Default,
            precompiled: Vec::new(),
            guest_stderr: false,
            files_on_current_thread: false,
            preconnect: None,
        }
    }
}

/// The connection `options` ask to begin early, if the policy allows it.
fn early(options: &RuntimeOptions) -> Option<Early> {
    let (host, port) = options.preconnect.as_ref()?;
    if !options.policy.allows(host, *port) {
        tracing::debug!(%host, port, "not connecting early: the policy does not allow it");
        return None;
    }
    Early::start(host, *port, options.max_timeout)
}

/// The data of one session's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryLimit,
    transport: Arc<TransportCtx>,
    sink: Arc<SinkCtx>,
    /// The directory of the session's last attachment file.
    last_dir: LastDir,
}

impl HostState {
    /// Gives this store's attachment sink its own policy.
    pub(crate) fn set_attachment_policy(&mut self, policy: AttachmentPolicy) {
        self.sink = Arc::new(SinkCtx {
            policy,
            on_current_thread: self.sink.on_current_thread,
        });
    }

    /// The error for a trap of this store's component: the memory limit
    /// when that is what stopped it, else the trap itself.
    pub(crate) fn trap_error(&self, trap: &wasmtime::Error) -> Error {
        if self.memory.exceeded {
            Error::LimitExceeded(format!(
                "the component needed more than its memory limit of {} MiB (what the \
                 server sent did not fit)",
                self.memory.max >> 20
            ))
        } else {
            Error::trap(trap)
        }
    }
}

/// The memory limit of one store, remembering whether it was hit (a trap
/// alone does not say why).
struct MemoryLimit {
    max: usize,
    exceeded: bool,
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} bytes exceeded", self.max);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold functions and resource handles; a component that
        // wants millions of them is broken.
        Ok(desired <= 1 << 20)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The loaded component and everything its instances share. Cheap to share
/// between tasks (`&Runtime` is enough to open sessions).
///
/// ```no_run
/// # async fn demo() -> Result<(), cfimap_host::Error> {
/// use cfimap_host::{ConnectOptions, Credentials, Policy, Runtime, RuntimeOptions};
///
/// let runtime = Runtime::new(RuntimeOptions::new(Policy::only("imap.example.com", 993)))?;
/// let options = ConnectOptions::new(
///     "imap.example.com",
///     "alice",
///     Credentials::Password("correct horse".into()),
/// );
/// let mut session = runtime.open(&options).await?;
/// for folder in session.list_all_folders(None, true).await? {
///     println!("{} ({:?} unread)", folder.fullname, folder.unread);
/// }
/// session.close().await?;
/// # Ok(()) }
/// ```
pub struct Runtime {
    engine: Engine,
    /// Keeps calls to their deadlines while the runtime lives.
    guard: Guard,
    pre: CfimapPre<HostState>,
    transport: Arc<TransportCtx>,
    sink: Arc<SinkCtx>,
    options: RuntimeOptions,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Loads the component and prepares it for instantiation; with
    /// [`RuntimeOptions::preconnect`], first starts connecting to that
    /// server on a thread of its own.
    ///
    /// Fails with [`Error::InvalidArgument`] (attribute `cafile`) when the
    /// extra CA file cannot be used, and with [`Error::Load`] when the
    /// component cannot be compiled or linked.
    pub fn new(options: RuntimeOptions) -> Result<Self, Error> {
        let tls = tls::client_config(options.extra_ca.as_deref())?;
        // Before the component loads, so that the two overlap.
        let early = early(&options);
        let engine = component::engine(options.interruption)?;
        let component = component::load(&engine, &options.compile_cache, &options.precompiled)?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| Error::Load(format!("cannot link WASI: {e}")))?;
        crate::bindings::transport::add_to_linker::<HostState, HasTransport>(&mut linker, |s| {
            TransportView {
                table: &mut s.table,
                ctx: &s.transport,
            }
        })
        .map_err(|e| Error::Load(format!("cannot link the transport: {e}")))?;
        crate::bindings::attachments::add_to_linker::<HostState, HasSink>(&mut linker, |s| {
            SinkView {
                table: &mut s.table,
                ctx: &s.sink,
                last: &mut s.last_dir,
            }
        })
        .map_err(|e| Error::Load(format!("cannot link the attachment sink: {e}")))?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(CfimapPre::new)
            .map_err(|e| Error::Load(format!("cannot link the component: {e}")))?;

        let transport = Arc::new(TransportCtx {
            policy: options.policy.clone(),
            tls,
            max_timeout: options.max_timeout,
            early,
        });
        let sink = Arc::new(SinkCtx {
            policy: options.attachments.clone(),
            on_current_thread: options.files_on_current_thread,
        });
        Ok(Self {
            guard: Guard::start(&engine, options.interruption),
            engine,
            pre,
            transport,
            sink,
            options,
        })
    }

    /// The options this runtime was made with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// `action="open"`: starts a fresh instance of the component, which
    /// connects, secures the connection and logs in.
    ///
    /// The returned [`Session`] runs the other actions; end it with
    /// [`Session::close`] (LOGOUT).
    pub async fn open(&self, options: &ConnectOptions) -> Result<Session, Error> {
        let (mut store, bindings) = self.instantiate().await?;
        let request = options.to_wit();
        let limit = self.guard.limit(self.options.deadline);
        let opened = within(
            &limit,
            bindings
                .cfimap_imap_client()
                .session()
                .call_open(&mut store, &request),
        )
        .await;
        match opened {
            Ok(Ok(Ok(handle))) => Ok(Session::new(store, bindings, handle, limit)),
            Ok(Ok(Err(e))) => Err(e.into()),
            Ok(Err(trap)) => Err(store.data().trap_error(&trap)),
            Err(Overdue(limit)) => Err(Error::Timeout(format!(
                "opening the session took longer than its deadline of {} s",
                limit.as_secs()
            ))),
        }
    }

    async fn instantiate(&self) -> Result<(Store<HostState>, Cfimap), Error> {
        let mut wasi = WasiCtxBuilder::new();
        // No sockets of its own: the network is reached through the transport.
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if self.options.guest_stderr {
            wasi.inherit_stderr();
        }
        let state = HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            memory: MemoryLimit {
                max: self.options.memory_limit,
                exceeded: false,
            },
            transport: Arc::clone(&self.transport),
            sink: Arc::clone(&self.sink),
            last_dir: LastDir::default(),
        };
        let mut store = self.guard.store(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        let bindings = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| Error::trap(&e))?;
        Ok((store, bindings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy holds for early connections: one to an endpoint it does
    /// not name is never begun (no thread, no packet), one it names is.
    #[test]
    fn only_an_endpoint_the_policy_allows_is_connected_to_early() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
        let port = listener.local_addr().expect("its address").port();
        let options = |policy: Policy| RuntimeOptions {
            preconnect: Some(("127.0.0.1".into(), port)),
            ..RuntimeOptions::new(policy)
        };
        for denying in [
            Policy::deny_all(),
            Policy::only("127.0.0.1", port.wrapping_add(1)),
            Policy::only("localhost", port),
        ] {
            assert!(early(&options(denying.clone())).is_none(), "{denying:?}");
        }
        assert!(
            early(&RuntimeOptions::new(Policy::allow_any())).is_none(),
            "none asked"
        );
        let allowed = early(&options(Policy::only("127.0.0.1", port))).expect("begun");
        listener.accept().expect("the early connection");
        assert!(allowed.take("127.0.0.1", port).is_some());
    }
}
