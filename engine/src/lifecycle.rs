//! REST-strategy rules of the main `packagerevisions` resource (porch-api.md §1.13): what a create or
//! update request may contain. Pure functions over the engine's `PackageRevision`.

use crate::error::{EngineError, FieldError};
use crate::messages;
use crate::model::{LATEST_REVISION_LABEL, Lifecycle, PackageRevision, PackageRevisionSpec};
use crate::names::{dns1123_label_errors, validate_directory_name};

/// Create strategy (`strategy.go Validate`): 422 with every field error found.
pub fn validate_create(obj: &PackageRevision) -> Result<(), EngineError> {
    let mut errs = Vec::new();
    if obj.metadata.labels.contains_key(LATEST_REVISION_LABEL) {
        errs.push(messages::latest_label_set_on_create());
    }
    if let Err(e) = validate_directory_name(&obj.spec.package_name, true) {
        errs.push(FieldError::invalid(
            "spec.packageName",
            &obj.spec.package_name,
            e,
        ));
    }
    let ws_errs = dns1123_label_errors(&obj.spec.workspace_name);
    if !ws_errs.is_empty() {
        errs.push(FieldError::invalid(
            "spec.workspaceName",
            &obj.spec.workspace_name,
            ws_errs.join(","),
        ));
    }
    match obj.spec.lifecycle.as_str() {
        "" | "Draft" => {}
        other => errs.push(messages::create_lifecycle_not_draft(other)),
    }
    into_result(&obj.metadata.name, errs)
}

/// `PrepareForUpdate`: a request without `spec.packageMetadata` keeps the stored one.
pub fn prepare_for_update(old: &PackageRevision, new: &mut PackageRevision) {
    if new.spec.package_metadata.is_none() {
        new.spec.package_metadata = old.spec.package_metadata.clone();
    }
}

/// Adding, removing or changing the computed latest label is forbidden on update.
pub fn latest_label_unchanged(old: &PackageRevision, new: &PackageRevision) -> Option<FieldError> {
    let before = old.metadata.labels.get(LATEST_REVISION_LABEL);
    let after = new.metadata.labels.get(LATEST_REVISION_LABEL);
    (before != after).then(messages::latest_label_modified)
}

/// Update strategy of the main resource (`strategy.go ValidateUpdate`).
pub fn validate_update(old: &PackageRevision, new: &PackageRevision) -> Result<(), EngineError> {
    let mut errs = Vec::new();
    if let Some(e) = latest_label_unchanged(old, new) {
        errs.push(e);
    }
    let new_value = new.spec.lifecycle.as_str();
    let new_lifecycle = new.lifecycle();
    match new_lifecycle {
        None => errs.push(messages::update_lifecycle_unknown(new_value)),
        Some(new_lc) => match old.lifecycle() {
            Some(Lifecycle::Draft | Lifecycle::Proposed) => {
                if new_lc.is_published() {
                    errs.push(messages::update_lifecycle_not_draft_or_proposed(new_value));
                }
            }
            Some(Lifecycle::Published | Lifecycle::DeletionProposed) => {
                if !spec_equal_except_lifecycle(&old.spec, &new.spec) || !new_lc.is_published() {
                    errs.push(messages::published_spec_changed(&render_spec(&new.spec)));
                }
            }
            None => errs.push(messages::update_from_unknown_lifecycle(&old.spec.lifecycle)),
        },
    }
    into_result(&new.metadata.name, errs)
}

/// `""` becomes `Draft` (after validation, before the engine).
pub fn canonicalize(obj: &mut PackageRevision) {
    if obj.spec.lifecycle.is_empty() {
        obj.spec.lifecycle = Lifecycle::Draft.as_str().to_owned();
    }
}

/// Spec equality ignoring lifecycle. Unset and empty collections compare equal: a client that
/// omits an empty list has not changed anything (Go's DeepEqual would call them different).
pub fn spec_equal_except_lifecycle(a: &PackageRevisionSpec, b: &PackageRevisionSpec) -> bool {
    let norm = |s: &PackageRevisionSpec| {
        let mut s = s.clone();
        s.lifecycle = String::new();
        if s.readiness_gates.as_ref().is_some_and(Vec::is_empty) {
            s.readiness_gates = None;
        }
        if s.package_metadata
            .as_ref()
            .is_some_and(|m| m.labels.is_empty() && m.annotations.is_empty())
        {
            s.package_metadata = None;
        }
        s
    };
    norm(a) == norm(b)
}

/// How the rejected spec is shown in the 422 value (upstream prints the Go struct; we print ours).
fn render_spec(spec: &PackageRevisionSpec) -> String {
    format!(
        "{{packageName:{:?}, repository:{:?}, workspaceName:{:?}, revision:{}, lifecycle:{:?}}}",
        spec.package_name, spec.repository, spec.workspace_name, spec.revision, spec.lifecycle
    )
}

