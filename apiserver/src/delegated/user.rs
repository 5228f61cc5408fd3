//! The authenticated caller as delegated authentication sees it.

use std::collections::BTreeMap;

/// Every authenticated user is in this group (kube's `AuthenticatedGroupAdder`).
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";

/// A user with everything SubjectAccessReview needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthenticatedUser {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl AuthenticatedUser {
    /// Add `system:authenticated` unless present, as kube-apiserver does for every
    /// authenticated (non-anonymous) user.
    pub fn with_authenticated_group(mut self) -> Self {
        if !self.groups.iter().any(|g| g == AUTHENTICATED_GROUP) {
            self.groups.push(AUTHENTICATED_GROUP.to_string());
        }
        self
    }

    /// The handlers' view of the caller.
    pub fn to_user_info(&self) -> crate::aggregated::UserInfo {
        crate::aggregated::UserInfo {
            name: self.name.clone(),
            groups: self.groups.clone(),
        }
    }
}
