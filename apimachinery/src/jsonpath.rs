//! The JSONPath subset CRD `additionalPrinterColumns` use: `.a.b`, `['a','b']`, `[0]`, `[*]`,
//! `[?(@.type=="Ready")]`, optionally wrapped in `{}`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Fields(Vec<String>),
    Index(i64),
    Wildcard,
    Filter {
        path: Vec<String>,
        negate: bool,
        literal: Value,
    },
}

/// A compiled JSONPath expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

/// A JSONPath that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath {path:?}: {why}")]
pub struct JsonPathError {
    pub path: String,
    pub why: String,
}

impl JsonPath {
    /// A plain path of field names (`.a.b.c`).
    pub fn fields(names: &[&str]) -> Self {
        Self {
            steps: names
                .iter()
                .map(|n| Step::Fields(vec![(*n).to_string()]))
                .collect(),
        }
    }

    /// Compile an expression.
    pub fn parse(input: &str) -> Result<Self, JsonPathError> {
        let err = |why: &str| JsonPathError {
            path: input.to_string(),
            why: why.to_string(),
        };
        let mut s = input.trim();
        if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            s = inner.trim();
        }
        s = s.strip_prefix('$').unwrap_or(s);
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        let mut steps = Vec::new();
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        if i >= chars.len() {
                            break;
                        }
                        continue;
                    }
                    if name == "*" {
                        steps.push(Step::Wildcard);
                    } else {
                        steps.push(Step::Fields(vec![name]));
                    }
                }
                '[' => {
                    let close = find_close(&chars, i).ok_or_else(|| err("unclosed '['"))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    steps.push(parse_bracket(inner.trim()).map_err(|w| err(&w))?);
                    i = close + 1;
                }
                c if c.is_alphanumeric() && i == 0 => {
                    // Tolerate a missing leading dot.
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    steps.push(Step::Fields(vec![chars[start..i].iter().collect()]));
                }
                _ => return Err(err("unexpected character")),
            }
        }
        Ok(Self { steps })
    }

    /// All values the expression selects.
    pub fn find(&self, root: &Value) -> Vec<Value> {
        let mut cur = vec![root.clone()];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in &cur {
                match step {
                    Step::Fields(names) => {
                        for n in names {
                            if let Some(x) = v.get(n) {
                                next.push(x.clone());
                            }
                        }
                    }
                    Step::Index(i) => {
                        if let Some(arr) = v.as_array() {
                            let idx = if *i < 0 { arr.len() as i64 + i } else { *i };
                            if let Some(x) = usize::try_from(idx).ok().and_then(|u| arr.get(u)) {
                                next.push(x.clone());
                            }
                        }
                    }
                    Step::Wildcard => match v {
                        Value::Array(a) => next.extend(a.iter().cloned()),
                        Value::Object(m) => next.extend(m.values().cloned()),
                        _ => {}
                    },
                    Step::Filter {
                        path,
                        negate,
                        literal,
                    } => {
                        if let Some(arr) = v.as_array() {
                            for item in arr {
                                let mut x = Some(item);
                                for p in path {
                                    x = x.and_then(|x| x.get(p));
                                }
                                let eq = x.is_some_and(|x| x == literal);
                                if eq != *negate && x.is_some() {
                                    next.push(item.clone());
                                }
                            }
                        }
                    }
                }
            }
            cur = next;
        }
        cur
    }
}

fn find_close(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Ok(i) = inner.parse::<i64>() {
        return Ok(Step::Index(i));
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|r| r.strip_suffix(')')) {
        let (lhs, negate, rhs) = if let Some((l, r)) = f.split_once("!=") {
            (l, true, r)
        } else if let Some((l, r)) = f.split_once("==") {
            (l, false, r)
        } else {
            return Err("only == and != filters are supported".into());
        };
        let lhs = lhs
            .trim()
            .strip_prefix("@.")
            .ok_or("filter must start with @.")?;
        let rhs = rhs.trim();
        let literal = if let Some(s) = unquote(rhs) {
            Value::String(s)
        } else {
            serde_json::from_str(rhs).map_err(|_| format!("bad filter literal {rhs}"))?
        };
        return Ok(Step::Filter {
            path: lhs.split('.').map(String::from).collect(),
            negate,
            literal,
        });
    }
    let mut names = Vec::new();
    for part in inner.split(',') {
        names.push(unquote(part.trim()).ok_or_else(|| format!("bad subscript {part}"))?);
    }
    Ok(Step::Fields(names))
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('\'') && s.ends_with('\'')) || (s.starts_with('"') && s.ends_with('"')))
    {
        Some(s[1..s.len() - 1].to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        let o = json!({"spec":{"git":{"repo":"r"},"items":[{"n":1},{"n":2}]},"status":{"conditions":[{"type":"A","status":"False"},{"type":"Ready","status":"True"}]}});
        assert_eq!(
            JsonPath::parse(".spec.git.repo").unwrap().find(&o),
            vec![json!("r")]
        );
        assert_eq!(
            JsonPath::parse(".spec['git','oci']['repo','registry']")
                .unwrap()
                .find(&o),
            vec![json!("r")]
        );
        assert_eq!(
            JsonPath::parse(".status.conditions[?(@.type==\"Ready\")].status")
                .unwrap()
                .find(&o),
            vec![json!("True")]
        );
        assert_eq!(
            JsonPath::parse("{.spec.items[*].n}").unwrap().find(&o),
            vec![json!(1), json!(2)]
        );
        assert_eq!(
            JsonPath::parse(".spec.items[-1].n").unwrap().find(&o),
            vec![json!(2)]
        );
        assert!(
            JsonPath::parse(".spec.missing")
                .unwrap()
                .find(&o)
                .is_empty()
        );
        assert!(JsonPath::parse(".a[").is_err());
    }
}
