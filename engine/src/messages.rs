//! Exact upstream error texts (porch-api.md §1.3, §1.8-§1.14; porch-behaviour.md §1), each built
//! into the `EngineError` kind the API returns. Porch scripts and porchctl users match on these
//! strings, so they are reproduced verbatim; `%q` in upstream is rendered with `go_quote`.

use crate::error::{
    EngineError, FieldError, PACKAGE_REVISION_RESOURCES, PACKAGE_REVISIONS, REPOSITORIES, go_quote,
};
use crate::model::LATEST_REVISION_LABEL;

// ---- REST-layer checks (400/404/410) ----

pub fn namespace_required() -> EngineError {
    EngineError::BadRequest("namespace must be specified".into())
}

pub fn repository_name_required() -> EngineError {
    EngineError::BadRequest("spec.repositoryName is required".into())
}

/// Server-side apply of a missing object with an empty `spec.repository`.
pub fn invalid_repository_name(repo: &str) -> EngineError {
    EngineError::BadRequest(format!("invalid repositoryName {}", go_quote(repo)))
}

pub fn repository_not_found(repo: &str) -> EngineError {
    EngineError::not_found(REPOSITORIES, repo)
}

pub fn package_revision_not_found(name: &str) -> EngineError {
    EngineError::not_found(PACKAGE_REVISIONS, name)
}

pub fn package_revision_resources_not_found(name: &str) -> EngineError {
    EngineError::not_found(PACKAGE_REVISION_RESOURCES, name)
}

pub fn managed_by_v1alpha2(repo: &str) -> EngineError {
    EngineError::Gone(format!(
        "repository {} is managed by v1alpha2; use the v1alpha2 API",
        go_quote(repo)
    ))
}

// ---- strategy field errors (422) ----

pub const LIFECYCLE_PATH: &str = "spec.lifecycle";

pub fn latest_label_path() -> String {
    format!("metadata.labels.{LATEST_REVISION_LABEL}")
}

pub fn latest_label_set_on_create() -> FieldError {
    FieldError::forbidden(
        &latest_label_path(),
        "label is managed by porch and cannot be set by users",
    )
}

pub fn latest_label_modified() -> FieldError {
    FieldError::forbidden(
        &latest_label_path(),
        "label is managed by porch and cannot be modified by users",
    )
}

pub fn create_lifecycle_not_draft(lifecycle: &str) -> FieldError {
    FieldError::invalid(
        LIFECYCLE_PATH,
        lifecycle,
        "value can be only created as Draft",
    )
}

pub fn update_lifecycle_unknown(lifecycle: &str) -> FieldError {
    FieldError::invalid(
        LIFECYCLE_PATH,
        lifecycle,
        "value can be only updated to Draft,Proposed,Published,DeletionProposed",
    )
}

pub fn update_lifecycle_not_draft_or_proposed(lifecycle: &str) -> FieldError {
    FieldError::invalid(
        LIFECYCLE_PATH,
        lifecycle,
        "value can be only updated to Draft,Proposed",
    )
}

/// The spec of a Published/DeletionProposed revision changed apart from its lifecycle.
/// `rendered_spec` is the value Kubernetes prints (upstream prints the Go struct).
pub fn published_spec_changed(rendered_spec: &str) -> FieldError {
    FieldError::invalid_raw(
        "spec",
        rendered_spec,
        "spec can only update package with lifecycle value one of Draft,Proposed",
    )
}

pub fn update_from_unknown_lifecycle(old_lifecycle: &str) -> FieldError {
    FieldError::invalid(
        LIFECYCLE_PATH,
        old_lifecycle,
        "can only update package with lifecycle value one of Draft,Proposed,Published,DeletionProposed",
    )
}

// Approval table (§1.13).
pub const APPROVAL_PUBLISHED_ONLY_TO_DELETION: &str =
    "package with Published lifecycle value can only be updated to 'ProposeDeletion'";
pub const APPROVAL_DELETION_PROPOSED_ONLY_TO_PUBLISHED: &str =
    "package with DeletionProposed lifecycle value can only be updated to 'Published'";
pub const APPROVAL_DRAFT: &str =
    "cannot approve package with Draft lifecycle value; only Proposed packages can be approved";
pub const APPROVAL_DELETION_NEEDS_PUBLISHED: &str = "cannot update lifecycle DeletionProposed; only Published packages require approval for deletion";
pub const APPROVAL_BAD_TARGET: &str = "value for approval can be only one of Draft,Published";

pub fn approval_error(new_lifecycle: &str, detail: &str) -> FieldError {
    FieldError::invalid(LIFECYCLE_PATH, new_lifecycle, detail)
}

