//! The `packagerevisions/{name}/approval` subresource strategy (porch-api.md §1.13, the table).
//! It is the only way to reach Published; it skips the latest-label and spec-equality checks.

use crate::error::{EngineError, FieldError};
use crate::lifecycle::into_result;
use crate::messages::{self, approval_error};
use crate::model::{Lifecycle, PackageRevision};

/// Every field error the approval strategy reports for `old -> new` (raw lifecycle strings; `""`
/// means Draft), in a fixed order.
pub fn approval_errors(old: &str, new: &str) -> Vec<FieldError> {
    let old_lc = if old.is_empty() {
        Some(Lifecycle::Draft)
    } else {
        Lifecycle::parse(old)
    };
    let new_lc = Lifecycle::parse(new);
    let mut errs = Vec::new();
    match old_lc {
        None => errs.push(messages::update_from_unknown_lifecycle(old)),
        Some(Lifecycle::Draft) => errs.push(approval_error(new, messages::APPROVAL_DRAFT)),
        Some(Lifecycle::Published) if new_lc != Some(Lifecycle::DeletionProposed) => {
            errs.push(approval_error(
                new,
                messages::APPROVAL_PUBLISHED_ONLY_TO_DELETION,
            ));
        }
        Some(Lifecycle::DeletionProposed) if new_lc != Some(Lifecycle::Published) => {
            errs.push(approval_error(
                new,
                messages::APPROVAL_DELETION_PROPOSED_ONLY_TO_PUBLISHED,
            ));
        }
        Some(_) => {}
    }
    if new_lc == Some(Lifecycle::DeletionProposed) && old_lc != Some(Lifecycle::Published) {
        errs.push(approval_error(
            new,
            messages::APPROVAL_DELETION_NEEDS_PUBLISHED,
        ));
    }
    if !matches!(
        new_lc,
        Some(Lifecycle::Draft | Lifecycle::Published | Lifecycle::DeletionProposed)
    ) {
        errs.push(approval_error(new, messages::APPROVAL_BAD_TARGET));
    }
    errs
}

/// The approval strategy as a 422 result.
pub fn validate_approval(old: &PackageRevision, new: &PackageRevision) -> Result<(), EngineError> {
    into_result(
        &new.metadata.name,
        approval_errors(&old.spec.lifecycle, &new.spec.lifecycle),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "PackageRevision.porch.kpt.dev \"n\" is invalid: ";

    fn check(old: &str, new: &str) -> Result<(), String> {
        let mut o = PackageRevision::default();
        o.spec.lifecycle = old.into();
        let mut n = PackageRevision::default();
        n.metadata.name = "n".into();
        n.spec.lifecycle = new.into();
        validate_approval(&o, &n).map_err(|e| e.to_string())
    }

    #[test]
    fn allowed_transitions() {
        for (old, new) in [
            ("Proposed", "Published"),
            ("Proposed", "Draft"),
            ("Published", "DeletionProposed"),
            ("DeletionProposed", "Published"),
        ] {
            assert_eq!(check(old, new), Ok(()), "{old}->{new}");
        }
    }

    #[test]
    fn rejected_transitions_have_exact_messages() {
        let one =
            |new: &str, d: &str| format!("{PREFIX}spec.lifecycle: Invalid value: \"{new}\": {d}");
        let cases: Vec<(&str, &str, String)> = vec![
            (
                "Published",
                "Draft",
                one(
                    "Draft",
                    "package with Published lifecycle value can only be updated to 'ProposeDeletion'",
                ),
            ),
            (
                "Published",
                "Published",
                one(
                    "Published",
                    "package with Published lifecycle value can only be updated to 'ProposeDeletion'",
                ),
            ),
            (
                "DeletionProposed",
                "Draft",
                one(
                    "Draft",
                    "package with DeletionProposed lifecycle value can only be updated to 'Published'",
                ),
            ),
            (
                "Draft",
                "Published",
                one(
                    "Published",
                    "cannot approve package with Draft lifecycle value; only Proposed packages can be approved",
                ),
            ),
            (
                "",
                "Draft",
                one(
                    "Draft",
                    "cannot approve package with Draft lifecycle value; only Proposed packages can be approved",
                ),
            ),
            (
                "Proposed",
                "DeletionProposed",
                one(
                    "DeletionProposed",
                    "cannot update lifecycle DeletionProposed; only Published packages require approval for deletion",
                ),
            ),
            (
                "Proposed",
                "Proposed",
                one(
                    "Proposed",
                    "value for approval can be only one of Draft,Published",
                ),
            ),
            (
                "Draft",
                "DeletionProposed",
                format!(
                    "{PREFIX}[spec.lifecycle: Invalid value: \"DeletionProposed\": cannot approve package with Draft lifecycle value; only Proposed packages can be approved, spec.lifecycle: Invalid value: \"DeletionProposed\": cannot update lifecycle DeletionProposed; only Published packages require approval for deletion]"
                ),
            ),
        ];
        for (old, new, want) in cases {
            assert_eq!(check(old, new), Err(want), "{old}->{new}");
        }
    }
}
