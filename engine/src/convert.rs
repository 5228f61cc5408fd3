//! Conversions between the wire types of `porch-crds` and the engine's model. The API layer
//! decodes a request into `porch_crds` types, converts it here, calls the engine, and converts
//! the result back.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use porch_crds::config::v1alpha1::Repository;
use porch_crds::labels::V1ALPHA2_MIGRATION_ANNOTATION;
use porch_crds::porch::v1alpha1 as api;

use crate::content_cache::PackageFiles;
use crate::model::{
    CloneTask, Condition, EditTask, GitLock, GitPackage, InitTask, ObjectMeta, OwnerReference,
    PackageMetadata, PackageRevision, PackageRevisionSpec, PackageRevisionStatus, RepositoryInfo,
    Task, UpgradeTask, UpstreamPackage,
};
use crate::ops::RenderStatus;

fn non_empty_map(m: &BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!m.is_empty()).then(|| m.clone())
}

fn time_from(s: &Option<String>) -> Option<meta::Time> {
    s.as_deref()
        .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
        .map(meta::Time)
}

fn time_to(t: &Option<meta::Time>) -> Option<String> {
    t.as_ref().map(|t| t.0.to_string())
}

/// The engine's view of a Repository CR.
pub fn repository_info(repo: &Repository) -> RepositoryInfo {
    let git = repo.spec.git.as_ref();
    RepositoryInfo {
        namespace: repo.metadata.namespace.clone().unwrap_or_default(),
        name: repo.metadata.name.clone().unwrap_or_default(),
        branch: git.map_or_else(|| "main".to_owned(), |g| g.branch.clone()),
        directory: git.map_or_else(String::new, |g| g.directory.trim_matches('/').to_owned()),
        deployment: repo.spec.deployment,
        v1alpha2_managed: repo
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(V1ALPHA2_MIGRATION_ANNOTATION))
            .is_some_and(|v| v == "true"),
    }
}

pub fn task_from_api(t: &api::Task) -> Task {
    Task {
        task_type: t.type_.as_str().to_owned(),
        init: t.init.as_ref().map(|i| InitTask {
            subpackage: i.subpackage.clone(),
            description: i.description.clone(),
            keywords: i.keywords.clone(),
            site: i.site.clone(),
        }),
        clone: t.clone.as_ref().map(|c| CloneTask {
            upstream: UpstreamPackage {
                origin_type: c
                    .upstream_ref
                    .type_
                    .as_ref()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                git: c.upstream_ref.git.as_ref().map(|g| GitPackage {
                    repo: g.repo.clone(),
                    git_ref: g.ref_.clone(),
                    directory: g.directory.clone(),
                    secret_ref: (!g.secret_ref.name.is_empty()).then(|| g.secret_ref.name.clone()),
                }),
                oci: c.upstream_ref.oci.as_ref().map(|o| o.image.clone()),
                upstream_ref: c.upstream_ref.upstream_ref.as_ref().map(|r| r.name.clone()),
            },
        }),
        edit: t.edit.as_ref().map(|e| EditTask {
            source_ref: e.source_ref.as_ref().map(|r| r.name.clone()),
        }),
        upgrade: t.upgrade.as_ref().map(|u| UpgradeTask {
            old_upstream: u.old_upstream_ref.name.clone(),
            new_upstream: u.new_upstream_ref.name.clone(),
            local_package_revision: u.local_package_revision_ref.name.clone(),
            strategy: u
                .strategy
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        }),
    }
}

pub fn task_to_api(t: &Task) -> api::Task {
    api::Task {
        type_: api::TaskType::from(t.task_type.as_str()),
        init: t.init.as_ref().map(|i| api::PackageInitTaskSpec {
            subpackage: i.subpackage.clone(),
            description: i.description.clone(),
            keywords: i.keywords.clone(),
            site: i.site.clone(),
        }),
        clone: t.clone.as_ref().map(|c| api::PackageCloneTaskSpec {
            upstream_ref: api::UpstreamPackage {
                type_: (!c.upstream.origin_type.is_empty())
                    .then(|| api::RepositoryType::from(c.upstream.origin_type.as_str())),
                git: c.upstream.git.as_ref().map(|g| api::GitPackage {
                    repo: g.repo.clone(),
                    ref_: g.git_ref.clone(),
                    directory: g.directory.clone(),
                    secret_ref: api::SecretRef {
                        name: g.secret_ref.clone().unwrap_or_default(),
                    },
                }),
                oci: c.upstream.oci.as_ref().map(|image| api::OciPackage {
                    image: image.clone(),
                }),
                upstream_ref: c
                    .upstream
                    .upstream_ref
                    .as_deref()
                    .map(api::PackageRevisionRef::new),
            },
        }),
        edit: t.edit.as_ref().map(|e| api::PackageEditTaskSpec {
            source_ref: e.source_ref.as_deref().map(api::PackageRevisionRef::new),
        }),
        upgrade: t.upgrade.as_ref().map(|u| api::PackageUpgradeTaskSpec {
            old_upstream_ref: api::PackageRevisionRef::new(&u.old_upstream),
            new_upstream_ref: api::PackageRevisionRef::new(&u.new_upstream),
            local_package_revision_ref: api::PackageRevisionRef::new(&u.local_package_revision),
            strategy: (!u.strategy.is_empty())
                .then(|| api::PackageMergeStrategy::from(u.strategy.as_str())),
        }),
    }
}

