//! Where a connection's settings come from: the flags (or a script line),
//! then the environment, then a profile of the configuration file, then the
//! defaults. The password alone may also come from stdin, a profile's
//! command, or a prompt.
//!
//! The configuration file is TOML, one table per profile:
//!
//! ```toml
//! [profile.work]
//! server = "imap.example.com"
//! port = 993
//! username = "alice"
//! secure = "yes"
//! cafile = "/etc/ssl/private-ca.pem"
//! timeout = 30
//! password-command = "pass show mail/work"
//! ```
//!
//! A profile never holds the password itself: it names a command that
//! prints it (or `token-command` for an OAuth access token), so the secret
//! stays in the keyring or password manager it already lives in.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cfimap_host::{ConnectOptions, Credentials, Security};
use serde::Deserialize;

use super::args::{Action, ConnectionArgs, Global, parse_port, parse_secure};
use super::plan::UsageError;

/// `--deadline` when none is given: an hour for one action.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(3600);

/// Everything needed to open one connection.
#[derive(Debug)]
pub struct Connection {
    /// What the component is asked to open.
    pub options: ConnectOptions,
    /// `--cafile`.
    pub cafile: Option<PathBuf>,
    /// `--deadline`: `None` for no limit.
    pub deadline: Option<Duration>,
}

impl Connection {
    /// The secret this connection logs in with, to keep out of messages.
    pub fn secret(&self) -> String {
        match &self.options.credentials {
            Credentials::Password(s) | Credentials::BearerToken(s) => s.clone(),
        }
    }

    /// Prints [`Connection::warning`] on stderr, unless `quiet`.
    pub fn warn(&self, quiet: bool) {
        if let Some(warning) = self.warning().filter(|_| !quiet) {
            eprintln!("cfimap: warning: {warning}");
        }
    }

    /// A warning worth printing before connecting: plaintext or STARTTLS
    /// asked for on port 993, IMAP over implicit TLS (RFC 8314). Most such
    /// servers wait silently for a TLS handshake, so the mistake would only
    /// show when the greeting times out.
    pub fn warning(&self) -> Option<String> {
        let asks = match self.options.secure? {
            Security::Tls => return None,
            Security::Starttls => "secure=starttls asks for STARTTLS",
            Security::None => "secure=no asks for plaintext",
        };
        (self.options.effective_port() == 993).then(|| {
            format!(
                "port 993 is IMAP over implicit TLS, but {asks}: the server will likely never \
                 greet (use --secure yes)"
            )
        })
    }
}

/// Where the password comes from when nothing else gives one.
pub trait PasswordPrompt {
    /// Asks for the password of `username` at `server`; `None` if no prompt
    /// is possible (stdin is not a terminal).
    fn prompt(&self, username: &str, server: &str) -> Result<Option<String>, UsageError>;
}

/// Prompts on the terminal (without echo) when stdin is a terminal.
pub struct TerminalPrompt;

impl PasswordPrompt for TerminalPrompt {
    fn prompt(&self, username: &str, server: &str) -> Result<Option<String>, UsageError> {
        if !std::io::stdin().is_terminal() {
            return Ok(None);
        }
        rpassword::prompt_password(format!("Password for {username}@{server}: "))
            .map(Some)
            .map_err(|e| UsageError::new(format!("cannot read the password: {e}")))
    }
}

/// One `[profile.NAME]` of the configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProfileFile {
    server: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    secure: Option<String>,
    cafile: Option<PathBuf>,
    timeout: Option<u32>,
    deadline: Option<u32>,
    password_command: Option<String>,
    token_command: Option<String>,
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profile: BTreeMap<String, ProfileFile>,
}

/// A profile, checked.
#[derive(Debug, Clone, Default)]
struct Profile {
    name: String,
    args: ConnectionArgs,
    password_command: Option<String>,
    token_command: Option<String>,
}

/// The settings below the flags: environment and profile.
#[derive(Debug, Default)]
pub struct Settings {
    env: ConnectionArgs,
    profile: Option<Profile>,
    /// Whether a profile's command may read stdin (not when stdin is a
    /// script being run).
    commands_stdin: bool,
}

