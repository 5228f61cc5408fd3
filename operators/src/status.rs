//! Repository status (`spec/porch-api.md` §3.1, `spec/porch-behaviour.md` §2.4): what it
//! should say after each event, so the controller writes it only when it changes.
//!
//! Unlike upstream, the `Ready` condition keeps its `lastTransitionTime` while its status,
//! reason and message stay the same (Kubernetes condition semantics; upstream rewrites it on
//! every write), which is what lets a quiet reconcile write nothing.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use porch_crds::config::v1alpha1::{
    REASON_ERROR, REASON_READY, REASON_RECONCILING, REPOSITORY_READY_CONDITION, RepositoryStatus,
};

use crate::decision::{RepoView, SyncSettings, next_full_sync};

/// `Ready` message when the repository is ready.
pub const MESSAGE_READY: &str = "Repository Ready";
/// `Ready` message while a sync runs.
pub const MESSAGE_RECONCILING: &str = "Repository reconciliation in progress";
/// `Ready` message of an error without text.
pub const MESSAGE_UNKNOWN_ERROR: &str = "unknown error";

/// What just happened to the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusEvent {
    /// A full sync starts.
    SyncStarted,
    /// A full sync succeeded.
    Synced {
        head_commit: String,
        package_count: i64,
    },
    /// A health check succeeded.
    HealthOk,
    /// A sync or check failed; the message names the URL without credentials.
    Failed(String),
    /// Only the generation is to be recorded (a future `runOnceAt` was set).
    GenerationObserved,
}

/// Truncate to whole seconds, the precision Kubernetes stores times at.
pub fn to_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

fn ready_condition(
    previous: Option<&Condition>,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Condition {
    let unchanged =
        previous.is_some_and(|p| p.status == status && p.reason == reason && p.message == message);
    let last_transition_time = match previous {
        Some(p) if unchanged => p.last_transition_time.clone(),
        _ => Time(to_seconds(now)),
    };
    Condition {
        type_: REPOSITORY_READY_CONDITION.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time,
        observed_generation: None,
    }
}

/// The status the Repository should have after `event`.
pub fn next_status(
    view: &RepoView,
    current: &RepositoryStatus,
    event: &StatusEvent,
    settings: &SyncSettings,
    now: Timestamp,
) -> RepositoryStatus {
    let now = to_seconds(now);
    let previous = current
        .conditions
        .iter()
        .find(|c| c.type_ == REPOSITORY_READY_CONDITION);
    let mut next = current.clone();
    let ready =
        |status, reason, message: &str| ready_condition(previous, status, reason, message, now);
    let condition = match event {
        StatusEvent::SyncStarted => Some(ready("False", REASON_RECONCILING, MESSAGE_RECONCILING)),
        StatusEvent::Synced {
            head_commit,
            package_count,
        } => {
            next.last_full_sync_time = Some(Time(now));
            next.observed_generation = view.generation;
            if let Some(at) = view.run_once_at.filter(|at| *at <= now) {
                next.observed_run_once_at = Some(Time(at));
            }
            next.package_count = *package_count;
            next.git_commit_hash = head_commit.clone();
            Some(ready("True", REASON_READY, MESSAGE_READY))
        }
        StatusEvent::HealthOk => Some(ready("True", REASON_READY, MESSAGE_READY)),
        StatusEvent::Failed(message) => {
            next.observed_generation = view.generation;
            let message = if message.is_empty() {
                MESSAGE_UNKNOWN_ERROR
            } else {
                message.as_str()
            };
            Some(ready("False", REASON_ERROR, message))
        }
        StatusEvent::GenerationObserved => {
            next.observed_generation = view.generation;
            None
        }
    };
    if let Some(condition) = condition {
        next.conditions
            .retain(|c| c.type_ != REPOSITORY_READY_CONDITION);
        next.conditions.push(condition);
    }
    let scheduling_view = RepoView {
        last_full_sync: next.last_full_sync_time.as_ref().map(|t| t.0),
        ..view.clone()
    };
    next.next_full_sync_time =
        next_full_sync(&scheduling_view, settings).map(|t| Time(to_seconds(t)));
    next
}

/// Whether writing `next` over `current` changes anything.
pub fn status_changed(current: &RepositoryStatus, next: &RepositoryStatus) -> bool {
    current != next
}
