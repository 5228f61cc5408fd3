//! Discovery documents: legacy (`APIVersions`, `APIGroupList`, `APIGroup`, `APIResourceList`)
//! and aggregated (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`).

use serde_json::{Value, json};

/// A subresource such as `status`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubresourceDescriptor {
    pub name: String,
    pub kind: String,
    pub verbs: Vec<String>,
}

/// What discovery says about one resource in one group version.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDescriptor {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<SubresourceDescriptor>,
}

/// The standard verb set of a read-write resource.
pub fn standard_verbs() -> Vec<String> {
    [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A group and its versions, preferred version first.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupVersions {
    pub group: String,
    pub versions: Vec<String>,
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `GET /api`.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_json(g: &GroupVersions) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|v| json!({"groupVersion": group_version(&g.group, v), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": g.group, "versions": versions, "preferredVersion": preferred})
}

/// `GET /apis` (legacy).
pub fn api_group_list(groups: &[GroupVersions]) -> Value {
    let groups: Vec<Value> = groups.iter().map(group_json).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`.
pub fn api_group(group: &GroupVersions) -> Value {
    let mut v = group_json(group);
    if let Some(m) = v.as_object_mut() {
        m.insert("kind".into(), "APIGroup".into());
        m.insert("apiVersion".into(), "v1".into());
    }
    v
}

/// `GET /api/v1` or `/apis/<group>/<version>`.
pub fn api_resource_list(group: &str, version: &str, resources: &[ResourceDescriptor]) -> Value {
    let mut out = Vec::new();
    for r in resources {
        let mut entry = json!({
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if let Some(m) = entry.as_object_mut() {
            if !r.short_names.is_empty() {
                m.insert("shortNames".into(), json!(r.short_names));
            }
            if !r.categories.is_empty() {
                m.insert("categories".into(), json!(r.categories));
            }
        }
        out.push(entry);
        for s in &r.subresources {
            out.push(json!({
                "name": format!("{}/{}", r.resource, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            }));
        }
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version(group, version), "resources": out})
}

/// Aggregated discovery (`APIGroupDiscoveryList`) for a set of groups.
/// Resources are matched to groups and versions by their own `group`/`version` fields.
pub fn aggregated_discovery(
    groups: &[GroupVersions],
    resources: &[ResourceDescriptor],
    v2beta1: bool,
) -> Value {
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|v| {
                    let rs: Vec<Value> = resources
                        .iter()
                        .filter(|r| r.group == g.group && &r.version == v)
                        .map(resource_discovery)
                        .collect();
                    json!({"version": v, "resources": rs, "freshness": "Current"})
                })
                .collect();
            let metadata = if g.group.is_empty() {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": g.group, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    let api_version = if v2beta1 {
        "apidiscovery.k8s.io/v2beta1"
    } else {
        "apidiscovery.k8s.io/v2"
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items})
}

fn resource_discovery(r: &ResourceDescriptor) -> Value {
    let response_kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let mut v = json!({
        "resource": r.resource,
        "responseKind": response_kind,
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if let Some(m) = v.as_object_mut() {
        if !r.short_names.is_empty() {
            m.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            m.insert("categories".into(), json!(r.categories));
        }
        if !r.subresources.is_empty() {
            let subs: Vec<Value> = r
                .subresources
                .iter()
                .map(|s| {
                    json!({
                        "subresource": s.name,
                        "responseKind": {"group": r.group, "version": r.version, "kind": s.kind},
                        "verbs": s.verbs,
                    })
                })
                .collect();
            m.insert("subresources".into(), json!(subs));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget() -> ResourceDescriptor {
        ResourceDescriptor {
            group: "example.com".into(),
            version: "v1".into(),
            resource: "widgets".into(),
            singular: "widget".into(),
            kind: "Widget".into(),
            namespaced: true,
            verbs: standard_verbs(),
            short_names: vec!["wd".into()],
            categories: vec![],
            subresources: vec![SubresourceDescriptor {
                name: "status".into(),
                kind: "Widget".into(),
                verbs: vec!["get".into(), "patch".into(), "update".into()],
            }],
        }
    }

    #[test]
    fn legacy_documents() {
        let g = GroupVersions {
            group: "example.com".into(),
            versions: vec!["v1".into()],
        };
        let list = api_group_list(std::slice::from_ref(&g));
        assert_eq!(
            list["groups"][0]["preferredVersion"]["groupVersion"],
            "example.com/v1"
        );
        assert_eq!(api_group(&g)["kind"], "APIGroup");
        let rl = api_resource_list("example.com", "v1", &[widget()]);
        assert_eq!(rl["groupVersion"], "example.com/v1");
        assert_eq!(rl["resources"][1]["name"], "widgets/status");
        assert_eq!(rl["resources"][0]["shortNames"][0], "wd");
        assert_eq!(api_resource_list("", "v1", &[])["groupVersion"], "v1");
    }

    #[test]
    fn aggregated() {
        let g = GroupVersions {
            group: "example.com".into(),
            versions: vec!["v1".into()],
        };
        let d = aggregated_discovery(&[g], &[widget()], false);
        assert_eq!(d["apiVersion"], "apidiscovery.k8s.io/v2");
        let r = &d["items"][0]["versions"][0]["resources"][0];
        assert_eq!(r["scope"], "Namespaced");
        assert_eq!(r["responseKind"]["kind"], "Widget");
        assert_eq!(r["subresources"][0]["subresource"], "status");
    }
}
