//! A [`Session`]: one logged-in IMAP connection (the tag's named
//! connection), and the [`ConnectOptions`] that open it.
//!
//! Every action of `<cfimap>` is an async method named after it. Each call runs
//! inside the session's own instance of the component; an error the server
//! or the caller caused leaves the session usable when the component says so,
//! a trap never does (later calls fail with [`Error::SessionClosed`]).

use std::fmt;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::bindings::Cfimap;
use crate::bindings::types::{
    self as wit, ChangeReport, FolderChange, FolderRow, MessageRow, ReadOptions, Security,
    Selection,
};
use crate::deadline::{Bounded, Limit, Overdue, within};
use crate::runtime::HostState;
use crate::{AttachmentPolicy, Error};

/// `$session`'s call of the session export `$call` with `$arg`s, bounded
/// by the session's deadline; a trap or the deadline ends the session.
macro_rules! session_call {
    ($session:ident, $call:ident $(, $arg:expr)*) => {{
        let h = $session.handle().await?;
        let r = within(
            &$session.limit,
            $session
                .bindings
                .cfimap_imap_client()
                .session()
                .$call(&mut $session.store, h $(, $arg)*),
        )
        .await;
        $session.finish(r)
    }};
}

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
    /// How long one call may take ([`crate::RuntimeOptions::deadline`]).
    limit: Limit,
    /// `None` once closed or broken by a trap.
    handle: Option<ResourceAny>,
    /// A dropped [`RowReader`]'s resource, released (and its read abandoned)
    /// before the next call: `Drop` cannot wait for the component.
    dropped_reader: Option<ResourceAny>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("open", &self.handle.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(
        store: Store<HostState>,
        bindings: Cfimap,
        handle: ResourceAny,
        limit: Limit,
    ) -> Self {
        Self {
            store,
            bindings,
            limit,
            handle: Some(handle),
            dropped_reader: None,
        }
    }

    /// The session's resource, once a dropped reader has been released.
    async fn handle(&mut self) -> Result<ResourceAny, Error> {
        let handle = self.handle.ok_or(Error::SessionClosed)?;
        if let Some(reader) = self.dropped_reader.take() {
            // Releasing the reader makes the component read the rest of its
            // answer; an error that breaks the connection shows in the next
            // action as `session-closed`.
            let released = within(&self.limit, reader.resource_drop_async(&mut self.store)).await;
            self.finish(released.map(|r| r.map(Ok)))?;
        }
        Ok(handle)
    }

    fn finish<T>(&mut self, result: Bounded<Result<T, wit::Error>>) -> Result<T, Error> {
        match result {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(e))) => Err(e.into()),
            Ok(Err(trap)) => {
                // The instance may be in any state now: never enter it again.
                self.handle = None;
                Err(self.store.data().trap_error(&trap))
            }
            Err(Overdue(deadline)) => {
                // Cut off in the middle of a call: the same.
                self.handle = None;
                Err(Error::Timeout(format!(
                    "the action took longer than its deadline of {} s and was stopped",
                    deadline.as_secs()
                )))
            }
        }
    }

    /// Replaces, for this session only, the directories `getAll` may write
    /// attachments into ([`RuntimeOptions::attachments`](crate::RuntimeOptions::attachments)
    /// is where every session starts).
    ///
    /// A program that runs many actions on one session, each with its own
    /// `attachmentpath`, allows each read exactly its directory:
    ///
    /// ```no_run
    /// # async fn f(session: &mut cfimap_host::Session) {
    /// use cfimap_host::AttachmentPolicy;
    /// session.set_attachment_policy(AttachmentPolicy::within("/srv/mail/2024"));
    /// # }
    /// ```
    pub fn set_attachment_policy(&mut self, policy: AttachmentPolicy) {
        self.store.data_mut().set_attachment_policy(policy);
    }

    /// `action="getHeaderOnly"`: the header columns of the selected messages
    /// of `folder` (`None`: INBOX). Never changes flags (EXAMINE, BODY.PEEK).
    pub async fn get_header_only(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        options: &ReadOptions,
    ) -> Result<Vec<MessageRow>, Error> {
        session_call!(self, call_get_header_only, folder, selection, options)
    }

    /// `action="getAll"`: headers, bodies and attachments of the selected
    /// messages. Never changes flags.
    pub async fn get_all(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        options: &ReadOptions,
    ) -> Result<Vec<MessageRow>, Error> {
        session_call!(self, call_get_all, folder, selection, options)
    }

    /// getHeaderOnly a batch at a time: opens the folder and resolves the
    /// selection as [`Session::get_header_only`] does; the rows are then
    /// taken from the [`RowReader`], and the server's answer is read only as
    /// far as they are taken. Memory stays at about one batch whatever the
    /// folder's size. The reader borrows the session: drop it (or take its
    /// last, empty batch) to run the next action.
    ///
    /// ```no_run
    /// # async fn f(session: &mut cfimap_host::Session) -> Result<(), cfimap_host::Error> {
    /// use cfimap_host::{ReadOptions, Selection};
    /// let mut reader = session
    ///     .begin_get_header_only(Some("Archive"), &Selection::All, &ReadOptions::default())
    ///     .await?;
    /// loop {
    ///     let rows = reader.next(256).await?;
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
    ) -> Result<RowReader<'_>, Error> {
        let reader = session_call!(self, call_begin_get_header_only, folder, selection, options)?;
        Ok(RowReader {
            session: self,
            handle: Some(reader),
        })
    }

    /// getAll a batch at a time (see [`Session::begin_get_header_only`]).
    /// Attachments are saved as their messages arrive.
    pub async fn begin_get_all(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        options: &ReadOptions,
    ) -> Result<RowReader<'_>, Error> {
        let reader = session_call!(self, call_begin_get_all, folder, selection, options)?;
        Ok(RowReader {
            session: self,
            handle: Some(reader),
        })
    }

    /// `action="delete"`: removes exactly the selected messages and no other.
    /// Deleting every message needs [`Selection::All`] by name.
    pub async fn delete(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, Error> {
        session_call!(self, call_delete, folder, selection, stoponerror)
    }

    /// `action="markRead"`: sets `\Seen` on the selected messages.
    pub async fn mark_read(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, Error> {
        session_call!(self, call_mark_read, folder, selection, stoponerror)
    }

    /// `markUnread`, beyond the tag: removes `\Seen` from the selected
    /// messages; other flags stay.
    pub async fn mark_unread(
        &mut self,
        folder: Option<&str>,
        selection: &Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, Error> {
        session_call!(self, call_mark_unread, folder, selection, stoponerror)
    }

    /// `action="moveMail"`: moves the selected messages to `newfolder`, which
    /// must exist. An original is removed only once its copy is confirmed.
    /// The report's `new_uids` says where each went, when the server said
    /// (UIDPLUS).
    pub async fn move_mail(
        &mut self,
        folder: Option<&str>,
        newfolder: &str,
        selection: &Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, Error> {
        session_call!(
            self,
            call_move_mail,
            folder,
            newfolder,
            selection,
            stoponerror
        )
    }

    /// `action="listAllFolders"`: the children of `folder` (`None`: the top of
    /// the personal namespace, INBOX included); with `recurse`, all
    /// descendants.
    pub async fn list_all_folders(
        &mut self,
        folder: Option<&str>,
        recurse: bool,
    ) -> Result<Vec<FolderRow>, Error> {
        session_call!(self, call_list_all_folders, folder, recurse)
    }

    /// `action="createFolder"`: creates `folder` and each missing parent.
    pub async fn create_folder(&mut self, folder: &str) -> Result<FolderChange, Error> {
        session_call!(self, call_create_folder, folder)
    }

    /// `action="deleteFolder"`: deletes `folder`; one with children only with
    /// `recurse`, deepest first. INBOX is protected.
    pub async fn delete_folder(
        &mut self,
        folder: &str,
        recurse: bool,
    ) -> Result<FolderChange, Error> {
        session_call!(self, call_delete_folder, folder, recurse)
    }

    /// `action="renameFolder"`: renames `folder` to `newfolder`. INBOX is
    /// protected.
    pub async fn rename_folder(
        &mut self,
        folder: &str,
        newfolder: &str,
    ) -> Result<FolderChange, Error> {
        session_call!(self, call_rename_folder, folder, newfolder)
    }

    /// `action="close"`: logs out and ends the session. The component's
    /// session resource is released whether or not LOGOUT succeeded.
    pub async fn close(mut self) -> Result<(), Error> {
        let h = self.handle().await?;
        let r = within(
            &self.limit,
            self.bindings
                .cfimap_imap_client()
                .session()
                .call_close(&mut self.store, h),
        )
        .await;
        let closed = self.finish(r);
        // After a trap (`handle` is `None` then) the instance must not be
        // entered again, not even to drop the resource.
        if self.handle.is_some() {
            let released = within(&self.limit, h.resource_drop_async(&mut self.store)).await;
            if let Err(e) = self.finish(released.map(|r| r.map(Ok))) {
                tracing::debug!(error = %e, "dropping the session resource failed");
                closed.clone()?;
                return Err(e);
            }
        }
        closed
    }
}

/// The rows of one read, a batch at a time: made by
/// [`Session::begin_get_header_only`] and [`Session::begin_get_all`].
///
/// Dropping the reader abandons the read: before the session's next action
/// the component reads the rest of the server's answer and discards it.
pub struct RowReader<'s> {
    session: &'s mut Session,
    /// `None` once released.
    handle: Option<ResourceAny>,
}

impl fmt::Debug for RowReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowReader").finish_non_exhaustive()
    }
}

