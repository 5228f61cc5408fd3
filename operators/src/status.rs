//! Repository status (`spec/porch-api.md` §3.1, `spec/porch-behaviour.md` §2.4): what it
//! should say after each event, so the controller writes it only when it changes.
//!
//! Unlike upstream, the `Ready` condition keeps its `lastTransitionTime` while its status,
//! reason and message stay the same (Kubernetes condition semantics; upstream rewrites it on
//! every write), which is what lets a quiet reconcile write nothing.
//!
//! Also unlike upstream, a full sync that changes nothing (no PackageRev written, same head,
//! count, generation, condition) writes no status either, so 100 idle repositories cost no
//! writes per period. `lastFullSyncTime` is therefore the last full sync that *changed*
//! something (the cache has matched git since then; quieter syncs are kept in the
//! controller's memory and in its metrics and logs), and `nextFullSyncTime` is the next sync
//! as scheduled at that write. A status that is always written when something changes, and
//! only then, is what the issue asks for; upstream's refresh of both times on every sync is
//! one write per repository per period for no new information.

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
        /// The sync created, updated or deleted PackageRevs.
        revisions_changed: bool,
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
            ..
        } => {
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
    next.next_full_sync_time = scheduled_next(view, &next, settings);
    if let StatusEvent::Synced {
        revisions_changed, ..
    } = event
        && (*revisions_changed || next.last_full_sync_time.is_none() || next != *current)
    {
        next.last_full_sync_time = Some(Time(now));
        next.next_full_sync_time = scheduled_next(view, &next, settings);
    }
    next
}

/// `nextFullSyncTime` as scheduled from `status.lastFullSyncTime`.
fn scheduled_next(
    view: &RepoView,
    status: &RepositoryStatus,
    settings: &SyncSettings,
) -> Option<Time> {
    let scheduling_view = RepoView {
        last_full_sync: status.last_full_sync_time.as_ref().map(|t| t.0),
        ..view.clone()
    };
    next_full_sync(&scheduling_view, settings).map(|t| Time(to_seconds(t)))
}

/// Whether writing `next` over `current` changes anything.
pub fn status_changed(current: &RepositoryStatus, next: &RepositoryStatus) -> bool {
    current != next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::ReadyState;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn view() -> RepoView {
        RepoView {
            deleting: false,
            generation: 1,
            schedule: None,
            run_once_at: None,
            observed_generation: 1,
            observed_run_once_at: None,
            last_full_sync: Some(ts("2026-03-01T10:00:00Z")),
            ready: ReadyState::Ready,
        }
    }

    fn synced(at: &str) -> RepositoryStatus {
        next_status(
            &RepoView {
                last_full_sync: None,
                ..view()
            },
            &RepositoryStatus::default(),
            &StatusEvent::Synced {
                head_commit: "abc".into(),
                package_count: 3,
                revisions_changed: true,
            },
            &SyncSettings::default(),
            ts(at),
        )
    }

    fn event(changed: bool, head: &str) -> StatusEvent {
        StatusEvent::Synced {
            head_commit: head.into(),
            package_count: 3,
            revisions_changed: changed,
        }
    }

    #[test]
    fn first_sync_records_times() {
        let s = synced("2026-03-01T10:00:00Z");
        assert_eq!(
            s.last_full_sync_time,
            Some(Time(ts("2026-03-01T10:00:00Z")))
        );
        assert_eq!(
            s.next_full_sync_time,
            Some(Time(ts("2026-03-01T11:00:00Z")))
        );
        assert_eq!(s.conditions[0].reason, REASON_READY);
    }

    #[test]
    fn a_sync_that_changes_nothing_leaves_the_status_alone() {
        let current = synced("2026-03-01T10:00:00Z");
        let settings = SyncSettings::default();
        let now = ts("2026-03-01T11:00:05Z");
        let next = next_status(&view(), &current, &event(false, "abc"), &settings, now);
        assert!(!status_changed(&current, &next), "{next:?}");
    }

    #[test]
    fn any_change_moves_the_sync_times() {
        let current = synced("2026-03-01T10:00:00Z");
        let settings = SyncSettings::default();
        let now = ts("2026-03-01T11:00:05Z");
        let at = |s: &RepositoryStatus| s.last_full_sync_time.clone().map(|t| t.0);
        // PackageRevs written.
        let next = next_status(&view(), &current, &event(true, "abc"), &settings, now);
        assert_eq!(at(&next), Some(ts("2026-03-01T11:00:05Z")));
        assert_eq!(
            next.next_full_sync_time,
            Some(Time(ts("2026-03-01T12:00:05Z")))
        );
        // A new head commit only.
        let next = next_status(&view(), &current, &event(false, "def"), &settings, now);
        assert_eq!(next.git_commit_hash, "def");
        assert_eq!(at(&next), Some(ts("2026-03-01T11:00:05Z")));
        // Recovery from an error.
        let failed = next_status(
            &view(),
            &current,
            &StatusEvent::Failed("connection refused".into()),
            &settings,
            now,
        );
        assert_eq!(at(&failed), at(&current), "a failure is no sync");
        let next = next_status(&view(), &failed, &event(false, "abc"), &settings, now);
        assert_eq!(next.conditions[0].status, "True");
        assert_eq!(at(&next), Some(ts("2026-03-01T11:00:05Z")));
    }
}
