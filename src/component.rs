//! The component's face: the exported `client` interface, mapped onto the
//! session and the action modules.
//!
//! A `session` resource and the `row-reader`s it hands out share one
//! [`Shared`] state: the IMAP session and the read under way. The session
//! runs one action at a time (a read may have several FETCH commands of its
//! own under way), so while a reader's read is under way every other action
//! is refused with `busy`; dropping the reader (or `close`) abandons the
//! read.

use std::cell::RefCell;
use std::rc::Rc;

use crate::actions::fetch::{self, Depth, Read};
use crate::actions::{changes, folders, tag_json};
use crate::bindings::cfimap::imap::types::{
    self as wit, ChangeReport, ConnectOptions, FolderChange, FolderRow, MessageRow, ReadOptions,
    Selection,
};
use crate::bindings::exports::cfimap::imap::client::{
    Guest, GuestRowReader, GuestSession, RowReader, Session as Handle,
};
use crate::error::{Error, Result, Status};
use crate::imap::session::Session;

/// The component.
pub struct Component;

impl Guest for Component {
    type Session = SessionResource;
    type RowReader = ReaderResource;
}

/// What a session and its readers share.
struct Shared {
    /// `None` once closed, or broken by an error.
    session: Option<Session>,
    /// The read under way and the number of the reader that owns it.
    read: Option<(u64, Read)>,
    /// The number the next reader gets.
    next_reader: u64,
}

impl Shared {
    /// Runs `action` on the open session; an error that leaves the
    /// connection untrustworthy ends the session.
    fn on_session<T>(
        &mut self,
        action: impl FnOnce(&mut Session, &mut Option<(u64, Read)>) -> Result<T>,
    ) -> Result<T, wit::Error> {
        let session = self.session.as_mut().ok_or(wit::Error::SessionClosed)?;
        let result = action(session, &mut self.read);
        if let Err(e) = &result
            && e.breaks_session()
        {
            self.session = None;
            self.read = None;
        }
        result.map_err(wit::Error::from)
    }

    /// Reads the rest of the read under way, without making rows.
    fn abandon_read(&mut self) -> Result<(), wit::Error> {
        let Some((_, read)) = self.read.take() else {
            return Ok(());
        };
        self.on_session(|session, _| read.abandon(session))
    }
}

/// The `session` resource: a session until `close` or a broken connection.
pub struct SessionResource {
    shared: Rc<RefCell<Shared>>,
}

impl SessionResource {
    /// Runs `action` on the open session, unless a reader's read is under
    /// way.
    fn with<T>(&self, action: impl FnOnce(&mut Session) -> Result<T>) -> Result<T, wit::Error> {
        self.shared.borrow_mut().on_session(|session, read| {
            if read.is_some() {
                return Err(Error::Busy(
                    "a row-reader of this session is still reading; drop it first".into(),
                ));
            }
            action(session)
        })
    }

    /// `begin-get-header-only` and `begin-get-all`.
    fn begin(
        &self,
        folder: Option<String>,
        selection: Selection,
        options: ReadOptions,
        depth: Depth,
    ) -> Result<RowReader, wit::Error> {
        let read = self.with(|s| Read::start(s, folder.as_deref(), &selection, options, depth))?;
        let mut shared = self.shared.borrow_mut();
        let id = shared.next_reader;
        shared.next_reader += 1;
        shared.read = Some((id, read));
        Ok(RowReader::new(ReaderResource {
            shared: Rc::clone(&self.shared),
            id,
        }))
    }
}

/// The `row-reader` resource: the rows of one read, a batch at a time.
pub struct ReaderResource {
    shared: Rc<RefCell<Shared>>,
    /// Which read is this reader's: the session's read under way, while it
    /// carries this number.
    id: u64,
}