// ---- concurrency (409) ----

pub fn create_in_progress(namespace: &str, repo: &str, package: &str, ws: &str) -> EngineError {
    EngineError::conflict(
        PACKAGE_REVISIONS,
        "(new creation)",
        format!(
            "another request is already in progress to create package revision with details namespace={}, repository={}, package={},workspace={}",
            go_quote(namespace),
            go_quote(repo),
            go_quote(package),
            go_quote(ws)
        ),
    )
}

pub fn update_in_progress(namespace: &str, name: &str) -> EngineError {
    EngineError::conflict(
        PACKAGE_REVISIONS,
        name,
        format!(
            "another request is already in progress on package revision \"{namespace}/{name}\""
        ),
    )
}

pub fn resources_update_in_progress(namespace: &str, name: &str) -> EngineError {
    EngineError::conflict(
        PACKAGE_REVISION_RESOURCES,
        name,
        format!(
            "another request is already in progress on package revision resources \"{namespace}/{name}\""
        ),
    )
}

pub const OBJECT_MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

pub fn object_modified(resource: &str, name: &str) -> EngineError {
    EngineError::conflict(resource, name, OBJECT_MODIFIED)
}

pub fn resource_version_required() -> EngineError {
    EngineError::internal("resourceVersion must be specified for an update")
}

// ---- create (500) ----

pub fn too_many_tasks() -> EngineError {
    EngineError::internal("task list must not contain more than one task")
}

pub fn task_type_not_supported(task_type: &str) -> EngineError {
    EngineError::internal(format!(
        "task of type {} not supported",
        go_quote(task_type)
    ))
}

/// `init`, `clone` and `edit` say "<x> not set"; `upgrade` says "upgrade field not set" (sic).
pub fn task_spec_missing(task_type: &str) -> EngineError {
    let what = match task_type {
        "upgrade" => "upgrade field",
        other => other,
    };
    EngineError::internal(format!(
        "{what} not set for task of type {}",
        go_quote(task_type)
    ))
}

pub fn create_final_lifecycle() -> EngineError {
    EngineError::internal("cannot create a package revision with lifecycle value 'Final'")
}

pub fn unsupported_lifecycle(lifecycle: &str) -> EngineError {
    EngineError::internal(format!("unsupported lifecycle value: {lifecycle}"))
}

/// Name validation failures on create are wrapped like this.
pub fn create_failed(inner: &str) -> EngineError {
    EngineError::internal(format!("failed to create packagerevision: {inner}"))
}

pub fn workspace_not_unique(existing_name: &str, repo: &str, ws: &str) -> EngineError {
    EngineError::internal(format!(
        "package revision workspaceNames must be unique; package revision with name {existing_name} in repo {repo} with workspaceName {ws} already exists"
    ))
}

pub fn clone_of_existing_package(package: &str, repo: &str) -> EngineError {
    EngineError::internal(format!(
        "`clone` cannot create a new revision for package {} that already exists in repo {}; make subsequent revisions using `copy`",
        go_quote(package),
        go_quote(repo)
    ))
}

pub fn package_already_exists(package: &str, repo: &str) -> EngineError {
    EngineError::internal(format!(
        "package {} already exists in repository {}",
        go_quote(package),
        go_quote(repo)
    ))
}

pub fn packages_nested(new_path: &str, existing: &str) -> EngineError {
    EngineError::internal(format!(
        "package path {} conflicts with existing package {}: packages cannot be nested",
        go_quote(new_path),
        go_quote(existing)
    ))
}

pub fn upgrade_source_not_published(name: &str) -> EngineError {
    EngineError::internal(format!(
        "all source PackageRevisions of upgrade task must be published, {} is not",
        go_quote(name)
    ))
}

pub fn copy_source_not_published() -> EngineError {
    EngineError::internal("source revision must be published")
}

pub fn copy_source_other_package(repo: &str, package: &str) -> EngineError {
    EngineError::internal(format!(
        "source revision must be from same package {repo}/{package}"
    ))
}

pub fn clone_from_oci() -> EngineError {
    EngineError::internal("clone from OCI is not implemented")
}

pub fn clone_upstream_is_placeholder(namespace: &str, name: &str) -> EngineError {
    EngineError::internal(format!(
        "upstream revision may not be the placeholder package revision {namespace}/{name}"
    ))
}

pub fn copy_source_is_placeholder(namespace: &str, name: &str) -> EngineError {
    EngineError::internal(format!(
        "source revision may not be the placeholder package revision {namespace}/{name}"
    ))
}

