//! The sync decision, fed with Repository views.

use std::time::Duration;

use jiff::Timestamp;

use crate::decision::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2026-03-01T12:00:00Z";

fn synced_view() -> RepoView {
    RepoView {
        deleting: false,
        generation: 3,
        schedule: None,
        run_once_at: None,
        observed_generation: 3,
        observed_run_once_at: None,
        last_full_sync: Some(ts("2026-03-01T11:30:00Z")),
        ready: ReadyState::Ready,
    }
}

fn warm_memory() -> RepoMemory {
    RepoMemory {
        last_attempt: Some(ts("2026-03-01T11:58:00Z")),
        last_contact: Some(ts("2026-03-01T11:58:00Z")),
        consecutive_failures: 0,
        last_version: None,
        ..RepoMemory::default()
    }
}

fn decide_now(view: &RepoView, memory: &RepoMemory) -> SyncDecision {
    decide(view, memory, &SyncSettings::default(), ts(NOW))
}

#[test]
fn deletion_comes_first() {
    let view = RepoView {
        deleting: true,
        generation: 9,
        ..synced_view()
    };
    assert_eq!(
        decide_now(&view, &RepoMemory::default()).action,
        SyncAction::Cleanup
    );
}

#[test]
fn cold_start_syncs_once() {
    let d = decide_now(&synced_view(), &RepoMemory::default());
    assert_eq!(d.action, SyncAction::FullSync(SyncReason::ColdStart));
}

#[test]
fn quiet_repository_waits_for_the_health_check() {
    let d = decide_now(&synced_view(), &warm_memory());
    assert_eq!(d.action, SyncAction::Wait);
    // Last contact 11:58 + 5 min health check = 12:03, before the 12:30 full sync.
    assert_eq!(d.requeue_after, Duration::from_secs(180));
}

#[test]
fn health_check_then_full_sync_by_period() {
    let mut memory = warm_memory();
    memory.last_contact = Some(ts("2026-03-01T11:50:00Z"));
    assert_eq!(
        decide_now(&synced_view(), &memory).action,
        SyncAction::HealthCheck
    );

    let mut view = synced_view();
    view.last_full_sync = Some(ts("2026-03-01T11:00:00Z"));
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::FullSync(SyncReason::Periodic)
    );
    view.last_full_sync = None;
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::FullSync(SyncReason::Periodic)
    );
}

#[test]
fn cron_schedule_drives_full_syncs() {
    let mut view = synced_view();
    view.schedule = Some("*/20 * * * *".into());
    // Last sync 11:30 -> next 11:40, already past.
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::FullSync(SyncReason::Scheduled)
    );
    // Last sync 11:59 -> next 12:00, which is now: due.
    view.last_full_sync = Some(ts("2026-03-01T11:59:00Z"));
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::FullSync(SyncReason::Scheduled)
    );
    view.last_full_sync = Some(ts("2026-03-01T12:00:00Z"));
    let d = decide_now(&view, &warm_memory());
    assert_eq!(d.action, SyncAction::Wait);
    // Next cron 12:20 vs health check 12:03.
    assert_eq!(d.requeue_after, Duration::from_secs(180));
    // A schedule firing before the health check sets the requeue.
    view.schedule = Some("*/2 * * * *".into());
    assert_eq!(
        decide_now(&view, &warm_memory()).requeue_after,
        Duration::from_secs(120)
    );
}

#[test]
fn invalid_cron_falls_back_to_the_period() {
    let mut view = synced_view();
    view.schedule = Some("every tuesday".into());
    assert_eq!(
        next_full_sync(&view, &SyncSettings::default()),
        Some(ts("2026-03-01T12:30:00Z"))
    );
    view.last_full_sync = Some(ts("2026-03-01T10:59:00Z"));
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::FullSync(SyncReason::Periodic)
    );
}

#[test]
fn run_once_at_in_the_past_syncs_and_future_waits() {
    let mut view = synced_view();
    view.run_once_at = Some(ts("2026-03-01T11:59:00Z"));
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::FullSync(SyncReason::RunOnce)
    );
    // Already honoured.
    view.observed_run_once_at = view.run_once_at;
    assert_eq!(decide_now(&view, &warm_memory()).action, SyncAction::Wait);
    // In the future: wait exactly until then (before the health check).
    view.run_once_at = Some(ts("2026-03-01T12:01:00Z"));
    let d = decide_now(&view, &warm_memory());
    assert_eq!(d.action, SyncAction::Wait);
    assert_eq!(d.requeue_after, Duration::from_secs(60));
}

#[test]
fn generation_change_syncs_unless_only_a_future_run_once() {
    let mut view = synced_view();
    view.generation = 4;
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::FullSync(SyncReason::SpecChanged)
    );
    view.run_once_at = Some(ts("2026-03-01T13:00:00Z"));
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::ObserveGeneration
    );
}

