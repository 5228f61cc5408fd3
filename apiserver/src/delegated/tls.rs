//! The serving certificate: given files (`--tls-cert-file`, `--tls-private-key-file`), or a
//! self-signed CA and certificate generated into `--cert-dir` on first start and reused after,
//! as kube's generic apiserver does. Client certificates are requested, never required.

use super::certs::RequestClientCert;
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

/// Where the serving certificate comes from.
#[derive(Debug, Clone)]
pub enum ServingCert {
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// Generate into (or reuse from) this directory: `apiserver.crt` (with the CA appended),
    /// `apiserver.key`, `ca.crt`. `names` are extra DNS names or IPs for the certificate.
    SelfSigned {
        dir: PathBuf,
        names: Vec<String>,
    },
}

/// The resolved files and, for a self-signed certificate, the CA that clients should trust.
#[derive(Debug, Clone)]
pub struct ServingFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca_pem: Option<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(path))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn san(name: &str) -> Result<SanType, rcgen::Error> {
    Ok(match name.parse::<IpAddr>() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) => SanType::DnsName(name.try_into()?),
    })
}

/// Make sure the files exist; generate a self-signed pair when asked.
pub fn ensure(source: &ServingCert) -> Result<ServingFiles, TlsError> {
    let (dir, names) = match source {
        ServingCert::Files { cert, key } => {
            return Ok(ServingFiles {
                cert: cert.clone(),
                key: key.clone(),
                ca_pem: None,
            });
        }
        ServingCert::SelfSigned { dir, names } => (dir, names),
    };
    let files = ServingFiles {
        cert: dir.join("apiserver.crt"),
        key: dir.join("apiserver.key"),
        ca_pem: None,
    };
    let ca_path = dir.join("ca.crt");
    if files.cert.exists() && files.key.exists() && ca_path.exists() {
        let ca = std::fs::read_to_string(&ca_path).map_err(io(&ca_path))?;
        return Ok(ServingFiles {
            ca_pem: Some(ca),
            ..files
        });
    }
    let stamp = jiff::Timestamp::now().as_second();
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("localhost-ca@{stamp}"));
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

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut sans = vec![san("localhost")?, san("127.0.0.1")?, san("::1")?];
    for n in names {
        let s = san(n)?;
        if !sans.contains(&s) {
            sans.push(s);
        }
    }
    params.subject_alt_names = sans;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("localhost@{stamp}"));
    params.distinguished_name = dn;
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &issuer)?;

    write_private(&files.key, &key.serialize_pem())?;
    write_private(&files.cert, &format!("{}{}", cert.pem(), ca_cert.pem()))?;
    write_private(&ca_path, &ca_cert.pem())?;
    Ok(ServingFiles {
        ca_pem: Some(ca_cert.pem()),
        ..files
    })
}

/// A rustls server config (HTTP/2 and HTTP/1.1) that asks clients for certificates.
pub fn server_config(files: &ServingFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|_| TlsError::Pem(files.cert.clone()))?
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem(files.cert.clone()))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(files.cert.clone()));
    }
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|_| TlsError::Pem(files.key.clone()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(RequestClientCert::new()))
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let src = ServingCert::SelfSigned {
            dir: dir.path().join("certs"),
            names: vec!["api.porch-system.svc".into(), "10.0.0.1".into()],
        };
        let a = ensure(&src).unwrap();
        let b = ensure(&src).unwrap();
        assert_eq!(a.ca_pem, b.ca_pem);
        assert!(a.ca_pem.unwrap().contains("BEGIN CERTIFICATE"));
        let _ = rustls::crypto::ring::default_provider().install_default();
        server_config(&b).unwrap();
    }
}
