//! A private Dovecot 2.3 (Debian `dovecot-imapd`) for tests.
//!
//! [`Dovecot::start`] writes a self-contained `dovecot.conf` into a temporary directory (own
//! `base_dir`, `state_dir`, `log_path`, `instance_name`), generates certificates
//! ([`crate::certs`]), a passwd-file with [`PRECREATED_USERS`] users plus one whose password has
//! 8-bit characters, and starts `dovecot -F -c CONF` with its listeners on free loopback ports.
//! The master is stopped (`SIGTERM`, as `dovecot -c CONF stop` does, then waited for) when the
//! value is dropped.
//!
//! [`Dovecot::shared`] gives one instance per [`Flavor`] per test binary; each test takes its
//! own user with [`Dovecot::user`], so tests run in parallel without seeing each other's mail.
//! Shared instances live in statics, which are never dropped: they are stopped by an `atexit`
//! hook, and the master also gets `SIGTERM` if the test process dies (`PR_SET_PDEATHSIG`).
//!
//! Facts this relies on (Dovecot 2.3 as root): `default_login_user` must not be root;
//! `default_internal_user = root` works; mail processes refuse uid 0, so the userdb maps every
//! user to `nobody:nogroup` and the mail tree is owned by them; the master keeps stdout and
//! stderr open, so they go to a file; the auth penalty (per client IP, and every test comes
//! from 127.0.0.1) is disabled by running `auth` as `nobody` with the `anvil-auth-penalty`
//! socket at mode 0. A failed login still takes ~0.5 s (Dovecot 2.3.19 checks its
//! failure-delay queue every 500 ms even with `auth_failure_delay = 0`).

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::account::Account;
use crate::certs::Certs;
use crate::imap::Client;
use crate::ports;
use crate::unique;

/// Users written to the passwd-file at start (`user001` … `user200`); more are appended on
/// demand.
pub const PRECREATED_USERS: usize = 200;

/// Name of the user whose password has 8-bit UTF-8 characters.
pub const UTF8_USER: &str = "umlaut";

/// That user's password: forces a synchronising literal in `LOGIN` and UTF-8 in `AUTHENTICATE`.
pub const UTF8_PASSWORD: &str = "pässwörd✓";

/// How the server is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flavor {
    /// Maildir with `LAYOUT=fs`: separator `/`, no namespace prefix; special-use folders Drafts,
    /// Sent, Trash (auto-created) and Junk; STARTTLS on the plain port and an implicit-TLS port.
    Default,
    /// Courier-style: Maildir++ layout, separator `.`, personal namespace prefix `INBOX.`
    /// (`inbox = yes`); the same special-use folders, under `INBOX.`; `UNSELECT` and `ESEARCH`
    /// not announced, as Courier-IMAP announces neither (the quirk of [`Flavor::NoMove`]: the
    /// commands still work when sent).
    Courier,
    /// As [`Flavor::Default`] but `ssl = no`: STARTTLS is not offered and there is no TLS port.
    NoTls,
    /// As [`Flavor::Default`] but `MOVE` is not announced (`imap_capability` is the server's own
    /// post-login list without `MOVE`; the command itself still works). Quirk: Dovecot then also
    /// announces that whole list before login (plus STARTTLS and AUTH=).
    NoMove,
}

impl Flavor {
    /// Every flavor.
    pub const ALL: [Flavor; 4] = [
        Flavor::Default,
        Flavor::Courier,
        Flavor::NoTls,
        Flavor::NoMove,
    ];

    /// The hierarchy delimiter.
    pub fn delimiter(self) -> char {
        match self {
            Flavor::Courier => '.',
            _ => '/',
        }
    }

