//! The local representation of a package revision (spec/porch-api.md §5.5): the
//! `.KptRevisionMetadata` file, the ResourceList that `pull` prints, the file tree it writes, and
//! how `push` turns a directory or a ResourceList back into `spec.resources`.
//!
//! YAML files are re-emitted from parsed values, so comments in files that pass through a
//! ResourceList are not kept (files read from or written to a directory are copied verbatim).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::printers::yaml::to_yaml;

/// The metadata file's name.
pub const METADATA_FILE: &str = ".KptRevisionMetadata";
/// Annotations pull adds and push removes.
pub const PATH_ANNOTATION: &str = "config.kubernetes.io/path";
/// See [`PATH_ANNOTATION`].
pub const INDEX_ANNOTATION: &str = "config.kubernetes.io/index";
/// See [`PATH_ANNOTATION`].
pub const INTERNAL_PATH_ANNOTATION: &str = "internal.config.kubernetes.io/path";
/// See [`PATH_ANNOTATION`].
pub const INTERNAL_INDEX_ANNOTATION: &str = "internal.config.kubernetes.io/index";

/// Errors of the disk format.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// A YAML file could not be parsed.
    #[error("failed to parse {path}: {message}")]
    Yaml {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A resource path would leave the package directory.
    #[error("invalid resource path {0:?}: paths must stay inside the package")]
    UnsafePath(String),
    /// A file is not UTF-8.
    #[error(
        "file {0} is not a valid UTF-8 text file: current porch API doesn't support binary files"
    )]
    Binary(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
}

/// Drops empty values the way Go's `omitempty` does for ObjectMeta.
fn prune_empty(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(m) if m.is_empty() => None,
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                if let Some(x) = prune_empty(x) {
                    out.insert(k.clone(), x);
                }
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    }
}

/// The `.KptRevisionMetadata` text for a PRR's metadata.
pub fn metadata_file(prr_metadata: &Value) -> String {
    let meta = prune_empty(prr_metadata).unwrap_or_else(|| json!({}));
    let obj = json!({"apiVersion": "", "kind": "KptRevisionMetadata", "metadata": meta});
    to_yaml(&obj, true)
}

/// `resources` plus the metadata file, as pull sees them.
pub fn with_metadata(resources: &Value, prr_metadata: &Value) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    if let Some(m) = resources.as_object() {
        for (k, v) in m {
            files.insert(k.clone(), v.as_str().unwrap_or("").to_string());
        }
    }
    files.insert(METADATA_FILE.to_string(), metadata_file(prr_metadata));
    files
}

/// Whether pull puts this file into the ResourceList.
pub fn is_krm_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.ends_with(".yaml") || base.ends_with(".yml") || base == "Kptfile" || base == METADATA_FILE
}

/// Parses a YAML stream into its non-empty documents.
pub fn parse_documents(path: &str, text: &str) -> Result<Vec<Value>, FormatError> {
    let docs = crate::printers::yaml::parse_multi(text).map_err(|message| FormatError::Yaml {
        path: path.to_string(),
        message,
    })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    let Some(m) = obj.as_object_mut() else { return };
    let meta = m.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let ann = meta.entry("annotations").or_insert_with(|| json!({}));
    if !ann.is_object() {
        *ann = json!({});
    }
    if let Some(ann) = ann.as_object_mut() {
        ann.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// The ResourceList `pull` prints: KRM files sorted by path, each document annotated with its
/// path and index.
pub fn resource_list(files: &BTreeMap<String, String>) -> Result<String, FormatError> {
    let mut items = Vec::new();
    for (path, text) in files {
        if !is_krm_file(path) {
            continue;
        }
        for (i, mut doc) in parse_documents(path, text)?.into_iter().enumerate() {
            if !doc.is_object() {
                continue;
            }
            let idx = i.to_string();
            set_annotation(&mut doc, PATH_ANNOTATION, path);
            set_annotation(&mut doc, INDEX_ANNOTATION, &idx);
            set_annotation(&mut doc, INTERNAL_PATH_ANNOTATION, path);
            set_annotation(&mut doc, INTERNAL_INDEX_ANNOTATION, &idx);
            items.push(doc);
        }
    }
    let list =
        json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items});
    Ok(to_yaml(&list, false))
}