pub fn upgrade_target_is_placeholder(namespace: &str, name: &str) -> EngineError {
    EngineError::internal(format!(
        "target upstream revision may not be the placeholder package revision {namespace}/{name}"
    ))
}

/// A task names a package revision that does not exist.
pub fn referenced_revision_not_found(name: &str) -> EngineError {
    EngineError::internal(format!("cannot find package revision {}", go_quote(name)))
}

// ---- update (500) ----

pub fn draft_render_failed(details: &str) -> EngineError {
    EngineError::internal(format!(
        "Error rendering package in kpt function pipeline. Package NOT pushed to remote. Fix locally (until 'kpt fn render' succeeds) and retry. Details: {details}"
    ))
}

pub fn block_owner_deletion(details: &str) -> EngineError {
    EngineError::internal(format!(
        "failed to update internal PackageRev object, because blockOwnerDeletion is enabled for some ownerReference (it is likely that the serviceaccount of porch-server does not have the rights to update finalizers in the owner object): {details}"
    ))
}

// ---- delete (403) ----

pub fn delete_published(name: &str) -> EngineError {
    EngineError::forbidden(
        PACKAGE_REVISIONS,
        name,
        "published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion",
    )
}

pub fn delete_referenced_upstream(name: &str, referenced_by: &str) -> EngineError {
    EngineError::forbidden(
        PACKAGE_REVISIONS,
        name,
        format!("cannot delete package revision, it is referenced as upstream by: {referenced_by}"),
    )
}

// ---- PRR update (500) ----

pub fn resources_not_draft(lifecycle: &str) -> EngineError {
    EngineError::internal(format!(
        "cannot update a package revision with lifecycle value {}; package must be Draft",
        go_quote(lifecycle)
    ))
}

pub fn kptfile_missing() -> EngineError {
    EngineError::internal("package must contain Kptfile at root")
}

pub fn resources_render_failed_not_pushed(details: &str) -> EngineError {
    EngineError::internal(format!(
        "error rendering package in kpt function pipeline. Package NOT pushed to remote. Fix locally (until 'kpt fn render' succeeds) and retry. Details: {details}"
    ))
}

