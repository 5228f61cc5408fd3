//! Field selectors for `packagerevisions` and `packagerevisionresources` (porch-api.md §1.11), as
//! a parser into requirements plus a pure filter over PackageRevision records.

use std::collections::BTreeMap;

use crate::error::{EngineError, go_quote};
use crate::latest::revision_to_int;
use crate::model::{Lifecycle, PackageRevision, split_package_name};
use crate::names::parse_package_revision_name;

const LABELS_PREFIX: &str = "spec.packageMetadata.labels[";

/// Fields the scheme accepts for PackageRevision and PackageRevisionResources.
pub const KNOWN_FIELDS: [&str; 7] = [
    "metadata.name",
    "metadata.namespace",
    "spec.revision",
    "spec.packageName",
    "spec.repository",
    "spec.workspaceName",
    "spec.lifecycle",
];

/// One parsed `field=value` requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRequirement {
    /// `metadata.name`, already checked to parse as a package revision name.
    Name(String),
    Namespace(String),
    /// `spec.revision` (`Revision2Int`); never 0, which is a wildcard and dropped.
    Revision(i64),
    /// `spec.packageName`: with `/`, an exact path and package; without, the leaf in any path.
    PackageName {
        path: Option<String>,
        package: String,
    },
    Repository(String),
    Workspace(String),
    Lifecycle(Lifecycle),
    /// `spec.packageMetadata.labels[<key>]`: a Kptfile label.
    KptfileLabel {
        key: String,
        value: String,
    },
}

/// A conjunction of requirements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldFilter {
    pub requirements: Vec<FieldRequirement>,
}

fn bad(msg: String) -> EngineError {
    EngineError::BadRequest(msg)
}