/// Resolves a resource key under `root`, refusing absolute paths and `..`.
pub fn safe_join(root: &Path, key: &str) -> Result<PathBuf, FormatError> {
    let rel = Path::new(key);
    if key.is_empty() || rel.is_absolute() {
        return Err(FormatError::UnsafePath(key.to_string()));
    }
    for c in rel.components() {
        if !matches!(c, Component::Normal(_)) {
            return Err(FormatError::UnsafePath(key.to_string()));
        }
    }
    Ok(root.join(rel))
}

/// Writes every file under `dir` (files 0600, directories 0750).
pub fn write_dir(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), FormatError> {
    let io = |e: std::io::Error| FormatError::Io(e.to_string());
    // Validate all paths before touching the disk, so a bad key writes nothing.
    let targets: Vec<(PathBuf, &String)> = files
        .iter()
        .map(|(k, v)| safe_join(dir, k).map(|p| (p, v)))
        .collect::<Result<_, _>>()?;
    create_dir_0750(dir).map_err(io)?;
    for (path, content) in targets {
        if let Some(parent) = path.parent() {
            create_dir_0750(parent).map_err(io)?;
        }
        write_0600(&path, content.as_bytes()).map_err(io)?;
    }
    Ok(())
}

fn create_dir_0750(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o750);
    }
    b.create(dir)
}

fn write_0600(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    use std::io::Write;
    o.open(path)?.write_all(data)
}

/// Reads every regular file under `dir` into `path -> text` (keys use `/`).
pub fn read_dir(dir: &Path) -> Result<BTreeMap<String, String>, FormatError> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> Result<(), FormatError> {
    let io = |e: std::io::Error| FormatError::Io(e.to_string());
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let ft = e.file_type().map_err(io)?;
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if ft.is_file() {
            let bytes = std::fs::read(&path).map_err(io)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| FormatError::Binary(path.display().to_string()))?;
            let rel = path
                .strip_prefix(root)
                .map_err(|e| FormatError::Io(e.to_string()))?;
            let key: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.insert(key.join("/"), text);
        }
    }
    Ok(())
}

fn annotations(v: &Value) -> Option<&Map<String, Value>> {
    v.pointer("/metadata/annotations")
        .and_then(Value::as_object)
}

/// Groups a ResourceList (or plain YAML stream) from stdin into files.
pub fn files_from_stream(text: &str) -> Result<BTreeMap<String, String>, FormatError> {
    let mut items = Vec::new();
    for doc in parse_documents("stdin", text)? {
        let is_list = doc
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k == "ResourceList" || k == "List");
        match doc.get("items").and_then(Value::as_array) {
            Some(list) if is_list => items.extend(list.iter().cloned()),
            _ => items.push(doc),
        }
    }
    let mut grouped: BTreeMap<String, Vec<(i64, usize, Value)>> = BTreeMap::new();
    for (order, item) in items.into_iter().enumerate() {
        let ann = annotations(&item);
        let get = |k: &str| {
            ann.and_then(|a| a.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let path = get(PATH_ANNOTATION)
            .or_else(|| get(INTERNAL_PATH_ANNOTATION))
            .unwrap_or_else(|| {
                let ns = item
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty());
                let name = item
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty());
                format!(
                    "{}/{}.yaml",
                    ns.unwrap_or("non-namespaced"),
                    name.unwrap_or("unnamed")
                )
            });
        let index = get(INDEX_ANNOTATION)
            .or_else(|| get(INTERNAL_INDEX_ANNOTATION))
            .and_then(|i| i.parse().ok())
            .unwrap_or(i64::MAX);
        grouped
            .entry(path)
            .or_default()
            .push((index, order, strip_annotations(item)));
    }
    let mut files = BTreeMap::new();
    for (path, mut docs) in grouped {
        docs.sort_by_key(|(i, o, _)| (*i, *o));
        let texts: Vec<String> = docs.iter().map(|(_, _, d)| to_yaml(d, false)).collect();
        files.insert(path, texts.join("---\n"));
    }
    Ok(files)
}

