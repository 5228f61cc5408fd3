//! kyaml-style field paths (`spec.containers.[name=app].image`, `*`, `[=v]`, indices),
//! resolved to concrete paths over JSON values.

use serde_json::{Map, Value};

use crate::yaml::PathSeg;

/// One parsed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A map field (or a sequence index if it is numeric and the node is a sequence).
    Field(String),
    /// `[key=value]`: the sequence element whose `key` equals `value`.
    Match(String, String),
    /// `[=value]`: the scalar sequence element equal to `value`.
    Value(String),
    /// `*`: every child.
    Any,
}

/// Split a path on dots outside brackets; `a[k=v]` becomes `a`, `[k=v]`.
pub fn parse(path: &str) -> Vec<Seg> {
    let mut raw = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for ch in path.chars() {
        match ch {
            '[' => {
                if depth == 0 && !cur.is_empty() {
                    raw.push(std::mem::take(&mut cur));
                }
                depth += 1;
                cur.push(ch);
            }
            ']' => {
                depth -= 1;
                cur.push(ch);
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    raw.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(ch),
        }
    }
    if !cur.is_empty() {
        raw.push(cur);
    }
    raw.into_iter()
        .map(|s| {
            if s == "*" {
                return Seg::Any;
            }
            if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                if let Some((k, v)) = inner.split_once('=') {
                    return if k.is_empty() {
                        Seg::Value(v.to_string())
                    } else {
                        Seg::Match(k.to_string(), v.to_string())
                    };
                }
                return Seg::Field(inner.to_string());
            }
            Seg::Field(s)
        })
        .collect()
}

fn scalar_eq(v: &Value, s: &str) -> bool {
    match v {
        Value::String(x) => x == s,
        Value::Number(n) => n.to_string() == s,
        Value::Bool(b) => b.to_string() == s,
        _ => false,
    }
}

/// Every concrete path matching `segs` under `v`. With `create`, missing map fields
/// (and `[k=v]` elements) are created along the way.
pub fn resolve(v: &mut Value, segs: &[Seg], create: bool) -> Vec<Vec<PathSeg>> {
    let mut out = Vec::new();
    walk(v, segs, create, &mut Vec::new(), &mut out);
    out
}

fn walk(
    v: &mut Value,
    segs: &[Seg],
    create: bool,
    at: &mut Vec<PathSeg>,
    out: &mut Vec<Vec<PathSeg>>,
) {
    let Some((seg, rest)) = segs.split_first() else {
        out.push(at.clone());
        return;
    };
    let step =
        |child: &mut Value, ps: PathSeg, at: &mut Vec<PathSeg>, out: &mut Vec<Vec<PathSeg>>| {
            at.push(ps);
            walk(child, rest, create, at, out);
            at.pop();
        };
    match seg {
        Seg::Any => match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    step(child, PathSeg::Key(k.clone()), at, out);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter_mut().enumerate() {
                    step(child, PathSeg::Index(i), at, out);
                }
            }
            _ => {}
        },
        Seg::Field(name) => {
            if let Value::Array(a) = v {
                if let Ok(i) = name.parse::<usize>()
                    && let Some(child) = a.get_mut(i)
                {
                    step(child, PathSeg::Index(i), at, out);
                }
                return;
            }
            if v.is_null() && create {
                *v = Value::Object(Map::new());
            }
            let Value::Object(m) = v else { return };
            if !m.contains_key(name) {
                if !create {
                    return;
                }
                let fresh = match rest.first() {
                    Some(Seg::Match(..)) | Some(Seg::Value(_)) => Value::Array(Vec::new()),
                    Some(_) => Value::Object(Map::new()),
                    None => Value::Null,
                };
                m.insert(name.clone(), fresh);
            }
            if let Some(child) = m.get_mut(name) {
                step(child, PathSeg::Key(name.clone()), at, out);
            }
        }
        Seg::Match(key, want) => {
            let Value::Array(a) = v else { return };
            let mut found = false;
            for (i, child) in a.iter_mut().enumerate() {
                if child.get(key).is_some_and(|x| scalar_eq(x, want)) {
                    found = true;
                    step(child, PathSeg::Index(i), at, out);
                }
            }
            if !found && create {
                let mut m = Map::new();
                m.insert(key.clone(), Value::String(want.clone()));
                a.push(Value::Object(m));
                let i = a.len() - 1;
                step(&mut a[i], PathSeg::Index(i), at, out);
            }
        }
        Seg::Value(want) => {
            let Value::Array(a) = v else { return };
            for (i, child) in a.iter_mut().enumerate() {
                if scalar_eq(child, want) {
                    step(child, PathSeg::Index(i), at, out);
                }
            }
        }
    }
}

/// The value at a concrete path.
pub fn get<'a>(v: &'a Value, path: &[PathSeg]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, seg| match seg {
        PathSeg::Key(k) => cur.as_object()?.get(k),
        PathSeg::Index(i) => cur.as_array()?.get(*i),
    })
}

/// The value at a concrete path, mutably.
pub fn get_mut<'a>(v: &'a mut Value, path: &[PathSeg]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |cur, seg| match seg {
        PathSeg::Key(k) => cur.as_object_mut()?.get_mut(k),
        PathSeg::Index(i) => cur.as_array_mut()?.get_mut(*i),
    })
}

/// Dotted text of a concrete path (`spec.containers[0].image`).
pub fn display(path: &[PathSeg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathSeg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_resolves() {
        assert_eq!(
            parse("spec.containers[name=a.b].image"),
            vec![
                Seg::Field("spec".into()),
                Seg::Field("containers".into()),
                Seg::Match("name".into(), "a.b".into()),
                Seg::Field("image".into())
            ]
        );
        let mut v = json!({"spec": {"containers": [{"name": "a.b", "image": "x"}, {"name": "c", "image": "y"}], "args": ["p", "q"]}});
        let p = resolve(&mut v, &parse("spec.containers.*.image"), false);
        assert_eq!(p.len(), 2);
        assert_eq!(get(&v, &p[1]), Some(&json!("y")));
        let p = resolve(&mut v, &parse("spec.args.[=q]"), false);
        assert_eq!(display(&p[0]), "spec.args[1]");
        assert!(resolve(&mut v, &parse("spec.missing.x"), false).is_empty());
        let p = resolve(&mut v, &parse("spec.new.x"), true);
        assert_eq!(display(&p[0]), "spec.new.x");
        assert_eq!(v["spec"]["new"], json!({"x": null}));
    }
}
