//! Object names, keys and UIDs (porch-api.md §1.8): thin adapters over `porch_crds::names`
//! (the one implementation of upstream's composition, parsing and validation), keeping the
//! engine's `String` errors and its flat [`PackageRevisionKey`].

use porch_crds::names as crd_names;

/// `validation.IsDNS1123Label`: the list of problems, empty when valid.
pub fn dns1123_label_errors(s: &str) -> Vec<String> {
    crd_names::is_dns1123_label(s)
}

/// `validation.IsDNS1123Subdomain`.
pub fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    crd_names::is_dns1123_subdomain(s)
}

/// `ValidateDirectoryName`: a DNS label once `/` are removed; no `//`.
pub fn validate_directory_name(directory: &str, mandatory: bool) -> Result<(), String> {
    crd_names::validate_directory_name(directory, mandatory).map_err(|e| e.message)
}

/// `repo.path.dotted.pkg.ws`. `package_name` is the full `path/pkg`. Every part is non-empty
/// for the revisions the engine names (an empty part gives `""`, as upstream).
pub fn package_revision_name(repo: &str, package_name: &str, workspace: &str) -> String {
    let (path, package) = crd_names::split_package_path(package_name);
    crd_names::compose_pkg_rev_obj_name(repo, path, package, workspace)
}

/// `repo.path.dotted.pkg`.
pub fn package_object_name(repo: &str, package_name: &str) -> String {
    let (path, package) = crd_names::split_package_path(package_name);
    crd_names::compose_pkg_obj_name(repo, path, package)
}

/// `ValidPkgRevObjName`, with upstream's message layout.
pub fn validate_package_revision_name(
    repo: &str,
    path: &str,
    package: &str,
    workspace: &str,
) -> Result<(), String> {
    crd_names::valid_pkg_rev_obj_name(repo, path, package, workspace).map_err(|e| e.message)
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

/// Parses `repo.path.dotted.pkg.ws` into a key and validates every part (a workspace with
/// dots, `v1.2`, stays whole).
pub fn parse_package_revision_name(name: &str) -> Result<PackageRevisionKey, String> {
    let key = crd_names::parse_pkg_rev_obj_name("", name).map_err(|e| e.message)?;
    Ok(PackageRevisionKey {
        repository: key.package.repository,
        path: key.package.path,
        package: key.package.package,
        workspace: key.workspace,
    })
}

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
