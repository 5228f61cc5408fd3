//! Execute a [`Plan`] against the Kubernetes API: create, patch and delete PackageRevs.

use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use porch_crds::config::v1alpha1::{PackageRev, PackageRevStatus};
use porch_crds::labels::{INTERNAL_PACKAGE_REVISION_FINALIZER, INTERNAL_REPOSITORY_LABEL};
use serde_json::{Value, json};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use crate::desired::{
    PackageRevDelete, PackageRevUpdate, Plan, metadata_and_spec_patch, remove_finalizer_ops,
    same_spec,
};
use crate::error::{Error, is_already_exists, is_conflict, is_not_found};

/// The field manager of every write of the repository controller.
pub const FIELD_MANAGER: &str = "repository-controller";

/// How many writes a plan took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub created: u64,
    pub updated: u64,
    pub deleted: u64,
    pub status_writes: u64,
}

fn json_patch(ops: Vec<Value>) -> Result<Patch<Value>, Error> {
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops))?;
    Ok(Patch::Json(patch))
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    }
}

/// The PackageRevs of repository `repo` (by the internal label).
pub async fn list_package_revs(
    api: &Api<PackageRev>,
    repo: &str,
) -> Result<Vec<PackageRev>, Error> {
    let lp = ListParams::default().labels(&format!("{INTERNAL_REPOSITORY_LABEL}={repo}"));
    Ok(api.list(&lp).await?.items)
}

async fn write_status(
    api: &Api<PackageRev>,
    name: &str,
    status: &PackageRevStatus,
) -> Result<(), Error> {
    let patch = json_patch(vec![
        json!({"op": "add", "path": "/status", "value": status}),
    ])?;
    api.patch_status(name, &params(), &patch).await?;
    Ok(())
}

/// Apply the plan of repository `repo`: deletes, then creates (highest revision first), then
/// updates, each phase with at most `concurrency` writes in flight (the API server commits
/// concurrent writes together, so a first sync of thousands of revisions is not thousands
/// of sequential round trips and fsyncs, while the bound keeps it from storming the server).
/// With `concurrency` 1 the request order is deterministic. Marker changes are idempotent
/// merge patches, so this controller and the PackageRev controller converge on the same
/// labels whatever order they act in.
pub async fn apply_plan(
    api: &Api<PackageRev>,
    repo: &str,
    plan: Plan,
    concurrency: usize,
) -> Result<Applied, Error> {
    let n = concurrency.max(1);
    let mut applied = Applied::default();
    applied.add(
        run_bounded(
            plan.deletes
                .into_iter()
                .map(|d| apply_delete(api, d).boxed()),
            n,
        )
        .await?,
    );
    // Each create owns its object, so the plan's memory goes as the writes complete.
    applied.add(
        run_bounded(
            plan.creates
                .into_iter()
                .map(|obj| apply_create(api, repo, obj).boxed()),
            n,
        )
        .await?,
    );
    applied.add(
        run_bounded(
            plan.updates
                .into_iter()
                .map(|u| apply_update(api, u).boxed()),
            n,
        )
        .await?,
    );
    Ok(applied)
}

impl Applied {
    fn add(&mut self, other: Applied) {
        self.created += other.created;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.status_writes += other.status_writes;
    }

    /// Whether anything was written.
    pub fn wrote(&self) -> bool {
        self.created + self.updated + self.deleted + self.status_writes > 0
    }
}

/// Run `ops` with at most `n` in flight (in order when `n` is 1); stop at the first error.
/// A write's future is made only when it is started: a first sync of thousands of revisions
/// would otherwise hold every one of them (several KiB each) from the start.
async fn run_bounded<'a>(
    ops: impl Iterator<Item = BoxFuture<'a, Result<Applied, Error>>> + Send,
    n: usize,
) -> Result<Applied, Error> {
    let mut results = futures::stream::iter(ops).buffer_unordered(n);
    let mut total = Applied::default();
    while let Some(r) = results.next().await {
        total.add(r?);
    }
    Ok(total)
}

