//! The TLS client configuration: which certificate authorities are trusted.
//!
//! Certificates are always verified — there is no switch to turn that off. The
//! trusted roots are the Mozilla set compiled in from `webpki-roots`, plus the
//! certificates of an optional PEM file (a private or corporate CA, or the
//! test harness's own CA). Cryptography is rustls with the `ring` provider.

use std::path::Path;
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::Error;

/// Builds the client configuration shared by every connection of a runtime.
///
/// `extra_ca` names a PEM file whose certificates are trusted in addition to
/// the built-in roots. A file that cannot be read, holds no certificate, or
/// holds one rustls cannot use is an [`Error::InvalidArgument`] for the
/// attribute `cafile`.
pub(crate) fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca {
        let bad = |reason: String| Error::InvalidArgument {
            attribute: "cafile".into(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(format!("{}: {e}", path.display())))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(bad(format!(
                "{}: no PEM certificate found in the file",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
