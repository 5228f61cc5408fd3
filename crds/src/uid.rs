//! Deterministic object UIDs (upstream `pkg/util/util.go GenerateUid`).
//!
//! The uid of a package revision (and of its PackageRevisionResources) is a UUIDv5 (SHA-1)
//! of its namespace and name, so objects keep their uid across restarts and servers.

use uuid::Uuid;

/// The UUID namespace upstream hashes every generated uid in.
pub const UID_NAMESPACE: Uuid = Uuid::from_u128(0xaac71d91_5c67_456f_8fd2_902ef6da820e);

/// The prefix of package revision (and PRR) uids.
pub const PACKAGE_REVISION_UID_PREFIX: &str = "packagerevision:";
/// The prefix of PorchPackage uids (upstream's DB cache).
pub const PACKAGE_UID_PREFIX: &str = "dbPackage:";
/// The prefix upstream's DB cache uses for repositories.
pub const REPOSITORY_UID_PREFIX: &str = "repositories.";

/// The group/version every uid is hashed with, whatever the kind.
const GROUP_VERSION: &str = "porch.kpt.dev/v1alpha1";

/// `GenerateUid(prefix, ns, name)`: UUIDv5 over
/// `prefix + "porch.kpt.dev/v1alpha1" + "/" + lower(ns) + "/" + lower(name)`.
pub fn generate_uid(prefix: &str, namespace: &str, name: &str) -> Uuid {
    let input = format!(
        "{prefix}{GROUP_VERSION}/{}/{}",
        namespace.to_lowercase(),
        name.to_lowercase()
    );
    Uuid::new_v5(&UID_NAMESPACE, input.as_bytes())
}

/// The uid of the package revision (and its PRR) `namespace/name`, as a string.
pub fn package_revision_uid(namespace: &str, name: &str) -> String {
    generate_uid(PACKAGE_REVISION_UID_PREFIX, namespace, name).to_string()
}

/// The uid of the PorchPackage `namespace/name`, as a string.
pub fn package_uid(namespace: &str, name: &str) -> String {
    generate_uid(PACKAGE_UID_PREFIX, namespace, name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_package_revision_uids() {
        assert_eq!(
            package_revision_uid("rpkg-clone", "git.basens-clone.clone-2"),
            "710e4f9b-b21f-5786-bf04-1d1d9b32d57c"
        );
        assert_eq!(
            package_revision_uid("rpkg-init", "git.init-package.init-1"),
            "45ee0692-730a-51b2-9a1d-ad4f4ad55dc8"
        );
    }

    #[test]
    fn uids_ignore_case_and_depend_on_prefix() {
        assert_eq!(
            package_revision_uid("RPKG-init", "GIT.init-package.init-1"),
            "45ee0692-730a-51b2-9a1d-ad4f4ad55dc8"
        );
        assert_ne!(
            package_uid("rpkg-init", "git.init-package"),
            package_revision_uid("rpkg-init", "git.init-package")
        );
        assert_eq!(
            generate_uid(PACKAGE_REVISION_UID_PREFIX, "a", "b").get_version_num(),
            5
        );
    }
}