impl ReaderResource {
    /// Up to `max` rows of this reader's read and which read it is (`None`
    /// once the read is over); the read ends with its last rows or an
    /// error.
    fn take(&self, max: u32) -> Result<(Vec<MessageRow>, Option<Depth>), wit::Error> {
        if max == 0 {
            return Err(Error::invalid("max", "must be at least 1").into());
        }
        let id = self.id;
        self.shared.borrow_mut().on_session(|session, slot| {
            let Some((_, read)) = slot.as_mut().filter(|(owner, _)| *owner == id) else {
                // This reader's read is over.
                return Ok((Vec::new(), None));
            };
            let depth = read.depth();
            let rows = read.next(session, max as usize);
            if rows.as_ref().is_ok_and(Vec::is_empty) || rows.is_err() {
                *slot = None;
            }
            rows.map(|rows| (rows, Some(depth)))
        })
    }
}

impl GuestRowReader for ReaderResource {
    fn next(&self, max: u32) -> Result<Vec<MessageRow>, wit::Error> {
        self.take(max).map(|(rows, _)| rows)
    }

    fn next_ndjson(&self, max: u32) -> Result<Vec<u8>, wit::Error> {
        let (rows, depth) = self.take(max)?;
        let mut out = Vec::new();
        if let Some(depth) = depth {
            tag_json::write(rows, depth, &mut out);
        }
        Ok(out)
    }
}

impl Drop for ReaderResource {
    fn drop(&mut self) {
        let mut shared = self.shared.borrow_mut();
        if shared
            .read
            .as_ref()
            .is_some_and(|(owner, _)| *owner == self.id)
        {
            // A drop cannot report an error: one that breaks the connection
            // has ended the session (`on_session`), which the next action
            // reports as `session-closed`.
            let _ = shared.abandon_read();
        }
    }
}

impl GuestSession for SessionResource {
    fn open(options: ConnectOptions) -> Result<Handle, wit::Error> {
        let session = Session::open(&options)?;
        Ok(Handle::new(SessionResource {
            shared: Rc::new(RefCell::new(Shared {
                session: Some(session),
                read: None,
                next_reader: 1,
            })),
        }))
    }

    fn get_header_only(
        &self,
        folder: Option<String>,
        selection: Selection,
        options: ReadOptions,
    ) -> Result<Vec<MessageRow>, wit::Error> {
        self.with(|s| fetch::read(s, folder.as_deref(), &selection, options, Depth::Headers))
    }

    fn get_all(
        &self,
        folder: Option<String>,
        selection: Selection,
        options: ReadOptions,
    ) -> Result<Vec<MessageRow>, wit::Error> {
        self.with(|s| fetch::read(s, folder.as_deref(), &selection, options, Depth::Whole))
    }

    fn begin_get_header_only(
        &self,
        folder: Option<String>,
        selection: Selection,
        options: ReadOptions,
    ) -> Result<RowReader, wit::Error> {
        self.begin(folder, selection, options, Depth::Headers)
    }

    fn begin_get_all(
        &self,
        folder: Option<String>,
        selection: Selection,
        options: ReadOptions,
    ) -> Result<RowReader, wit::Error> {
        self.begin(folder, selection, options, Depth::Whole)
    }

