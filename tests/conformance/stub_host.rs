//! Conformance of the component's face: a host written here against `wit/` alone — not
//! `cfimap-host` — runs the built component. Its transport is a blocking `std::net` socket
//! (plain only), its attachment sink a map in memory, its WASI wasmtime-wasi's empty defaults.
//! That it can log in to the private Dovecot, read, hand out a `row-reader`, refuse a second
//! action with `busy` while the reader reads, and save attachments shows that the two imported
//! interfaces are all a host has to write.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use cfimap_tests::account::Secure;
use cfimap_tests::mail::Message;
use cfimap_tests::{Dovecot, Flavor};
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "cfimap",
        imports: { default: trappable },
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::sync::io,
            "wasi:cli": wasmtime_wasi::p2::bindings::cli,
            "wasi:random": wasmtime_wasi::p2::bindings::random,
            "cfimap:imap/transport.connection": super::StubConnection,
            "cfimap:imap/attachments.file": super::StubFile,
        },
    });
}

use bindings::cfimap::imap::attachments::{self as sink, SinkError};
use bindings::cfimap::imap::transport::{self, TransportError, Wrapping};
use bindings::cfimap::imap::types::{
    ConnectOptions, Credentials, Error, ReadOptions, Security, Selection,
};

/// A plain TCP connection, blocking.
pub struct StubConnection(TcpStream);

/// An attachment being written into memory.
pub struct StubFile {
    name: String,
    bytes: Vec<u8>,
}

struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
    /// The files the sink finished, by name.
    saved: BTreeMap<String, Vec<u8>>,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn io_error(e: std::io::Error) -> TransportError {
    TransportError::Io(e.to_string())
}

