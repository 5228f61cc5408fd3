//! What a Repository reconcile should do now, and when to look again
//! (`spec/porch-behaviour.md` §2.2), as a pure function of the Repository, what this
//! controller remembers about it, the settings and the clock.
//!
//! Deliberate differences from upstream's `determineSyncDecision`:
//! - A "wait" decision writes nothing; upstream writes `Ready=True` unconditionally and so
//!   overwrites an `Error` that is not yet due for retry.
//! - Errors back off exponentially from the interval upstream picks by error text, measured
//!   from this controller's last attempt (kept in memory) rather than from the condition's
//!   `lastTransitionTime`; a repository that never synced since start is therefore not
//!   re-synced on every reconcile.
//! - A retry after an error is a full sync (the fetch is the connectivity check).
//! - `observedGeneration` is recorded even when the sync fails, so a spec change triggers one
//!   sync, not one per reconcile.
//! - A `Reconciling` condition found at decision time is stale (syncs run inside the
//!   reconcile here, and kube-runtime never runs two reconciles of one object at once), so
//!   upstream's "sync in progress" rule has nothing to wait for.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use porch_crds::config::v1alpha1::{
    REASON_ERROR, REASON_READY, REASON_RECONCILING, REPOSITORY_READY_CONDITION, Repository,
};

use crate::schedule::Schedule;

/// Controller-wide timing settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// Full sync period when the Repository has no `spec.sync.schedule` (upstream
    /// `--repositories.full-sync-frequency`, 1 h).
    pub full_sync_frequency: Duration,
    /// Connectivity check period between full syncs (upstream
    /// `--repositories.health-check-frequency`, 5 min).
    pub health_check_frequency: Duration,
    /// Upper bound of the exponential error backoff (never below the interval chosen by
    /// the error text).
    pub max_error_backoff: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            full_sync_frequency: Duration::from_secs(3600),
            health_check_frequency: Duration::from_secs(300),
            max_error_backoff: Duration::from_secs(600),
        }
    }
}

/// The shortest requeue: a computed time in the past still waits this long.
pub const MIN_REQUEUE: Duration = Duration::from_secs(1);

/// What this controller process remembers about one Repository between reconciles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoMemory {
    /// When the last sync or health check started (success or not).
    pub last_attempt: Option<Timestamp>,
    /// When the repository last answered (a successful sync or health check).
    pub last_contact: Option<Timestamp>,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// The remote refs' version at the last full sync ([`crate::source::FetchedRepository::version`]).
    pub last_version: Option<String>,
    /// When the last successful full sync finished. A sync that changes nothing writes no
    /// status, so `status.lastFullSyncTime` may be older: scheduling uses the later of the two.
    pub last_full_sync: Option<Timestamp>,
    /// The generation the last successful sync (or generation record) covered; guards
    /// against a reconcile that sees the object before its own status write arrives.
    pub observed_generation: Option<i64>,
    /// The `runOnceAt` the last successful sync honoured (same guard).
    pub observed_run_once_at: Option<Timestamp>,
}

/// The state of the `Ready` condition as far as scheduling is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyState {
    /// No `Ready` condition yet.
    Unknown,
    /// `True/Ready`.
    Ready,
    /// `False/Reconciling`.
    Reconciling,
    /// `False/Error` with its message.
    Error(String),
}

/// The inputs of the decision taken from a Repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoView {
    pub deleting: bool,
    pub generation: i64,
    pub schedule: Option<String>,
    pub run_once_at: Option<Timestamp>,
    pub observed_generation: i64,
    pub observed_run_once_at: Option<Timestamp>,
    pub last_full_sync: Option<Timestamp>,
    pub ready: ReadyState,
}

impl RepoView {
    /// Read the decision inputs off a Repository.
    pub fn of(repo: &Repository) -> Self {
        let status = repo.status.clone().unwrap_or_default();
        let sync = repo.spec.sync.as_ref();
        let ready = status
            .conditions
            .iter()
            .find(|c| c.type_ == REPOSITORY_READY_CONDITION)
            .map(|c| match (c.status.as_str(), c.reason.as_str()) {
                ("True", _) => ReadyState::Ready,
                (_, r) if r == REASON_RECONCILING => ReadyState::Reconciling,
                (_, r) if r == REASON_ERROR => ReadyState::Error(c.message.clone()),
                (_, r) if r == REASON_READY => ReadyState::Ready,
                _ => ReadyState::Unknown,
            })
            .unwrap_or(ReadyState::Unknown);
        Self {
            deleting: repo.metadata.deletion_timestamp.is_some(),
            generation: repo.metadata.generation.unwrap_or_default(),
            schedule: sync
                .map(|s| s.schedule.trim().to_string())
                .filter(|s| !s.is_empty()),
            run_once_at: sync.and_then(|s| s.run_once_at.as_ref()).map(|t| t.0),
            observed_generation: status.observed_generation,
            observed_run_once_at: status.observed_run_once_at.map(|t| t.0),
            last_full_sync: status.last_full_sync_time.map(|t| t.0),
            ready,
        }
    }