fn lock_from(l: &api::Locator) -> Option<GitLock> {
    l.git.as_ref().map(|g| GitLock {
        repo: g.repo.clone(),
        directory: g.directory.clone(),
        git_ref: g.ref_.clone(),
        commit: g.commit.clone(),
    })
}

fn lock_to(l: &GitLock) -> api::Locator {
    api::Locator {
        type_: "git".to_owned(),
        git: Some(api::GitLock {
            repo: l.repo.clone(),
            directory: l.directory.clone(),
            ref_: l.git_ref.clone(),
            commit: l.commit.clone(),
        }),
    }
}

pub(crate) fn owner_from(o: &meta::OwnerReference) -> OwnerReference {
    OwnerReference {
        api_version: o.api_version.clone(),
        kind: o.kind.clone(),
        name: o.name.clone(),
        uid: o.uid.clone(),
        controller: o.controller,
        block_owner_deletion: o.block_owner_deletion,
    }
}

pub(crate) fn owner_to(o: &OwnerReference) -> meta::OwnerReference {
    meta::OwnerReference {
        api_version: o.api_version.clone(),
        kind: o.kind.clone(),
        name: o.name.clone(),
        uid: o.uid.clone(),
        controller: o.controller,
        block_owner_deletion: o.block_owner_deletion,
    }
}

/// A decoded request (or stored object) in the engine's model.
pub fn package_revision_from_api(pr: &api::PackageRevision) -> PackageRevision {
    let m = &pr.metadata;
    PackageRevision {
        metadata: ObjectMeta {
            name: m.name.clone().unwrap_or_default(),
            namespace: m.namespace.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
            resource_version: m.resource_version.clone().unwrap_or_default(),
            labels: m.labels.clone().unwrap_or_default(),
            annotations: m.annotations.clone().unwrap_or_default(),
            finalizers: m.finalizers.clone().unwrap_or_default(),
            owner_references: m
                .owner_references
                .iter()
                .flatten()
                .map(owner_from)
                .collect(),
            deletion_timestamp: time_to(&m.deletion_timestamp),
            creation_timestamp: time_to(&m.creation_timestamp),
        },
        spec: PackageRevisionSpec {
            package_name: pr.spec.package_name.clone(),
            repository: pr.spec.repository.clone(),
            workspace_name: pr.spec.workspace_name.clone(),
            revision: pr.spec.revision,
            lifecycle: pr.spec.lifecycle.as_str().to_owned(),
            tasks: pr.spec.tasks.iter().map(task_from_api).collect(),
            readiness_gates: pr
                .spec
                .readiness_gates
                .as_ref()
                .map(|g| g.iter().map(|g| g.condition_type.clone()).collect()),
            package_metadata: pr.spec.package_metadata.as_ref().map(|md| PackageMetadata {
                labels: md.labels.clone().unwrap_or_default().into(),
                annotations: md.annotations.clone().unwrap_or_default().into(),
            }),
        },
        status: PackageRevisionStatus {
            upstream_lock: lock_from(&pr.status.upstream_lock),
            self_lock: pr.status.self_lock.as_ref().and_then(lock_from),
            published_by: pr.status.published_by.clone(),
            publish_timestamp: time_to(&pr.status.publish_timestamp),
            deployment: pr.status.deployment,
            conditions: pr.status.conditions.as_ref().map(|cs| {
                cs.iter()
                    .map(|c| Condition {
                        condition_type: c.type_.clone(),
                        status: c.status.as_str().to_owned(),
                        reason: c.reason.clone(),
                        message: c.message.clone(),
                    })
                    .collect()
            }),
        },
    }
}

