//! Embedding cfimap: open a session over STARTTLS with a private CA, list
//! the folders, read the newest messages a batch at a time, and save the
//! attachments of the INBOX into a directory the host allows.
//!
//! ```text
//! CFIMAP_SERVER=imap.example.com CFIMAP_PORT=143 CFIMAP_USERNAME=alice \
//! CFIMAP_PASSWORD=… CFIMAP_CAFILE=/etc/ssl/private-ca.pem \
//! CFIMAP_ATTACHMENTS=./attachments cargo run --example embed
//! ```
//!
//! README.md shows this file; a test keeps the two the same.

use cfimap_host::{
    AttachmentPolicy, ConnectOptions, Credentials, Policy, ReadOptions, Runtime, RuntimeOptions,
    Security, Selection,
};

fn var(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = var("CFIMAP_SERVER")?;
    let port: u16 = var("CFIMAP_PORT")?.parse()?;
    let attachments = var("CFIMAP_ATTACHMENTS")?;

    // The runtime decides what the component may reach: this one server on
    // this port, and this one directory for attachment files.
    let runtime = Runtime::new(RuntimeOptions {
        attachments: AttachmentPolicy::within(&attachments),
        extra_ca: std::env::var_os("CFIMAP_CAFILE").map(Into::into),
        ..RuntimeOptions::new(Policy::only(&server, port))
    })?;

    // `action="open"`: STARTTLS on the plain port, certificate verified.
    let connect = ConnectOptions {
        port: Some(port),
        secure: Some(Security::Starttls),
        timeout: Some(30),
        ..ConnectOptions::new(
            &server,
            &var("CFIMAP_USERNAME")?,
            Credentials::Password(var("CFIMAP_PASSWORD")?),
        )
    };
    let mut session = runtime.open(&connect).await?;

    for folder in session.list_all_folders(None, true).await? {
        println!(
            "{} ({} unread)",
            folder.fullname,
            folder.unread.unwrap_or(0)
        );
    }

    // getHeaderOnly a batch at a time: memory stays flat for any folder size.
    let mut reader = session
        .begin_get_header_only(Some("INBOX"), &Selection::All, &ReadOptions::default())
        .await?;
    loop {
        let rows = reader.next(64).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            println!("{:>5} {}", row.uid, row.subject.unwrap_or_default());
        }
    }
    drop(reader);

    // getAll with attachmentpath: each file is written through the host,
    // never over a file written earlier in the same action.
    let options = ReadOptions {
        attachmentpath: Some(attachments.clone()),
        generateuniquefilenames: true,
        ..ReadOptions::default()
    };
    for row in session
        .get_all(Some("INBOX"), &Selection::All, &options)
        .await?
    {
        for file in row.attachmentfiles {
            println!("saved {file}");
        }
    }

    session.close().await?;
    Ok(())
}
