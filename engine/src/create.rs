//! The engine's create checks (porch-api.md §1.13 step 4, porch-behaviour.md §1.3), in upstream's
//! order, as pure functions over the repository's existing revisions.

use std::collections::BTreeMap;

use crate::error::EngineError;
use crate::messages;
use crate::model::{
    CloneTask, EditTask, InitTask, Lifecycle, PackageRevisionSpec, RepositoryInfo, Task,
    UpgradeTask, split_package_name,
};
use crate::names;
use crate::record::RevisionRecord;

/// A validated creation task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreationTask {
    Init(InitTask),
    Clone(CloneTask),
    /// "copy" in porchctl.
    Edit(EditTask),
    Upgrade(UpgradeTask),
}

impl CreationTask {
    /// The API task it came from (stored in the commit annotation).
    pub fn to_task(&self) -> Task {
        let mut t = Task::default();
        match self {
            CreationTask::Init(i) => {
                t.task_type = "init".into();
                t.init = Some(i.clone());
            }
            CreationTask::Clone(c) => {
                t.task_type = "clone".into();
                t.clone = Some(c.clone());
            }
            CreationTask::Edit(e) => {
                t.task_type = "edit".into();
                t.edit = Some(e.clone());
            }
            CreationTask::Upgrade(u) => {
                t.task_type = "upgrade".into();
                t.upgrade = Some(u.clone());
            }
        }
        t
    }

    /// Names of the package revisions the task reads (all must be resolved before the checks).
    pub fn referenced_names(&self) -> Vec<String> {
        match self {
            CreationTask::Init(_) => vec![],
            CreationTask::Clone(c) => c.upstream.upstream_ref.iter().cloned().collect(),
            CreationTask::Edit(e) => e.source_ref.iter().cloned().collect(),
            CreationTask::Upgrade(u) => vec![
                u.old_upstream.clone(),
                u.new_upstream.clone(),
                u.local_package_revision.clone(),
            ],
        }
    }

    /// init and clone create a new package; edit and upgrade make a new revision of one.
    fn creates_package(&self) -> bool {
        matches!(self, CreationTask::Init(_) | CreationTask::Clone(_))
    }
}

/// The request's tasks: none means `init` with `"<packageName> description"`; more than one, an
/// unknown type, or a missing sub-struct is an error.
pub fn creation_task(spec: &PackageRevisionSpec) -> Result<CreationTask, EngineError> {
    let task = match spec.tasks.as_slice() {
        [] => Task::default_init(&spec.package_name),
        [one] => one.clone(),
        _ => return Err(messages::too_many_tasks()),
    };
    validate_first_task(&task)
}

/// `IsValidFirstTaskType` plus the sub-struct presence checks.
pub fn validate_first_task(task: &Task) -> Result<CreationTask, EngineError> {
    let missing = || messages::task_spec_missing(&task.task_type);
    match task.task_type.as_str() {
        "init" => task
            .init
            .clone()
            .map(CreationTask::Init)
            .ok_or_else(missing),
        "clone" => task
            .clone
            .clone()
            .map(CreationTask::Clone)
            .ok_or_else(missing),
        "edit" => task
            .edit
            .clone()
            .map(CreationTask::Edit)
            .ok_or_else(missing),
        "upgrade" => task
            .upgrade
            .clone()
            .map(CreationTask::Upgrade)
            .ok_or_else(missing),
        other => Err(messages::task_type_not_supported(other)),
    }
}

/// The lifecycle the engine creates with: `""`/Draft → Draft, Proposed is accepted (the REST
/// strategy already rejects it), Published/DeletionProposed are "Final".
pub fn creation_lifecycle(value: &str) -> Result<Lifecycle, EngineError> {
    match value {
        "" => Ok(Lifecycle::Draft),
        other => match Lifecycle::parse(other) {
            Some(l) if l.is_published() => Err(messages::create_final_lifecycle()),
            Some(l) => Ok(l),
            None => Err(messages::unsupported_lifecycle(other)),
        },
    }
}

