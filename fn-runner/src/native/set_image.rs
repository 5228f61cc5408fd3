//! `set-image` (kpt-fn.md §6.8).
//!
//! Two upstream bugs are deliberately not copied: upstream reads init containers
//! from a misspelled field (so they are never updated) and drops an existing tag
//! when only `newName` is given. We update init containers and keep the tag.

use serde_json::Value;

use super::config::{config_map_data, is_fn_kind, wrong_kind};
use super::{FnFailure, FnResult};
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;

#[derive(Debug, Default)]
struct Image {
    name: String,
    new_name: String,
    new_tag: String,
    digest: String,
}

struct Extra {
    group: String,
    kind: String,
    path: Vec<String>,
}

fn read_config(fc: Option<&Value>) -> Result<(Image, Vec<Extra>), FnFailure> {
    let fc = fc.ok_or_else(|| FnFailure::msg("`functionConfig` is not given"))?;
    let (image, extra) = if let Some(data) = config_map_data(Some(fc)) {
        if let Some(k) = data
            .keys()
            .find(|k| !["name", "newName", "newTag", "digest"].contains(&k.as_str()))
        {
            return Err(FnFailure::msg(format!(
                "ConfigMap has wrong field name {k:?}; allowed: name, newName, newTag, digest"
            )));
        }
        let g = |k: &str| data.get(k).cloned().unwrap_or_default();
        (
            Image {
                name: g("name"),
                new_name: g("newName"),
                new_tag: g("newTag"),
                digest: g("digest"),
            },
            Vec::new(),
        )
    } else if is_fn_kind(fc, "SetImage") {
        let img = fc.get("image").cloned().unwrap_or(Value::Null);
        let g = |k: &str| img.get(k).and_then(krm::scalar_text).unwrap_or_default();
        let extra = fc
            .get("additionalImageFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|f| Extra {
                        group: f.get("group").and_then(Value::as_str).unwrap_or("").into(),
                        kind: f.get("kind").and_then(Value::as_str).unwrap_or("").into(),
                        path: f
                            .get("path")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .split('/')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        (
            Image {
                name: g("name"),
                new_name: g("newName"),
                new_tag: g("newTag"),
                digest: g("digest"),
            },
            extra,
        )
    } else {
        return Err(wrong_kind(fc, "a ConfigMap or SetImage"));
    };
    if image.name.is_empty() {
        return Err(FnFailure::msg("image name must not be empty"));
    }
    if image.new_name.is_empty() && image.new_tag.is_empty() && image.digest.is_empty() {
        return Err(FnFailure::msg(
            "one of newName, newTag or digest must be set",
        ));
    }
    Ok((image, extra))
}

/// The updated reference when `current` names `img.name`, else `None`.
fn updated(current: &str, img: &Image) -> Option<String> {
    let rest = current.strip_prefix(img.name.as_str())?;
    let (tag_part, digest_part) = match rest.split_once('@') {
        Some((t, d)) => (t, Some(d)),
        None => (rest, None),
    };
    let tag = match tag_part.strip_prefix(':') {
        Some(t)
            if t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
        {
            Some(t)
        }
        Some(_) => return None,
        None if tag_part.is_empty() => None,
        None => return None,
    };
    let name = if img.new_name.is_empty() {
        img.name.as_str()
    } else {
        img.new_name.as_str()
    };
    let mut out = name.to_string();
    if !img.digest.is_empty() {
        out.push('@');
        out.push_str(&img.digest);
    } else if !img.new_tag.is_empty() {
        out.push(':');
        out.push_str(&img.new_tag);
    } else if let Some(d) = digest_part {
        if let Some(t) = tag {
            out.push(':');
            out.push_str(t);
        }
        out.push('@');
        out.push_str(d);
    } else if let Some(t) = tag {
        out.push(':');
        out.push_str(t);
    }
    Some(out)
}

fn update_at(v: &mut Value, path: &[String], img: &Image, n: &mut usize) {
    if let Some(a) = v.as_array_mut() {
        for e in a.iter_mut() {
            update_at(e, path, img, n);
        }
        return;
    }
    match path.split_first() {
        None => {
            if let Some(s) = v.as_str()
                && let Some(new) = updated(s, img)
            {
                if new != s {
                    *n += 1;
                }
                *v = Value::String(new);
            }
        }
        Some((k, rest)) => {
            if let Some(child) = v.as_object_mut().and_then(|m| m.get_mut(k)) {
                update_at(child, rest, img, n);
            }
        }
    }
}

pub fn run(rl: &mut ResourceList) -> FnResult {
    let (img, extra) = read_config(rl.function_config.as_ref())?;
    let mut n = 0;
    for item in rl.items.iter_mut() {
        let pod_spec: &[&str] = match krm::kind(item) {
            "Pod" => &["spec"],
            "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet" | "PodTemplate" => {
                &["spec", "template", "spec"]
            }
            _ => &[],
        };
        if !pod_spec.is_empty() {
            for field in ["containers", "initContainers"] {
                let mut path: Vec<String> = pod_spec.iter().map(|s| s.to_string()).collect();
                path.push(field.into());
                path.push("image".into());
                update_at(item, &path, &img, &mut n);
            }
        }
        for e in &extra {
            if (e.group.is_empty() || e.group == krm::group(item))
                && (e.kind.is_empty() || e.kind == krm::kind(item))
            {
                update_at(item, &e.path, &img, &mut n);
            }
        }
    }
    rl.results.push(KrmResult::info(format!(
        "updated {n} image(s) named {:?}",
        img.name
    )));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn updates_matching_images() {
        golden(
            "set-image",
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
  spec: {template: {spec: {containers: [{name: a, image: 'nginx:1.1'}, {name: b, image: nginx-exporter}], initContainers: [{name: i, image: nginx}]}}}
- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: 'nginx@sha256:aaa'}]}}
- {apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {name: nginx, newName: 'registry.local/nginx', newTag: '1.25'}}
"#,
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
  spec: {template: {spec: {containers: [{name: a, image: 'registry.local/nginx:1.25'}, {name: b, image: nginx-exporter}], initContainers: [{name: i, image: 'registry.local/nginx:1.25'}]}}}
- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: 'registry.local/nginx:1.25'}]}}
- {apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}}
results:
- {message: 'updated 3 image(s) named "nginx"', severity: info}
"#,
            0,
        );
        golden(
            "set-image",
            "items:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: 'nginx:1.1'}]}}\nfunctionConfig: {apiVersion: fn.kpt.dev/v1alpha1, kind: SetImage, metadata: {name: s}, image: {name: nginx, newName: my/nginx}}\n",
            "items:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: 'my/nginx:1.1'}]}}\nresults:\n- {message: 'updated 1 image(s) named \"nginx\"', severity: info}\n",
            0,
        );
    }

    #[test]
    fn config_errors() {
        golden(
            "set-image",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {name: nginx, tag: x}}\n",
            "items: []\nresults:\n- {message: 'ConfigMap has wrong field name \"tag\"; allowed: name, newName, newTag, digest', severity: error}\n",
            1,
        );
        golden(
            "set-image",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {name: nginx}}\n",
            "items: []\nresults:\n- {message: 'one of newName, newTag or digest must be set', severity: error}\n",
            1,
        );
    }
}
