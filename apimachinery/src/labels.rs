//! Label selectors: the string grammar of `?labelSelector=` and matching against label maps.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The operator of one requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelOp {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One comma-separated term of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: LabelOp,
    pub values: BTreeSet<String>,
}

/// A parsed label selector (terms ANDed). Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

/// A selector string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct LabelSelectorError(pub String);

impl Requirement {
    /// Whether a label map satisfies this requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let value = labels.get(&self.key).and_then(Value::as_str);
        match self.op {
            LabelOp::Equals | LabelOp::In => value.is_some_and(|v| self.values.contains(v)),
            LabelOp::NotEquals | LabelOp::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            LabelOp::Exists => value.is_some(),
            LabelOp::DoesNotExist => value.is_none(),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                let (Some(v), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.iter().next(),
                ) else {
                    return false;
                };
                let Ok(bound) = bound.parse::<i64>() else {
                    return false;
                };
                if self.op == LabelOp::GreaterThan {
                    v > bound
                } else {
                    v < bound
                }
            }
        }
    }
}

impl LabelSelector {
    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether an object's `metadata.labels` satisfy the selector.
    pub fn matches_object(&self, obj: &Value) -> bool {
        if self.is_empty() {
            return true;
        }
        let empty = Map::new();
        let labels = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        self.matches(labels)
    }

    /// Parse the string form (`a=b,c!=d,e in (f,g),!h`).
    pub fn parse(input: &str) -> Result<Self, LabelSelectorError> {
        let mut p = Parser {
            chars: input.chars().collect(),
            pos: 0,
        };
        let mut requirements = Vec::new();
        p.skip_ws();
        if p.at_end() {
            return Ok(Self::default());
        }
        loop {
            requirements.push(p.requirement()?);
            p.skip_ws();
            if p.at_end() {
                break;
            }
            if !p.eat(',') {
                return Err(LabelSelectorError(format!(
                    "found '{}', expected: ',' or 'end of string'",
                    p.rest()
                )));
            }
        }
        Ok(Self { requirements })
    }

    /// Build from the structured `metav1.LabelSelector` JSON (`matchLabels` + `matchExpressions`).
    pub fn from_json(sel: &Value) -> Result<Self, LabelSelectorError> {
        let mut requirements = Vec::new();
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                let v = v.as_str().unwrap_or_default().to_string();
                requirements.push(Requirement {
                    key: k.clone(),
                    op: LabelOp::Equals,
                    values: [v].into(),
                });
            }
        }
        if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let values: BTreeSet<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let op = match e
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                {
                    "In" => LabelOp::In,
                    "NotIn" => LabelOp::NotIn,
                    "Exists" => LabelOp::Exists,
                    "DoesNotExist" => LabelOp::DoesNotExist,
                    other => {
                        return Err(LabelSelectorError(format!(
                            "{other:?} is not a valid label selector operator"
                        )));
                    }
                };
                requirements.push(Requirement { key, op, values });
            }
        }
        Ok(Self { requirements })
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }
    fn rest(&self) -> String {
        self.chars[self.pos.min(self.chars.len())..]
            .iter()
            .collect()
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_str(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(s.chars())
        {
            self.pos += n;
            true
        } else {
            false
        }
    }
    fn word(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ',' | '=' | '!' | '(' | ')' | '<' | '>') {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }
    fn requirement(&mut self) -> Result<Requirement, LabelSelectorError> {
        self.skip_ws();
        if self.eat('!') {
            self.skip_ws();
            let key = self.word();
            check_key(&key)?;
            return Ok(Requirement {
                key,
                op: LabelOp::DoesNotExist,
                values: BTreeSet::new(),
            });
        }
        let key = self.word();
        check_key(&key)?;
        self.skip_ws();
        if self.at_end() || self.peek() == Some(',') {
            return Ok(Requirement {
                key,
                op: LabelOp::Exists,
                values: BTreeSet::new(),
            });
        }
        let op = if self.eat_str("==") || self.eat('=') {
            LabelOp::Equals
        } else if self.eat_str("!=") {
            LabelOp::NotEquals
        } else if self.eat('>') {
            LabelOp::GreaterThan
        } else if self.eat('<') {
            LabelOp::LessThan
        } else {
            let w = self.word();
            match w.as_str() {
                "in" => LabelOp::In,
                "notin" => LabelOp::NotIn,
                _ => {
                    return Err(LabelSelectorError(format!(
                        "found '{w}', expected: in, notin, =, ==, !=, gt, lt"
                    )));
                }
            }
        };
        self.skip_ws();
        let values = if matches!(op, LabelOp::In | LabelOp::NotIn) {
            if !self.eat('(') {
                return Err(LabelSelectorError(format!(
                    "found '{}', expected: '('",
                    self.rest()
                )));
            }
            let mut vals = BTreeSet::new();
            loop {
                self.skip_ws();
                let v = self.word();
                check_value(&v)?;
                if !v.is_empty() {
                    vals.insert(v);
                }
                self.skip_ws();
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(LabelSelectorError(format!(
                        "found '{}', expected: ',', or ')'",
                        self.rest()
                    )));
                }
            }
            vals
        } else {
            let v = self.word();
            check_value(&v)?;
            if matches!(op, LabelOp::GreaterThan | LabelOp::LessThan) && v.parse::<i64>().is_err() {
                return Err(LabelSelectorError(format!(
                    "for 'Gt', 'Lt' operators, the value must be an integer: {v}"
                )));
            }
            [v].into()
        };
        Ok(Requirement { key, op, values })
    }
}

fn check_key(key: &str) -> Result<(), LabelSelectorError> {
    let errs = crate::validation::is_qualified_name(key);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(LabelSelectorError(format!(
            "invalid label key {key:?}: {}",
            errs.join("; ")
        )))
    }
}

fn check_value(v: &str) -> Result<(), LabelSelectorError> {
    let errs = crate::validation::is_valid_label_value(v);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(LabelSelectorError(format!(
            "invalid label value: {v:?}: at key: {}",
            errs.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn parses_and_matches_all_forms() {
        let s = LabelSelector::parse(
            "app=web, tier!=db,env in (prod, staging),!legacy,team,x notin (a)",
        )
        .unwrap();
        assert_eq!(s.requirements.len(), 6);
        let l = labels(json!({"app":"web","env":"prod","team":"t","x":"b"}));
        assert!(s.matches(&l));
        let l2 = labels(json!({"app":"web","env":"dev","team":"t"}));
        assert!(!s.matches(&l2));
        let l3 = labels(json!({"app":"web","env":"prod","team":"t","legacy":"1"}));
        assert!(!s.matches(&l3));
    }

    #[test]
    fn double_equals_and_empty() {
        assert!(LabelSelector::parse("").unwrap().is_empty());
        let s = LabelSelector::parse("a==b").unwrap();
        assert!(s.matches(&labels(json!({"a":"b"}))));
        assert!(!s.matches(&labels(json!({}))));
    }

    #[test]
    fn rejects_garbage() {
        assert!(LabelSelector::parse("a b").is_err());
        assert!(LabelSelector::parse("a in b").is_err());
        assert!(LabelSelector::parse("a=b c").is_err());
        assert!(LabelSelector::parse("a=(b").is_err());
    }

    #[test]
    fn structured() {
        let s = LabelSelector::from_json(&json!({"matchLabels":{"a":"b"},"matchExpressions":[{"key":"c","operator":"In","values":["d"]}]})).unwrap();
        assert!(s.matches(&labels(json!({"a":"b","c":"d"}))));
        assert!(!s.matches(&labels(json!({"a":"b","c":"e"}))));
    }
}
