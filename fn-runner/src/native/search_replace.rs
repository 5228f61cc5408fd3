//! `search-replace` (kpt-fn.md §6.7). Value regexes match unanchored, as the
//! upstream code does (its README claims whole-value matching).

use regex::Regex;
use serde_json::Value;

use super::config::{config_map_data, wrong_kind};
use super::{FnFailure, FnResult, glob};
use crate::krm::{self, infer_scalar};
use crate::resource_list::ResourceList;
use crate::results::KrmResult;
use crate::yaml::{CommentMap, PathSeg};

const KEYS: &[&str] = &[
    "by-value",
    "by-value-regex",
    "by-path",
    "by-file-path",
    "put-value",
    "put-comment",
];

#[derive(Default)]
struct Config {
    by_value: Option<String>,
    by_regex: Option<Regex>,
    by_path: Option<String>,
    by_file: Option<String>,
    put_value: Option<String>,
    put_comment: Option<String>,
}

fn read_config(fc: Option<&Value>) -> Result<Config, FnFailure> {
    let fc = fc.ok_or_else(|| FnFailure::msg("`functionConfig` is not given"))?;
    let data = config_map_data(Some(fc)).ok_or_else(|| wrong_kind(fc, "a ConfigMap"))?;
    if let Some(k) = data.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(FnFailure::msg(format!(
            "invalid matcher or mutator {k:?}; allowed: {}",
            KEYS.join(", ")
        )));
    }
    let g = |k: &str| data.get(k).cloned();
    let mut cfg = Config {
        by_value: g("by-value"),
        by_path: g("by-path"),
        by_file: g("by-file-path"),
        put_value: g("put-value"),
        put_comment: g("put-comment"),
        ..Default::default()
    };
    if let Some(r) = g("by-value-regex") {
        if cfg.by_value.is_some() {
            return Err(FnFailure::msg(
                "only one of [\"by-value\", \"by-value-regex\"] can be provided",
            ));
        }
        cfg.by_regex = Some(
            Regex::new(&r).map_err(|e| FnFailure::msg(format!("invalid by-value-regex: {e}")))?,
        );
    }
    if cfg.by_value.is_none()
        && cfg.by_regex.is_none()
        && cfg.by_path.is_none()
        && cfg.by_file.is_none()
    {
        return Err(FnFailure::msg(
            "at least one of [\"by-value\", \"by-value-regex\", \"by-path\", \"by-file-path\"] must be provided",
        ));
    }
    Ok(cfg)
}

/// Path segments as search-replace writes them: list items fold into `name[i]`.
fn text_segments(path: &[PathSeg]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => out.push(k.clone()),
            PathSeg::Index(i) => match out.last_mut() {
                Some(last) => last.push_str(&format!("[{i}]")),
                None => out.push(format!("[{i}]")),
            },
        }
    }
    out
}

fn seg_matches(pattern: &str, seg: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix("[*]") {
        Some(base) => seg
            .strip_prefix(base)
            .is_some_and(|r| r.starts_with('[') && r.ends_with(']') && !r[1..].contains('[')),
        None => pattern == seg,
    }
}

fn path_matches(pattern: &[&str], segs: &[String]) -> bool {
    match pattern.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| path_matches(rest, &segs[i..])),
        Some((p, rest)) => {
            segs.first().is_some_and(|s| seg_matches(p, s)) && path_matches(rest, &segs[1..])
        }
    }
}

/// Replace `${N}` with capture group N; unresolved groups are an error.
fn expand(template: &str, caps: Option<&regex::Captures<'_>>) -> Result<String, FnFailure> {
    let re = Regex::new(r"\$\{(\d+)\}").map_err(|e| FnFailure::msg(e.to_string()))?;
    let mut err = None;
    let out = re.replace_all(template, |c: &regex::Captures<'_>| {
        let n: usize = c[1].parse().unwrap_or(usize::MAX);
        match caps.and_then(|k| k.get(n)) {
            Some(m) => m.as_str().to_string(),
            None => {
                err = Some(FnFailure::msg(format!(
                    "unable to resolve capture group ${{{n}}} in {template:?}"
                )));
                String::new()
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out.into_owned()),
    }
}

struct Hit {
    path: Vec<PathSeg>,
    value: Option<String>,
}

fn collect(v: &Value, path: &mut Vec<PathSeg>, out: &mut Vec<Hit>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(PathSeg::Key(k.clone()));
                collect(child, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            out.push(Hit {
                path: path.clone(),
                value: None,
            });
            for (i, child) in a.iter().enumerate() {
                path.push(PathSeg::Index(i));
                collect(child, path, out);
                path.pop();
            }
        }
        other => out.push(Hit {
            path: path.clone(),
            value: krm::scalar_text(other),
        }),
    }
}