/// Reads an environment variable; empty counts as unset (so that an empty
/// `CFIMAP_PASSWORD` prompts instead of sending an empty password).
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    /// Reads the environment and the profile `global` names.
    pub fn load(global: &Global) -> Result<Settings, UsageError> {
        Settings::from_sources(global, var)
    }

    /// [`Settings::load`] with the environment given (for tests).
    fn from_sources(
        global: &Global,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, UsageError> {
        let port = match env("CFIMAP_PORT") {
            Some(p) => Some(
                parse_port(&p).map_err(|e| UsageError::new(format!("invalid CFIMAP_PORT: {e}")))?,
            ),
            None => None,
        };
        let env_args = ConnectionArgs {
            server: env("CFIMAP_SERVER"),
            port,
            username: env("CFIMAP_USERNAME"),
            password: env("CFIMAP_PASSWORD"),
            token: env("CFIMAP_TOKEN"),
            ..ConnectionArgs::default()
        };
        let named = global.profile.clone().or_else(|| env("CFIMAP_PROFILE"));
        let path = match (&global.config, env("CFIMAP_CONFIG")) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => Some(PathBuf::from(p)),
            (None, None) => env("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))
                .map(|dir| dir.join("cfimap").join("config.toml")),
        };
        let profile = load_profile(path.as_deref(), named.as_deref())?;
        Ok(Settings {
            env: env_args,
            profile,
            commands_stdin: true,
        })
    }

    /// Keeps a profile's password or token command off stdin (`cfimap run`
    /// reads its script there).
    pub fn keep_commands_off_stdin(&mut self) {
        self.commands_stdin = false;
    }

    /// The connection for `action` from `given` (flags or a script line),
    /// then `defaults` (a `cfimap run`'s flags), then the environment and
    /// the profile.
    pub fn resolve(
        &self,
        action: Action,
        given: ConnectionArgs,
        defaults: ConnectionArgs,
        prompt: &dyn PasswordPrompt,
    ) -> Result<Connection, UsageError> {
        let profile_args = self
            .profile
            .as_ref()
            .map(|p| p.args.clone())
            .unwrap_or_default();
        let from_stdin = given.password_stdin.or(defaults.password_stdin) == Some(true);
        let flags = given.or(defaults);
        // A password or token on the command line beats one from the
        // environment, whichever of the two it is.
        let explicit = flags.password.is_some() || flags.token.is_some() || from_stdin;
        let args = if explicit {
            ConnectionArgs {
                password: None,
                token: None,
                ..self.env.clone()
            }
        } else {
            self.env.clone()
        };
        let args = flags.or(args).or(profile_args);

        let server = match args.server.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.to_owned(),
            _ => return Err(UsageError::new(format!("{action} needs --server"))),
        };
        check_server(&server)?;
        let Some(username) = args.username.clone() else {
            return Err(UsageError::new(format!("{action} needs --username")));
        };
        let credentials = if let Some(token) = args.token {
            Credentials::BearerToken(token)
        } else if let Some(password) = args.password {
            Credentials::Password(password)
        } else if from_stdin {
            Credentials::Password(password_from_stdin()?)
        } else if let Some(profile) = &self.profile
            // A profile's secret is for its own server: never sent to a
            // server named by a flag or a script line.
            && profile.args.server.as_deref().is_some_and(|s| s.trim().eq_ignore_ascii_case(&server))
            && let Some(secret) = profile.secret(self.commands_stdin)?
        {
            secret
        } else if let Some(password) = prompt.prompt(&username, &server)? {
            Credentials::Password(password)
        } else {
            return Err(UsageError::new(
                "no password: pass --password or --password-stdin, set CFIMAP_PASSWORD (or \
                 CFIMAP_TOKEN / --token), give the profile a password-command, or run on a \
                 terminal to be asked",
            ));
        };
        let mut options = ConnectOptions::new(&server, &username, credentials);
        options.secure = args.secure;
        options.timeout = args.timeout;
        // The port is always made explicit, so the policy and the component
        // agree on it.
        options.port = Some(args.port.unwrap_or(options.effective_port()));
        Ok(Connection {
            options,
            cafile: args.cafile,
            deadline: match args.deadline {
                Some(0) => None,
                Some(seconds) => Some(Duration::from_secs(seconds.into())),
                None => Some(DEFAULT_DEADLINE),
            },
        })
    }
}

