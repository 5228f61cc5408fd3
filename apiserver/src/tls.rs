//! TLS material kept in the data directory: a CA generated on first start and a serving
//! certificate for 127.0.0.1 / localhost / ::1 signed by it. Both are reused on restart.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// TLS setup failures.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading PEM from {0}")]
    Pem(PathBuf),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("--tls-cert-file and --tls-private-key-file must be given together")]
    HalfPair,
}

/// The PEM files of a data directory.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TlsFiles {
    pub fn in_dir(dir: &Path) -> Self {
        let pki = dir.join("pki");
        Self {
            ca_cert: pki.join("ca.crt"),
            ca_key: pki.join("ca.key"),
            server_cert: pki.join("server.crt"),
            server_key: pki.join("server.key"),
        }
    }
}

/// Writes a file readable by its owner only, atomically (temp file + rename).
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// Make sure the CA and serving certificate exist; returns the CA certificate PEM.
pub fn ensure(files: &TlsFiles) -> Result<String, TlsError> {
    let have = [
        &files.ca_cert,
        &files.ca_key,
        &files.server_cert,
        &files.server_key,
    ]
    .iter()
    .all(|p| p.exists());
    if have {
        return std::fs::read_to_string(&files.ca_cert).map_err(|source| TlsError::Io {
            path: files.ca_cert.clone(),
            source,
        });
    }
    let pki = generate_pki(
        "porch-standalone-ca",
        "porch-standalone",
        &["127.0.0.1", "localhost", "::1"],
    )?;
    write_private(&files.ca_key, &pki.ca_key_pem)?;
    write_private(&files.server_key, &pki.server_key_pem)?;
    write_private(&files.server_cert, &pki.server_chain_pem)?;
    write_private(&files.ca_cert, &pki.ca_cert_pem)?;
    Ok(pki.ca_cert_pem)
}

/// A fresh CA and a serving certificate signed by it, as PEM.
pub(crate) struct GeneratedPki {
    pub ca_cert_pem: String,
    pub ca_key_pem: String,
    /// The serving certificate followed by the CA certificate.
    pub server_chain_pem: String,
    pub server_key_pem: String,
}

/// A SAN from a name: an IP address when it parses as one, else a DNS name.
pub(crate) fn san(name: &str) -> Result<SanType, rcgen::Error> {
    Ok(match name.parse::<IpAddr>() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) => SanType::DnsName(name.try_into()?),
    })
}

/// Generates a CA named `ca_name` and a server certificate `server_name` for `names`
/// (duplicates dropped), both valid until 2036.
pub(crate) fn generate_pki(
    ca_name: &str,
    server_name: &str,
    names: &[&str],
) -> Result<GeneratedPki, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, ca_name);
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let server_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut sans = Vec::new();
    for name in names {
        let s = san(name)?;
        if !sans.contains(&s) {
            sans.push(s);
        }
    }
    params.subject_alt_names = sans;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, server_name);
    params.distinguished_name = dn;
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = params.signed_by(&server_key, &issuer)?;
    Ok(GeneratedPki {
        ca_cert_pem: ca_cert.pem(),
        ca_key_pem: ca_key.serialize_pem(),
        server_chain_pem: format!("{}{}", server_cert.pem(), ca_cert.pem()),
        server_key_pem: server_key.serialize_pem(),
    })
}
/// A rustls server config (HTTP/2 and HTTP/1.1) from the files.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (certs, key) = load_cert_and_key(&files.server_cert, &files.server_key)?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The certificate chain and private key of PEM files; an empty chain is an error.
pub(crate) fn load_cert_and_key(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|_| TlsError::Pem(cert.to_path_buf()))?
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem(cert.to_path_buf()))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(cert.to_path_buf()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|_| TlsError::Pem(key.to_path_buf()))?;
    Ok((certs, key))
}
