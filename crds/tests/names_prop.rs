#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property: every valid (repo, path, package, workspace) composes to a name that parses back
//! to the same parts, and the uid depends only on namespace and name.

use porch_crds::names::{
    compose_pkg_obj_name, compose_pkg_rev_obj_name, parse_pkg_obj_name, parse_pkg_rev_obj_name,
    valid_pkg_rev_obj_name,
};
use porch_crds::uid::package_revision_uid;
use proptest::prelude::*;

/// An RFC 1123 label without dots.
fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?"
}

/// A workspace: a label that does not look like a version (`v1.2` is parsed specially),
/// or a version itself.
fn workspace() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-uw-z]([-a-z0-9]{0,8}[a-z0-9])?",
        "v[0-9]{1,2}(\\.[0-9]{1,2}){0,2}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 0..3).prop_map(|parts| parts.join("/"))
}

proptest! {
    #[test]
    fn compose_then_parse_round_trips(
        repo in label(), path in path(), package in label(), ws in workspace()
    ) {
        let name = compose_pkg_rev_obj_name(&repo, &path, &package, &ws);
        let key = parse_pkg_rev_obj_name("ns", &name).unwrap();
        prop_assert_eq!(&key.package.repository, &repo);
        prop_assert_eq!(&key.package.path, &path);
        prop_assert_eq!(&key.package.package, &package);
        prop_assert_eq!(&key.workspace, &ws);
        prop_assert_eq!(key.obj_name(), name.clone());
        if !ws.contains('.') {
            prop_assert!(valid_pkg_rev_obj_name(&repo, &path, &package, &ws).is_ok());
        }

        let pkg_name = compose_pkg_obj_name(&repo, &path, &package);
        let pkg = parse_pkg_obj_name("ns", &pkg_name).unwrap();
        prop_assert_eq!(pkg, key.package.clone());

        prop_assert_eq!(
            package_revision_uid("ns", &name),
            package_revision_uid("NS", &name.to_uppercase())
        );
    }

    #[test]
    fn invalid_parts_never_parse(repo in "[A-Z_]{1,5}", package in label(), ws in label()) {
        let name = format!("{repo}.{package}.{ws}");
        let err = parse_pkg_rev_obj_name("ns", &name).unwrap_err();
        prop_assert!(err.message.starts_with("package revision kubernetes resource name invalid:\n"));
        let expected = format!("repository part \"{repo}\" of object name invalid\n");
        prop_assert!(err.message.contains(&expected));
    }
}
