//! A [`Session`]: one logged-in IMAP connection (the tag's named
//! connection), and the [`ConnectOptions`] that open it.
//!
//! Every action of `<cfimap>` is an async method named after it. Each call runs
//! inside the session's own instance of the component; an error the server
//! or the caller caused leaves the session usable when the component says so,
//! a trap never does (later calls fail with [`Error::SessionClosed`]).

use std::path::PathBuf;

use std::fmt;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::Error;
use crate::bindings::Cfimap;
use crate::bindings::types::{
    self as wit, ChangeReport, FolderChange, FolderRow, MessageRow, ReadOptions, Security,
    Selection,
};
use crate::runtime::HostState;

/// How to prove who the user is. Its `Debug` output never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A password: AUTHENTICATE PLAIN (with SASL-IR when offered), falling
    /// back to LOGIN.
    Password(String),
    /// An OAuth 2.0 access token: AUTHENTICATE OAUTHBEARER when offered, else
    /// XOAUTH2.
    BearerToken(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password(_) => f.write_str("Password(<redacted>)"),
            Credentials::BearerToken(_) => f.write_str("BearerToken(<redacted>)"),
        }
    }
}

/// The tag's connection attributes (`server`, `port`, `username`,
/// `password`, `secure`, `timeout`).
///
/// ```
/// use cfimap_host::{ConnectOptions, Credentials, Security};
///
/// let options = ConnectOptions {
///     secure: Some(Security::Starttls),
///     timeout: Some(30),
///     ..ConnectOptions::new("mail.example.org", "bob", Credentials::Password("s3cret".into()))
/// };
/// assert!(!format!("{options:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConnectOptions {
    /// Host name or IP address of the IMAP server.
    pub server: String,
    /// TCP port; `None`: 993 with `secure=yes`, else 143.
    pub port: Option<u16>,
    /// The login name.
    pub username: String,
    /// The secret.
    pub credentials: Credentials,
    /// The tag's `secure`: `Some(Security::Tls)` is `yes`, `Starttls` is
    /// `starttls`, `None` (the variant) is `no`. Absent: implicit TLS on port
    /// 993; otherwise STARTTLS when the server offers it, and plaintext only
    /// to a loopback server.
    pub secure: Option<Security>,
    /// Seconds allowed for the connect and for each wait for the server;
    /// absent: 60. The runtime's [`max_timeout`](crate::RuntimeOptions::max_timeout)
    /// caps it.
    pub timeout: Option<u32>,
    /// A directory the component may write into: the `attachmentpath` of
    /// `getAll`. It is created if missing and granted to the component (a
    /// `wasi:filesystem` preopen) at this same path, so the component can
    /// write there and nowhere else. `None`: the component gets no files.
    pub grant_dir: Option<PathBuf>,
}

impl ConnectOptions {
    /// Options with the tag's defaults for port, `secure` and `timeout`.
    pub fn new(server: &str, username: &str, credentials: Credentials) -> Self {
        Self {
            server: server.to_owned(),
            port: None,
            username: username.to_owned(),
            credentials,
            secure: None,
            timeout: None,
            grant_dir: None,
        }
    }

    /// The port the component will connect to: `port`, else the tag's
    /// default for `secure`.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(match self.secure {
            Some(Security::Tls) => 993,
            _ => 143,
        })
    }

    pub(crate) fn to_wit(&self) -> wit::ConnectOptions {
        wit::ConnectOptions {
            server: self.server.clone(),
            port: self.port,
            username: self.username.clone(),
            credentials: match &self.credentials {
                Credentials::Password(p) => wit::Credentials::Password(p.clone()),
                Credentials::BearerToken(t) => wit::Credentials::BearerToken(t.clone()),
            },
            secure: self.secure,
            timeout: self.timeout,
        }
    }
}

/// A logged-in session: the tag's named connection.
///
/// Made by [`Runtime::open`](crate::Runtime::open). Methods take `&mut self`:
/// one action at a time. End the session with [`Session::close`], which logs
/// out; dropping it instead just closes the connection.
pub struct Session {
    store: Store<HostState>,
    bindings: Cfimap,
    /// `None` once closed or broken by a trap.
    handle: Option<ResourceAny>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("open", &self.handle.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(store: Store<HostState>, bindings: Cfimap, handle: ResourceAny) -> Self {
        Self {
            store,
            bindings,
            handle: Some(handle),
        }
    }

    fn handle(&self) -> Result<ResourceAny, Error> {
        self.handle.ok_or(Error::SessionClosed)
    }

    fn finish<T>(&mut self, result: wasmtime::Result<Result<T, wit::Error>>) -> Result<T, Error> {
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(e.into()),
            Err(trap) => {
                // The instance may be in any state now: never enter it again.
                self.handle = None;
                Err(Error::trap(&trap))
            }
        }
    }

