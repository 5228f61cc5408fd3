//! The PackageRev controller: keeps derived state true across the revisions of a package
//! (the latest marker, the placeholder), restores the internal label, and removes the
//! PackageRevs of repositories that no longer exist (repair after a partial failure, e.g. a
//! Repository whose finalizer was removed by hand).

pub mod repair;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, ResourceExt};
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_crds::labels::{INTERNAL_REPOSITORY_LABEL, LATEST_REVISION_LABEL, LATEST_REVISION_VALUE};
use serde_json::json;
use tracing::{info, warn};

use crate::context::Context;
use crate::error::{Error, is_already_exists, is_not_found};

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "packagerev";
/// The default [`PackageRevContext::settle_delay`].
pub const SETTLE_DELAY: Duration = Duration::from_secs(3);
/// The field manager of the PackageRev controller's writes.
pub const FIELD_MANAGER: &str = "packagerev-controller";

/// What the PackageRev reconciler reads besides its object.
pub struct PackageRevContext {
    pub ctx: Arc<Context>,
    /// Every Repository (to tell an orphan from a live one).
    pub repositories: Store<Repository>,
    /// Every PackageRev (to see a package's other revisions).
    pub package_revs: Store<PackageRev>,
    /// How long a package's latest marker must stay wrong before it is repaired: a sync or an
    /// API server write in flight usually fixes it first (debounce, so the two writers do not
    /// flip the marker back and forth mid-sync).
    pub settle_delay: Duration,
    /// Packages seen with a wrong marker once, awaiting their settle delay.
    pub unsettled: Mutex<HashSet<String>>,
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    }
}

fn repository_name(p: &PackageRev) -> String {
    p.labels()
        .get(INTERNAL_REPOSITORY_LABEL)
        .cloned()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| p.spec.repository.clone())
}

/// Whether repository `name` exists: the store answers "yes" cheaply; a "no" is confirmed by
/// the API before anything is deleted (the store may lag a just-created Repository).
async fn repository(
    pctx: &PackageRevContext,
    ns: &str,
    name: &str,
) -> Result<Option<Arc<Repository>>, Error> {
    if let Some(r) = pctx.repositories.get(&ObjectRef::new(name).within(ns)) {
        return Ok(Some(r));
    }
    let api: Api<Repository> = Api::namespaced(pctx.ctx.client.clone(), ns);
    match api.get_opt(name).await? {
        Some(r) => Ok(Some(Arc::new(r))),
        None => Ok(None),
    }
}