    /// This view completed with what the controller remembers having done but not (yet, or
    /// ever) seen in the status: a later full sync, an observed generation or `runOnceAt`.
    pub fn remembering(&self, memory: &RepoMemory) -> Self {
        let mut view = self.clone();
        view.last_full_sync = view.last_full_sync.max(memory.last_full_sync);
        if memory.observed_generation == Some(view.generation) {
            view.observed_generation = view.generation;
        }
        if memory.observed_run_once_at.is_some() && memory.observed_run_once_at == view.run_once_at
        {
            view.observed_run_once_at = view.run_once_at;
        }
        view
    }

    /// `spec.sync.runOnceAt` is set and not yet honoured.
    fn pending_run_once(&self) -> Option<Timestamp> {
        self.run_once_at
            .filter(|at| Some(*at) != self.observed_run_once_at)
    }
}

/// Why a full sync runs (also a metrics/log label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncReason {
    /// First reconcile of the repository since this controller started.
    ColdStart,
    /// `metadata.generation` moved past `status.observedGeneration`.
    SpecChanged,
    /// `spec.sync.runOnceAt` is due.
    RunOnce,
    /// The last attempt failed and its backoff has elapsed.
    RetryAfterError,
    /// `spec.sync.schedule` fired.
    Scheduled,
    /// The default full-sync period elapsed (or the repository never synced).
    Periodic,
    /// A health check saw the remote refs change since the last sync.
    RemoteChanged,
}

impl SyncReason {
    /// A stable label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ColdStart => "cold_start",
            Self::SpecChanged => "spec_changed",
            Self::RunOnce => "run_once",
            Self::RetryAfterError => "retry",
            Self::Scheduled => "scheduled",
            Self::Periodic => "periodic",
            Self::RemoteChanged => "remote_changed",
        }
    }
}

/// The operation a reconcile performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncAction {
    /// The Repository is being deleted: remove its PackageRevs and the finalizer.
    Cleanup,
    /// Fetch the repository and apply the discovered revisions.
    FullSync(SyncReason),
    /// Check that the repository still answers, without applying anything.
    HealthCheck,
    /// Only `runOnceAt` moved to a future time: record the generation, sync later.
    ObserveGeneration,
    /// Nothing to do until `requeue_after`.
    Wait,
}

/// The decision and when to reconcile again if nothing else happens (for a sync or check
/// this is recomputed after the operation with [`next_wake`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncDecision {
    pub action: SyncAction,
    pub requeue_after: Duration,
}

/// Upstream's `determineRetryInterval`: the base retry interval picked from the error text
/// (lower-cased substring match, first hit wins).
pub fn retry_interval(message: &str) -> Duration {
    const TABLE: &[(&[&str], u64)] = &[
        (&["no such host", "connection refused"], 30),
        (
            &[
                "authentication",
                "permission denied",
                "failed to resolve credentials",
                "resolved credentials are invalid",
            ],
            600,
        ),
        (&["not found", "invalid", "branch"], 120),
        (&["timeout", "deadline exceeded"], 60),
        (&["certificate", "tls", "ssl"], 300),
        (&["rate limit", "too many requests"], 300),
    ];
    let lower = message.to_lowercase();
    TABLE
        .iter()
        .find(|(needles, _)| needles.iter().any(|n| lower.contains(n)))
        .map(|(_, secs)| Duration::from_secs(*secs))
        .unwrap_or(Duration::from_secs(30))
}

/// The wait before retrying after `failures` consecutive failures ending with `message`:
/// the text-chosen interval, doubled per further failure, capped at
/// `max(interval, settings.max_error_backoff)`.
pub fn error_backoff(message: &str, failures: u32, settings: &SyncSettings) -> Duration {
    let base = retry_interval(message);
    let cap = base.max(settings.max_error_backoff);
    let doublings = failures.saturating_sub(1).min(16);
    base.saturating_mul(1u32 << doublings).min(cap)
}

