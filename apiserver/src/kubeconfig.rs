//! The kubeconfig written into the data directory.

use base64::Engine;

/// Render a kubeconfig for `server` with the CA and a bearer token.
pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: porch-standalone
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: porch-admin
  user:
    token: {token}
contexts:
- name: porch-standalone
  context:
    cluster: porch-standalone
    user: porch-admin
    namespace: default
current-context: porch-standalone
preferences: {{}}
"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_as_yaml() {
        let s = super::render("https://127.0.0.1:1", "PEM", "tok");
        let v: serde_json::Value = serde_saphyr::from_str(&s).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://127.0.0.1:1");
        assert_eq!(v["users"][0]["user"]["token"], "tok");
    }
}
