//! The Repository controller: syncs each Repository into PackageRevs (the CR cache) and keeps
//! its status true (`spec/porch-behaviour.md` §2).
//!
//! A reconcile: finalizer (`config.porch.kpt.dev/repository`) -> decision -> (for a full
//! sync) list the repository's PackageRevs, resolve credentials, fetch, plan, apply ->
//! status, written by server-side apply only when it changed.

pub mod apply;
pub mod credentials;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::watcher;
use kube::{Api, Resource, ResourceExt};
use porch_crds::config::v1alpha1::{PackageRev, Repository, RepositoryStatus};
use porch_crds::labels::REPOSITORY_FINALIZER;
use serde_json::json;
use tracing::{info, warn};

use crate::context::Context;
use crate::decision::{RepoView, SyncAction, SyncReason, decide, error_backoff, next_wake};
use crate::desired::{RepoContext, plan_from};
use crate::error::Error;
use crate::redact::{redact_message, redact_url};
use crate::source::{FetchedRepository, SourceError};
use crate::status::{StatusEvent, next_status, status_changed, to_seconds};

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "repository";

fn key(repo: &Repository) -> String {
    repo.uid().unwrap_or_else(|| {
        format!(
            "{}/{}",
            repo.namespace().unwrap_or_default(),
            repo.name_any()
        )
    })
}

fn repo_url(repo: &Repository) -> String {
    let url = repo
        .spec
        .git
        .as_ref()
        .map(|g| g.repo.clone())
        .or_else(|| repo.spec.oci.as_ref().map(|o| o.registry.clone()))
        .unwrap_or_default();
    redact_url(&url)
}

/// Write the status if it changed (server-side apply, field manager
/// `repository-controller`, forced, as upstream does).
async fn write_status(
    api: &Api<Repository>,
    repo: &Repository,
    next: &RepositoryStatus,
    ctx: &Context,
) -> Result<bool, Error> {
    let current = repo.status.clone().unwrap_or_default();
    if !status_changed(&current, next) {
        return Ok(false);
    }
    let body = json!({
        "apiVersion": Repository::api_version(&()),
        "kind": Repository::kind(&()),
        "status": next,
    });
    let pp = PatchParams::apply(apply::FIELD_MANAGER).force();
    api.patch_status(&repo.name_any(), &pp, &Patch::Apply(body))
        .await?;
    ctx.metrics.wrote(CONTROLLER, "status", 1);
    Ok(true)
}

/// The message a failed fetch leaves in the status: it names the repository URL, never a
/// credential.
fn failure_message(repo: &Repository, err: &SourceError) -> String {
    let raw_url = repo
        .spec
        .git
        .as_ref()
        .map(|g| g.repo.as_str())
        .or_else(|| repo.spec.oci.as_ref().map(|o| o.registry.as_str()))
        .unwrap_or_default();
    let text = redact_message(&err.to_string(), raw_url);
    let url = repo_url(repo);
    if url.is_empty() || text.contains(&url) {
        text
    } else {
        format!("repository {url}: {text}")
    }
}

async fn apply_repository(repo: Arc<Repository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = repo
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(repo.name_any()))?;
    let repos: Api<Repository> = Api::namespaced(ctx.client.clone(), &ns);
    let key = key(&repo);
    let view = RepoView::of(&repo);
    let memory = ctx.memory(&key);
    let decision = decide(&view, &memory, &ctx.settings, ctx.now());
    let current = repo.status.clone().unwrap_or_default();
    match decision.action {
        SyncAction::Cleanup | SyncAction::Wait => Ok(Action::requeue(decision.requeue_after)),
        SyncAction::ObserveGeneration => {
            let next = next_status(
                &view,
                &current,
                &StatusEvent::GenerationObserved,
                &ctx.settings,
                ctx.now(),
            );
            write_status(&repos, &repo, &next, &ctx).await?;
            Ok(Action::requeue(decision.requeue_after))
        }
        SyncAction::HealthCheck => {
            let started = ctx.now();
            let access =
                credentials::resolve_access(&ctx.client, &ns, &repo, ctx.use_user_ca_bundle)
                    .await?;
            let outcome = match access {
                Ok(access) => ctx.source.check(&repo, &access).await,
                Err(e) => Err(e),
            };
            // A cheap check that sees the remote refs moved (someone pushed) syncs now
            // rather than at the next period.
            if let Ok(Some(version)) = &outcome
                && memory.last_version.as_ref().is_some_and(|v| v != version)
            {
                return full_sync(&repo, &ctx, &view, SyncReason::RemoteChanged).await;
            }
            finish(
                &repos,
                &repo,
                &view,
                &key,
                started,
                outcome.map(|_| StatusEvent::HealthOk),
                &ctx,
            )
            .await
        }
        SyncAction::FullSync(reason) => full_sync(&repo, &ctx, &view, reason).await,
    }
}