pub fn run(rl: &mut ResourceList, comments: &mut CommentMap) -> FnResult {
    let cfg = read_config(rl.function_config.as_ref())?;
    let pattern: Option<Vec<&str>> = cfg.by_path.as_deref().map(|p| p.split('.').collect());
    let creates = cfg
        .by_path
        .as_deref()
        .is_some_and(|p| !p.contains('*') && !p.contains('['))
        && cfg.by_value.is_none()
        && cfg.by_regex.is_none()
        && cfg.put_value.is_some();
    let (mut matched, mut mutated) = (0usize, 0usize);
    let mut results = Vec::new();
    for (idx, item) in rl.items.iter_mut().enumerate() {
        if let Some(g) = &cfg.by_file
            && !krm::path_annotation(item).is_some_and(|p| glob::matches(g, p))
        {
            continue;
        }
        if creates && let (Some(p), Some(put)) = (&pattern, &cfg.put_value) {
            let keys: Vec<&str> = p.clone();
            let (parent, last) = keys.split_at(keys.len().saturating_sub(1));
            if let (Some(m), Some(last)) = (krm::ensure_object(item, parent), last.first()) {
                m.insert((*last).to_string(), infer_scalar(put));
                matched += 1;
                mutated += 1;
                results.push(
                    KrmResult::info(format!("Mutated field value to {put:?}"))
                        .about(item)
                        .field(keys.join("."), None, None),
                );
            }
            continue;
        }
        let mut hits = Vec::new();
        collect(item, &mut Vec::new(), &mut hits);
        for hit in hits {
            let segs = text_segments(&hit.path);
            if let Some(p) = &pattern
                && !path_matches(p, &segs)
            {
                continue;
            }
            let caps = match (&cfg.by_value, &cfg.by_regex, &hit.value) {
                (Some(want), _, Some(v)) if want == v => None,
                (Some(_), _, _) => continue,
                (_, Some(re), Some(v)) => match re.captures(v) {
                    Some(c) => Some(c),
                    None => continue,
                },
                (_, Some(_), None) => continue,
                (None, None, _) => None,
            };
            // A sequence node only matters to a path matcher with put-comment.
            if hit.value.is_none() && (cfg.put_comment.is_none() || cfg.put_value.is_some()) {
                continue;
            }
            matched += 1;
            let field = segs.join(".");
            let mut full = vec![PathSeg::Key("items".into()), PathSeg::Index(idx)];
            full.extend(hit.path.iter().cloned());
            let mut changed = false;
            if let Some(put) = &cfg.put_value {
                let new = expand(put, caps.as_ref())?;
                if let Some(slot) = super::fieldpath::get_mut(item, &hit.path) {
                    *slot = infer_scalar(&new);
                    changed = true;
                }
            }
            if let Some(c) = &cfg.put_comment {
                let c = expand(c, caps.as_ref())?;
                comments.insert(full, c.trim_start_matches('#').trim().to_string());
                changed = true;
            }
            if changed {
                mutated += 1;
            }
            let value = super::fieldpath::get(item, &hit.path).cloned();
            results.push(
                KrmResult::info(if changed {
                    "Mutated field"
                } else {
                    "Matched field"
                })
                .about(item)
                .field(field, value, None),
            );
        }
    }
    rl.results.extend(results);
    let summary = if cfg.put_value.is_some() || cfg.put_comment.is_some() {
        format!("Mutated {mutated} field(s)")
    } else {
        format!("Matched {matched} field(s)")
    };
    rl.results.push(KrmResult::info(summary));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn regex_replace_with_groups_and_comments() {
        let out = golden(
            "search-replace",
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d, annotations: {internal.config.kubernetes.io/path: app/d.yaml}}
  spec: {replicas: 1, template: {spec: {containers: [{name: a, image: 'nginx:1.1'}, {name: b, image: 'redis:7'}]}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: p, annotations: {internal.config.kubernetes.io/path: other/p.yaml}}
  spec: {containers: [{name: a, image: 'nginx:1.1'}]}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {by-value-regex: 'nginx:(.*)', by-path: 'spec.**.image', by-file-path: 'app/**', put-value: 'nginx:${1}-patched', put-comment: 'was ${1}'}}
"#,
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d, annotations: {internal.config.kubernetes.io/path: app/d.yaml}}
  spec: {replicas: 1, template: {spec: {containers: [{name: a, image: 'nginx:1.1-patched'}, {name: b, image: 'redis:7'}]}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: p, annotations: {internal.config.kubernetes.io/path: other/p.yaml}}
  spec: {containers: [{name: a, image: 'nginx:1.1'}]}
results:
- {message: Mutated field, severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: d}, file: {path: app/d.yaml}, field: {path: 'spec.template.spec.containers[0].image', currentValue: 'nginx:1.1-patched'}}
- {message: Mutated 1 field(s), severity: info}
"#,
            0,
        );
        assert!(out.contains("image: nginx:1.1-patched # was 1.1"), "{out}");
    }

    #[test]
    fn creates_path_and_reinfers_type() {
        golden(
            "search-replace",
            "items:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {by-path: spec.replicas, put-value: '3'}}\n",
            "items:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 3}}\nresults:\n- {message: 'Mutated field value to \"3\"', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: d}, field: {path: spec.replicas}}\n- {message: Mutated 1 field(s), severity: info}\n",
            0,
        );
    }

    #[test]
    fn match_only_and_errors() {
        golden(
            "search-replace",
            "items:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {x: foo, y: bar}}\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {by-value: foo}}\n",
            "items:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {x: foo, y: bar}}\nresults:\n- {message: Matched field, severity: info, resourceRef: {apiVersion: v1, kind: ConfigMap, name: a}, field: {path: data.x, currentValue: foo}}\n- {message: Matched 1 field(s), severity: info}\n",
            0,
        );
        golden(
            "search-replace",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {by-value: a, by-value-regex: b}}\n",
            "items: []\nresults:\n- {message: 'only one of [\"by-value\", \"by-value-regex\"] can be provided', severity: error}\n",
            1,
        );
        golden(
            "search-replace",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {by-name: a}}\n",
            "items: []\nresults:\n- {message: 'invalid matcher or mutator \"by-name\"; allowed: by-value, by-value-regex, by-path, by-file-path, put-value, put-comment', severity: error}\n",
            1,
        );
    }
}
