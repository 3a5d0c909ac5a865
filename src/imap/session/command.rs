//! Running commands: one at a time, pipelined, or streamed a response at a
//! time.
//!
//! Synchronising literals wait for the server's `+`. Several commands
//! without literals can be pipelined in one write. Untagged data is
//! collected for the caller; a tagged NO or BAD becomes
//! [`Error::ServerRefused`].

use std::collections::BTreeMap;

use imap_codec::CommandCodec;
use imap_codec::encode::{Encoder, Fragment};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::{LiteralMode, Tag};
use imap_codec::imap_types::response::{
    Code, CommandContinuationRequest, Data, Response, Status, StatusBody, StatusKind,
};

use super::Session;
use crate::error::{self, Error, Result};
use crate::imap::responses::code_name;

/// The server's answer to a command that completed with OK.
#[derive(Debug, Default)]
pub struct Done {
    /// Untagged data that arrived while the command ran.
    pub data: Vec<Data<'static>>,
    /// The response code of the tagged OK.
    pub code: Option<Code<'static>>,
    /// The response codes of untagged OKs that arrived while the command
    /// ran (MOVE reports its COPYUID so, RFC 6851).
    pub notes: Vec<Code<'static>>,
}

/// A command sent by [`Session::send`] whose answer is still to be read.
#[derive(Debug)]
pub struct Pending {
    tag: String,
    name: &'static str,
}

/// What [`Session::next_of`] read.
#[derive(Debug)]
pub enum Next<R> {
    /// Untagged data, as `on_data` made it.
    Data(R),
    /// The end of one answer: which of the commands it ended (its index in
    /// the list given), and `None` for OK, else the refusal (NO or BAD).
    Done(usize, Option<Error>),
}

impl Session {
    /// Runs one command to completion.
    pub fn run(&mut self, body: CommandBody<'_>) -> Result<Done> {
        self.run_with(body, |_| Err(()))
    }

    /// Runs one command with `extension` written after its name, where
    /// RFC 4466 §2.6 puts the options of extended commands (ESEARCH's
    /// `RETURN (ALL)`) and imap-codec writes none: `C5 UID SEARCH RETURN
    /// (ALL) ...`.
    pub fn run_extended(&mut self, body: CommandBody<'_>, extension: &str) -> Result<Done> {
        let name = body.name();
        let (tag, mut fragments) = self.encode(body)?;
        let Some(Fragment::Line { data }) = fragments.first_mut() else {
            return Err(Error::ProtocolViolation(format!(
                "{name} encoded without a line"
            )));
        };
        let head = format!(" {name} ").into_bytes();
        let at = memchr::memmem::find(data, &head)
            .ok_or_else(|| Error::ProtocolViolation(format!("{name} encoded without its name")))?
            + head.len();
        data.splice(at..at, format!("{extension} ").into_bytes());
        self.complete(&tag, name, fragments, &mut |_| Err(()))
    }