/// Fetch the repository and make its PackageRevs match.
async fn full_sync(
    repo: &Repository,
    ctx: &Context,
    view: &RepoView,
    reason: SyncReason,
) -> Result<Action, Error> {
    let ns = repo
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(repo.name_any()))?;
    let name = repo.name_any();
    let repos: Api<Repository> = Api::namespaced(ctx.client.clone(), &ns);
    let key = key(repo);
    let current = repo.status.clone().unwrap_or_default();
    let _permit = ctx.sync_permits.acquire().await;
    let started = ctx.now();
    // Show progress on a first sync or after a spec change; a routine re-sync of a ready
    // repository stays quiet (no status write unless something changes).
    let mut written = None;
    if current.last_full_sync_time.is_none() || reason == SyncReason::SpecChanged {
        let next = next_status(
            view,
            &current,
            &StatusEvent::SyncStarted,
            &ctx.settings,
            started,
        );
        write_status(&repos, repo, &next, ctx).await?;
        written = Some(with_status(repo, next));
    }
    // What the server now holds: the final status is compared with (and transitions from)
    // the Reconciling condition just written.
    let repo = written.as_ref().unwrap_or(repo);
    let package_revs: Api<PackageRev> = Api::namespaced(ctx.client.clone(), &ns);
    // Read before fetching: a PackageRev the API server creates after this point is not in
    // `existing`, so it cannot be mistaken for a vanished revision.
    let phase = std::time::Instant::now();
    let existing = match ctx.package_rev_snapshot(&ns, &name) {
        Some(snapshot) => snapshot,
        None => apply::list_package_revs(&package_revs, &name)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect(),
    };
    let list_ms = phase.elapsed().as_millis();
    let phase = std::time::Instant::now();
    let access =
        credentials::resolve_access(&ctx.client, &ns, repo, ctx.use_user_ca_bundle).await?;
    let fetched = match access {
        Ok(access) => ctx.source.fetch(repo, &access).await,
        Err(e) => Err(e),
    };
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => return finish(&repos, repo, view, &key, started, Err(e), ctx).await,
    };
    let fetch_ms = phase.elapsed().as_millis();
    let phase = std::time::Instant::now();
    let repo_ctx = RepoContext {
        namespace: &ns,
        name: &name,
        deployment: repo.spec.deployment,
    };
    // The plan takes the fetched revisions over and then holds what the writes need: let the
    // snapshot go before the writes too (a first sync of thousands would otherwise hold every
    // revision twice at its peak).
    let FetchedRepository {
        head_commit,
        version,
        revisions,
    } = fetched;
    let discovered = revisions.len();
    let planned = plan_from(
        repo_ctx,
        revisions.into_iter().map(Cow::Owned),
        existing.iter().map(AsRef::as_ref),
    );
    for s in &planned.skipped {
        warn!(repository = %name, package = %s.package_path, workspace = %s.workspace_name, reason = %s.reason, "skipping package revision");
    }
    let plan_ms = phase.elapsed().as_millis();
    let package_count =
        i64::try_from(discovered.saturating_sub(planned.skipped.len())).unwrap_or(i64::MAX);
    drop(existing);
    let phase = std::time::Instant::now();
    let unchanged = planned.unchanged;
    let applied = apply::apply_plan(&package_revs, &name, planned, ctx.write_concurrency).await?;
    let apply_ms = phase.elapsed().as_millis();
    ctx.metrics.wrote(CONTROLLER, "create", applied.created);
    ctx.metrics.wrote(CONTROLLER, "update", applied.updated);
    ctx.metrics.wrote(CONTROLLER, "delete", applied.deleted);
    ctx.metrics
        .wrote(CONTROLLER, "packagerev_status", applied.status_writes);
    info!(repository = %name, reason = reason.as_str(), created = applied.created, updated = applied.updated, deleted = applied.deleted, unchanged, list_ms, fetch_ms, plan_ms, apply_ms, "synced");
    ctx.remember(&key, |m| m.last_version = version);
    // A honoured runOnceAt is cleared (as upstream does) and recorded in
    // status.observedRunOnceAt; the status then observes the generation the clearing made.
    let mut view = view.clone();
    if view.run_once_at.is_some_and(|at| at <= to_seconds(started))
        && let Some(generation) = clear_run_once(&repos, repo).await?
    {
        view.generation = generation;
    }
    let event = StatusEvent::Synced {
        head_commit,
        package_count,
        revisions_changed: applied.wrote(),
    };
    finish(&repos, repo, &view, &key, started, Ok(event), ctx).await
}