impl transport::HostConnection for Host {
    fn open(
        &mut self,
        host: String,
        port: u16,
        wrapping: Wrapping,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Resource<StubConnection>, TransportError>> {
        if wrapping == Wrapping::Tls {
            return Ok(Err(TransportError::Tls(
                "this stub host speaks plain TCP only".into(),
            )));
        }
        let stream = match TcpStream::connect((host.as_str(), port)) {
            Ok(stream) => stream,
            Err(e) => return Ok(Err(TransportError::Connect(e.to_string()))),
        };
        let limit = Some(Duration::from_millis(u64::from(timeout_ms.max(1))));
        stream.set_read_timeout(limit)?;
        stream.set_write_timeout(limit)?;
        Ok(Ok(self.table.push(StubConnection(stream))?))
    }

    fn read(
        &mut self,
        conn: Resource<StubConnection>,
        max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, TransportError>> {
        let conn = self.table.get_mut(&conn)?;
        let mut buf = vec![0; (max as usize).clamp(1, 64 * 1024)];
        Ok(match conn.0.read(&mut buf) {
            Ok(0) => Err(TransportError::Closed),
            Ok(n) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(e) => Err(io_error(e)),
        })
    }

    fn write(
        &mut self,
        conn: Resource<StubConnection>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<Result<(), TransportError>> {
        let conn = self.table.get_mut(&conn)?;
        Ok(conn.0.write_all(&bytes).map_err(io_error))
    }

    fn flush(
        &mut self,
        conn: Resource<StubConnection>,
    ) -> wasmtime::Result<Result<(), TransportError>> {
        let conn = self.table.get_mut(&conn)?;
        Ok(conn.0.flush().map_err(io_error))
    }

    fn start_tls(
        &mut self,
        _conn: Resource<StubConnection>,
        _server_name: String,
    ) -> wasmtime::Result<Result<(), TransportError>> {
        Ok(Err(TransportError::Tls(
            "this stub host speaks plain TCP only".into(),
        )))
    }

    fn is_loopback(&mut self, conn: Resource<StubConnection>) -> wasmtime::Result<bool> {
        let conn = self.table.get(&conn)?;
        Ok(conn.0.peer_addr()?.ip().is_loopback())
    }

    fn drop(&mut self, conn: Resource<StubConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl transport::Host for Host {}

impl sink::HostFile for Host {
    fn write(
        &mut self,
        file: Resource<StubFile>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<Result<(), SinkError>> {
        self.table.get_mut(&file)?.bytes.extend(bytes);
        Ok(Ok(()))
    }

    fn read(
        &mut self,
        file: Resource<StubFile>,
        offset: u64,
        length: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, SinkError>> {
        let bytes = &self.table.get(&file)?.bytes;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let end = start.saturating_add(length as usize).min(bytes.len());
        Ok(Ok(bytes[start..end].to_vec()))
    }

    fn rename(
        &mut self,
        file: Resource<StubFile>,
        name: String,
        replace: bool,
    ) -> wasmtime::Result<Result<(), SinkError>> {
        if !replace && self.saved.contains_key(&name) {
            return Ok(Err(SinkError::Exists));
        }
        self.table.get_mut(&file)?.name = name;
        Ok(Ok(()))
    }

    fn finish(&mut self, file: Resource<StubFile>) -> wasmtime::Result<Result<String, SinkError>> {
        let file = self.table.get_mut(&file)?;
        let (name, bytes) = (file.name.clone(), std::mem::take(&mut file.bytes));
        self.saved.insert(name.clone(), bytes);
        Ok(Ok(format!("memory:{name}")))
    }

    fn drop(&mut self, file: Resource<StubFile>) -> wasmtime::Result<()> {
        self.table.delete(file)?;
        Ok(())
    }
}

impl sink::Host for Host {
    fn create(
        &mut self,
        directory: String,
        name: String,
        replace: bool,
    ) -> wasmtime::Result<Result<Resource<StubFile>, SinkError>> {
        if directory != "memory" {
            return Ok(Err(SinkError::Denied(format!(
                "{directory} is not allowed"
            ))));
        }
        if !replace && self.saved.contains_key(&name) {
            return Ok(Err(SinkError::Exists));
        }
        Ok(Ok(self.table.push(StubFile {
            name,
            bytes: Vec::new(),
        })?))
    }
}

/// The built component: `$CFIMAP_COMPONENT`, else the workspace's release build.
fn component_path() -> PathBuf {
    if let Some(path) = std::env::var_os("CFIMAP_COMPONENT").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    workspace.join("target/wasm32-wasip2/release/cfimap.wasm")
}

fn instantiate() -> (Store<Host>, bindings::Cfimap) {
    let engine = Engine::default();
    let path = component_path();
    let component = Component::from_file(&engine, &path)
        .unwrap_or_else(|e| panic!("{}: {e} (build it: make build)", path.display()));
    let mut linker = Linker::<Host>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI");
    bindings::cfimap::imap::transport::add_to_linker::<Host, HasSelf<Host>>(&mut linker, |h| h)
        .expect("transport");
    bindings::cfimap::imap::attachments::add_to_linker::<Host, HasSelf<Host>>(&mut linker, |h| h)
        .expect("attachments");
    let host = Host {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
        saved: BTreeMap::new(),
    };
    let mut store = Store::new(&engine, host);
    let cfimap = bindings::Cfimap::instantiate(&mut store, &component, &linker)
        .expect("the component instantiates with nothing but the WIT's imports");
    (store, cfimap)
}

#[test]
fn a_host_written_from_the_wit_alone_runs_every_kind_of_call() {
    let account = Dovecot::shared(Flavor::Default).user();
    let message = Message::new("stub host", "hello")
        .attach("a.txt", "text/plain", b"first".to_vec())
        .attach("a.txt", "text/plain", b"second".to_vec())
        .to_bytes();
    let mut raw = account.connect().expect("raw client");
    for _ in 0..3 {
        raw.append("INBOX", &[], &message).expect("APPEND");
    }
    raw.logout().expect("logout");

    let (mut store, cfimap) = instantiate();
    let client = cfimap.cfimap_imap_client();
    let options = ConnectOptions {
        server: account.server.clone(),
        port: account.port(Secure::Plain),
        username: account.username.clone(),
        credentials: Credentials::Password(account.password.clone()),
        secure: Some(Security::None),
        timeout: Some(30),
    };
    let session = client
        .session()
        .call_open(&mut store, &options)
        .expect("no trap")
        .expect("open over the stub transport");
    let read = ReadOptions {
        attachmentpath: None,
        generateuniquefilenames: false,
        stoponerror: true,
        filters: Vec::new(),
        newest_first: false,
    };

    // A reader hands out rows; while it reads, the session refuses other actions.
    let reader = client
        .session()
        .call_begin_get_header_only(&mut store, session, None, &Selection::All, &read)
        .expect("no trap")
        .expect("begin");
    let rows = client
        .row_reader()
        .call_next(&mut store, reader, 2)
        .expect("no trap")
        .expect("next");
    assert_eq!(rows.len(), 2);
    let busy = client
        .session()
        .call_list_all_folders(&mut store, session, None, false)
        .expect("no trap");
    assert!(matches!(busy, Err(Error::Busy(_))), "{busy:?}");
    // Dropping the reader abandons the read; the session is free again.
    reader.resource_drop(&mut store).expect("drop the reader");
    let folders = client
        .session()
        .call_list_all_folders(&mut store, session, None, false)
        .expect("no trap")
        .expect("list after the reader was dropped");
    assert!(folders.iter().any(|f| f.fullname == "INBOX"), "{folders:?}");

    // Attachments go through the sink, never twice to one name within an action.
    let with_files = ReadOptions {
        attachmentpath: Some("memory".into()),
        ..read.clone()
    };
    let rows = client
        .session()
        .call_get_all(
            &mut store,
            session,
            None,
            &Selection::Uids(vec![1]),
            &with_files,
        )
        .expect("no trap")
        .expect("getAll");
    assert_eq!(rows[0].attachmentfiles, ["memory:a.txt", "memory:a1.txt"]);
    let saved = &store.data().saved;
    assert_eq!(saved.get("a.txt").map(Vec::as_slice), Some(&b"first"[..]));
    assert_eq!(saved.get("a1.txt").map(Vec::as_slice), Some(&b"second"[..]));

    // A directory the sink refuses is the policy's refusal, typed.
    let denied = ReadOptions {
        attachmentpath: Some("/elsewhere".into()),
        ..read.clone()
    };
    let err = client
        .session()
        .call_get_all(
            &mut store,
            session,
            None,
            &Selection::Uids(vec![2]),
            &denied,
        )
        .expect("no trap");
    assert!(matches!(err, Err(Error::DeniedByPolicy(_))), "{err:?}");

    client
        .session()
        .call_close(&mut store, session)
        .expect("no trap")
        .expect("close");
    session.resource_drop(&mut store).expect("drop the session");
}
