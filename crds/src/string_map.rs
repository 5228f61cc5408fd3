//! [`StringMap`]: a small string-to-string map that serialises exactly as a `BTreeMap`.
//!
//! Package labels and annotations hold a handful of entries, and every cached revision
//! carries them (the operators' reflector and the API server's views hold 10,000 each with a
//! large repository). A `BTreeMap` allocates a node of eleven slots for a single entry (over
//! 500 bytes); a sorted vector holds just the entries.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// String keys to string values, ordered by key. On the wire and in schemas it is a JSON
/// object, like `BTreeMap<String, String>`; a key given twice keeps its last value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StringMap(Vec<(String, String)>);

impl StringMap {
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.position(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaced.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.position(key).ok().map(|i| self.0.remove(i).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &String> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Keeps the entries `keep` returns true for.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &String) -> bool) {
        self.0.retain(|(k, v)| keep(k, v));
    }
}

impl FromIterator<(String, String)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut map = Self::new();
        map.extend(iter);
        map
    }
}

impl Extend<(String, String)> for StringMap {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<const N: usize> From<[(String, String); N]> for StringMap {
    fn from(entries: [(String, String); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl From<BTreeMap<String, String>> for StringMap {
    fn from(map: BTreeMap<String, String>) -> Self {
        // Already ordered and unique.
        Self(map.into_iter().collect())
    }
}

impl From<StringMap> for BTreeMap<String, String> {
    fn from(map: StringMap) -> Self {
        map.0.into_iter().collect()
    }
}

impl IntoIterator for StringMap {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;

        impl<'de> Visitor<'de> for MapVisitor {
            type Value = StringMap;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings to strings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StringMap, A::Error> {
                let mut entries: Vec<(String, String)> =
                    Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = access.next_entry()? {
                    entries.push(entry);
                }
                // Stable, so the last of equal keys is the one kept.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut unique: Vec<(String, String)> = Vec::with_capacity(entries.len());
                for entry in entries {
                    match unique.last_mut() {
                        Some(last) if last.0 == entry.0 => *last = entry,
                        _ => unique.push(entry),
                    }
                }
                Ok(StringMap(unique))
            }
        }

        deserializer.deserialize_map(MapVisitor)
    }
}

/// The schema of `BTreeMap<String, String>`, so CRDs and OpenAPI do not change.
impl JsonSchema for StringMap {
    fn inline_schema() -> bool {
        <BTreeMap<String, String>>::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        <BTreeMap<String, String>>::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        <BTreeMap<String, String>>::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        <BTreeMap<String, String>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn s(v: &str) -> String {
        v.to_owned()
    }

    #[test]
    fn wire_form_is_a_btreemaps() {
        let json = json!({"b": "2", "a": "1", "c": "3"});
        let map: StringMap = serde_json::from_value(json.clone()).unwrap();
        let tree: BTreeMap<String, String> = serde_json::from_value(json).unwrap();
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            serde_json::to_string(&tree).unwrap()
        );
        assert_eq!(BTreeMap::from(map.clone()), tree);
        assert_eq!(StringMap::from(tree), map);
        assert!(serde_json::from_value::<StringMap>(json!({"a": 1})).is_err());
        assert!(serde_json::from_value::<StringMap>(json!(["a"])).is_err());
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let map: StringMap = serde_json::from_str(r#"{"k":"1","a":"x","k":"2"}"#).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map.get("k").map(String::as_str), Some("2"));
    }

    #[test]
    fn behaves_as_an_ordered_map() {
        let mut map = StringMap::new();
        assert_eq!(map.insert(s("b"), s("1")), None);
        assert_eq!(map.insert(s("a"), s("2")), None);
        assert_eq!(map.insert(s("b"), s("3")), Some(s("1")));
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(map.get("b").map(String::as_str), Some("3"));
        assert!(map.contains_key("a") && !map.contains_key("c"));
        assert_eq!(map.remove("a"), Some(s("2")));
        assert_eq!(map.remove("a"), None);
        map.extend([(s("z"), s("9")), (s("c"), s("0"))]);
        map.retain(|k, _| k != "z");
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            [(&s("b"), &s("3")), (&s("c"), &s("0"))]
        );
    }

    #[test]
    fn schema_is_a_btreemaps() {
        let ours = schemars::schema_for!(StringMap);
        let theirs = schemars::schema_for!(BTreeMap<String, String>);
        assert_eq!(ours, theirs);
    }
}