fn strip_annotations(mut item: Value) -> Value {
    let mut empty = false;
    if let Some(ann) = item
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        for k in [
            PATH_ANNOTATION,
            INDEX_ANNOTATION,
            INTERNAL_PATH_ANNOTATION,
            INTERNAL_INDEX_ANNOTATION,
        ] {
            ann.remove(k);
        }
        // Legacy annotation names kio also clears.
        ann.remove("config.k8s.io/id");
        ann.remove("internal.config.kubernetes.io/id");
        ann.remove("internal.config.kubernetes.io/annotations-migration-resource-id");
        empty = ann.is_empty();
    }
    if empty && let Some(meta) = item.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("annotations");
    }
    item
}

/// The resourceVersion recorded in `.KptRevisionMetadata` (empty when it has none).
pub fn metadata_resource_version(text: &str) -> Result<String, FormatError> {
    let docs = parse_documents(METADATA_FILE, text)?;
    Ok(docs
        .first()
        .and_then(|d| d.pointer("/metadata/resourceVersion"))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BTreeMap<String, String> {
        let meta = json!({"name": "git.p.ws", "namespace": "ns", "uid": "u", "resourceVersion": "abc",
                          "ownerReferences": [], "labels": {}});
        let resources = json!({
            "Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n",
            "README.md": "# readme\n",
            "sub/two.yaml": "kind: A\nmetadata:\n  name: a\n---\nkind: B\nmetadata:\n  name: b\n",
        });
        with_metadata(&resources, &meta)
    }

    #[test]
    fn metadata_file_omits_empty_fields() {
        let files = sample();
        assert_eq!(
            files[METADATA_FILE],
            "apiVersion: \"\"\nkind: KptRevisionMetadata\nmetadata:\n  name: git.p.ws\n  namespace: ns\n  resourceVersion: abc\n  uid: u\n"
        );
        assert_eq!(
            metadata_resource_version(&files[METADATA_FILE]).unwrap(),
            "abc"
        );
    }

    #[test]
    fn resource_list_annotates_and_sorts() {
        let out = resource_list(&sample()).unwrap();
        let v: Value = serde_saphyr::from_str(&out).unwrap();
        let items = v["items"].as_array().unwrap();
        let paths: Vec<&str> = items
            .iter()
            .map(|i| {
                i["metadata"]["annotations"][PATH_ANNOTATION]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            paths,
            vec![
                ".KptRevisionMetadata",
                "Kptfile",
                "sub/two.yaml",
                "sub/two.yaml"
            ]
        );
        assert_eq!(
            items[3]["metadata"]["annotations"][INTERNAL_INDEX_ANNOTATION],
            "1"
        );
        assert!(out.starts_with(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: \"\"\n"
        ));
    }

    #[test]
    fn stream_round_trip() {
        let files = sample();
        let list = resource_list(&files).unwrap();
        let back = files_from_stream(&list).unwrap();
        assert_eq!(
            back.keys().collect::<Vec<_>>(),
            vec![".KptRevisionMetadata", "Kptfile", "sub/two.yaml"]
        );
        let two = parse_documents("x", &back["sub/two.yaml"]).unwrap();
        assert_eq!(
            two,
            vec![
                json!({"kind": "A", "metadata": {"name": "a"}}),
                json!({"kind": "B", "metadata": {"name": "b"}})
            ]
        );
        let k = parse_documents("k", &back["Kptfile"]).unwrap();
        assert_eq!(
            k[0]["metadata"]["annotations"],
            json!({"config.kubernetes.io/local-config": "true"})
        );
    }

    #[test]
    fn unannotated_items_get_default_paths() {
        let files = files_from_stream(
            "kind: ConfigMap\nmetadata:\n  name: c\n  namespace: n\n---\nkind: X\n",
        )
        .unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            vec!["n/c.yaml", "non-namespaced/unnamed.yaml"]
        );
    }

    #[test]
    fn dir_round_trip_and_safety() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pkg");
        write_dir(&dir, &sample()).unwrap();
        assert_eq!(read_dir(&dir).unwrap(), sample());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("Kptfile"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut bad = BTreeMap::new();
        bad.insert("../escape".to_string(), String::new());
        assert!(matches!(
            write_dir(&tmp.path().join("b"), &bad),
            Err(FormatError::UnsafePath(_))
        ));
        assert!(!tmp.path().join("b").exists());
        std::fs::write(dir.join("bin"), [0xff, 0xfe]).unwrap();
        assert!(matches!(read_dir(&dir), Err(FormatError::Binary(_))));
    }
}