/// The wire object for a response.
pub fn package_revision_to_api(pr: &PackageRevision) -> api::PackageRevision {
    let m = &pr.metadata;
    let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
    api::PackageRevision {
        metadata: meta::ObjectMeta {
            name: non_empty(&m.name),
            namespace: non_empty(&m.namespace),
            uid: non_empty(&m.uid),
            resource_version: non_empty(&m.resource_version),
            labels: non_empty_map(&m.labels),
            annotations: non_empty_map(&m.annotations),
            finalizers: (!m.finalizers.is_empty()).then(|| m.finalizers.clone()),
            owner_references: (!m.owner_references.is_empty())
                .then(|| m.owner_references.iter().map(owner_to).collect()),
            deletion_timestamp: time_from(&m.deletion_timestamp),
            creation_timestamp: time_from(&m.creation_timestamp),
            ..meta::ObjectMeta::default()
        },
        spec: api::PackageRevisionSpec {
            package_name: pr.spec.package_name.clone(),
            repository: pr.spec.repository.clone(),
            workspace_name: pr.spec.workspace_name.clone(),
            revision: pr.spec.revision,
            parent: None,
            lifecycle: api::PackageRevisionLifecycle::from(pr.spec.lifecycle.as_str()),
            tasks: pr.spec.tasks.iter().map(task_to_api).collect(),
            readiness_gates: pr.spec.readiness_gates.as_ref().map(|g| {
                g.iter()
                    .map(|c| api::ReadinessGate {
                        condition_type: c.clone(),
                    })
                    .collect()
            }),
            // The git backend always returns packageMetadata, possibly `{}`.
            package_metadata: Some(
                pr.spec
                    .package_metadata
                    .as_ref()
                    .map(|md| api::PackageMetadata {
                        labels: non_empty_map(&md.labels).map(Into::into),
                        annotations: non_empty_map(&md.annotations).map(Into::into),
                    })
                    .unwrap_or_default(),
            ),
        },
        status: api::PackageRevisionStatus {
            upstream_lock: pr
                .status
                .upstream_lock
                .as_ref()
                .map(lock_to)
                .unwrap_or_default(),
            self_lock: pr.status.self_lock.as_ref().map(lock_to),
            published_by: pr.status.published_by.clone(),
            publish_timestamp: time_from(&pr.status.publish_timestamp),
            deployment: pr.status.deployment,
            conditions: pr.status.conditions.as_ref().map(|cs| {
                cs.iter()
                    .map(|c| api::Condition {
                        type_: c.condition_type.clone(),
                        status: api::ConditionStatus::from(c.status.as_str()),
                        reason: c.reason.clone(),
                        message: c.message.clone(),
                    })
                    .collect()
            }),
        },
    }
}

/// kpt's result list (JSON) as the API's `RenderStatus`; unknown shapes become an empty list.
pub fn render_status_to_api(s: &RenderStatus) -> api::RenderStatus {
    api::RenderStatus {
        result: serde_json::from_value(s.result.clone()).unwrap_or_default(),
        error: s.error.clone(),
    }
}

