//! Object names, keys and UIDs (porch-api.md §1.8). Validators and UIDs delegate to `porch-crds`;
//! composing and parsing names still has its own copy here (with `String` errors), to be folded
//! into `porch_crds::names` next.

const INVALID: &str = " invalid: ";

/// `validation.IsDNS1123Label`: the list of problems, empty when valid.
pub fn dns1123_label_errors(s: &str) -> Vec<String> {
    porch_crds::names::is_dns1123_label(s)
}

/// `validation.IsDNS1123Subdomain`.
pub fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    porch_crds::names::is_dns1123_subdomain(s)
}

/// `ValidateDirectoryName`: a DNS label once `/` are removed; no `//`.
pub fn validate_directory_name(directory: &str, mandatory: bool) -> Result<(), String> {
    let mut errs = Vec::new();
    if directory.contains("//") {
        errs.push("consecutive '/' characters are not allowed".to_owned());
    }
    let no_slash = directory.replace('/', "");
    if mandatory || !no_slash.is_empty() {
        errs.extend(dns1123_label_errors(&no_slash));
    } else {
        errs.clear();
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join(","))
    }
}

fn dotted(path: &str, package: &str) -> String {
    let joined = if path.is_empty() {
        package.to_owned()
    } else {
        format!("{}/{}", path.trim_end_matches('/'), package)
    };
    joined.replace('/', ".").trim_matches('.').to_owned()
}

/// `repo.path.dotted.pkg.ws`. `package_name` is the full `path/pkg`.
pub fn package_revision_name(repo: &str, package_name: &str, workspace: &str) -> String {
    format!("{repo}.{}.{workspace}", dotted("", package_name))
}

/// `repo.path.dotted.pkg`.
pub fn package_object_name(repo: &str, package_name: &str) -> String {
    format!("{repo}.{}", dotted("", package_name))
}

/// `ValidPkgRevObjName`, with upstream's message layout.
pub fn validate_package_revision_name(
    repo: &str,
    path: &str,
    package: &str,
    workspace: &str,
) -> Result<(), String> {
    let mut errs: Vec<String> = Vec::new();
    let repo_errs = dns1123_label_errors(repo);
    if !repo_errs.is_empty() {
        errs.push(format!(
            "repository part {} of object name invalid\n",
            crate::error::go_quote(repo)
        ));
        errs.push(format!(
            "repository name {repo}{INVALID}{}\n",
            repo_errs.join(",")
        ));
    }
    if let Err(e) = validate_directory_name(path, false) {
        errs.push(format!(
            "package path part {} of object name invalid\n",
            crate::error::go_quote(path)
        ));
        errs.push(format!("path {path}{INVALID}{e}\n"));
    }
    let pkg_errs = dns1123_label_errors(package);
    if !pkg_errs.is_empty() {
        errs.push(format!(
            "package name part {} of object name invalid\n",
            crate::error::go_quote(package)
        ));
        errs.push(format!(
            "package name {package}{INVALID}{}\n",
            pkg_errs.join(",")
        ));
    }
    let ws_errs = dns1123_label_errors(workspace);
    if !ws_errs.is_empty() {
        errs.push(format!(
            "workspace name part {} of package revision name invalid\n",
            crate::error::go_quote(workspace)
        ));
        errs.push(format!(
            "workspace name {workspace}{INVALID}{}\n",
            ws_errs.join(",")
        ));
    }
    if errs.is_empty() {
        let full = format!("{repo}.{}.{workspace}", dotted(path, package));
        let sub = dns1123_subdomain_errors(&full);
        if !sub.is_empty() {
            errs.push(format!(
                "package revision kubernetes name {} invalid\n",
                crate::error::go_quote(&full)
            ));
            errs.push(format!(
                "package revision kubernetes name {full}{INVALID}{}\n",
                sub.join("")
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "package revision kubernetes resource name invalid:\n{}",
            errs.concat()
        ))
    }
}

/// A package revision name parsed back into its parts (`PkgRevK8sName2Key`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageRevisionKey {
    pub repository: String,
    /// The path part (`a/b`), empty for top-level packages.
    pub path: String,
    /// The leaf package name.
    pub package: String,
    pub workspace: String,
}

impl PackageRevisionKey {
    /// `path/package` (the `spec.packageName`).
    pub fn package_name(&self) -> String {
        if self.path.is_empty() {
            self.package.clone()
        } else {
            format!("{}/{}", self.path, self.package)
        }
    }
}

