//! Modules a starlark program can `load()` (kpt-fn.md §6.9): the catalog's
//! `krmfn.star` and the deterministic part of qri-io's starlib, under starlib's
//! paths (`load("encoding/json.star", "json")`).
//!
//! Not provided: `time.star` and `http.star` (a render must not depend on the
//! clock or the network), and `encoding/csv.star`, `html.star`, `xlsx.star`,
//! `zipfile.star`, `geo.star`, `bsoup.star`; loading them, or any other path,
//! fails with an error naming what is available.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sha2::Digest as _;
use starlark::environment::{FrozenModule, GlobalsBuilder, Module};
use starlark::eval::{Evaluator, FileLoader};
use starlark::starlark_module;
use starlark::syntax::{AstModule, Dialect};
use starlark::values::float::UnpackFloat;
use starlark::values::none::NoneOr;
use starlark::values::{Heap, Value};

/// Load paths served, with the name each module binds.
const MODULES: &[(&str, &str)] = &[
    ("krmfn.star", "krmfn"),
    ("encoding/json.star", "json"),
    ("encoding/yaml.star", "yaml"),
    ("encoding/base64.star", "base64"),
    ("re.star", "re"),
    ("math.star", "math"),
    ("hash.star", "hash"),
];

/// Starlib modules the catalog function has and this runtime leaves out.
const NOT_PROVIDED: &[&str] = &[
    "time.star",
    "http.star",
    "encoding/csv.star",
    "html.star",
    "xlsx.star",
    "zipfile.star",
    "geo.star",
    "bsoup.star",
];

/// Serves `load()` for the starlark function.
pub struct StarlibLoader;

impl FileLoader for StarlibLoader {
    fn load(&self, path: &str) -> starlark::Result<FrozenModule> {
        let Some((_, name)) = MODULES.iter().find(|(p, _)| *p == path) else {
            let available: Vec<&str> = MODULES.iter().map(|(p, _)| *p).collect();
            let why = if NOT_PROVIDED.contains(&path) {
                "is not available in the native starlark runtime"
            } else {
                "is not a known module"
            };
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "cannot load {path:?}: it {why}; available modules: {}",
                available.join(", ")
            )));
        };
        let members: fn(&mut GlobalsBuilder) = match *name {
            "krmfn" => krmfn_members,
            "json" => json_members,
            "yaml" => yaml_members,
            "base64" => base64_members,
            "re" => re_members,
            "math" => math_with_constants,
            _ => hash_members,
        };
        bind_namespace(name, members)
    }
}

/// A frozen module whose one global, `name`, is the namespace `members` builds.
fn bind_namespace(name: &str, members: fn(&mut GlobalsBuilder)) -> starlark::Result<FrozenModule> {
    // A module-level `x = x` would read as a local: bind from another global name.
    let builtin = format!("builtin_{name}");
    let globals = GlobalsBuilder::new()
        .with_namespace(&builtin, members)
        .build();
    let ast = AstModule::parse(
        "starlib.star",
        format!("{name} = {builtin}"),
        &Dialect::Standard,
    )?;
    Module::with_temp_heap(|module| {
        Evaluator::new(&module).eval_module(ast, &globals)?;
        Ok(module.freeze()?)
    })
}

fn json_of(v: Value) -> anyhow::Result<serde_json::Value> {
    v.to_json_value()
}

/// `group`, `version` of an apiVersion, as apimachinery's ParseGroupVersion.
fn group_version(av: &str) -> Option<(&str, &str)> {
    match av.split('/').count() {
        1 => Some(("", av)),
        2 => av.split_once('/'),
        _ => None,
    }
}

fn meta_str(r: &serde_json::Value, field: &str) -> String {
    r.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string()
}