/// A server given as `host:port` or a URL is the commonest slip: say what
/// to write instead.
fn check_server(server: &str) -> Result<(), UsageError> {
    let (scheme, rest) = match server.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, server),
    };
    let host_port = rest.trim_end_matches('/');
    let (host, port) = match host_port.rsplit_once(':') {
        // An IPv6 address has colons of its own; only [v6]:port has a port.
        Some((host, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!host.contains(':') || host.ends_with(']')) =>
        {
            (host.trim_matches(['[', ']']), Some(port))
        }
        _ => (host_port, None),
    };
    if scheme.is_none() && port.is_none() {
        return Ok(());
    }
    let secure = match (scheme.as_deref(), port) {
        (Some("imaps"), _) | (_, Some("993")) => " --secure yes",
        _ => "",
    };
    let port = port.map(|p| format!(" --port {p}")).unwrap_or_default();
    Err(UsageError::new(format!(
        "--server takes a host name only, not {server:?}: write --server {host}{port}{secure}"
    )))
}

/// The first line of stdin.
pub fn password_from_stdin() -> Result<String, UsageError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| UsageError::new(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(UsageError::new(
            "--password-stdin: the first line of stdin is empty",
        ));
    }
    Ok(password)
}

impl Profile {
    /// The secret its token-command or password-command prints, if it has
    /// one.
    fn secret(&self, stdin: bool) -> Result<Option<Credentials>, UsageError> {
        if let Some(command) = &self.token_command {
            return Ok(Some(Credentials::BearerToken(self.run(
                command,
                "token-command",
                stdin,
            )?)));
        }
        if let Some(command) = &self.password_command {
            return Ok(Some(Credentials::Password(self.run(
                command,
                "password-command",
                stdin,
            )?)));
        }
        Ok(None)
    }

    /// Runs `command` with `sh -c` and takes its output, without the final
    /// line break. Its output is never shown, even when it fails.
    fn run(&self, command: &str, key: &str, stdin: bool) -> Result<String, UsageError> {
        let fail =
            |why: String| UsageError::new(format!("the {key} of profile {:?} {why}", self.name));
        let output = std::process::Command::new("sh")
            .args(["-c", command])
            .stdin(if stdin {
                std::process::Stdio::inherit()
            } else {
                std::process::Stdio::null()
            })
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| fail(format!("cannot be started: {e}")))?;
        if !output.status.success() {
            return Err(fail(format!("failed ({})", output.status)));
        }
        let text = String::from_utf8(output.stdout)
            .map_err(|_| fail("printed something that is not UTF-8".into()))?;
        let secret = text.strip_suffix('\n').unwrap_or(&text);
        let secret = secret.strip_suffix('\r').unwrap_or(secret);
        if secret.is_empty() {
            return Err(fail("printed nothing".into()));
        }
        Ok(secret.to_owned())
    }
}