/// Remove `spec.sync.runOnceAt`, guarded by the generation this reconcile read, so a spec
/// change made meanwhile is never lost (it fails the guard and syncs on its own reconcile).
/// Returns the generation after the removal, `None` when the guard failed.
async fn clear_run_once(api: &Api<Repository>, repo: &Repository) -> Result<Option<i64>, Error> {
    let Some(generation) = repo.metadata.generation else {
        return Ok(None);
    };
    let ops = json!([
        {"op": "test", "path": "/metadata/generation", "value": generation},
        {"op": "remove", "path": "/spec/sync/runOnceAt"}
    ]);
    let patch = Patch::Json::<()>(serde_json::from_value(ops)?);
    let pp = PatchParams {
        field_manager: Some(apply::FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    match api.patch(&repo.name_any(), &pp, &patch).await {
        Ok(updated) => Ok(updated.metadata.generation),
        Err(kube::Error::Api(s)) if s.code == 422 || s.is_conflict() || s.is_not_found() => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Record the outcome of a sync ([`StatusEvent::Synced`]) or check
/// ([`StatusEvent::HealthOk`]) in memory and status, and choose the requeue.
async fn finish(
    repos: &Api<Repository>,
    repo: &Repository,
    view: &RepoView,
    key: &str,
    started: jiff::Timestamp,
    outcome: Result<StatusEvent, SourceError>,
    ctx: &Context,
) -> Result<Action, Error> {
    let current = repo.status.clone().unwrap_or_default();
    let now = ctx.now();
    match outcome {
        Ok(event) => {
            let synced = matches!(event, StatusEvent::Synced { .. });
            ctx.remember(key, |m| {
                m.last_attempt = Some(started);
                m.last_contact = Some(now);
                m.consecutive_failures = 0;
                if synced {
                    m.last_full_sync = Some(to_seconds(now));
                    m.observed_generation = Some(view.generation);
                    if let Some(at) = view.run_once_at.filter(|at| *at <= to_seconds(now)) {
                        m.observed_run_once_at = Some(at);
                    }
                }
            });
            let next = next_status(view, &current, &event, &ctx.settings, now);
            write_status(repos, repo, &next, ctx).await?;
            let after = RepoView::of(&with_status(repo, next));
            Ok(Action::requeue(next_wake(
                &after,
                &ctx.memory(key),
                &ctx.settings,
                to_seconds(now),
            )))
        }
        Err(err) => {
            ctx.metrics.failed(CONTROLLER, err.category());
            let message = failure_message(repo, &err);
            warn!(repository = %repo.name_any(), error = %message, "repository unavailable");
            let mut failures = 0;
            ctx.remember(key, |m| {
                m.last_attempt = Some(started);
                m.consecutive_failures = m.consecutive_failures.saturating_add(1);
                failures = m.consecutive_failures;
            });
            let next = next_status(
                view,
                &current,
                &StatusEvent::Failed(message.clone()),
                &ctx.settings,
                now,
            );
            write_status(repos, repo, &next, ctx).await?;
            Ok(Action::requeue(error_backoff(
                &message,
                failures,
                &ctx.settings,
            )))
        }
    }
}

fn with_status(repo: &Repository, status: RepositoryStatus) -> Repository {
    let mut r = repo.clone();
    r.status = Some(status);
    r
}

async fn cleanup_repository(repo: Arc<Repository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = repo
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(repo.name_any()))?;
    let package_revs: Api<PackageRev> = Api::namespaced(ctx.client.clone(), &ns);
    let deleted = apply::delete_all(&package_revs, &repo.name_any()).await?;
    ctx.metrics.wrote(CONTROLLER, "delete", deleted);
    ctx.source.release(&repo).await;
    ctx.forget(&key(&repo));
    info!(repository = %repo.name_any(), deleted, "repository unregistered");
    Ok(Action::await_change())
}

/// Reconcile one Repository.
pub async fn reconcile(repo: Arc<Repository>, ctx: Arc<Context>) -> Result<Action, Error> {
    ctx.metrics.reconciled(CONTROLLER);
    let ns = repo
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(repo.name_any()))?;
    let api: Api<Repository> = Api::namespaced(ctx.client.clone(), &ns);
    let key = key(&repo);
    let result = finalizer(&api, REPOSITORY_FINALIZER, repo, |event| async {
        match event {
            FinalizerEvent::Apply(r) => apply_repository(r, ctx.clone()).await,
            FinalizerEvent::Cleanup(r) => cleanup_repository(r, ctx.clone()).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    if result.is_ok() {
        ctx.api_succeeded(&key);
    }
    result
}

/// Requeue after a failed reconcile: exponential from 5 s, capped at 5 min.
pub fn error_policy(repo: Arc<Repository>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failed(CONTROLLER, err.category());
    let failures = ctx.api_failed(&key(&repo));
    warn!(repository = %repo.name_any(), error = %err, failures, "reconcile failed");
    Action::requeue(api_backoff(failures))
}

/// The requeue after `failures` consecutive API failures.
pub fn api_backoff(failures: u32) -> Duration {
    let secs = 5u64.saturating_mul(1 << failures.saturating_sub(1).min(6));
    Duration::from_secs(secs.min(300))
}

/// Run the Repository controller until `shutdown` resolves; `concurrency` bounds the
/// reconciles in flight (full syncs are further bounded by the context's permits).
pub async fn run_controller(
    ctx: Arc<Context>,
    concurrency: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<Repository> = Api::all(ctx.client.clone());
    let controller = Controller::new(api, watcher::Config::default())
        .with_config(ControllerConfig::default().concurrency(concurrency));
    let store = controller.store();
    let shutdown = shutdown.boxed().shared();
    let run = controller
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "repository controller event");
            }
        });
    tokio::select! {
        () = run => {}
        () = crate::run::grace_expired(shutdown, store) => {}
    }
}