    /// The personal namespace prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Flavor::Courier => "INBOX.",
            _ => "",
        }
    }

    /// `true` if the server speaks TLS (STARTTLS and an implicit-TLS port).
    pub fn tls(self) -> bool {
        !matches!(self, Flavor::NoTls)
    }

    /// Capabilities the flavor hides (its `imap_capability` is the server's own list without
    /// them).
    pub fn hidden_capabilities(self) -> &'static [&'static str] {
        match self {
            Flavor::Courier => &["UNSELECT", "ESEARCH"],
            Flavor::NoMove => &["MOVE"],
            _ => &[],
        }
    }

    /// The flavor of a name as [`Flavor::name`] gives it (`default`, `courier`, ...).
    pub fn parse(name: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.name() == name)
    }

    fn index(self) -> usize {
        match self {
            Flavor::Default => 0,
            Flavor::Courier => 1,
            Flavor::NoTls => 2,
            Flavor::NoMove => 3,
        }
    }

    /// The flavor's name: `default`, `courier`, `notls` or `nomove`.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Default => "default",
            Flavor::Courier => "courier",
            Flavor::NoTls => "notls",
            Flavor::NoMove => "nomove",
        }
    }
}

/// A running private Dovecot.
#[derive(Debug)]
pub struct Dovecot {
    flavor: Flavor,
    dir: PathBuf,
    tempdir: Option<tempfile::TempDir>,
    binary: PathBuf,
    conf: PathBuf,
    child: Mutex<Option<Child>>,
    plain_port: u16,
    tls_port: Option<u16>,
    certs: Certs,
    passwd_lock: Mutex<()>,
    next_user: AtomicUsize,
    secret: String,
    owner: (u32, u32),
}

/// Finds the `dovecot` binary, or says how to install it.
pub fn dovecot_binary() -> io::Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("dovecot"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "the `dovecot` binary is missing: the tests need Debian's dovecot-imapd — run \
             `make test` (it installs it) or `apt-get install -y dovecot-imapd`",
            )
        })
}

fn lookup_id(file: &str, name: &str) -> Option<u32> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(name))
            .then(|| fields.nth(1)?.parse().ok())
            .flatten()
    })
}

/// uid of `nobody` and gid of `nogroup` (65534 when the files don't say).
fn nobody_ids() -> (u32, u32) {
    let uid = lookup_id("/etc/passwd", "nobody").unwrap_or(65534);
    let gid = lookup_id("/etc/group", "nogroup")
        .or_else(|| lookup_id("/etc/group", "nobody"))
        .unwrap_or(65534);
    (uid, gid)
}

fn mkdir_owned(path: &Path, owner: (u32, u32)) -> io::Result<()> {
    fs::create_dir_all(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1))
}