/// Splits a selector string at commas not escaped with `\`.
fn split_terms(selector: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in selector.chars() {
        match c {
            _ if escaped => {
                cur.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            ',' => terms.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    terms.push(cur);
    terms.into_iter().filter(|t| !t.trim().is_empty()).collect()
}

/// Splits `field<op>value` with op one of `!=`, `==`, `=` (the only ones k8s field selectors parse).
fn split_term(term: &str) -> Result<(&str, &str, &str), EngineError> {
    for op in ["!=", "==", "="] {
        if let Some(idx) = term.find(op) {
            return Ok((term[..idx].trim(), op, term[idx + op.len()..].trim()));
        }
    }
    Err(bad(format!(
        "invalid selector: '{term}'; can't understand '{term}'"
    )))
}

impl FieldFilter {
    /// Parses a `fieldSelector` query value. `request_namespace` is the namespace of the request
    /// (empty for all namespaces).
    pub fn parse(selector: &str, request_namespace: &str) -> Result<Self, EngineError> {
        let mut requirements = Vec::new();
        for term in split_terms(selector) {
            let (field, op, value) = split_term(&term)?;
            let is_label = field.starts_with(LABELS_PREFIX) && field.ends_with(']');
            if !is_label && !KNOWN_FIELDS.contains(&field) {
                return Err(bad(format!(
                    "{} is not a known field selector",
                    go_quote(field)
                )));
            }
            if op != "=" && op != "==" {
                return Err(bad(format!(
                    "unsupported fieldSelector operator {} for field {}",
                    go_quote(op),
                    go_quote(field)
                )));
            }
            if value.is_empty() {
                return Err(bad(format!(
                    "unsupported fieldSelector value \"\" for field {} with operator {}",
                    go_quote(field),
                    go_quote(op)
                )));
            }
            let req = match field {
                "metadata.name" => {
                    parse_package_revision_name(value).map_err(bad)?;
                    FieldRequirement::Name(value.to_owned())
                }
                "metadata.namespace" => {
                    if !request_namespace.is_empty() && request_namespace != value {
                        return Err(bad(format!(
                            "conflicting namespaces specified: {} and {}",
                            go_quote(request_namespace),
                            go_quote(value)
                        )));
                    }
                    FieldRequirement::Namespace(value.to_owned())
                }
                "spec.revision" => match revision_to_int(value) {
                    0 => continue,
                    n => FieldRequirement::Revision(n),
                },
                "spec.packageName" => match value.rsplit_once('/') {
                    Some((path, package)) => FieldRequirement::PackageName {
                        path: Some(path.to_owned()),
                        package: package.to_owned(),
                    },
                    None => FieldRequirement::PackageName {
                        path: None,
                        package: value.to_owned(),
                    },
                },
                "spec.repository" => FieldRequirement::Repository(value.to_owned()),
                "spec.workspaceName" => FieldRequirement::Workspace(value.to_owned()),
                "spec.lifecycle" => match Lifecycle::parse(value) {
                    Some(l) => FieldRequirement::Lifecycle(l),
                    None => {
                        return Err(bad(format!(
                            "unsupported fieldSelector value {} for field \"spec.lifecycle\"",
                            go_quote(value)
                        )));
                    }
                },
                _ => {
                    let key = &field[LABELS_PREFIX.len()..field.len() - 1];
                    if key.is_empty() {
                        return Err(bad(format!(
                            "label key cannot be empty in field selector {}",
                            go_quote(field)
                        )));
                    }
                    FieldRequirement::KptfileLabel {
                        key: key.to_owned(),
                        value: value.to_owned(),
                    }
                }
            };
            requirements.push(req);
        }
        Ok(Self { requirements })
    }

    /// The repository every match must be in, when the filter pins one (lets a list skip repos).
    pub fn repository(&self) -> Option<&str> {
        self.requirements.iter().find_map(|r| match r {
            FieldRequirement::Repository(repo) => Some(repo.as_str()),
            _ => None,
        })
    }

    pub fn matches(&self, pr: &PackageRevision) -> bool {
        self.requirements
            .iter()
            .all(|req| requirement_matches(req, pr))
    }
}

fn requirement_matches(req: &FieldRequirement, pr: &PackageRevision) -> bool {
    match req {
        FieldRequirement::Name(name) => &pr.metadata.name == name,
        FieldRequirement::Namespace(ns) => &pr.metadata.namespace == ns,
        FieldRequirement::Revision(rev) => pr.spec.revision == *rev,
        FieldRequirement::PackageName { path, package } => {
            let (pr_path, pr_pkg) = split_package_name(&pr.spec.package_name);
            pr_pkg == package && path.as_deref().is_none_or(|p| p == pr_path)
        }
        FieldRequirement::Repository(repo) => &pr.spec.repository == repo,
        FieldRequirement::Workspace(ws) => &pr.spec.workspace_name == ws,
        FieldRequirement::Lifecycle(l) => pr.lifecycle() == Some(*l),
        FieldRequirement::KptfileLabel { key, value } => pr
            .spec
            .package_metadata
            .as_ref()
            .and_then(|m| m.labels.get(key))
            .is_some_and(|v| v == value),
    }
}

/// Whether `labels` (metadata labels, including the computed latest label) satisfy a `-l`
/// label selector. Parsing and matching are `porch_apimachinery`'s (Kubernetes' grammar:
/// `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (..)`, `k notin (..)`).
pub fn label_selector_matches(
    selector: &str,
    labels: &BTreeMap<String, String>,
) -> Result<bool, EngineError> {
    let parsed = porch_apimachinery::labels::LabelSelector::parse(selector)
        .map_err(|e| bad(e.to_string()))?;
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    Ok(parsed.matches(&labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PackageMetadata;

    fn pr(name: &str, repo: &str, pkg: &str, ws: &str, rev: i64, lc: &str) -> PackageRevision {
        let mut p = PackageRevision::default();
        p.metadata.name = name.into();
        p.metadata.namespace = "ns".into();
        p.spec.repository = repo.into();
        p.spec.package_name = pkg.into();
        p.spec.workspace_name = ws.into();
        p.spec.revision = rev;
        p.spec.lifecycle = lc.into();
        p
    }

    fn corpus() -> Vec<PackageRevision> {
        let mut labelled = pr("r.a.pkg.v1", "r", "a/pkg", "v1", 1, "Published");
        let mut md = PackageMetadata::default();
        md.labels.insert("tier".into(), "gold".into());
        labelled.spec.package_metadata = Some(md);
        vec![
            labelled,
            pr("r.b.pkg.ws", "r", "b/pkg", "ws", 0, "Draft"),
            pr("r.pkg.main", "r", "pkg", "main", -1, "Published"),
            pr("q.other.v2", "q", "other", "v2", 2, "DeletionProposed"),
        ]
    }

    fn select(selector: &str) -> Vec<String> {
        let f = FieldFilter::parse(selector, "ns").unwrap();
        corpus()
            .into_iter()
            .filter(|p| f.matches(p))
            .map(|p| p.metadata.name)
            .collect()
    }

    #[test]
    fn filters() {
        let cases: &[(&str, &[&str])] = &[
            (
                "",
                &["r.a.pkg.v1", "r.b.pkg.ws", "r.pkg.main", "q.other.v2"],
            ),
            ("metadata.name=r.b.pkg.ws", &["r.b.pkg.ws"]),
            (
                "metadata.namespace=ns",
                &["r.a.pkg.v1", "r.b.pkg.ws", "r.pkg.main", "q.other.v2"],
            ),
            ("spec.revision=1", &["r.a.pkg.v1"]),
            ("spec.revision=v2", &["q.other.v2"]),
            ("spec.revision=-1", &["r.pkg.main"]),
            ("spec.revision=main", &["r.pkg.main"]),
            (
                "spec.revision=0",
                &["r.a.pkg.v1", "r.b.pkg.ws", "r.pkg.main", "q.other.v2"],
            ),
            (
                "spec.packageName=pkg",
                &["r.a.pkg.v1", "r.b.pkg.ws", "r.pkg.main"],
            ),
            ("spec.packageName=a/pkg", &["r.a.pkg.v1"]),
            (
                "spec.packageName==b/pkg,spec.lifecycle=Draft",
                &["r.b.pkg.ws"],
            ),
            ("spec.repository=q", &["q.other.v2"]),
            ("spec.workspaceName=main", &["r.pkg.main"]),
            ("spec.lifecycle=DeletionProposed", &["q.other.v2"]),
            ("spec.packageMetadata.labels[tier]=gold", &["r.a.pkg.v1"]),
            ("spec.packageMetadata.labels[tier]=silver", &[]),
        ];
        for (sel, want) in cases {
            assert_eq!(select(sel), *want, "{sel}");
        }
    }

    #[test]
    fn errors_are_400_with_exact_text() {
        let cases = [
            (
                "spec.lifecycle!=Draft",
                "unsupported fieldSelector operator \"!=\" for field \"spec.lifecycle\"",
            ),
            (
                "spec.repository=",
                "unsupported fieldSelector value \"\" for field \"spec.repository\" with operator \"=\"",
            ),
            (
                "spec.lifecycle=Final",
                "unsupported fieldSelector value \"Final\" for field \"spec.lifecycle\"",
            ),
            (
                "spec.packageMetadata.labels[]=x",
                "label key cannot be empty in field selector \"spec.packageMetadata.labels[]\"",
            ),
            ("spec.foo=x", "\"spec.foo\" is not a known field selector"),
            (
                "metadata.namespace=other",
                "conflicting namespaces specified: \"ns\" and \"other\"",
            ),
        ];
        for (sel, want) in cases {
            let err = FieldFilter::parse(sel, "ns").unwrap_err();
            assert_eq!(err.http_status(), 400, "{sel}");
            assert_eq!(err.to_string(), want, "{sel}");
        }
        let err = FieldFilter::parse("metadata.name=Bad.Name.x", "ns").unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert!(
            err.to_string()
                .starts_with("package revision kubernetes resource name invalid:")
        );
        assert!(FieldFilter::parse("metadata.namespace=other", "").is_ok());
    }

    #[test]
    fn repository_hint() {
        let f = FieldFilter::parse("spec.repository=r,spec.lifecycle=Draft", "").unwrap();
        assert_eq!(f.repository(), Some("r"));
        assert_eq!(FieldFilter::default().repository(), None);
    }

    #[test]
    fn label_selectors() {
        let mut labels = BTreeMap::new();
        labels.insert("kpt.dev/latest-revision".to_string(), "true".to_string());
        labels.insert("app".to_string(), "x".to_string());
        for (sel, want) in [
            ("kpt.dev/latest-revision=true", true),
            ("kpt.dev/latest-revision==true,app=x", true),
            ("app!=x", false),
            ("app!=y", true),
            ("missing", false),
            ("!missing", true),
            ("app", true),
            ("app=y", false),
            ("app in (x,y)", true),
            ("app notin (x)", false),
        ] {
            assert_eq!(label_selector_matches(sel, &labels).unwrap(), want, "{sel}");
        }
        let err = label_selector_matches("app in x", &labels).unwrap_err();
        assert!(matches!(err, EngineError::BadRequest(_)), "{err:?}");
    }
}
