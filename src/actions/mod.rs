//! The tag's actions, over [`crate::imap`]'s session and
//! [`crate::message`]'s parsing.
//!
//! [`folders`] are listAllFolders, createFolder, deleteFolder and
//! renameFolder; [`selection`] opens a folder and resolves which messages an
//! action touches, with [`search`] turning `<cfimapfilter>`s into search
//! keys; [`changes`] are markRead, delete and moveMail; [`fetch`] reads
//! (getHeaderOnly, getAll), with [`spiller`] taking a large message apart
//! as it arrives when attachments are saved, [`rows`] makes each message
//! the tag's row and [`tag_json`] writes rows as the tag's JSON lines.

pub mod changes;
pub mod fetch;
pub mod folders;
pub mod rows;
pub mod search;
pub mod selection;
pub mod spiller;
pub mod tag_json;