pub fn resources_render_failed_pushed(details: &str) -> EngineError {
    EngineError::internal(format!(
        "error rendering package in kpt function pipeline. Package pushed to remote despite render failure. Details: {details}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: EngineError) -> String {
        e.to_string()
    }

    #[test]
    fn rest_layer_messages() {
        let cases = [
            (namespace_required(), 400, "namespace must be specified"),
            (
                repository_name_required(),
                400,
                "spec.repositoryName is required",
            ),
            (
                invalid_repository_name(""),
                400,
                "invalid repositoryName \"\"",
            ),
            (
                repository_not_found("blue"),
                404,
                "repositories.config.porch.kpt.dev \"blue\" not found",
            ),
            (
                managed_by_v1alpha2("blue"),
                410,
                "repository \"blue\" is managed by v1alpha2; use the v1alpha2 API",
            ),
        ];
        for (e, code, msg) in cases {
            assert_eq!(e.http_status(), code);
            assert_eq!(text(e), msg);
        }
    }

    #[test]
    fn conflict_messages() {
        assert_eq!(
            text(create_in_progress("ns", "repo", "pkg", "ws")),
            "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev \"(new creation)\": another request is already in progress to create package revision with details namespace=\"ns\", repository=\"repo\", package=\"pkg\",workspace=\"ws\""
        );
        assert_eq!(
            text(update_in_progress("ns", "r.p.ws")),
            "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev \"r.p.ws\": another request is already in progress on package revision \"ns/r.p.ws\""
        );
        assert_eq!(
            text(resources_update_in_progress("ns", "r.p.ws")),
            "Operation cannot be fulfilled on packagerevisionresources.porch.kpt.dev \"r.p.ws\": another request is already in progress on package revision resources \"ns/r.p.ws\""
        );
        assert_eq!(
            text(object_modified(PACKAGE_REVISIONS, "r.p.ws")),
            "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev \"r.p.ws\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_eq!(
            text(object_modified(PACKAGE_REVISION_RESOURCES, "r.p.ws")),
            "Operation cannot be fulfilled on packagerevisionresources.porch.kpt.dev \"r.p.ws\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_eq!(
            text(resource_version_required()),
            "Internal error occurred: resourceVersion must be specified for an update"
        );
    }

    #[test]
    fn create_messages() {
        let cases = [
            (
                too_many_tasks(),
                "task list must not contain more than one task",
            ),
            (
                task_type_not_supported("render"),
                "task of type \"render\" not supported",
            ),
            (
                task_spec_missing("init"),
                "init not set for task of type \"init\"",
            ),
            (
                task_spec_missing("clone"),
                "clone not set for task of type \"clone\"",
            ),
            (
                task_spec_missing("edit"),
                "edit not set for task of type \"edit\"",
            ),
            (
                task_spec_missing("upgrade"),
                "upgrade field not set for task of type \"upgrade\"",
            ),
            (
                create_final_lifecycle(),
                "cannot create a package revision with lifecycle value 'Final'",
            ),
            (
                unsupported_lifecycle("Weird"),
                "unsupported lifecycle value: Weird",
            ),
            (
                workspace_not_unique("r.p.ws", "r", "ws"),
                "package revision workspaceNames must be unique; package revision with name r.p.ws in repo r with workspaceName ws already exists",
            ),
            (
                clone_of_existing_package("p", "r"),
                "`clone` cannot create a new revision for package \"p\" that already exists in repo \"r\"; make subsequent revisions using `copy`",
            ),
            (
                package_already_exists("p", "r"),
                "package \"p\" already exists in repository \"r\"",
            ),
            (
                packages_nested("a/b", "a"),
                "package path \"a/b\" conflicts with existing package \"a\": packages cannot be nested",
            ),
            (
                upgrade_source_not_published("r.p.ws"),
                "all source PackageRevisions of upgrade task must be published, \"r.p.ws\" is not",
            ),
            (
                copy_source_not_published(),
                "source revision must be published",
            ),
            (
                copy_source_other_package("r", "p"),
                "source revision must be from same package r/p",
            ),
            (clone_from_oci(), "clone from OCI is not implemented"),
            (
                clone_upstream_is_placeholder("ns", "r.p.main"),
                "upstream revision may not be the placeholder package revision ns/r.p.main",
            ),
            (
                copy_source_is_placeholder("ns", "r.p.main"),
                "source revision may not be the placeholder package revision ns/r.p.main",
            ),
            (
                upgrade_target_is_placeholder("ns", "r.p.main"),
                "target upstream revision may not be the placeholder package revision ns/r.p.main",
            ),
        ];
        for (e, msg) in cases {
            assert_eq!(e.http_status(), 500);
            assert_eq!(text(e), format!("Internal error occurred: {msg}"));
        }
    }

    #[test]
    fn field_messages() {
        assert_eq!(
            latest_label_set_on_create().to_string(),
            "metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be set by users"
        );
        assert_eq!(
            latest_label_modified().to_string(),
            "metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be modified by users"
        );
        assert_eq!(
            create_lifecycle_not_draft("Proposed").to_string(),
            "spec.lifecycle: Invalid value: \"Proposed\": value can be only created as Draft"
        );
        assert_eq!(
            update_lifecycle_not_draft_or_proposed("Published").to_string(),
            "spec.lifecycle: Invalid value: \"Published\": value can be only updated to Draft,Proposed"
        );
    }

    #[test]
    fn delete_and_render_messages() {
        assert_eq!(
            text(delete_published("r.p.v1")),
            "packagerevisions.porch.kpt.dev \"r.p.v1\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion"
        );
        assert_eq!(
            text(delete_referenced_upstream("r.p.v1", "d.q.ws")),
            "packagerevisions.porch.kpt.dev \"r.p.v1\" is forbidden: cannot delete package revision, it is referenced as upstream by: d.q.ws"
        );
        assert_eq!(
            text(draft_render_failed("boom")),
            "Internal error occurred: Error rendering package in kpt function pipeline. Package NOT pushed to remote. Fix locally (until 'kpt fn render' succeeds) and retry. Details: boom"
        );
        assert_eq!(
            text(resources_render_failed_not_pushed("boom")),
            "Internal error occurred: error rendering package in kpt function pipeline. Package NOT pushed to remote. Fix locally (until 'kpt fn render' succeeds) and retry. Details: boom"
        );
        assert_eq!(
            text(resources_render_failed_pushed("boom")),
            "Internal error occurred: error rendering package in kpt function pipeline. Package pushed to remote despite render failure. Details: boom"
        );
        assert_eq!(
            text(resources_not_draft("Proposed")),
            "Internal error occurred: cannot update a package revision with lifecycle value \"Proposed\"; package must be Draft"
        );
        assert_eq!(
            text(kptfile_missing()),
            "Internal error occurred: package must contain Kptfile at root"
        );
        assert!(text(block_owner_deletion("x")).ends_with("in the owner object): x"));
    }
}