pub(crate) fn into_result(name: &str, errs: Vec<FieldError>) -> Result<(), EngineError> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(EngineError::invalid_package_revision(name, errs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PackageMetadata;

    fn pr(name: &str, lifecycle: &str) -> PackageRevision {
        let mut p = PackageRevision::default();
        p.metadata.name = name.into();
        p.spec.package_name = "pkg".into();
        p.spec.workspace_name = "ws".into();
        p.spec.repository = "repo".into();
        p.spec.lifecycle = lifecycle.into();
        p
    }

    fn err_text(r: Result<(), EngineError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn create_accepts_empty_and_draft() {
        assert!(validate_create(&pr("n", "")).is_ok());
        assert!(validate_create(&pr("n", "Draft")).is_ok());
    }

    #[test]
    fn create_rejects_other_lifecycles() {
        for lc in ["Proposed", "Published", "DeletionProposed", "bogus"] {
            assert_eq!(
                err_text(validate_create(&pr("n", lc))),
                format!(
                    "PackageRevision.porch.kpt.dev \"n\" is invalid: spec.lifecycle: Invalid value: \"{lc}\": value can be only created as Draft"
                )
            );
        }
    }

    #[test]
    fn create_rejects_latest_label_and_bad_names() {
        let mut p = pr("n", "");
        p.metadata
            .labels
            .insert(LATEST_REVISION_LABEL.into(), "true".into());
        assert_eq!(
            err_text(validate_create(&p)),
            "PackageRevision.porch.kpt.dev \"n\" is invalid: metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be set by users"
        );

        let mut p = pr("n", "");
        p.spec.package_name = "a//b".into();
        assert_eq!(
            err_text(validate_create(&p)),
            "PackageRevision.porch.kpt.dev \"n\" is invalid: spec.packageName: Invalid value: \"a//b\": consecutive '/' characters are not allowed"
        );

        let mut p = pr("n", "");
        p.spec.workspace_name = String::new();
        let text = err_text(validate_create(&p));
        assert!(
            text.starts_with(
                "PackageRevision.porch.kpt.dev \"n\" is invalid: spec.workspaceName: Invalid value: \"\": a lowercase RFC 1123 label"
            ),
            "{text}"
        );
    }

    #[test]
    fn update_transition_table() {
        // (old, new, expected error detail or None)
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("Draft", "Proposed", None),
            ("Draft", "", None),
            ("Proposed", "Draft", None),
            ("", "Proposed", None),
            (
                "Draft",
                "Published",
                Some(
                    "spec.lifecycle: Invalid value: \"Published\": value can be only updated to Draft,Proposed",
                ),
            ),
            (
                "Proposed",
                "Published",
                Some(
                    "spec.lifecycle: Invalid value: \"Published\": value can be only updated to Draft,Proposed",
                ),
            ),
            (
                "Proposed",
                "DeletionProposed",
                Some(
                    "spec.lifecycle: Invalid value: \"DeletionProposed\": value can be only updated to Draft,Proposed",
                ),
            ),
            ("Published", "DeletionProposed", None),
            ("DeletionProposed", "Published", None),
            ("Published", "Published", None),
            (
                "Draft",
                "Final",
                Some(
                    "spec.lifecycle: Invalid value: \"Final\": value can be only updated to Draft,Proposed,Published,DeletionProposed",
                ),
            ),
            (
                "Weird",
                "Draft",
                Some(
                    "spec.lifecycle: Invalid value: \"Weird\": can only update package with lifecycle value one of Draft,Proposed,Published,DeletionProposed",
                ),
            ),
        ];
        for (old, new, want) in cases {
            let got = validate_update(&pr("n", old), &pr("n", new));
            match want {
                None => assert!(got.is_ok(), "{old}->{new}: {got:?}"),
                Some(detail) => assert_eq!(
                    err_text(got),
                    format!("PackageRevision.porch.kpt.dev \"n\" is invalid: {detail}"),
                    "{old}->{new}"
                ),
            }
        }
    }

    #[test]
    fn published_back_to_draft_is_a_spec_change() {
        for new in ["Draft", "Proposed"] {
            let text = err_text(validate_update(&pr("n", "Published"), &pr("n", new)));
            assert!(text.starts_with(
                "PackageRevision.porch.kpt.dev \"n\" is invalid: spec: Invalid value: "
            ));
            assert!(text.ends_with(
                ": spec can only update package with lifecycle value one of Draft,Proposed"
            ));
        }
    }

    #[test]
    fn published_spec_is_immutable_except_lifecycle() {
        let old = pr("n", "Published");
        let mut new = pr("n", "DeletionProposed");
        new.spec.readiness_gates = Some(vec![]);
        new.spec.package_metadata = Some(PackageMetadata::default());
        assert!(validate_update(&old, &new).is_ok());
        new.spec.workspace_name = "other".into();
        let text = err_text(validate_update(&old, &new));
        assert!(
            text.contains(
                "spec can only update package with lifecycle value one of Draft,Proposed"
            )
        );
    }

    #[test]
    fn latest_label_cannot_change() {
        let mut old = pr("n", "Published");
        old.metadata
            .labels
            .insert(LATEST_REVISION_LABEL.into(), "true".into());
        let mut kept = old.clone();
        assert!(validate_update(&old, &kept).is_ok());
        kept.metadata.labels.remove(LATEST_REVISION_LABEL);
        assert_eq!(
            err_text(validate_update(&old, &kept)),
            "PackageRevision.porch.kpt.dev \"n\" is invalid: metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be modified by users"
        );
        let plain = pr("n", "Draft");
        let mut added = plain.clone();
        added
            .metadata
            .labels
            .insert(LATEST_REVISION_LABEL.into(), "false".into());
        assert!(validate_update(&plain, &added).is_err());
    }

    #[test]
    fn prepare_and_canonicalize() {
        let mut old = pr("n", "Draft");
        let mut md = PackageMetadata::default();
        md.labels.insert("a".into(), "b".into());
        old.spec.package_metadata = Some(md.clone());
        let mut new = pr("n", "");
        prepare_for_update(&old, &mut new);
        assert_eq!(new.spec.package_metadata, Some(md));
        let mut explicit = pr("n", "");
        explicit.spec.package_metadata = Some(PackageMetadata::default());
        prepare_for_update(&old, &mut explicit);
        assert_eq!(
            explicit.spec.package_metadata,
            Some(PackageMetadata::default())
        );
        canonicalize(&mut new);
        assert_eq!(new.spec.lifecycle, "Draft");
    }
}