/// The generated configuration for `flavor`.
///
/// `capability` overrides `imap_capability` (used by [`Flavor::NoMove`]).
pub fn config(
    flavor: Flavor,
    dir: &Path,
    plain_port: u16,
    tls_port: Option<u16>,
    certs: &Certs,
    capability: Option<&str>,
) -> String {
    let d = dir.display();
    let mut c = String::new();
    let _ = writeln!(
        c,
        "# cfimap test Dovecot, flavor {}; generated by the cfimap-tests harness",
        flavor.name()
    );
    let _ = writeln!(c, "base_dir = {d}/run");
    let _ = writeln!(c, "state_dir = {d}/state");
    let _ = writeln!(
        c,
        "instance_name = cfimap-test-{}-{}",
        flavor.name(),
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    );
    let _ = writeln!(c, "log_path = {d}/dovecot.log");
    c.push_str(
        "log_timestamp = \"%Y-%m-%d %H:%M:%S \"\n\
         protocols = imap\n\
         listen = 127.0.0.1\n\
         default_login_user = nobody\n\
         default_internal_user = root\n\
         default_internal_group = root\n\
         disable_plaintext_auth = no\n\
         auth_mechanisms = plain login\n\
         auth_verbose = yes\n\
         auth_verbose_passwords = no\n\
         auth_failure_delay = 0\n\
         mail_fsync = never\n",
    );
    if flavor.tls() {
        let _ = writeln!(c, "ssl = yes");
        let _ = writeln!(c, "ssl_cert = <{}", certs.server_cert.display());
        let _ = writeln!(c, "ssl_key = <{}", certs.server_key.display());
    } else {
        let _ = writeln!(c, "ssl = no");
    }
    let _ = write!(
        c,
        "passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
         userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/mail/%u allow_all_users=yes\n}}\n"
    );
    let (location, separator, prefix) = match flavor {
        Flavor::Courier => ("maildir:~/Maildir", ".", "INBOX."),
        _ => ("maildir:~/Maildir:LAYOUT=fs", "/", ""),
    };
    let _ = writeln!(c, "mail_location = {location}");
    let _ = write!(
        c,
        "namespace inbox {{\n  inbox = yes\n  separator = {separator}\n  prefix = {prefix}\n\
         \x20 mailbox Drafts {{\n    special_use = \\Drafts\n    auto = create\n  }}\n\
         \x20 mailbox Sent {{\n    special_use = \\Sent\n    auto = create\n  }}\n\
         \x20 mailbox Trash {{\n    special_use = \\Trash\n    auto = create\n  }}\n\
         \x20 mailbox Junk {{\n    special_use = \\Junk\n  }}\n}}\n"
    );
    // Every test connects from 127.0.0.1, so the per-IP auth penalty (2 s, 4 s, ... up to 15 s
    // after each failed login) would slow down everyone after a wrong-password test. Running
    // auth unprivileged and closing the penalty socket to it disables the penalty.
    c.push_str(
        "service auth {\n  user = nobody\n}\n\
         service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n",
    );
    c.push_str("protocol imap {\n  mail_max_userip_connections = 100\n  rawlog_dir = %h/rawlog\n");
    if let Some(cap) = capability {
        let _ = writeln!(c, "  imap_capability = {cap}");
    }
    c.push_str("}\n");
    let _ = write!(
        c,
        "service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {plain_port}\n  }}\n"
    );
    if let Some(tls) = tls_port {
        let _ = write!(
            c,
            "  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls}\n    ssl = yes\n  }}\n"
        );
    }
    c.push_str("}\n");
    c
}

// ---- process keeping -------------------------------------------------------------------------

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns from one long-lived thread: `PR_SET_PDEATHSIG` fires when the *thread* that forked
/// the child exits, and test threads exit all the time.
fn spawn_kept(mut cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("dovecot-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn the dovecot-spawner thread");
        Mutex::new(tx)
    });
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (tx, rx) = mpsc::channel();
    sender
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, tx))
        .map_err(|_| io::Error::other("dovecot-spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("dovecot-spawner thread is gone"))?
}

/// Shared instances to stop at exit: (master pid, directory to remove).
fn at_exit_list() -> &'static Mutex<Vec<(u32, PathBuf)>> {
    static LIST: OnceLock<Mutex<Vec<(u32, PathBuf)>>> = OnceLock::new();
    LIST.get_or_init(|| {
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(stop_shared_at_exit) };
        Mutex::new(Vec::new())
    })
}