/// When the next full sync is due, from the last one: the cron schedule if it parses, else
/// the default period (upstream falls back the same way on an invalid cron). `None` means
/// "never synced", i.e. due now.
pub fn next_full_sync(view: &RepoView, settings: &SyncSettings) -> Option<Timestamp> {
    let last = view.last_full_sync?;
    if let Some(next) = view
        .schedule
        .as_deref()
        .and_then(|s| Schedule::parse(s).ok())
        .and_then(|s| s.next_after(last))
    {
        return Some(next);
    }
    Some(add(last, settings.full_sync_frequency))
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

fn until(now: Timestamp, at: Timestamp) -> Duration {
    let d = at.duration_since(now);
    Duration::try_from(d)
        .unwrap_or(Duration::ZERO)
        .max(MIN_REQUEUE)
}

fn is_error(view: &RepoView) -> Option<&str> {
    match &view.ready {
        ReadyState::Error(m) => Some(m.as_str()),
        _ => None,
    }
}

/// When the current error may be retried, if the repository is in error.
fn error_retry_at(
    view: &RepoView,
    memory: &RepoMemory,
    settings: &SyncSettings,
) -> Option<Timestamp> {
    let message = is_error(view)?;
    let last = memory.last_attempt?;
    Some(add(
        last,
        error_backoff(message, memory.consecutive_failures.max(1), settings),
    ))
}

/// The earliest time something becomes due, given no further change: the next full sync,
/// the next health check, a future `runOnceAt`, or the error retry.
pub fn next_wake(
    view: &RepoView,
    memory: &RepoMemory,
    settings: &SyncSettings,
    now: Timestamp,
) -> Duration {
    let view = &view.remembering(memory);
    if let Some(retry) = error_retry_at(view, memory, settings) {
        // While in error only the retry (or a user's change, which triggers by itself) matters.
        let mut at = retry;
        if let Some(run_once) = view.pending_run_once() {
            at = at.min(run_once.max(retry));
        }
        return until(now, at);
    }
    let mut at = next_full_sync(view, settings).unwrap_or(now);
    if let Some(contact) = memory.last_contact {
        at = at.min(add(contact, settings.health_check_frequency));
    }
    if let Some(run_once) = view.pending_run_once() {
        at = at.min(run_once);
    }
    until(now, at)
}

/// The decision order (see the module comment for where it differs from upstream), on the
/// view completed by [`RepoView::remembering`]:
/// deletion; cold start; generation change; error backoff; `runOnceAt`; error retry;
/// full sync due (never synced, cron schedule, default period); health check due; wait.
pub fn decide(
    view: &RepoView,
    memory: &RepoMemory,
    settings: &SyncSettings,
    now: Timestamp,
) -> SyncDecision {
    let view = &view.remembering(memory);
    let wake = |action| SyncDecision {
        action,
        requeue_after: next_wake(view, memory, settings, now),
    };
    if view.deleting {
        return SyncDecision {
            action: SyncAction::Cleanup,
            requeue_after: MIN_REQUEUE,
        };
    }
    if memory.last_attempt.is_none() {
        return wake(SyncAction::FullSync(SyncReason::ColdStart));
    }
    if view.generation != view.observed_generation {
        let future_run_once = view.pending_run_once().is_some_and(|at| at > now);
        return if future_run_once {
            wake(SyncAction::ObserveGeneration)
        } else {
            wake(SyncAction::FullSync(SyncReason::SpecChanged))
        };
    }
    if let Some(retry) = error_retry_at(view, memory, settings) {
        if now < retry {
            return wake(SyncAction::Wait);
        }
        if view.pending_run_once().is_some_and(|at| at <= now) {
            return wake(SyncAction::FullSync(SyncReason::RunOnce));
        }
        return wake(SyncAction::FullSync(SyncReason::RetryAfterError));
    }
    if view.pending_run_once().is_some_and(|at| at <= now) {
        return wake(SyncAction::FullSync(SyncReason::RunOnce));
    }
    match next_full_sync(view, settings) {
        None => return wake(SyncAction::FullSync(SyncReason::Periodic)),
        Some(at) if at <= now => {
            let scheduled = view
                .schedule
                .as_deref()
                .is_some_and(|s| Schedule::parse(s).is_ok());
            let reason = if scheduled {
                SyncReason::Scheduled
            } else {
                SyncReason::Periodic
            };
            return wake(SyncAction::FullSync(reason));
        }
        Some(_) => {}
    }
    let check_due = memory
        .last_contact
        .is_none_or(|c| add(c, settings.health_check_frequency) <= now);
    if check_due {
        return wake(SyncAction::HealthCheck);
    }
    wake(SyncAction::Wait)
}