    fn delete(
        &self,
        folder: Option<String>,
        selection: Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, wit::Error> {
        self.with(|s| changes::delete(s, folder.as_deref(), &selection, stoponerror))
    }

    fn mark_read(
        &self,
        folder: Option<String>,
        selection: Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, wit::Error> {
        self.with(|s| changes::mark_read(s, folder.as_deref(), &selection, stoponerror))
    }

    fn mark_unread(
        &self,
        folder: Option<String>,
        selection: Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, wit::Error> {
        self.with(|s| changes::mark_unread(s, folder.as_deref(), &selection, stoponerror))
    }

    fn move_mail(
        &self,
        folder: Option<String>,
        newfolder: String,
        selection: Selection,
        stoponerror: bool,
    ) -> Result<ChangeReport, wit::Error> {
        self.with(|s| changes::move_mail(s, folder.as_deref(), &newfolder, &selection, stoponerror))
    }

    fn list_all_folders(
        &self,
        folder: Option<String>,
        recurse: bool,
    ) -> Result<Vec<FolderRow>, wit::Error> {
        self.with(|s| folders::list_all(s, folder.as_deref(), recurse))
    }

    fn create_folder(&self, folder: String) -> Result<FolderChange, wit::Error> {
        self.with(|s| folders::create(s, &folder))
            .map(|folders| FolderChange { folders })
    }

    fn delete_folder(&self, folder: String, recurse: bool) -> Result<FolderChange, wit::Error> {
        self.with(|s| folders::delete(s, &folder, recurse))
            .map(|folders| FolderChange { folders })
    }

    fn rename_folder(&self, folder: String, newfolder: String) -> Result<FolderChange, wit::Error> {
        self.with(|s| folders::rename(s, &folder, &newfolder))
            .map(|folders| FolderChange { folders })
    }

    fn close(&self) -> Result<(), wit::Error> {
        let mut shared = self.shared.borrow_mut();
        let abandoned = shared.abandon_read();
        let Some(session) = shared.session.take() else {
            // Closed before, or broken just now by the abandoned read.
            return Err(abandoned.err().unwrap_or(wit::Error::SessionClosed));
        };
        let logged_out = session.logout().map_err(wit::Error::from);
        abandoned.and(logged_out)
    }
}

impl From<Error> for wit::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument { attribute, reason } => {
                Self::InvalidArgument(wit::InvalidArgument {
                    attribute: attribute.to_owned(),
                    reason,
                })
            }
            Error::DeniedByPolicy(s) => Self::DeniedByPolicy(s),
            Error::Connect(s) => Self::Connect(s),
            Error::Tls(s) => Self::Tls(s),
            Error::Timeout(s) => Self::Timeout(s),
            Error::AuthenticationFailed(s) => Self::AuthenticationFailed(s),
            Error::FolderNotFound(s) => Self::FolderNotFound(s),
            Error::FolderExists(s) => Self::FolderExists(s),
            Error::ProtectedFolder(s) => Self::ProtectedFolder(s),
            Error::FolderHasChildren(s) => Self::FolderHasChildren(s),
            Error::ServerRefused {
                command,
                status,
                code,
                text,
            } => Self::ServerRefused(wit::ServerRefusal {
                command,
                status: match status {
                    Status::Ok => wit::CommandStatus::Ok,
                    Status::No => wit::CommandStatus::No,
                    Status::Bad => wit::CommandStatus::Bad,
                },
                code: code.as_deref().map(response_code),
                text,
            }),
            Error::ProtocolViolation(s) | Error::IncompleteAnswer(s) => Self::ProtocolViolation(s),
            Error::ConnectionClosed(s) => Self::ConnectionClosed(s),
            Error::Unsupported(s) => Self::Unsupported(s),
            Error::SessionClosed => Self::SessionClosed,
            Error::Busy(s) => Self::Busy(s),
        }
    }
}

/// The WIT case of a response code, from its upper-case atom.
fn response_code(atom: &str) -> wit::ResponseCode {
    use wit::ResponseCode as C;
    match atom {
        "ALERT" => C::Alert,
        "BADCHARSET" => C::Badcharset,
        "PARSE" => C::Parse,
        "READ-ONLY" => C::ReadOnly,
        "TRYCREATE" => C::Trycreate,
        "COPYUID" => C::Copyuid,
        "UNAVAILABLE" => C::Unavailable,
        "AUTHENTICATIONFAILED" => C::Authenticationfailed,
        "AUTHORIZATIONFAILED" => C::Authorizationfailed,
        "EXPIRED" => C::Expired,
        "PRIVACYREQUIRED" => C::Privacyrequired,
        "CONTACTADMIN" => C::Contactadmin,
        "NOPERM" => C::Noperm,
        "INUSE" => C::Inuse,
        "EXPUNGEISSUED" => C::Expungeissued,
        "CORRUPTION" => C::Corruption,
        "SERVERBUG" => C::Serverbug,
        "CLIENTBUG" => C::Clientbug,
        "CANNOT" => C::Cannot,
        "LIMIT" => C::Limit,
        "OVERQUOTA" => C::Overquota,
        "ALREADYEXISTS" => C::Alreadyexists,
        "NONEXISTENT" => C::Nonexistent,
        other => C::Other(other.to_owned()),
    }
}
