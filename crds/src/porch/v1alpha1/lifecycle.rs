//! The lifecycle of a package revision.

use crate::string_enum::string_enum;

string_enum! {
    /// `spec.lifecycle`. An empty value decodes as `Draft` (the server canonicalizes `""` to
    /// `Draft`); unknown values are kept so validation can name them.
    pub enum PackageRevisionLifecycle {
        /// Editable; revision 0.
        Draft = "Draft" | "",
        /// Awaiting approval; revision 0.
        Proposed = "Proposed",
        /// Approved and immutable; revision ≥ 1 (or -1 for the placeholder).
        Published = "Published",
        /// Published, and proposed for deletion.
        DeletionProposed = "DeletionProposed",
    }
    default = Draft;
}

impl PackageRevisionLifecycle {
    /// Published or DeletionProposed: the revision is final and has a revision number.
    pub fn is_published(&self) -> bool {
        matches!(self, Self::Published | Self::DeletionProposed)
    }

    /// Draft or Proposed: the revision still lives on a draft branch.
    pub fn is_draft_or_proposed(&self) -> bool {
        matches!(self, Self::Draft | Self::Proposed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_draft_and_unknown_is_kept() {
        let l: PackageRevisionLifecycle = serde_json::from_str(r#""""#).unwrap();
        assert_eq!(l, PackageRevisionLifecycle::Draft);
        let l: PackageRevisionLifecycle = serde_json::from_str(r#""Final""#).unwrap();
        assert_eq!(l, PackageRevisionLifecycle::Other("Final".into()));
        assert_eq!(l.to_string(), "Final");
        assert!(PackageRevisionLifecycle::DeletionProposed.is_published());
        assert!(PackageRevisionLifecycle::Proposed.is_draft_or_proposed());
        assert_eq!(PackageRevisionLifecycle::default().as_str(), "Draft");
    }
}
