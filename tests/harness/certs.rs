//! Generated certificates: a test CA, a server certificate it signs, and an unrelated CA.
//!
//! rustls refuses a self-signed CA certificate used as the server's own (leaf) certificate
//! (`CaUsedAsEndEntity`), so the server gets a proper leaf: `CA:FALSE`, extended key usage
//! serverAuth, SAN `localhost` and `127.0.0.1`, signed by the test CA. The second CA signs
//! nothing the servers use: clients that trust only it must fail with "unknown issuer".

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

/// The PEM files written by [`Certs::generate`].
#[derive(Debug, Clone)]
pub struct Certs {
    /// The CA certificate that signed the server certificate (`ca.pem`): what a client trusts.
    pub ca_file: PathBuf,
    /// The server's leaf certificate (`server.pem`).
    pub server_cert: PathBuf,
    /// The server's private key (`server.key`, PKCS#8).
    pub server_key: PathBuf,
    /// An unrelated CA (`other-ca.pem`): trusting only it must fail verification.
    pub unknown_ca_file: PathBuf,
}

fn rc(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("certificate generation: {e}"))
}

fn ca_params(name: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "cfimap tests");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

impl Certs {
    /// Generates the CA, the server certificate and the unrelated CA into `dir`.
    pub fn generate(dir: &Path) -> io::Result<Certs> {
        let ca_key = KeyPair::generate().map_err(rc)?;
        let ca_cert = ca_params("cfimap test CA")
            .map_err(rc)?
            .self_signed(&ca_key)
            .map_err(rc)?;

        let mut leaf = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into().map_err(rc)?),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ];
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate().map_err(rc)?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).map_err(rc)?;

        let other_key = KeyPair::generate().map_err(rc)?;
        let other_cert = ca_params("unrelated test CA")
            .map_err(rc)?
            .self_signed(&other_key)
            .map_err(rc)?;

        let certs = Certs {
            ca_file: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            unknown_ca_file: dir.join("other-ca.pem"),
        };
        fs::write(&certs.ca_file, ca_cert.pem())?;
        fs::write(&certs.server_cert, leaf_cert.pem())?;
        fs::write(&certs.server_key, leaf_key.serialize_pem())?;
        fs::write(&certs.unknown_ca_file, other_cert.pem())?;
        Ok(certs)
    }
}