/// The profile `named` (else `default`, if there is one) of the file at
/// `path`. A missing file is no profile, unless a profile was named.
fn load_profile(path: Option<&Path>, named: Option<&str>) -> Result<Option<Profile>, UsageError> {
    let Some(path) = path else {
        return match named {
            Some(name) => Err(UsageError::new(format!(
                "profile {name:?}: no configuration file (set HOME, CFIMAP_CONFIG or --config)"
            ))),
            None => Ok(None),
        };
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && named.is_none() => return Ok(None),
        Err(e) => {
            return Err(UsageError::new(format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            )));
        }
    };
    let config: ConfigFile = toml::from_str(&text).map_err(|e| {
        UsageError::new(format!(
            "invalid configuration file {}: {}",
            path.display(),
            e.message()
        ))
    })?;
    let name = named.unwrap_or("default");
    let Some(file) = config.profile.get(name).cloned() else {
        if named.is_none() {
            return Ok(None);
        }
        let known: Vec<&str> = config.profile.keys().map(String::as_str).collect();
        return Err(UsageError::new(format!(
            "no profile {name:?} in {} (it has: {})",
            path.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    };
    let secure = match &file.secure {
        Some(s) => Some(parse_secure(s).map_err(|e| {
            UsageError::new(format!(
                "profile {name:?} in {}: secure: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    if file.timeout == Some(0) {
        return Err(UsageError::new(format!(
            "profile {name:?} in {}: timeout: must be 1 or more",
            path.display()
        )));
    }
    if file.port == Some(0) {
        return Err(UsageError::new(format!(
            "profile {name:?} in {}: port: must be a TCP port number from 1 to 65535",
            path.display()
        )));
    }
    Ok(Some(Profile {
        name: name.to_owned(),
        args: ConnectionArgs {
            server: file.server,
            port: file.port,
            username: file.username,
            secure,
            cafile: file.cafile,
            timeout: file.timeout,
            deadline: file.deadline,
            ..ConnectionArgs::default()
        },
        password_command: file.password_command,
        token_command: file.token_command,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfimap_host::Security;

    struct NoPrompt;
    impl PasswordPrompt for NoPrompt {
        fn prompt(&self, _: &str, _: &str) -> Result<Option<String>, UsageError> {
            Ok(None)
        }
    }

    fn settings(env: &[(&str, &str)], config: Option<&str>, profile: Option<&str>) -> Settings {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("config.toml");
        if let Some(text) = config {
            std::fs::write(&path, text).expect("the file");
        }
        let global = Global {
            config: Some(path),
            profile: profile.map(str::to_owned),
            ..Global::default()
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_sources(&global, |name| {
            env.iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        })
        .expect("settings")
    }

    /// `s` resolving `given` for open, without run defaults or a prompt.
    fn resolve(s: &Settings, given: ConnectionArgs) -> Result<Connection, UsageError> {
        s.resolve(Action::Open, given, ConnectionArgs::default(), &NoPrompt)
    }

    fn flags(server: Option<&str>, password: Option<&str>) -> ConnectionArgs {
        ConnectionArgs {
            server: server.map(str::to_owned),
            password: password.map(str::to_owned),
            ..ConnectionArgs::default()
        }
    }

    const WORK: &str = "[profile.work]\nserver = \"profile.example\"\nport = 993\n\
        username = \"alice\"\nsecure = \"tls\"\npassword-command = \"printf 'from command\\\\n'\"\n\
        [profile.default]\nserver = \"default.example\"\nusername = \"dee\"\n";

    #[test]
    fn flag_beats_environment_beats_profile() {
        let s = settings(
            &[
                ("CFIMAP_SERVER", "env.example"),
                ("CFIMAP_PASSWORD", "env-pw"),
            ],
            Some(WORK),
            Some("work"),
        );
        let c = resolve(&s, flags(Some("flag.example"), None)).unwrap();
        assert_eq!(c.options.server, "flag.example");
        assert_eq!(c.options.username, "alice", "from the profile");
        assert_eq!(c.options.port, Some(993));
        assert_eq!(c.options.secure, Some(Security::Tls));
        assert_eq!(
            c.secret(),
            "env-pw",
            "the environment beats the profile's command"
        );

        let c = resolve(&s, ConnectionArgs::default()).unwrap();
        assert_eq!(c.options.server, "env.example");
        let c = resolve(&s, flags(None, Some("flag-pw"))).unwrap();
        assert_eq!(c.secret(), "flag-pw");
    }

    #[test]
    fn a_profile_command_gives_the_password() {
        let s = settings(&[("CFIMAP_PASSWORD", "")], Some(WORK), Some("work"));
        let c = resolve(&s, ConnectionArgs::default()).unwrap();
        assert_eq!(c.options.server, "profile.example");
        assert_eq!(c.secret(), "from command");
    }

    #[test]
    fn a_profiles_secret_goes_to_its_own_server_only() {
        let s = settings(&[], Some(WORK), Some("work"));
        let e = resolve(&s, flags(Some("elsewhere.example"), None)).unwrap_err();
        assert!(e.0.starts_with("no password"), "{}", e.0);
        let c = resolve(&s, flags(Some("PROFILE.example"), None)).unwrap();
        assert_eq!(c.secret(), "from command");
    }

    #[test]
    fn the_default_profile_applies_unless_another_is_named() {
        let s = settings(&[("CFIMAP_PASSWORD", "pw")], Some(WORK), None);
        let c = resolve(&s, ConnectionArgs::default()).unwrap();
        assert_eq!(c.options.server, "default.example");
        assert_eq!(c.options.username, "dee");
        let s = settings(
            &[("CFIMAP_PASSWORD", "pw"), ("CFIMAP_PROFILE", "work")],
            Some(WORK),
            None,
        );
        let c = resolve(&s, ConnectionArgs::default()).unwrap();
        assert_eq!(c.options.server, "profile.example");
    }

    #[test]
    fn a_missing_or_wrong_profile_is_a_usage_error() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, WORK).unwrap();
        let global = |profile: &str| Global {
            config: Some(path.clone()),
            profile: Some(profile.into()),
            ..Global::default()
        };
        let e = Settings::from_sources(&global("home"), |_| None).unwrap_err();
        assert!(
            e.0.contains("no profile \"home\"") && e.0.contains("default, work"),
            "{}",
            e.0
        );
        std::fs::write(&path, "[profile.x]\nservr = \"h\"\n").unwrap();
        let e = Settings::from_sources(&global("x"), |_| None).unwrap_err();
        assert!(e.0.contains("servr"), "{}", e.0);
        std::fs::write(&path, "[profile.x]\nsecure = \"maybe\"\n").unwrap();
        let e = Settings::from_sources(&global("x"), |_| None).unwrap_err();
        assert!(e.0.contains("secure"), "{}", e.0);
    }

    #[test]
    fn an_empty_password_variable_is_no_password() {
        let s = settings(&[("CFIMAP_PASSWORD", "")], None, None);
        let e = s
            .resolve(
                Action::Open,
                flags(Some("h"), None),
                ConnectionArgs {
                    username: Some("u".into()),
                    ..ConnectionArgs::default()
                },
                &NoPrompt,
            )
            .unwrap_err();
        assert!(e.0.starts_with("no password"), "{}", e.0);
    }

    #[test]
    fn host_port_and_urls_are_refused_with_the_flags_to_use() {
        for (server, want) in [
            (
                "imap.example.com:993",
                "--server imap.example.com --port 993 --secure yes",
            ),
            (
                "imap.example.com:143",
                "--server imap.example.com --port 143",
            ),
            (
                "imaps://imap.example.com",
                "--server imap.example.com --secure yes",
            ),
            (
                "imap://imap.example.com:1143/",
                "--server imap.example.com --port 1143",
            ),
            ("[::1]:993", "--server ::1 --port 993 --secure yes"),
        ] {
            let e = check_server(server).unwrap_err();
            assert!(e.0.ends_with(want), "{server}: {}", e.0);
        }
        for fine in ["imap.example.com", "127.0.0.1", "::1", "fe80::1"] {
            assert!(check_server(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn run_defaults_sit_between_the_line_and_the_environment() {
        let s = settings(
            &[("CFIMAP_SERVER", "env.example"), ("CFIMAP_USERNAME", "u")],
            None,
            None,
        );
        let c = s
            .resolve(
                Action::Open,
                ConnectionArgs::default(),
                flags(Some("run.example"), Some("run-pw")),
                &NoPrompt,
            )
            .unwrap();
        assert_eq!(c.options.server, "run.example");
        assert_eq!(c.secret(), "run-pw");
    }
}