    /// Runs commands pipelined: all are written at once, then every answer
    /// is read. Untagged data of all of them comes back together; each
    /// command has its own outcome. Commands with synchronising literals are
    /// run one after the other instead.
    pub fn run_pipelined(
        &mut self,
        bodies: Vec<CommandBody<'_>>,
    ) -> Result<(Vec<Data<'static>>, Vec<Result<Done>>)> {
        let mut wire = Vec::new();
        let mut pending = BTreeMap::new();
        let mut sequential = Vec::new();
        let count = bodies.len();
        for (index, body) in bodies.into_iter().enumerate() {
            let name = body.name();
            let (tag, fragments) = self.encode(body)?;
            match unsynchronised(&fragments) {
                Some(bytes) => wire.extend_from_slice(&bytes),
                None => {
                    sequential.push((index, tag, name, fragments));
                    continue;
                }
            }
            pending.insert(tag, (index, name));
        }
        let mut outcomes: Vec<Option<Result<Done>>> = (0..count).map(|_| None).collect();
        let mut data = Vec::new();
        if !pending.is_empty() {
            self.link.write_all(&wire)?;
            while !pending.is_empty() {
                match self.next_response()? {
                    Response::Data(d) => data.push(d),
                    Response::Status(Status::Tagged(tagged)) => {
                        let Some((index, name)) = pending.remove(tagged.tag.inner()) else {
                            return Err(unexpected_tag(tagged.tag.inner()));
                        };
                        outcomes[index] = Some(conclude(name, tagged.body, Vec::new()));
                    }
                    Response::Status(_) => {}
                    Response::CommandContinuationRequest(_) => {
                        return Err(Error::ProtocolViolation(
                            "continuation request to a command without a literal".into(),
                        ));
                    }
                }
            }
        }
        for (index, tag, name, fragments) in sequential {
            let (mut done, refusal) = self.exchange(&tag, name, fragments, &mut |_| Err(()))?;
            data.append(&mut done.data);
            let outcome = match refusal {
                None => Ok(done),
                Some(e) => Err(e),
            };
            outcomes[index] = Some(outcome);
        }
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Err(Error::SessionClosed)))
            .collect();
        Ok((data, outcomes))
    }

    /// Runs one command; `respond` answers continuation requests that are
    /// not for a literal (SASL challenges) with the bytes to send, or `Err`
    /// when none are expected.
    pub(super) fn run_with(
        &mut self,
        body: CommandBody<'_>,
        mut respond: impl FnMut(&CommandContinuationRequest<'_>) -> std::result::Result<Vec<u8>, ()>,
    ) -> Result<Done> {
        let name = body.name();
        let (tag, fragments) = self.encode(body)?;
        self.complete(&tag, name, fragments, &mut respond)
    }

    /// Sends an encoded command and reads it to its end: its outcome, a
    /// refusal as `Err`.
    fn complete(
        &mut self,
        tag: &str,
        name: &'static str,
        fragments: Vec<Fragment>,
        respond: &mut dyn FnMut(
            &CommandContinuationRequest<'_>,
        ) -> std::result::Result<Vec<u8>, ()>,
    ) -> Result<Done> {
        match self.exchange(tag, name, fragments, respond)? {
            (done, None) => Ok(done),
            (_, Some(refusal)) => Err(refusal),
        }
    }

    fn encode(&mut self, body: CommandBody<'_>) -> Result<(String, Vec<Fragment>)> {
        let tag = format!("C{}", self.next_tag);
        self.next_tag += 1;
        let command = Command {
            tag: Tag::try_from(tag.as_str()).map_err(|_| Error::ProtocolViolation("tag".into()))?,
            body,
        };
        let fragments = CommandCodec::default().encode(&command).collect();
        Ok((tag, fragments))
    }

    fn exchange(
        &mut self,
        tag: &str,
        name: &'static str,
        fragments: Vec<Fragment>,
        respond: &mut dyn FnMut(
            &CommandContinuationRequest<'_>,
        ) -> std::result::Result<Vec<u8>, ()>,
    ) -> Result<(Done, Option<Error>)> {
        let mut done = Done::default();
        let mut wire = Vec::new();
        for fragment in fragments {
            match fragment {
                Fragment::Line { data } => wire.extend_from_slice(&data),
                Fragment::Literal {
                    data,
                    mode: LiteralMode::Sync,
                } => {
                    // The announcing line goes first; the literal follows
                    // only once the server says `+`.
                    self.link.write_all(&wire)?;
                    wire.clear();
                    loop {
                        match self.next_response()? {
                            Response::CommandContinuationRequest(_) => break,
                            Response::Data(d) => done.data.push(d),
                            Response::Status(Status::Tagged(t)) if t.tag.inner() == tag => {
                                return Ok(settle(name, t.body, done));
                            }
                            Response::Status(Status::Tagged(t)) => {
                                return Err(unexpected_tag(t.tag.inner()));
                            }
                            Response::Status(Status::Untagged(StatusBody {
                                code: Some(code),
                                ..
                            })) => done.notes.push(code),
                            Response::Status(_) => {}
                        }
                    }
                    wire.extend_from_slice(&data);
                }
                Fragment::Literal { data, .. } => wire.extend_from_slice(&data),
            }
        }
        self.link.write_all(&wire)?;
        loop {
            match self.next_response()? {
                Response::Data(d) => done.data.push(d),
                Response::Status(Status::Tagged(t)) if t.tag.inner() == tag => {
                    return Ok(settle(name, t.body, done));
                }
                Response::Status(Status::Tagged(t)) => return Err(unexpected_tag(t.tag.inner())),
                Response::Status(Status::Untagged(StatusBody {
                    code: Some(code), ..
                })) => done.notes.push(code),
                Response::Status(_) => {}
                Response::CommandContinuationRequest(request) => match respond(&request) {
                    Ok(bytes) => self.link.write_all(&bytes)?,
                    Err(()) => {
                        return Err(Error::ProtocolViolation(format!(
                            "unexpected continuation request to {name}"
                        )));
                    }
                },
            }
        }
    }

    /// Sends one command whose answer is then read a response at a time
    /// with [`Session::next_of`]. The command must not carry a
    /// synchronising literal. Until its answer is complete no other command
    /// may run but further ones sent so (pipelined, RFC 3501 §5.5), whose
    /// answers are read with it.
    pub fn send(&mut self, body: CommandBody<'_>) -> Result<Pending> {
        let name = body.name();
        let (tag, fragments) = self.encode(body)?;
        let wire = unsynchronised(&fragments).ok_or_else(|| {
            Error::Unsupported(format!(
                "{name} with a synchronising literal cannot be streamed"
            ))
        })?;
        self.link.write_all(&wire)?;
        Ok(Pending { tag, name })
    }

    /// Reads the answers to the commands `pending` (sent with
    /// [`Session::send`], none ended yet) up to the next untagged data, which
    /// is handed to `on_data` borrowed from the receive buffer (a FETCH of a
    /// whole message is neither copied nor held), or to the end of one of
    /// them. Untagged data does not say which command it answers: that is
    /// for `on_data` to tell from the data. A NO or BAD is the outcome (the
    /// data before it stays good), not `Err`; a tagged response for any other
    /// command is a protocol violation.
    pub fn next_of<P: AsRef<Pending>, R>(
        &mut self,
        pending: &[P],
        on_data: impl FnOnce(Data<'_>) -> R,
    ) -> Result<Next<R>> {
        enum Step<R> {
            Data(R),
            Untagged,
            Tagged(usize, StatusBody<'static>),
            Stray(String),
            Continuation,
        }
        let mut on_data = Some(on_data);
        loop {
            let step = self.next_with(|response| match response {
                Response::Data(data) => match on_data.take() {
                    Some(f) => Step::Data(f(data)),
                    None => Step::Untagged,
                },
                Response::Status(Status::Tagged(t)) => {
                    match pending.iter().position(|p| p.as_ref().tag == t.tag.inner()) {
                        Some(index) => Step::Tagged(index, t.body.into_static()),
                        None => Step::Stray(t.tag.inner().to_owned()),
                    }
                }
                Response::Status(_) => Step::Untagged,
                Response::CommandContinuationRequest(_) => Step::Continuation,
            })?;
            match step {
                Step::Data(r) => return Ok(Next::Data(r)),
                Step::Untagged => {}
                Step::Tagged(index, body) => {
                    let name = pending[index].as_ref().name;
                    return Ok(Next::Done(index, settle(name, body, Done::default()).1));
                }
                Step::Stray(other) => return Err(unexpected_tag(&other)),
                Step::Continuation => {
                    let names: Vec<&str> = pending.iter().map(|p| p.as_ref().name).collect();
                    return Err(Error::ProtocolViolation(format!(
                        "unexpected continuation request to {}",
                        names.join(", ")
                    )));
                }
            }
        }
    }

    /// The next response, owned.
    fn next_response(&mut self) -> Result<Response<'static>> {
        self.next_with(|r| r.into_static())
    }

    /// The next response, handed to `f` borrowed; BYE is remembered so that
    /// the connection's end can be explained.
    fn next_with<R>(&mut self, f: impl FnOnce(Response<'_>) -> R) -> Result<R> {
        let bye = &mut self.bye;
        let sink = self.spill.as_deref();
        let result = self
            .decoder
            .with_response_spilling(&mut self.link, sink, |response| {
                if let Response::Status(Status::Bye(b)) = &response {
                    *bye = Some(b.text.inner().to_owned());
                }
                f(response)
            });
        match result {
            Err(Error::ConnectionClosed(_)) if self.bye.is_some() => {
                let text = self.bye.take().unwrap_or_default();
                Err(Error::ConnectionClosed(format!(
                    "the server said BYE: {text}"
                )))
            }
            other => other,
        }
    }
}

/// The bytes of an encoded command that can be written at once: `None` if
/// it has a synchronising literal, which must wait for the server's `+`.
fn unsynchronised(fragments: &[Fragment]) -> Option<Vec<u8>> {
    let mut wire = Vec::new();
    for fragment in fragments {
        match fragment {
            Fragment::Literal {
                mode: LiteralMode::Sync,
                ..
            } => return None,
            Fragment::Line { data } | Fragment::Literal { data, .. } => {
                wire.extend_from_slice(data);
            }
        }
    }
    Some(wire)
}

/// Turns a tagged status into the command's outcome, keeping the untagged
/// data that arrived whether the command succeeded or not.
fn settle(name: &str, body: StatusBody<'static>, done: Done) -> (Done, Option<Error>) {
    match body.kind {
        StatusKind::Ok => (
            Done {
                code: body.code,
                ..done
            },
            None,
        ),
        kind => (done, Some(refusal(name, kind, body))),
    }
}

/// Turns a tagged status into the command's outcome.
fn conclude(name: &str, body: StatusBody<'static>, data: Vec<Data<'static>>) -> Result<Done> {
    let done = Done {
        data,
        ..Done::default()
    };
    match settle(name, body, done) {
        (done, None) => Ok(done),
        (_, Some(e)) => Err(e),
    }
}

fn refusal(name: &str, kind: StatusKind, body: StatusBody<'static>) -> Error {
    Error::ServerRefused {
        command: name.to_owned(),
        status: if kind == StatusKind::No {
            error::Status::No
        } else {
            error::Status::Bad
        },
        code: body.code.as_ref().map(code_name),
        text: body.text.inner().to_owned(),
    }
}

fn unexpected_tag(tag: &str) -> Error {
    Error::ProtocolViolation(format!("a tagged response for unknown tag {tag:?}"))
}
