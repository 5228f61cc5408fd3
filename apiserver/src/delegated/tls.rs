//! The serving certificate: given files (`--tls-cert-file`, `--tls-private-key-file`), or a
//! self-signed CA and certificate generated into `--cert-dir` on first start and reused after,
//! as kube's generic apiserver does. Client certificates are requested, never required.

use super::certs::RequestClientCert;
pub use crate::tls::TlsError;
use crate::tls::{generate_pki, load_cert_and_key, write_private};
use std::path::PathBuf;
use std::sync::Arc;

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
        let ca = std::fs::read_to_string(&ca_path).map_err(|source| TlsError::Io {
            path: ca_path.clone(),
            source,
        })?;
        return Ok(ServingFiles {
            ca_pem: Some(ca),
            ..files
        });
    }
    let stamp = jiff::Timestamp::now().as_second();
    let mut sans = vec!["localhost", "127.0.0.1", "::1"];
    sans.extend(names.iter().map(String::as_str));
    let pki = generate_pki(
        &format!("localhost-ca@{stamp}"),
        &format!("localhost@{stamp}"),
        &sans,
    )?;
    write_private(&files.key, &pki.server_key_pem)?;
    write_private(&files.cert, &pki.server_chain_pem)?;
    write_private(&ca_path, &pki.ca_cert_pem)?;
    Ok(ServingFiles {
        ca_pem: Some(pki.ca_cert_pem),
        ..files
    })
}
/// A rustls server config (HTTP/2 and HTTP/1.1) that asks clients for certificates.
pub fn server_config(files: &ServingFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (certs, key) = load_cert_and_key(&files.cert, &files.key)?;
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