#[test]
fn errors_back_off_by_text_and_count() {
    let settings = SyncSettings::default();
    assert_eq!(
        retry_interval("dial tcp: connection refused"),
        Duration::from_secs(30)
    );
    assert_eq!(
        retry_interval("Authentication failed"),
        Duration::from_secs(600)
    );
    assert_eq!(
        retry_interval("branch \"x\" not found"),
        Duration::from_secs(120)
    );
    assert_eq!(retry_interval("i/o timeout"), Duration::from_secs(60));
    assert_eq!(
        retry_interval("x509: certificate"),
        Duration::from_secs(300)
    );
    assert_eq!(retry_interval("boom"), Duration::from_secs(30));
    assert_eq!(
        error_backoff("connection refused", 1, &settings),
        Duration::from_secs(30)
    );
    assert_eq!(
        error_backoff("connection refused", 3, &settings),
        Duration::from_secs(120)
    );
    assert_eq!(
        error_backoff("connection refused", 30, &settings),
        Duration::from_secs(600)
    );
    assert_eq!(
        error_backoff("authentication", 5, &settings),
        Duration::from_secs(600)
    );
}

#[test]
fn error_waits_for_its_backoff_then_retries() {
    let mut view = synced_view();
    view.ready = ReadyState::Error("connection refused".into());
    let memory = RepoMemory {
        last_attempt: Some(ts("2026-03-01T11:59:50Z")),
        last_contact: Some(ts("2026-03-01T11:00:00Z")),
        consecutive_failures: 2,
        last_version: None,
        ..RepoMemory::default()
    };
    // 2 failures: 60 s from 11:59:50 -> 12:00:50.
    let d = decide_now(&view, &memory);
    assert_eq!(d.action, SyncAction::Wait);
    assert_eq!(d.requeue_after, Duration::from_secs(50));
    // A due runOnceAt does not bypass the backoff...
    view.run_once_at = Some(ts("2026-03-01T11:59:55Z"));
    assert_eq!(decide_now(&view, &memory).action, SyncAction::Wait);
    // ...but a spec change does (it may be the fix).
    let mut changed = view.clone();
    changed.generation = 4;
    assert_eq!(
        decide_now(&changed, &memory).action,
        SyncAction::FullSync(SyncReason::SpecChanged)
    );
    let later = decide(
        &view,
        &memory,
        &SyncSettings::default(),
        ts("2026-03-01T12:01:00Z"),
    );
    assert_eq!(later.action, SyncAction::FullSync(SyncReason::RunOnce));
    view.run_once_at = None;
    let later = decide(
        &view,
        &memory,
        &SyncSettings::default(),
        ts("2026-03-01T12:01:00Z"),
    );
    assert_eq!(
        later.action,
        SyncAction::FullSync(SyncReason::RetryAfterError)
    );
}

#[test]
fn stale_reconciling_is_not_waited_for() {
    let mut view = synced_view();
    view.ready = ReadyState::Reconciling;
    view.last_full_sync = None;
    assert_eq!(
        decide_now(&view, &warm_memory()).action,
        SyncAction::FullSync(SyncReason::Periodic)
    );
}

#[test]
fn a_quiet_sync_kept_in_memory_defers_the_next_one() {
    // The status says 10:00 (nothing changed since), memory says 11:45.
    let mut view = synced_view();
    view.last_full_sync = Some(ts("2026-03-01T10:00:00Z"));
    let mut memory = warm_memory();
    assert_eq!(
        decide_now(&view, &memory).action,
        SyncAction::FullSync(SyncReason::Periodic)
    );
    memory.last_full_sync = Some(ts("2026-03-01T11:45:00Z"));
    let d = decide_now(&view, &memory);
    assert_eq!(d.action, SyncAction::Wait);
    // Next: the health check at 12:03 (contact at 11:58 + 5 min), before the sync at 12:45.
    assert_eq!(d.requeue_after, Duration::from_secs(180));
    memory.last_contact = None;
    assert_eq!(
        decide_now(&view, &memory).action,
        SyncAction::HealthCheck,
        "no contact remembered: check"
    );
}

#[test]
fn own_writes_not_yet_seen_do_not_resync() {
    // The controller cleared runOnceAt (generation 3 -> 4) and wrote observedGeneration 4,
    // but this reconcile still sees the status of generation 3.
    let mut view = synced_view();
    view.generation = 4;
    view.run_once_at = Some(ts("2026-03-01T11:59:00Z"));
    let mut memory = warm_memory();
    assert_eq!(
        decide_now(&view, &memory).action,
        SyncAction::FullSync(SyncReason::SpecChanged)
    );
    memory.observed_generation = Some(4);
    memory.observed_run_once_at = Some(ts("2026-03-01T11:59:00Z"));
    assert_eq!(decide_now(&view, &memory).action, SyncAction::Wait);
    // A newer runOnceAt is a new request.
    view.run_once_at = Some(ts("2026-03-01T11:59:30Z"));
    assert_eq!(
        decide_now(&view, &memory).action,
        SyncAction::FullSync(SyncReason::RunOnce)
    );
}
