//! The component's face: the exported `client` interface, mapped onto the
//! session and the action modules.

use std::cell::RefCell;

use crate::bindings::cfimap::imap::types::{
    self as wit, ChangeReport, ConnectOptions, FolderChange, FolderRow, MessageRow, ReadOptions,
    Selection,
};
use crate::bindings::exports::cfimap::imap::client::{Guest, GuestSession, Session as Handle};
use crate::error::{Error, Result};
use crate::fetch::{self, Depth, Read};
use crate::session::Session;
use crate::{changes, folders};

/// The component.
pub struct Component;

impl Guest for Component {
    type Session = SessionResource;
}

/// The `session` resource: a session until `close` or a broken connection.
pub struct SessionResource {
    session: RefCell<Option<Session>>,
    /// The read begun by `begin-get-*`, while rows are still to be taken.
    read: RefCell<Option<Read>>,
}

impl SessionResource {
    /// Runs `action` on the open session, after ending any read under way;
    /// an error that leaves the connection untrustworthy ends the session.
    fn with<T>(&self, action: impl FnOnce(&mut Session) -> Result<T>) -> Result<T, wit::Error> {
        self.on_session(|session, read| {
            if let Some(under_way) = read.take() {
                under_way.abandon(session)?;
            }
            action(session)
        })
    }

    /// Runs `action` on the open session and the read slot.
    fn on_session<T>(
        &self,
        action: impl FnOnce(&mut Session, &mut Option<Read>) -> Result<T>,
    ) -> Result<T, wit::Error> {
        let mut slot = self.session.borrow_mut();
        let session = slot.as_mut().ok_or(wit::Error::SessionClosed)?;
        let result = action(session, &mut self.read.borrow_mut());
        if let Err(e) = &result
            && e.breaks_session()
        {
            *slot = None;
        }
        result.map_err(wit::Error::from)
    }

    /// `begin-get-header-only` and `begin-get-all`.
    fn begin(
        &self,
        folder: Option<String>,
        selection: Selection,
        options: ReadOptions,
        depth: Depth,
    ) -> Result<(), wit::Error> {
        let read = self.with(|s| Read::start(s, folder.as_deref(), &selection, options, depth))?;
        *self.read.borrow_mut() = Some(read);
        Ok(())
    }
}

impl GuestSession for SessionResource {
    fn open(options: ConnectOptions) -> Result<Handle, wit::Error> {
        let session = Session::open(&options)?;
        Ok(Handle::new(SessionResource {
            session: RefCell::new(Some(session)),
            read: RefCell::new(None),
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
    ) -> Result<(), wit::Error> {
        self.begin(folder, selection, options, Depth::Headers)
    }

    fn begin_get_all(
        &self,
        folder: Option<String>,
        selection: Selection,
        options: ReadOptions,
    ) -> Result<(), wit::Error> {
        self.begin(folder, selection, options, Depth::Whole)
    }

    fn next_rows(&self, max: u32) -> Result<Vec<MessageRow>, wit::Error> {
        if max == 0 {
            return Err(Error::invalid("max", "must be at least 1").into());
        }
        self.on_session(|session, slot| {
            let Some(read) = slot.as_mut() else {
                return Ok(Vec::new());
            };
            let rows = read.next(session, max as usize);
            if rows.as_ref().is_ok_and(Vec::is_empty) || rows.is_err() {
                *slot = None;
            }
            rows
        })
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
        let mut session = self
            .session
            .borrow_mut()
            .take()
            .ok_or(wit::Error::SessionClosed)?;
        if let Some(under_way) = self.read.borrow_mut().take() {
            under_way.abandon(&mut session)?;
        }
        session.logout().map_err(wit::Error::from)
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
                status,
                code,
                text,
            }),
            Error::ProtocolViolation(s) | Error::IncompleteAnswer(s) => Self::ProtocolViolation(s),
            Error::ConnectionClosed(s) => Self::ConnectionClosed(s),
            Error::Unsupported(s) => Self::Unsupported(s),
            Error::SessionClosed => Self::SessionClosed,
            Error::NotImplemented(s) => Self::NotImplemented(s),
        }
    }
}