async fn apply_delete(api: &Api<PackageRev>, delete: PackageRevDelete) -> Result<Applied, Error> {
    let delete = &delete;
    let mut applied = Applied::default();
    let finalizers = if delete.terminating {
        delete.finalizers.clone()
    } else {
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: delete.resource_version.clone(),
                uid: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&delete.name, &dp).await {
            Ok(either) => {
                applied.deleted += 1;
                match either.left() {
                    Some(obj) => obj.metadata.finalizers.unwrap_or_default(),
                    None => return Ok(applied),
                }
            }
            // Gone already, or rewritten since the listing: the next sync decides.
            Err(e) if is_not_found(&e) || is_conflict(&e) => return Ok(applied),
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(ops) = remove_finalizer_ops(&finalizers, INTERNAL_PACKAGE_REVISION_FINALIZER) {
        match api.patch(&delete.name, &params(), &json_patch(ops)?).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(applied)
}

async fn apply_create(
    api: &Api<PackageRev>,
    repo: &str,
    obj: PackageRev,
) -> Result<Applied, Error> {
    let mut applied = Applied::default();
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PostParams::default()
    };
    let name = obj.metadata.name.clone().unwrap_or_default();
    // The API server drops a create's status (the status subresource is on): do not send it.
    let desired_status = obj.status.unwrap_or_default();
    let obj = PackageRev {
        metadata: obj.metadata,
        spec: obj.spec,
        status: None,
    };
    match api.create(&pp, &obj).await {
        Ok(created) => {
            applied.created += 1;
            // With the status subresource on, the API server drops status on create.
            if created.status.clone().unwrap_or_default() != desired_status {
                write_status(api, &name, &desired_status).await?;
                applied.status_writes += 1;
            }
        }
        Err(e) if is_already_exists(&e) => {
            // Created meanwhile (by the API server, say): adopt it.
            let current = api.get(&name).await?;
            let latest = obj
                .metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key(porch_crds::labels::LATEST_REVISION_LABEL));
            let spec = (!same_spec(&current.spec, &obj.spec)).then_some(&obj.spec);
            if let Some(patch) = metadata_and_spec_patch(repo, &current, spec, latest) {
                api.patch(&name, &params(), &Patch::Merge(patch)).await?;
                applied.updated += 1;
            }
            if current.status.clone().unwrap_or_default() != desired_status {
                write_status(api, &name, &desired_status).await?;
                applied.status_writes += 1;
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(applied)
}

async fn apply_update(api: &Api<PackageRev>, update: PackageRevUpdate) -> Result<Applied, Error> {
    let update = &update;
    let mut applied = Applied::default();
    if let Some(patch) = &update.patch {
        api.patch(&update.name, &params(), &Patch::Merge(patch))
            .await?;
        applied.updated += 1;
    }
    if let Some(status) = &update.status {
        write_status(api, &update.name, status).await?;
        applied.status_writes += 1;
    }
    Ok(applied)
}

/// Delete every PackageRev of repository `repo`, clearing all their finalizers first (the
/// repository is gone, so nothing can finish them later; upstream's CR cache does the same).
pub async fn delete_all(api: &Api<PackageRev>, repo: &str) -> Result<u64, Error> {
    let mut deleted = 0;
    for obj in list_package_revs(api, repo).await? {
        let Some(name) = obj.metadata.name.clone() else {
            continue;
        };
        if obj
            .metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| !f.is_empty())
        {
            let clear = Patch::Merge(json!({"metadata": {"finalizers": null}}));
            match api.patch(&name, &params(), &clear).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if obj.metadata.deletion_timestamp.is_none() {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => deleted += 1,
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn writes_are_made_only_as_they_start() {
        let made = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let most_ahead = Arc::new(AtomicUsize::new(0));
        let ops = (0..100).map(|_| {
            made.fetch_add(1, Ordering::SeqCst);
            let (made, done, most_ahead) = (made.clone(), done.clone(), most_ahead.clone());
            async move {
                // How many writes exist beyond the ones already finished.
                let ahead = made.load(Ordering::SeqCst) - done.load(Ordering::SeqCst);
                most_ahead.fetch_max(ahead, Ordering::SeqCst);
                tokio::task::yield_now().await;
                done.fetch_add(1, Ordering::SeqCst);
                Ok(Applied {
                    created: 1,
                    ..Applied::default()
                })
            }
            .boxed()
        });
        let applied = run_bounded(ops, 4).await.unwrap();
        assert_eq!(applied.created, 100);
        assert!(most_ahead.load(Ordering::SeqCst) <= 4);
    }
}