#[starlark_module]
fn krmfn_members(builder: &mut GlobalsBuilder) {
    /// Whether the resource has this apiVersion (group and version) and kind.
    fn match_gvk(
        #[starlark(require = pos)] resource: Value,
        #[starlark(require = pos)] api_version: &str,
        #[starlark(require = pos)] kind: &str,
    ) -> anyhow::Result<bool> {
        let want = group_version(api_version)
            .ok_or_else(|| anyhow::anyhow!("unexpected GroupVersion string: {api_version}"))?;
        let r = json_of(resource)?;
        let av = r
            .get("apiVersion")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        let k = r
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        Ok(group_version(av) == Some(want) && k == kind)
    }

    /// Whether `metadata.name` is `name`.
    fn match_name(
        #[starlark(require = pos)] resource: Value,
        #[starlark(require = pos)] name: &str,
    ) -> anyhow::Result<bool> {
        Ok(meta_str(&json_of(resource)?, "name") == name)
    }

    /// Whether `metadata.namespace` is `namespace`.
    fn match_namespace(
        #[starlark(require = pos)] resource: Value,
        #[starlark(require = pos)] namespace: &str,
    ) -> anyhow::Result<bool> {
        Ok(meta_str(&json_of(resource)?, "namespace") == namespace)
    }
}

#[starlark_module]
fn json_members(builder: &mut GlobalsBuilder) {
    /// starlib: serialize to JSON text (`indent` spaces per level when given).
    fn dumps(
        #[starlark(require = pos)] obj: Value,
        #[starlark(default = NoneOr::None)] indent: NoneOr<i32>,
    ) -> anyhow::Result<String> {
        let v = json_of(obj)?;
        Ok(match indent.into_option() {
            Some(n) if n > 0 => {
                let pad = vec![b' '; n as usize];
                let mut out = Vec::new();
                let fmt = serde_json::ser::PrettyFormatter::with_indent(&pad);
                let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
                serde::Serialize::serialize(&v, &mut ser)?;
                String::from_utf8(out)?
            }
            _ => serde_json::to_string(&v)?,
        })
    }

    /// starlib: parse JSON text.
    fn loads<'v>(
        #[starlark(require = pos)] source: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        Ok(heap.alloc(serde_json::from_str::<serde_json::Value>(source)?))
    }

    /// starlark-go's `json.encode`.
    fn encode(#[starlark(require = pos)] obj: Value) -> anyhow::Result<String> {
        Ok(serde_json::to_string(&json_of(obj)?)?)
    }

    /// starlark-go's `json.decode`.
    fn decode<'v>(
        #[starlark(require = pos)] source: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        Ok(heap.alloc(serde_json::from_str::<serde_json::Value>(source)?))
    }
}

#[starlark_module]
fn yaml_members(builder: &mut GlobalsBuilder) {
    /// Serialize to block YAML.
    fn dumps(#[starlark(require = pos)] obj: Value) -> anyhow::Result<String> {
        Ok(crate::yaml::to_yaml(&json_of(obj)?))
    }

    /// Parse one YAML document.
    fn loads<'v>(
        #[starlark(require = pos)] source: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let v = crate::yaml::parse_str(source).map_err(|e| anyhow::anyhow!(e))?;
        Ok(heap.alloc(v))
    }
}

fn base64_engine(encoding: &str) -> anyhow::Result<&'static base64::engine::GeneralPurpose> {
    match encoding {
        "standard" => Ok(&STANDARD),
        "standard_raw" => Ok(&STANDARD_NO_PAD),
        "url" => Ok(&URL_SAFE),
        "url_raw" => Ok(&URL_SAFE_NO_PAD),
        other => Err(anyhow::anyhow!(
            "unsupported encoding format: {other:?} (standard, standard_raw, url, url_raw)"
        )),
    }
}

#[starlark_module]
fn base64_members(builder: &mut GlobalsBuilder) {
    /// Encode a string's bytes.
    fn encode(
        #[starlark(require = pos)] src: &str,
        #[starlark(default = "standard")] encoding: &str,
    ) -> anyhow::Result<String> {
        Ok(base64_engine(encoding)?.encode(src))
    }

    /// Decode to a (UTF-8) string.
    fn decode(
        #[starlark(require = pos)] src: &str,
        #[starlark(default = "standard")] encoding: &str,
    ) -> anyhow::Result<String> {
        let bytes = base64_engine(encoding)?.decode(src)?;
        Ok(String::from_utf8(bytes)?)
    }
}

fn regex_of(pattern: &str) -> anyhow::Result<regex::Regex> {
    regex::Regex::new(pattern).map_err(|e| anyhow::anyhow!("invalid pattern {pattern:?}: {e}"))
}

