//! The ResourceList wire object (kpt-fn.md §1.1).

use serde_json::{Map, Value};

use crate::results::KrmResult;
use crate::yaml;

/// Why a ResourceList could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ResourceListError {
    /// Not YAML at all.
    #[error("failed to parse the ResourceList: {0}")]
    Yaml(String),
    /// YAML, but not a ResourceList.
    #[error("input is not a ResourceList: {0}")]
    Shape(String),
}

/// A parsed ResourceList.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceList {
    /// `apiVersion` as received (written back unchanged).
    pub api_version: String,
    /// The resources.
    pub items: Vec<Value>,
    /// The function's configuration, when given.
    pub function_config: Option<Value>,
    /// Results the function reports.
    pub results: Vec<KrmResult>,
}

impl ResourceList {
    /// Parse a serialized ResourceList (a `List` with `items` is accepted too, as kyaml does).
    pub fn parse(bytes: &[u8]) -> Result<Self, ResourceListError> {
        let v = yaml::parse(bytes).map_err(ResourceListError::Yaml)?;
        Self::from_value(v)
    }

    /// Build from an already parsed document.
    pub fn from_value(v: Value) -> Result<Self, ResourceListError> {
        let Value::Object(mut m) = v else {
            return Err(ResourceListError::Shape(
                "the document is not a mapping".into(),
            ));
        };
        let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "ResourceList" && kind != "List" {
            return Err(ResourceListError::Shape(format!(
                "kind is {kind:?}, expected \"ResourceList\""
            )));
        }
        let api_version = m
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("config.kubernetes.io/v1")
            .to_string();
        let items = match m.remove("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(ResourceListError::Shape("items is not a list".into())),
        };
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() {
                return Err(ResourceListError::Shape(format!(
                    "items[{i}] is not a mapping"
                )));
            }
        }
        let function_config = match m.remove("functionConfig") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v),
            Some(_) => {
                return Err(ResourceListError::Shape(
                    "functionConfig is not a mapping".into(),
                ));
            }
        };
        Ok(ResourceList {
            api_version,
            items,
            function_config,
            results: Vec::new(),
        })
    }

    /// The document as a JSON value, in the writer's key order.
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// The document as a JSON value, without copying the items.
    pub fn into_value(self) -> Value {
        let mut m = Map::new();
        m.insert("apiVersion".into(), Value::String(self.api_version));
        m.insert("kind".into(), Value::String("ResourceList".into()));
        m.insert("items".into(), Value::Array(self.items));
        if let Some(fc) = self.function_config {
            m.insert("functionConfig".into(), fc);
        }
        if !self.results.is_empty() {
            let results = self
                .results
                .iter()
                .filter_map(|r| serde_json::to_value(r).ok())
                .collect();
            m.insert("results".into(), Value::Array(results));
        }
        Value::Object(m)
    }

    /// Serialize as YAML.
    pub fn to_yaml(&self) -> String {
        yaml::to_yaml(&self.to_value())
    }

    /// Serialize as YAML, consuming the list.
    pub fn into_yaml(self) -> String {
        yaml::to_yaml(&self.into_value())
    }

    /// Whether any result has severity `error`.
    pub fn has_error_results(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.severity == crate::results::Severity::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes() {
        let rl = ResourceList::parse(
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\nfunctionConfig: {kind: ConfigMap, data: {x: y}}\n",
        )
        .unwrap();
        assert_eq!(rl.items.len(), 1);
        let back = ResourceList::parse(rl.to_yaml().as_bytes()).unwrap();
        assert_eq!(back, rl);
    }

    #[test]
    fn parser_budget_exceeds_the_message_limit() {
        // Parsing 250k+ nodes takes seconds in a debug build, so check the budget
        // itself: the default (250k nodes) would refuse lists far below 6 MiB.
        let budget = crate::yaml::options().budget.unwrap();
        assert!(budget.max_nodes >= crate::args::DEFAULT_MAX_REQUEST_BODY_SIZE);
        assert!(budget.max_events >= 2 * crate::args::DEFAULT_MAX_REQUEST_BODY_SIZE);
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(matches!(
            ResourceList::parse(b"a: [b"),
            Err(ResourceListError::Yaml(_))
        ));
        assert!(matches!(
            ResourceList::parse(b"kind: Deployment\n"),
            Err(ResourceListError::Shape(_))
        ));
        assert!(matches!(
            ResourceList::parse(b"- a\n"),
            Err(ResourceListError::Shape(_))
        ));
        assert!(matches!(
            ResourceList::parse(b"kind: ResourceList\nitems: 3\n"),
            Err(ResourceListError::Shape(_))
        ));
        assert!(
            ResourceList::parse(b"kind: List\nitems: []\n")
                .unwrap()
                .items
                .is_empty()
        );
    }
}