/// A package revision a task refers to, with the repository it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRef {
    pub record: RevisionRecord,
    pub repo: RepositoryInfo,
}

impl ResolvedRef {
    pub fn is_placeholder(&self) -> bool {
        self.record.is_placeholder(&self.repo.branch)
    }
}

/// Everything the create checks found valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePlan {
    pub name: String,
    pub lifecycle: Lifecycle,
    pub task: CreationTask,
}

/// Runs every engine-side create check, in order. `existing` are the revisions of the target
/// repository; `refs` the resolved revisions named by the task (missing names are errors).
pub fn check_create(
    repo: &RepositoryInfo,
    spec: &PackageRevisionSpec,
    existing: &[RevisionRecord],
    refs: &BTreeMap<String, ResolvedRef>,
) -> Result<CreatePlan, EngineError> {
    // Count first: a request with two tasks fails before anything else is looked at.
    let task = creation_task(spec)?;
    let lifecycle = creation_lifecycle(&spec.lifecycle)?;

    let (path, leaf) = split_package_name(&spec.package_name);
    names::validate_package_revision_name(&repo.name, path, leaf, &spec.workspace_name)
        .map_err(|e| messages::create_failed(&e))?;
    let name = names::package_revision_name(&repo.name, &spec.package_name, &spec.workspace_name);

    let same_package: Vec<&RevisionRecord> = existing
        .iter()
        .filter(|r| r.package_name == spec.package_name)
        .collect();
    if let Some(dup) = same_package
        .iter()
        .find(|r| r.workspace_name == spec.workspace_name)
    {
        return Err(messages::workspace_not_unique(
            &dup.name(),
            &repo.name,
            &spec.workspace_name,
        ));
    }
    if matches!(task, CreationTask::Clone(_)) && !same_package.is_empty() {
        return Err(messages::clone_of_existing_package(
            &spec.package_name,
            &repo.name,
        ));
    }
    if task.creates_package() {
        if !same_package.is_empty() {
            return Err(messages::package_already_exists(
                &spec.package_name,
                &repo.name,
            ));
        }
        if let Some(other) = nested_conflict(&spec.package_name, existing) {
            return Err(messages::packages_nested(&spec.package_name, other));
        }
    }

    let lookup = |n: &str| {
        refs.get(n)
            .ok_or_else(|| messages::referenced_revision_not_found(n))
    };
    match &task {
        CreationTask::Init(_) => {}
        CreationTask::Clone(c) => {
            if c.upstream.oci.is_some() || c.upstream.origin_type == "oci" {
                return Err(messages::clone_from_oci());
            }
            if let Some(up) = &c.upstream.upstream_ref
                && lookup(up)?.is_placeholder()
            {
                return Err(messages::clone_upstream_is_placeholder(&repo.namespace, up));
            }
        }
        CreationTask::Edit(e) => {
            let source_name = e.source_ref.as_deref().unwrap_or_default();
            let source = lookup(source_name)?;
            if source.record.repository != repo.name
                || source.record.package_name != spec.package_name
            {
                return Err(messages::copy_source_other_package(
                    &repo.name,
                    &spec.package_name,
                ));
            }
            if source.is_placeholder() {
                return Err(messages::copy_source_is_placeholder(
                    &repo.namespace,
                    source_name,
                ));
            }
            if !source.record.lifecycle.is_published() {
                return Err(messages::copy_source_not_published());
            }
        }
        CreationTask::Upgrade(u) => {
            // Upstream only checks the refs that are revisions of this same package (a quirk we
            // keep: other upstreams may be drafts).
            for n in [&u.old_upstream, &u.new_upstream, &u.local_package_revision] {
                let r = lookup(n)?;
                if r.record.repository == repo.name
                    && r.record.package_name == spec.package_name
                    && !r.record.lifecycle.is_published()
                {
                    return Err(messages::upgrade_source_not_published(n));
                }
            }
            if lookup(&u.new_upstream)?.is_placeholder() {
                return Err(messages::upgrade_target_is_placeholder(
                    &repo.namespace,
                    &u.new_upstream,
                ));
            }
            if lookup(&u.local_package_revision)?.is_placeholder() {
                return Err(EngineError::internal(format!(
                    "local revision may not be the placeholder package revision {}/{}",
                    repo.namespace, u.local_package_revision
                )));
            }
        }
    }
    Ok(CreatePlan {
        name,
        lifecycle,
        task,
    })
}