/// `$reader`'s call of the row-reader export `$call` with `$max`, bounded by
/// the session's deadline. After a trap or the deadline the instance is
/// not entered again, not even to drop the reader.
macro_rules! reader_call {
    ($reader:ident, $call:ident, $max:expr) => {{
        let handle = $reader.handle.ok_or(Error::SessionClosed)?;
        $reader.session.handle.ok_or(Error::SessionClosed)?;
        let r = within(
            &$reader.session.limit,
            $reader
                .session
                .bindings
                .cfimap_imap_client()
                .row_reader()
                .$call(&mut $reader.session.store, handle, $max),
        )
        .await;
        if !matches!(r, Ok(Ok(_))) {
            $reader.handle = None;
        }
        $reader.session.finish(r)
    }};
}

impl RowReader<'_> {
    /// The next rows, at most `max` (at least 1), in the order the server
    /// sends them (with [`ReadOptions::newest_first`]: descending UID); empty
    /// once all were taken. An error ends the read.
    pub async fn next(&mut self, max: u32) -> Result<Vec<MessageRow>, Error> {
        reader_call!(self, call_next, max)
    }

    /// The next rows as [`RowReader::next`] takes them, serialised by the
    /// component as the tag's JSON lines: one object per row and line,
    /// keyed by the tag's column names in upper case in the order of
    /// [`MessageRow`] (getHeaderOnly: the header columns and `ERROR`), an
    /// absent value `null`, `CIDS` an object. Ready to print as NDJSON;
    /// empty once all were taken. An error ends the read.
    pub async fn next_ndjson(&mut self, max: u32) -> Result<Vec<u8>, Error> {
        reader_call!(self, call_next_ndjson, max)
    }
}

impl Drop for RowReader<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.session.dropped_reader = Some(handle);
        }
    }
}