#[starlark_module]
fn re_members(builder: &mut GlobalsBuilder) {
    /// All non-overlapping matches: the whole match, or the groups when the pattern has any.
    fn findall<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let re = regex_of(pattern)?;
        let groups = re.captures_len() - 1;
        let mut out: Vec<Value> = Vec::new();
        for c in re.captures_iter(text) {
            let g = |i: usize| c.get(i).map_or("", |m| m.as_str());
            out.push(match groups {
                0 => heap.alloc(g(0)),
                1 => heap.alloc(g(1)),
                n => heap.alloc(starlark::values::tuple::AllocTuple(
                    (1..=n).map(g).collect::<Vec<_>>(),
                )),
            });
        }
        Ok(heap.alloc(out))
    }

    /// Split `text` around matches (`maxsplit` > 0 limits the splits).
    fn split<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
        #[starlark(default = 0)] maxsplit: i32,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let re = regex_of(pattern)?;
        let parts: Vec<&str> = if maxsplit > 0 {
            re.splitn(text, maxsplit as usize + 1).collect()
        } else {
            re.split(text).collect()
        };
        Ok(heap.alloc(parts))
    }

    /// Replace matches with `repl` (`\1` or `$1` refer to groups); `count` > 0 limits replacements.
    fn sub(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] repl: &str,
        #[starlark(require = pos)] text: &str,
        #[starlark(default = 0)] count: i32,
    ) -> anyhow::Result<String> {
        let re = regex_of(pattern)?;
        let repl = python_backrefs(repl);
        let limit = if count > 0 { count as usize } else { 0 };
        Ok(re.replacen(text, limit, repl.as_str()).into_owned())
    }

    /// The whole match and groups of the first match at the start of `text`, or None.
    fn r#match<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let re = regex_of(&format!("^(?:{pattern})"))?;
        Ok(match re.captures(text) {
            None => Value::new_none(),
            Some(c) => {
                let parts: Vec<&str> = c.iter().map(|m| m.map_or("", |m| m.as_str())).collect();
                heap.alloc(parts)
            }
        })
    }
}

/// `\1` (Python) to `${1}` (regex crate); a literal `$` is escaped.
fn python_backrefs(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    n.push(d);
                    chars.next();
                }
                out.push_str(&format!("${{{n}}}"));
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

#[starlark_module]
fn math_members(builder: &mut GlobalsBuilder) {
    fn ceil(#[starlark(require = pos)] x: UnpackFloat) -> anyhow::Result<i32> {
        Ok(x.0.ceil() as i32)
    }
    fn floor(#[starlark(require = pos)] x: UnpackFloat) -> anyhow::Result<i32> {
        Ok(x.0.floor() as i32)
    }
    fn round(#[starlark(require = pos)] x: UnpackFloat) -> anyhow::Result<i32> {
        Ok(x.0.round() as i32)
    }
    fn fabs(#[starlark(require = pos)] x: UnpackFloat) -> anyhow::Result<f64> {
        Ok(x.0.abs())
    }
    fn sqrt(#[starlark(require = pos)] x: UnpackFloat) -> anyhow::Result<f64> {
        Ok(x.0.sqrt())
    }
    fn pow(
        #[starlark(require = pos)] x: UnpackFloat,
        #[starlark(require = pos)] y: UnpackFloat,
    ) -> anyhow::Result<f64> {
        Ok(x.0.powf(y.0))
    }
    fn exp(#[starlark(require = pos)] x: UnpackFloat) -> anyhow::Result<f64> {
        Ok(x.0.exp())
    }
    fn log(#[starlark(require = pos)] x: UnpackFloat) -> anyhow::Result<f64> {
        Ok(x.0.ln())
    }
}

fn math_with_constants(builder: &mut GlobalsBuilder) {
    math_members(builder);
    builder.set("pi", std::f64::consts::PI);
    builder.set("e", std::f64::consts::E);
}

#[starlark_module]
fn hash_members(builder: &mut GlobalsBuilder) {
    /// Hex SHA-256 of a string's bytes.
    fn sha256(#[starlark(require = pos)] s: &str) -> anyhow::Result<String> {
        Ok(hex::encode(sha2::Sha256::digest(s.as_bytes())))
    }
}