/// Another package of the repository that contains, or is contained in, `package_name`.
fn nested_conflict<'a>(package_name: &str, existing: &'a [RevisionRecord]) -> Option<&'a str> {
    existing
        .iter()
        .map(|r| r.package_name.as_str())
        .find(|other| {
            *other != package_name
                && (package_name.starts_with(&format!("{other}/"))
                    || other.starts_with(&format!("{package_name}/")))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UpstreamPackage;

    fn repo() -> RepositoryInfo {
        RepositoryInfo {
            namespace: "ns".into(),
            name: "repo".into(),
            branch: "main".into(),
            ..RepositoryInfo::default()
        }
    }

    fn spec(pkg: &str, ws: &str, tasks: Vec<Task>) -> PackageRevisionSpec {
        PackageRevisionSpec {
            package_name: pkg.into(),
            repository: "repo".into(),
            workspace_name: ws.into(),
            tasks,
            ..PackageRevisionSpec::default()
        }
    }

    fn rec(pkg: &str, ws: &str, rev: i64, lc: Lifecycle) -> RevisionRecord {
        RevisionRecord {
            repository: "repo".into(),
            package_name: pkg.into(),
            workspace_name: ws.into(),
            revision: rev,
            lifecycle: lc,
            ..RevisionRecord::default()
        }
    }

    fn resolved(r: RevisionRecord) -> (String, ResolvedRef) {
        (
            r.name(),
            ResolvedRef {
                record: r,
                repo: repo(),
            },
        )
    }

    fn clone_of(name: &str) -> Task {
        Task {
            task_type: "clone".into(),
            clone: Some(CloneTask {
                upstream: UpstreamPackage {
                    upstream_ref: Some(name.into()),
                    ..UpstreamPackage::default()
                },
            }),
            ..Task::default()
        }
    }

    fn edit_of(name: &str) -> Task {
        Task {
            task_type: "edit".into(),
            edit: Some(EditTask {
                source_ref: Some(name.into()),
            }),
            ..Task::default()
        }
    }

    fn upgrade(old: &str, new: &str, local: &str) -> Task {
        Task {
            task_type: "upgrade".into(),
            upgrade: Some(UpgradeTask {
                old_upstream: old.into(),
                new_upstream: new.into(),
                local_package_revision: local.into(),
                strategy: String::new(),
            }),
            ..Task::default()
        }
    }

    fn err(r: Result<CreatePlan, EngineError>) -> String {
        r.unwrap_err().message()
    }

    #[test]
    fn default_task_is_init_with_description() {
        let plan =
            check_create(&repo(), &spec("a/pkg", "ws", vec![]), &[], &BTreeMap::new()).unwrap();
        assert_eq!(plan.name, "repo.a.pkg.ws");
        assert_eq!(plan.lifecycle, Lifecycle::Draft);
        match plan.task {
            CreationTask::Init(i) => assert_eq!(i.description, "a/pkg description"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn task_list_checks() {
        let none = BTreeMap::new();
        let two = spec(
            "p",
            "ws",
            vec![Task::default_init("p"), Task::default_init("p")],
        );
        assert_eq!(
            err(check_create(&repo(), &two, &[], &none)),
            "task list must not contain more than one task"
        );
        for (t, want) in [
            ("render", "task of type \"render\" not supported"),
            ("eval", "task of type \"eval\" not supported"),
            ("", "task of type \"\" not supported"),
            ("init", "init not set for task of type \"init\""),
            ("clone", "clone not set for task of type \"clone\""),
            ("edit", "edit not set for task of type \"edit\""),
            (
                "upgrade",
                "upgrade field not set for task of type \"upgrade\"",
            ),
        ] {
            let s = spec(
                "p",
                "ws",
                vec![Task {
                    task_type: t.into(),
                    ..Task::default()
                }],
            );
            assert_eq!(err(check_create(&repo(), &s, &[], &none)), want);
        }
    }

    #[test]
    fn lifecycle_checks() {
        assert_eq!(creation_lifecycle("").unwrap(), Lifecycle::Draft);
        assert_eq!(creation_lifecycle("Proposed").unwrap(), Lifecycle::Proposed);
        for lc in ["Published", "DeletionProposed"] {
            assert_eq!(
                creation_lifecycle(lc).unwrap_err().message(),
                "cannot create a package revision with lifecycle value 'Final'"
            );
        }
        assert_eq!(
            creation_lifecycle("Odd").unwrap_err().message(),
            "unsupported lifecycle value: Odd"
        );
    }

    #[test]
    fn name_validity_is_wrapped() {
        let mut r = repo();
        r.name = "Bad".into();
        let text = err(check_create(
            &r,
            &spec("p", "ws", vec![]),
            &[],
            &BTreeMap::new(),
        ));
        assert!(text.starts_with("failed to create packagerevision: package revision kubernetes resource name invalid:\nrepository part \"Bad\" of object name invalid\n"), "{text}");
    }

    #[test]
    fn existing_package_checks_in_order() {
        let none = BTreeMap::new();
        let existing = vec![
            rec("a/pkg", "v1", 1, Lifecycle::Published),
            rec("a/pkg", "main", -1, Lifecycle::Published),
            rec("outer", "ws", 0, Lifecycle::Draft),
        ];
        assert_eq!(
            err(check_create(
                &repo(),
                &spec("a/pkg", "v1", vec![]),
                &existing,
                &none
            )),
            "package revision workspaceNames must be unique; package revision with name repo.a.pkg.v1 in repo repo with workspaceName v1 already exists"
        );
        assert_eq!(
            err(check_create(
                &repo(),
                &spec("a/pkg", "ws2", vec![]),
                &existing,
                &none
            )),
            "package \"a/pkg\" already exists in repository \"repo\""
        );
        let refs: BTreeMap<_, _> = [resolved(rec("a/pkg", "v1", 1, Lifecycle::Published))].into();
        assert_eq!(
            err(check_create(
                &repo(),
                &spec("a/pkg", "ws2", vec![clone_of("repo.a.pkg.v1")]),
                &existing,
                &refs
            )),
            "`clone` cannot create a new revision for package \"a/pkg\" that already exists in repo \"repo\"; make subsequent revisions using `copy`"
        );
        assert_eq!(
            err(check_create(
                &repo(),
                &spec("outer/inner", "ws", vec![]),
                &existing,
                &none
            )),
            "package path \"outer/inner\" conflicts with existing package \"outer\": packages cannot be nested"
        );
        assert_eq!(
            err(check_create(
                &repo(),
                &spec("a", "ws", vec![]),
                &existing,
                &none
            )),
            "package path \"a\" conflicts with existing package \"a/pkg\": packages cannot be nested"
        );
        // A sibling with a common prefix is not nested.
        assert!(check_create(&repo(), &spec("outer2", "ws", vec![]), &existing, &none).is_ok());
    }

    #[test]
    fn clone_checks() {
        let placeholder = rec("up", "main", -1, Lifecycle::Published);
        let draft = rec("up", "ws", 0, Lifecycle::Draft);
        let refs: BTreeMap<_, _> = [resolved(placeholder), resolved(draft)].into();
        assert_eq!(
            err(check_create(
                &repo(),
                &spec("down", "ws", vec![clone_of("repo.up.main")]),
                &[],
                &refs
            )),
            "upstream revision may not be the placeholder package revision ns/repo.up.main"
        );
        // Drafts are allowed as upstream.
        assert!(
            check_create(
                &repo(),
                &spec("down", "ws", vec![clone_of("repo.up.ws")]),
                &[],
                &refs
            )
            .is_ok()
        );
        assert_eq!(
            err(check_create(
                &repo(),
                &spec("down", "ws", vec![clone_of("repo.nope.ws")]),
                &[],
                &refs
            )),
            "cannot find package revision \"repo.nope.ws\""
        );
        let mut oci = clone_of("x");
        if let Some(c) = oci.clone.as_mut() {
            c.upstream = UpstreamPackage {
                origin_type: "oci".into(),
                oci: Some("img".into()),
                ..UpstreamPackage::default()
            };
        }
        assert_eq!(
            err(check_create(
                &repo(),
                &spec("down", "ws", vec![oci]),
                &[],
                &refs
            )),
            "clone from OCI is not implemented"
        );
    }

    #[test]
    fn copy_checks() {
        let existing = vec![
            rec("p", "v1", 1, Lifecycle::Published),
            rec("p", "main", -1, Lifecycle::Published),
            rec("p", "d", 0, Lifecycle::Proposed),
            rec("q", "v1", 1, Lifecycle::Published),
        ];
        let refs: BTreeMap<_, _> = existing.iter().cloned().map(resolved).collect();
        let copy = |src: &str| {
            check_create(
                &repo(),
                &spec("p", "new", vec![edit_of(src)]),
                &existing,
                &refs,
            )
        };
        assert!(copy("repo.p.v1").is_ok());
        assert_eq!(
            err(copy("repo.q.v1")),
            "source revision must be from same package repo/p"
        );
        assert_eq!(
            err(copy("repo.p.main")),
            "source revision may not be the placeholder package revision ns/repo.p.main"
        );
        assert_eq!(err(copy("repo.p.d")), "source revision must be published");
    }

    #[test]
    fn upgrade_checks() {
        let existing = vec![
            rec("down", "v1", 1, Lifecycle::Published),
            rec("down", "d", 0, Lifecycle::Draft),
            rec("down", "main", -1, Lifecycle::Published),
            rec("up", "v1", 1, Lifecycle::Published),
            rec("up", "v2", 2, Lifecycle::Published),
            rec("up", "main", -1, Lifecycle::Published),
            rec("up", "wip", 0, Lifecycle::Draft),
        ];
        let refs: BTreeMap<_, _> = existing.iter().cloned().map(resolved).collect();
        let up = |o: &str, n: &str, l: &str| {
            check_create(
                &repo(),
                &spec("down", "new", vec![upgrade(o, n, l)]),
                &existing,
                &refs,
            )
        };
        assert!(up("repo.up.v1", "repo.up.v2", "repo.down.v1").is_ok());
        assert_eq!(
            err(up("repo.up.v1", "repo.up.v2", "repo.down.d")),
            "all source PackageRevisions of upgrade task must be published, \"repo.down.d\" is not"
        );
        assert_eq!(
            err(up("repo.up.v1", "repo.up.main", "repo.down.v1")),
            "target upstream revision may not be the placeholder package revision ns/repo.up.main"
        );
        assert_eq!(
            err(up("repo.up.v1", "repo.up.v2", "repo.down.main")),
            "local revision may not be the placeholder package revision ns/repo.down.main"
        );
        // Upstream revisions of another package are not required to be published (quirk kept).
        assert!(up("repo.up.v1", "repo.up.wip", "repo.down.v1").is_ok());
        let refs_for = CreationTask::Upgrade(UpgradeTask {
            old_upstream: "a".into(),
            new_upstream: "b".into(),
            local_package_revision: "c".into(),
            strategy: String::new(),
        });
        assert_eq!(refs_for.referenced_names(), ["a", "b", "c"]);
        assert_eq!(refs_for.to_task().task_type, "upgrade");
    }
}