    /// `action="getHeaderOnly"`: the header columns of the selected messages
    /// of `folder` (`None`: INBOX). Never changes flags (EXAMINE, BODY.PEEK).
    pub async fn get_header_only(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        options: &ReadOptions,
    ) -> Result<Vec<MessageRow>, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_get_header_only(&mut self.store, h, folder, selection, options)
            .await;
        self.finish(r)
    }

    /// `action="getAll"`: headers, bodies and attachments of the selected
    /// messages. Never changes flags.
    pub async fn get_all(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        options: &ReadOptions,
    ) -> Result<Vec<MessageRow>, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_get_all(&mut self.store, h, folder, selection, options)
            .await;
        self.finish(r)
    }

    /// getHeaderOnly a batch at a time: opens the folder and resolves the
    /// selection as [`Session::get_header_only`] does; the rows are then
    /// taken with [`Session::next_rows`], and the server's answer is read
    /// only as far as they are taken. Memory stays at about one batch
    /// whatever the folder's size.
    ///
    /// ```no_run
    /// # async fn f(session: &mut cfimap_host::Session) -> Result<(), cfimap_host::Error> {
    /// use cfimap_host::{ReadOptions, Selection};
    /// session
    ///     .begin_get_header_only(Some("Archive"), &Selection::All, &ReadOptions::default())
    ///     .await?;
    /// loop {
    ///     let rows = session.next_rows(256).await?;
    ///     if rows.is_empty() { break; }
    ///     for row in rows { println!("{} {:?}", row.uid, row.subject); }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn begin_get_header_only(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        options: &ReadOptions,
    ) -> Result<(), Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_begin_get_header_only(&mut self.store, h, folder, selection, options)
            .await;
        self.finish(r)
    }

    /// getAll a batch at a time (see [`Session::begin_get_header_only`]).
    /// Attachments are saved as their messages arrive.
    pub async fn begin_get_all(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        options: &ReadOptions,
    ) -> Result<(), Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_begin_get_all(&mut self.store, h, folder, selection, options)
            .await;
        self.finish(r)
    }

    /// The next rows of the read begun last, at most `max` (at least 1), in
    /// the order the server sends them; empty once all were taken (or when
    /// no read is under way). An error ends the read; any other action ends
    /// a read under way, discarding the rows not yet taken.
    pub async fn next_rows(&mut self, max: u32) -> Result<Vec<MessageRow>, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_next_rows(&mut self.store, h, max)
            .await;
        self.finish(r)
    }

    /// `action="delete"`: removes exactly the selected messages and no other.
    /// Deleting every message needs [`Selection::All`] by name.
    pub async fn delete(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_delete(&mut self.store, h, folder, selection, stoponerror)
            .await;
        self.finish(r)
    }

    /// `action="markRead"`: sets `\Seen` on the selected messages.
    pub async fn mark_read(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_mark_read(&mut self.store, h, folder, selection, stoponerror)
            .await;
        self.finish(r)
    }

    /// `action="moveMail"`: moves the selected messages to `newfolder`, which
    /// must exist. An original is removed only once its copy is confirmed.
    pub async fn move_mail(
        &mut self,
        folder: Option<&str>,
        newfolder: &str,
        selection: &Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_move_mail(
                &mut self.store,
                h,
                folder,
                newfolder,
                selection,
                stoponerror,
            )
            .await;
        self.finish(r)
    }

    /// `action="listAllFolders"`: the children of `folder` (`None`: the top of
    /// the personal namespace, INBOX included); with `recurse`, all
    /// descendants.
    pub async fn list_all_folders(
        &mut self,
        folder: Option<&str>,
        recurse: bool,
    ) -> Result<Vec<FolderRow>, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_list_all_folders(&mut self.store, h, folder, recurse)
            .await;
        self.finish(r)
    }

    /// `action="createFolder"`: creates `folder` and each missing parent.
    pub async fn create_folder(&mut self, folder: &str) -> Result<FolderChange, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_create_folder(&mut self.store, h, folder)
            .await;
        self.finish(r)
    }

    /// `action="deleteFolder"`: deletes `folder`; one with children only with
    /// `recurse`, deepest first. INBOX is protected.
    pub async fn delete_folder(
        &mut self,
        folder: &str,
        recurse: bool,
    ) -> Result<FolderChange, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_delete_folder(&mut self.store, h, folder, recurse)
            .await;
        self.finish(r)
    }

    /// `action="renameFolder"`: renames `folder` to `newfolder`. INBOX is
    /// protected.
    pub async fn rename_folder(
        &mut self,
        folder: &str,
        newfolder: &str,
    ) -> Result<FolderChange, Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_rename_folder(&mut self.store, h, folder, newfolder)
            .await;
        self.finish(r)
    }

    /// `action="close"`: logs out and ends the session. The component's
    /// session resource is released whether or not LOGOUT succeeded.
    pub async fn close(mut self) -> Result<(), Error> {
        let h = self.handle()?;
        let r = self
            .bindings
            .cfimap_imap_client()
            .session()
            .call_close(&mut self.store, h)
            .await;
        let closed = self.finish(r);
        // After a trap (`handle` is `None` then) the instance must not be
        // entered again, not even to drop the resource.
        if self.handle.take().is_some()
            && let Err(e) = h.resource_drop_async(&mut self.store).await
        {
            tracing::debug!(error = %e, "dropping the session resource failed");
            closed.clone()?;
            return Err(Error::trap(&e));
        }
        closed
    }
}