extern "C" fn stop_shared_at_exit() {
    let list = match at_exit_list().lock() {
        Ok(l) => l.clone(),
        Err(e) => e.into_inner().clone(),
    };
    for (pid, _) in &list {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(*pid as libc::pid_t, libc::SIGTERM) };
    }
    for (pid, dir) in &list {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut status = 0;
            // SAFETY: waiting for our own child, non-blocking.
            let r = unsafe { libc::waitpid(*pid as libc::pid_t, &mut status, libc::WNOHANG) };
            if r != 0 || Instant::now() > deadline {
                if r == 0 {
                    // SAFETY: as above.
                    unsafe {
                        libc::kill(*pid as libc::pid_t, libc::SIGKILL);
                        libc::waitpid(*pid as libc::pid_t, &mut status, 0);
                    }
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = fs::remove_dir_all(dir);
    }
}

// ---- the server ------------------------------------------------------------------------------

enum Launch {
    Ready(Child),
    PortTaken,
}

impl Dovecot {
    /// Starts a private Dovecot of `flavor`; panics with the reason (and the server's log)
    /// if it cannot. See [`Dovecot::try_start`].
    pub fn start(flavor: Flavor) -> Dovecot {
        Dovecot::try_start(flavor)
            .unwrap_or_else(|e| panic!("cannot start the test Dovecot ({flavor:?}): {e}"))
    }

    /// The instance of `flavor` shared by every test in this binary (started on first use).
    pub fn shared(flavor: Flavor) -> &'static Dovecot {
        static SHARED: [OnceLock<Dovecot>; 4] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        SHARED[flavor.index()].get_or_init(|| {
            let dovecot = Dovecot::start(flavor);
            let pid = dovecot.pid().unwrap_or(0);
            if pid != 0 {
                at_exit_list()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((pid, dovecot.dir.clone()));
            }
            dovecot
        })
    }

    /// Starts a private Dovecot of `flavor`.
    pub fn try_start(flavor: Flavor) -> io::Result<Dovecot> {
        let binary = dovecot_binary()?;
        // Dovecot's unix sockets live under base_dir: keep the path well below the 108-byte
        // limit of socket paths even when TMPDIR is long.
        let tmp = std::env::temp_dir();
        let parent = if tmp.as_os_str().len() > 40 {
            PathBuf::from("/tmp")
        } else {
            tmp
        };
        let tempdir = tempfile::Builder::new()
            .prefix("cfimap-dovecot-")
            .tempdir_in(parent)?;
        let dir = tempdir.path().to_path_buf();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
        let owner = nobody_ids();
        let certs = Certs::generate(&dir)?;
        mkdir_owned(&dir.join("mail"), owner)?;

        let secret = unique::token(8);
        let mut passwd = String::new();
        for n in 1..=PRECREATED_USERS {
            let _ = writeln!(
                passwd,
                "{}:{{PLAIN}}{}::::::",
                user_name(n),
                user_password(&secret, n)
            );
        }
        let _ = writeln!(passwd, "{UTF8_USER}:{{PLAIN}}{UTF8_PASSWORD}::::::");
        let _ = writeln!(passwd, "probe:{{PLAIN}}probe-{secret}::::::");
        fs::write(dir.join("passwd"), passwd)?;
        // Read by the auth process, which runs as nobody.
        fs::set_permissions(dir.join("passwd"), fs::Permissions::from_mode(0o644))?;

        let mut dovecot = Dovecot {
            flavor,
            dir: dir.clone(),
            tempdir: Some(tempdir),
            binary,
            conf: dir.join("dovecot.conf"),
            child: Mutex::new(None),
            plain_port: 0,
            tls_port: None,
            certs,
            passwd_lock: Mutex::new(()),
            next_user: AtomicUsize::new(0),
            secret,
            owner,
        };
        let hidden = flavor.hidden_capabilities();
        let capability = if hidden.is_empty() {
            None
        } else {
            dovecot.launch(None)?;
            let caps = dovecot.probe_capabilities()?;
            dovecot.stop();
            // An explicit imap_capability is used verbatim (2.3.19 appends nothing after login).
            let kept: Vec<String> = caps
                .into_iter()
                .filter(|c| !hidden.contains(&c.as_str()))
                .collect();
            Some(kept.join(" "))
        };
        dovecot.launch(capability.as_deref())?;
        Ok(dovecot)
    }

    /// Writes the configuration on fresh ports and starts the master; retries on port clashes.
    fn launch(&mut self, capability: Option<&str>) -> io::Result<()> {
        for _attempt in 0..5 {
            self.plain_port = ports::free_port()?;
            self.tls_port = if self.flavor.tls() {
                Some(ports::free_port()?)
            } else {
                None
            };
            let conf = config(
                self.flavor,
                &self.dir,
                self.plain_port,
                self.tls_port,
                &self.certs,
                capability,
            );
            fs::write(&self.conf, conf)?;
            match self.launch_once()? {
                Launch::Ready(child) => {
                    *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
                    return Ok(());
                }
                Launch::PortTaken => continue,
            }
        }
        Err(io::Error::other(format!(
            "ports kept being taken; log:\n{}",
            self.log()
        )))
    }

    fn launch_once(&self) -> io::Result<Launch> {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("master.out"))?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg("-F").arg("-c").arg(&self.conf);
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let mut child = spawn_kept(cmd)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                let log = self.log();
                if log.contains("Address already in use") {
                    return Ok(Launch::PortTaken);
                }
                return Err(io::Error::other(format!(
                    "dovecot exited with {status}; log:\n{log}"
                )));
            }
            if greets(self.plain_port)
                && self
                    .tls_port
                    .is_none_or(|p| TcpStream::connect(("127.0.0.1", p)).is_ok())
            {
                return Ok(Launch::Ready(child));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!(
                    "dovecot did not greet within 30 s; log:\n{}",
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn probe_capabilities(&self) -> io::Result<Vec<String>> {
        let err = |e: crate::imap::Error| io::Error::other(format!("probing capabilities: {e}"));
        let mut client = Client::connect_plain("127.0.0.1", self.plain_port).map_err(err)?;
        client
            .login("probe", &format!("probe-{}", self.secret))
            .map_err(err)?;
        let caps = client.capabilities().map_err(err)?;
        let _ = client.logout();
        Ok(caps.into_iter().filter(|c| c != "IMAP4REV1").fold(
            vec!["IMAP4rev1".to_string()],
            |mut v, c| {
                v.push(c);
                v
            },
        ))
    }

    /// The master's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(Child::id)
    }

    /// Stops the master and waits for it (`SIGKILL` after 10 s). Called on drop; calling it
    /// twice is harmless.
    ///
    /// It sends the master `SIGTERM` itself, which is what `dovecot -c CONF stop` does, minus
    /// the ~2 s that command spends polling for the master to go away.
    pub fn stop(&self) {
        let Some(mut child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: signalling our own child, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The flavor.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The plain port (STARTTLS offered unless [`Flavor::NoTls`]).
    pub fn plain_port(&self) -> u16 {
        self.plain_port
    }

    /// The implicit-TLS port (`None` for [`Flavor::NoTls`]).
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// PEM file of the CA that signed the server certificate.
    pub fn ca_file(&self) -> &Path {
        &self.certs.ca_file
    }

    /// PEM file of an unrelated CA (verification against it must fail).
    pub fn unknown_ca_file(&self) -> &Path {
        &self.certs.unknown_ca_file
    }

    /// All generated certificate files.
    pub fn certs(&self) -> &Certs {
        &self.certs
    }

    /// The instance's directory (config, log, passwd, mail tree).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The rawlog files of what `user`'s sessions sent to the server (`*.in`), oldest first.
    pub fn rawlog_files(&self, user: &str) -> Vec<PathBuf> {
        let dir = self.dir.join("mail").join(user).join("rawlog");
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().and_then(|e| e.to_str()) == Some("in"));
        files.sort();
        files
    }

    /// What `user`'s sessions sent since `before` (as [`Dovecot::rawlog_files`] gave it), once
    /// one of them has logged out — Dovecot writes the rawlog as the session runs, so it is
    /// awaited for up to 10 s; `Err` with what was there if no LOGOUT came.
    pub fn rawlog_since(&self, user: &str, before: &[PathBuf]) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text: String = self
                .rawlog_files(user)
                .into_iter()
                .filter(|f| !before.contains(f))
                .map(|f| String::from_utf8_lossy(&fs::read(f).unwrap_or_default()).into_owned())
                .collect();
            if text.contains("LOGOUT") {
                return Ok(text);
            }
            if Instant::now() >= deadline {
                return Err(text);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The generated `dovecot.conf`.
    pub fn config_file(&self) -> &Path {
        &self.conf
    }

    /// The home directory of `username` (`<dir>/mail/<username>`); its mail is under
    /// `Maildir/` there. For tools that write mail files directly, e.g. the bench.
    pub fn home(&self, username: &str) -> PathBuf {
        self.dir.join("mail").join(username)
    }

    /// uid and gid the mail processes run as (`nobody:nogroup`): files written directly into
    /// a home must belong to them, or Dovecot cannot index or change them.
    pub fn mail_owner(&self) -> (u32, u32) {
        self.owner
    }

    /// A fresh user, never handed out before by this instance; its mailbox tree is empty
    /// (plus the auto-created special-use folders on first login).
    pub fn user(&self) -> Account {
        let n = self.next_user.fetch_add(1, Ordering::SeqCst) + 1;
        if n > PRECREATED_USERS {
            let _lock = self.passwd_lock.lock().unwrap_or_else(|e| e.into_inner());
            let line = format!(
                "{}:{{PLAIN}}{}::::::\n",
                user_name(n),
                user_password(&self.secret, n)
            );
            let appended = OpenOptions::new()
                .append(true)
                .open(self.dir.join("passwd"))
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(e) = appended {
                panic!("cannot add user {} to the passwd-file: {e}", user_name(n));
            }
        }
        self.prepare_home(&user_name(n));
        self.account(user_name(n), user_password(&self.secret, n))
    }

    /// The user whose password is [`UTF8_PASSWORD`] (8-bit UTF-8). One per instance: use it for
    /// login tests, not for mail.
    pub fn utf8_user(&self) -> Account {
        self.prepare_home(UTF8_USER);
        self.account(UTF8_USER.into(), UTF8_PASSWORD.into())
    }

    fn prepare_home(&self, user: &str) {
        let home = self.home(user);
        // Best effort: without it Dovecot still works, only the rawlog is missing.
        let _ = mkdir_owned(&home, self.owner)
            .and_then(|_| mkdir_owned(&home.join("rawlog"), self.owner));
    }

    fn account(&self, username: String, password: String) -> Account {
        Account {
            server: self.host().into(),
            port_plain: Some(self.plain_port),
            port_tls: self.tls_port,
            starttls: self.flavor.tls(),
            username,
            password,
            ca_file: Some(self.certs.ca_file.clone()),
            unknown_ca_file: Some(self.certs.unknown_ca_file.clone()),
            delimiter: self.flavor.delimiter(),
            prefix: self.flavor.prefix().into(),
            scratch: None,
            private: true,
        }
    }

    /// Dovecot's log (and whatever the master printed), for diagnostics.
    pub fn log(&self) -> String {
        let mut text = fs::read_to_string(self.dir.join("master.out")).unwrap_or_default();
        text.push_str(&fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default());
        text
    }

    /// What clients sent to `username` *after* login (Dovecot's rawlog `*.in` files, in order).
    pub fn rawlog_in(&self, username: &str) -> String {
        self.rawlog(username, "in")
    }

    /// What the server sent to `username` after login (rawlog `*.out` files, in order).
    pub fn rawlog_out(&self, username: &str) -> String {
        self.rawlog(username, "out")
    }

    fn rawlog(&self, username: &str, ext: &str) -> String {
        let dir = self.dir.join("mail").join(username).join("rawlog");
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().and_then(|e| e.to_str()) == Some(ext));
        files.sort();
        let mut out = Vec::new();
        for f in files {
            if let Ok(mut file) = fs::File::open(&f) {
                let _ = file.read_to_end(&mut out);
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
        if let Some(t) = self.tempdir.take() {
            let _ = t.close();
        }
    }
}

fn user_name(n: usize) -> String {
    format!("user{n:03}")
}

fn user_password(secret: &str, n: usize) -> String {
    format!("pw{n:03}-{secret}")
}

/// `true` if something on `port` sends an IMAP `* OK` greeting within a second.
fn greets(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 256];
    let mut got = Vec::new();
    while !got.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let _ = s.write_all(b"x LOGOUT\r\n");
    got.starts_with(b"* OK")
}