/// The PRR view of a revision: same name, namespace, uid and resourceVersion as the PR.
pub fn resources_to_api(
    pr: &PackageRevision,
    files: &PackageFiles,
    render_status: Option<&RenderStatus>,
) -> api::PackageRevisionResources {
    let m = &pr.metadata;
    let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
    api::PackageRevisionResources {
        metadata: meta::ObjectMeta {
            name: non_empty(&m.name),
            namespace: non_empty(&m.namespace),
            uid: non_empty(&m.uid),
            resource_version: non_empty(&m.resource_version),
            creation_timestamp: time_from(&m.creation_timestamp),
            owner_references: Some(Vec::new()),
            ..meta::ObjectMeta::default()
        },
        spec: api::PackageRevisionResourcesSpec {
            package_name: pr.spec.package_name.clone(),
            workspace_name: pr.spec.workspace_name.clone(),
            revision: pr.spec.revision,
            repository: pr.spec.repository.clone(),
            resources: files.clone(),
        },
        status: api::PackageRevisionResourcesStatus {
            render_status: render_status.map(render_status_to_api).unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn package_revision_round_trip_through_the_wire_types() {
        let wire: api::PackageRevision = serde_json::from_value(json!({
            "apiVersion": "porch.kpt.dev/v1alpha1",
            "kind": "PackageRevision",
            "metadata": {
                "name": "blue.a.pkg.ws", "namespace": "ns", "resourceVersion": "abc",
                "labels": {"x": "y"}, "finalizers": ["f"],
                "creationTimestamp": "2026-11-20T00:00:00Z",
                "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "o", "uid": "u", "blockOwnerDeletion": true}]
            },
            "spec": {
                "packageName": "a/pkg", "repository": "blue", "workspaceName": "ws",
                "lifecycle": "Proposed",
                "tasks": [{"type": "clone", "clone": {"upstreamRef": {"upstreamRef": {"name": "up.p.v1"}}}}],
                "readinessGates": [{"conditionType": "Ready"}],
                "packageMetadata": {"labels": {"k": "v"}}
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "upstreamLock": {}}
        }))
        .unwrap();
        let model = package_revision_from_api(&wire);
        assert_eq!(model.metadata.name, "blue.a.pkg.ws");
        assert_eq!(
            model.metadata.creation_timestamp.as_deref(),
            Some("2026-11-20T00:00:00Z")
        );
        assert_eq!(
            model.metadata.owner_references[0].block_owner_deletion,
            Some(true)
        );
        assert_eq!(model.spec.lifecycle, "Proposed");
        assert_eq!(model.spec.tasks[0].task_type, "clone");
        assert_eq!(
            model.spec.tasks[0]
                .clone
                .as_ref()
                .and_then(|c| c.upstream.upstream_ref.as_deref()),
            Some("up.p.v1")
        );
        assert_eq!(model.spec.readiness_gates, Some(vec!["Ready".to_owned()]));
        assert_eq!(model.status.conditions.as_ref().map(Vec::len), Some(1));
        assert_eq!(model.status.upstream_lock, None);

        let back = package_revision_to_api(&model);
        let json = serde_json::to_value(&back).unwrap();
        assert_eq!(
            json["spec"]["tasks"][0]["clone"]["upstreamRef"]["upstreamRef"]["name"],
            "up.p.v1"
        );
        assert_eq!(
            json["metadata"]["creationTimestamp"],
            "2026-11-20T00:00:00Z"
        );
        assert_eq!(json["status"]["upstreamLock"], json!({}));
        assert_eq!(json["status"]["publishTimestamp"], serde_json::Value::Null);
        assert_eq!(package_revision_from_api(&back), model);
    }

    #[test]
    fn unset_and_empty_lists_stay_distinct() {
        let absent: api::PackageRevision =
            serde_json::from_value(json!({"spec": {"packageName": "p"}})).unwrap();
        assert_eq!(
            package_revision_from_api(&absent).spec.readiness_gates,
            None
        );
        assert_eq!(
            package_revision_from_api(&absent).spec.package_metadata,
            None
        );
        let empty: api::PackageRevision =
            serde_json::from_value(json!({"spec": {"readinessGates": []}})).unwrap();
        assert_eq!(
            package_revision_from_api(&empty).spec.readiness_gates,
            Some(vec![])
        );
    }

    #[test]
    fn every_task_type_round_trips() {
        let tasks = vec![
            Task::default_init("p"),
            Task {
                task_type: "clone".into(),
                clone: Some(CloneTask {
                    upstream: UpstreamPackage {
                        origin_type: "git".into(),
                        git: Some(GitPackage {
                            repo: "https://h/r.git".into(),
                            git_ref: "main".into(),
                            directory: "d".into(),
                            secret_ref: Some("s".into()),
                        }),
                        ..UpstreamPackage::default()
                    },
                }),
                ..Task::default()
            },
            Task {
                task_type: "edit".into(),
                edit: Some(EditTask {
                    source_ref: Some("r.p.v1".into()),
                }),
                ..Task::default()
            },
            Task {
                task_type: "upgrade".into(),
                upgrade: Some(UpgradeTask {
                    old_upstream: "a".into(),
                    new_upstream: "b".into(),
                    local_package_revision: "c".into(),
                    strategy: "copy-merge".into(),
                }),
                ..Task::default()
            },
        ];
        for t in tasks {
            assert_eq!(task_from_api(&task_to_api(&t)), t);
        }
    }

    #[test]
    fn repository_and_resources_views() {
        let repo: Repository = serde_json::from_value(json!({
            "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "Repository",
            "metadata": {"name": "blue", "namespace": "ns",
                         "annotations": {"porch.kpt.dev/v1alpha2-migration": "true"}},
            "spec": {"type": "git", "deployment": true,
                     "git": {"repo": "https://h/r.git", "directory": "/base/", "branch": "trunk"}}
        }))
        .unwrap();
        let info = repository_info(&repo);
        assert_eq!(
            info,
            RepositoryInfo {
                namespace: "ns".into(),
                name: "blue".into(),
                branch: "trunk".into(),
                directory: "base".into(),
                deployment: true,
                v1alpha2_managed: true,
            }
        );

        let mut pr = PackageRevision::default();
        pr.metadata.name = "blue.p.ws".into();
        pr.metadata.resource_version = "c1".into();
        pr.spec.package_name = "p".into();
        let files = PackageFiles::from([("Kptfile".to_owned(), "x".to_owned())]);
        let status = RenderStatus {
            result: json!({"apiVersion": "kpt.dev/v1", "kind": "FunctionResultList", "exitCode": 0}),
            error: String::new(),
        };
        let prr = resources_to_api(&pr, &files, Some(&status));
        let json = serde_json::to_value(&prr).unwrap();
        assert_eq!(json["spec"]["resources"]["Kptfile"], "x");
        assert_eq!(json["metadata"]["resourceVersion"], "c1");
        assert_eq!(json["metadata"]["ownerReferences"], json!([]));
        assert_eq!(
            json["status"]["renderStatus"]["result"]["kind"],
            "FunctionResultList"
        );
        assert_eq!(json["status"]["renderStatus"]["error"], "");
    }
}