/// Reconcile one PackageRev.
pub async fn reconcile(
    obj: Arc<PackageRev>,
    pctx: Arc<PackageRevContext>,
) -> Result<Action, Error> {
    let ctx = &pctx.ctx;
    ctx.metrics.reconciled(CONTROLLER);
    let name = obj.name_any();
    let ns = obj
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(name.clone()))?;
    let api: Api<PackageRev> = Api::namespaced(ctx.client.clone(), &ns);
    let repo_name = repository_name(&obj);

    let Some(repo) = repository(&pctx, &ns, &repo_name).await? else {
        // Orphan: its repository is gone and nothing else will ever clean it up.
        if obj.finalizers().iter().len() > 0 {
            let clear = Patch::Merge(json!({"metadata": {"finalizers": null}}));
            match api.patch(&name, &params(), &clear).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => return Ok(Action::await_change()),
                Err(e) => return Err(e.into()),
            }
        }
        if obj.metadata.deletion_timestamp.is_none() {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        ctx.metrics.wrote(CONTROLLER, "delete", 1);
        info!(packagerev = %name, repository = %repo_name, "removed orphaned PackageRev");
        return Ok(Action::await_change());
    };
    if repo.metadata.deletion_timestamp.is_some() {
        // The repository controller is removing everything.
        return Ok(Action::await_change());
    }

    if !obj.labels().contains_key(INTERNAL_REPOSITORY_LABEL) && !repo_name.is_empty() {
        let patch =
            Patch::Merge(json!({"metadata": {"labels": {INTERNAL_REPOSITORY_LABEL: repo_name}}}));
        api.patch(&name, &params(), &patch).await?;
        ctx.metrics.wrote(CONTROLLER, "update", 1);
    }

    let all = pctx.package_revs.state();
    let group = repair::package_group(&all, &obj);
    let fixes = repair::latest_fixes(&group);
    let package_key = format!("{ns}/{}/{}", obj.spec.repository, obj.spec.package_name);
    {
        let mut unsettled = pctx.unsettled.lock().unwrap_or_else(|e| e.into_inner());
        if fixes.is_empty() {
            unsettled.remove(&package_key);
        } else if unsettled.insert(package_key.clone()) {
            // First sighting: look again after the settle delay.
            return Ok(Action::requeue(pctx.settle_delay));
        } else {
            unsettled.remove(&package_key);
        }
    }
    for (member, latest) in fixes {
        let value = if latest {
            json!(LATEST_REVISION_VALUE)
        } else {
            json!(null)
        };
        let patch = Patch::Merge(json!({"metadata": {"labels": {LATEST_REVISION_LABEL: value}}}));
        match api.patch(&member, &params(), &patch).await {
            Ok(_) => ctx.metrics.wrote(CONTROLLER, "update", 1),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(placeholder) = repair::missing_placeholder(&group, &repo) {
        let pp = PostParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PostParams::default()
        };
        let pname = placeholder.name_any();
        match api.create(&pp, &placeholder).await {
            Ok(_) => {
                ctx.metrics.wrote(CONTROLLER, "create", 1);
                if let Some(status) = &placeholder.status {
                    let patch = Patch::Merge(json!({ "status": status }));
                    api.patch_status(&pname, &params(), &patch).await?;
                }
            }
            Err(e) if is_already_exists(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    ctx.api_succeeded(&name);
    Ok(Action::await_change())
}

/// Requeue after a failed reconcile: exponential from 5 s, capped at 5 min.
pub fn error_policy(obj: Arc<PackageRev>, err: &Error, pctx: Arc<PackageRevContext>) -> Action {
    pctx.ctx.metrics.failed(CONTROLLER, err.category());
    let failures = pctx.ctx.api_failed(&obj.name_any());
    warn!(packagerev = %obj.name_any(), error = %err, failures, "reconcile failed");
    Action::requeue(crate::repository::api_backoff(failures))
}

/// Watch every PackageRev into a reflector and share it with `ctx`, for callers that
/// reconcile Repositories without the PackageRev controller (which shares its own): benches
/// and tests. Returns once the reflector has listed; the watch runs as a task of the runtime.
pub async fn share_a_reflector(ctx: &Context) {
    let (reader, writer) = reflector::store();
    let api: Api<PackageRev> = Api::all(ctx.client.clone());
    tokio::spawn(
        reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .touched_objects()
            .for_each(|_| async {}),
    );
    if reader.wait_until_ready().await.is_ok() {
        ctx.share_package_revs(Some(reader));
    }
}

/// Run the PackageRev controller until `shutdown` resolves.
pub async fn run_controller(
    ctx: Arc<Context>,
    concurrency: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let (repositories, writer) = reflector::store();
    let repo_watch = reflector(
        writer,
        watcher(
            Api::<Repository>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .touched_objects()
    .for_each(|_| async {});
    let controller = Controller::new(Api::<PackageRev>::all(client), watcher::Config::default())
        .with_config(ControllerConfig::default().concurrency(concurrency));
    let package_revs = controller.store();
    ctx.share_package_revs(Some(package_revs.clone()));
    let sharing = ctx.clone();
    let own_store = package_revs.clone();
    let pctx = Arc::new(PackageRevContext {
        ctx,
        repositories: repositories.clone(),
        package_revs,
        settle_delay: SETTLE_DELAY,
        unsettled: Mutex::new(HashSet::new()),
    });
    let shutdown = shutdown.boxed().shared();
    let run = async move {
        // Orphan detection needs the Repository list first.
        tokio::select! {
            _ = tokio::time::timeout(Duration::from_secs(60), repositories.wait_until_ready()) => {}
            () = shutdown.clone() => return,
        }
        let run = controller
            .graceful_shutdown_on(shutdown.clone())
            .run(reconcile, error_policy, pctx)
            .for_each(|result| async move {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "packagerev controller event");
                }
            });
        tokio::select! {
            () = run => {}
            () = crate::run::grace_expired(shutdown, own_store) => {}
        }
    };
    tokio::select! {
        () = run => {}
        () = repo_watch => {}
    }
    sharing.share_package_revs(None);
}