/// The workspace part of a name: after the last `.`, or from the last `.v` when the name ends in
/// `.v<digits and dots><digit>` (so `repo.pkg.v1.2` has workspace `v1.2`).
fn workspace_of(name: &str) -> &str {
    if !name.contains('.') {
        return "";
    }
    if let Some(idx) = name.rfind(".v") {
        let tail = &name[idx + 2..];
        let ends_semver = !tail.is_empty()
            && tail.bytes().all(|c| c.is_ascii_digit() || c == b'.')
            && tail.as_bytes().last().is_some_and(u8::is_ascii_digit);
        if ends_semver {
            return &name[idx + 1..];
        }
    }
    name.rsplit_once('.').map_or("", |(_, ws)| ws)
}

/// Parses `repo.path.dotted.pkg.ws` into a key and validates every part.
pub fn parse_package_revision_name(name: &str) -> Result<PackageRevisionKey, String> {
    let workspace = workspace_of(name).to_owned();
    let rest = if workspace.is_empty() {
        name
    } else {
        name[..name.len() - workspace.len()].trim_end_matches('.')
    };
    let (repo, pkg_part) = rest.split_once('.').unwrap_or((rest, ""));
    let (path_dotted, package) = pkg_part.rsplit_once('.').unwrap_or(("", pkg_part));
    let key = PackageRevisionKey {
        repository: repo.to_owned(),
        path: path_dotted.replace('.', "/"),
        package: package.to_owned(),
        workspace,
    };
    // A workspace with dots (v1.2) is validated with its dots turned into dashes, as upstream does.
    validate_package_revision_name(
        &key.repository,
        &key.path,
        &key.package,
        &key.workspace.replace('.', "-"),
    )?;
    Ok(key)
}

/// The namespace UUID of `util.GenerateUid`.
/// Deterministic uid of a PackageRevision (and its PRR).
pub fn package_revision_uid(namespace: &str, name: &str) -> String {
    porch_crds::uid::package_revision_uid(namespace, name)
}

#[cfg(test)]
mod tests {
    const LABEL_FMT_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    use super::*;

    #[test]
    fn compose_names() {
        assert_eq!(
            package_revision_name("porch-test", "basedir/subdir/edge-function", "v1"),
            "porch-test.basedir.subdir.edge-function.v1"
        );
        assert_eq!(
            package_revision_name("blueprints", "nginx", "main"),
            "blueprints.nginx.main"
        );
        assert_eq!(package_object_name("r", "a/b"), "r.a.b");
    }

    #[test]
    fn parse_names() {
        let k = parse_package_revision_name("porch-test.basedir.subdir.edge-function.v1").unwrap();
        assert_eq!(k.repository, "porch-test");
        assert_eq!(k.path, "basedir/subdir");
        assert_eq!(k.package, "edge-function");
        assert_eq!(k.workspace, "v1");
        assert_eq!(k.package_name(), "basedir/subdir/edge-function");

        let k = parse_package_revision_name("repo.pkg.v1.2").unwrap();
        assert_eq!((k.package.as_str(), k.workspace.as_str()), ("pkg", "v1.2"));

        let k = parse_package_revision_name("blueprints.nginx.main").unwrap();
        assert_eq!(k.path, "");
        assert_eq!(k.package, "nginx");
    }

    #[test]
    fn parse_rejects_bad_parts() {
        let err = parse_package_revision_name("repo.Pkg.ws").unwrap_err();
        assert!(err.starts_with("package revision kubernetes resource name invalid:\n"));
        assert!(err.contains("package name part \"Pkg\" of object name invalid\n"));
        let err = parse_package_revision_name("justone").unwrap_err();
        assert!(err.contains("workspace name part \"\" of package revision name invalid"));
    }

    #[test]
    fn directory_validation() {
        assert!(validate_directory_name("a/b-c/d", true).is_ok());
        assert_eq!(
            validate_directory_name("a//b", true).unwrap_err(),
            "consecutive '/' characters are not allowed"
        );
        assert_eq!(
            validate_directory_name("Bad", true).unwrap_err(),
            LABEL_FMT_ERR
        );
        assert!(validate_directory_name("", false).is_ok());
        assert!(validate_directory_name("", true).is_err());
        let long = "a".repeat(64);
        assert!(
            validate_directory_name(&long, true)
                .unwrap_err()
                .starts_with("must be no more than 63 characters")
        );
    }

    #[test]
    fn uid_is_deterministic_uuid_v5() {
        let a = package_revision_uid("NS", "Repo.Pkg.WS");
        let b = package_revision_uid("ns", "repo.pkg.ws");
        assert_eq!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5");
        assert_ne!(a, package_revision_uid("ns", "repo.pkg.other"));
    }
}
