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
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::attachments::{AttachmentPolicy, HasSink, SinkCtx, SinkView};
use crate::bindings::{Cfimap, CfimapPre};
use crate::component::{self, CompileCache};
use crate::session::{ConnectOptions, Session};
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
    /// (default 512 MiB). Going over it traps the component
    /// ([`Error::Trap`]).
    pub memory_limit: usize,
    /// The longest any single network wait may take, whatever timeout the
    /// caller asks for (default 10 minutes).
    pub max_timeout: Duration,
    /// Where the compiled component is cached (default: the user's cache
    /// directory).
    pub compile_cache: CompileCache,
    /// Whether the component's stderr goes to the host's stderr (default
    /// off). The component never writes secrets there, but keep it off in
    /// servers.
    pub guest_stderr: bool,
    /// Whether attachment files are written on the thread that runs the
    /// component instead of tokio's blocking pool (default off). Handing every open and write to another thread and back cost
    /// about a tenth of a getAll that saves 400 attachments; a program that
    /// runs one session on its own runtime, like the CLI, turns it on.
    /// Leave it off when one executor thread serves many sessions: a slow
    /// disk would stall them all.
    pub files_on_current_thread: bool,
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
            compile_cache: CompileCache::Default,
            guest_stderr: false,
            files_on_current_thread: false,
        }
    }
}

/// The data of one session's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    transport: Arc<TransportCtx>,
    sink: Arc<SinkCtx>,
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
    /// Loads the component and prepares it for instantiation.
    ///
    /// Fails with [`Error::InvalidArgument`] (attribute `cafile`) when the
    /// extra CA file cannot be used, and with [`Error::Load`] when the
    /// component cannot be compiled or linked.
    pub fn new(options: RuntimeOptions) -> Result<Self, Error> {
        let tls = tls::client_config(options.extra_ca.as_deref())?;
        let engine = component::engine()?;
        let component = component::load(&engine, &options.compile_cache)?;

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
        });
        let sink = Arc::new(SinkCtx {
            policy: options.attachments.clone(),
            on_current_thread: options.files_on_current_thread,
        });
        Ok(Self {
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
        let opened = bindings
            .cfimap_imap_client()
            .session()
            .call_open(&mut store, &request)
            .await;
        match opened {
            Ok(Ok(handle)) => Ok(Session::new(store, bindings, handle)),
            Ok(Err(e)) => Err(e.into()),
            Err(trap) => Err(Error::trap(&trap)),
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
            limits: StoreLimitsBuilder::new()
                .memory_size(self.options.memory_limit)
                .trap_on_grow_failure(true)
                .build(),
            transport: Arc::clone(&self.transport),
            sink: Arc::clone(&self.sink),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let bindings = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| Error::trap(&e))?;
        Ok((store, bindings))
    }
}
