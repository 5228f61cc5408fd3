//! kubectl's JSONPath dialect (`k8s.io/client-go/util/jsonpath`): templates with `{...}` actions,
//! `range`/`end`, string literals, fields, `[*]`, indexes, slices, unions, recursive descent and
//! filters such as `[?(@.type=='Ready')]`. Missing keys yield no result (kubectl's
//! `allowMissingKeys`), which custom-columns print as `<none>`.

use serde_json::Value;

/// A template parse error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ParseError(pub String);

/// One part of a parsed template.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Path(Vec<Step>),
    Range(Vec<Step>, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Recursive(String),
    Wildcard,
    RecursiveWildcard,
    Index(i64),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<Vec<Step>>),
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Vec<Step>),
    Literal(Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Exists(Vec<Step>),
    Compare(Operand, String, Operand),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    nodes: Vec<Node>,
}

impl JsonPath {
    /// Parses a template such as `{.metadata.name}` or `{range .items[*]}{.x}{"\n"}{end}`.
    pub fn parse(template: &str) -> Result<Self, ParseError> {
        let mut parts = Vec::new();
        let chars: Vec<char> = template.chars().collect();
        let mut i = 0;
        let mut text = String::new();
        while i < chars.len() {
            if chars[i] == '{' {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                let end = find_action_end(&chars, i + 1)
                    .ok_or_else(|| ParseError(format!("unclosed action in {template:?}")))?;
                let inner: String = chars[i + 1..end].iter().collect();
                parts.push(parse_action(inner.trim())?);
                i = end + 1;
            } else {
                text.push(chars[i]);
                i += 1;
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        let mut iter = parts.into_iter();
        let nodes = build(&mut iter, false)?;
        Ok(JsonPath { nodes })
    }

    /// Evaluates the template and renders it as kubectl's JSONPath printer does.
    pub fn render(&self, root: &Value) -> String {
        let mut out = String::new();
        render_nodes(&self.nodes, root, root, &mut out);
        out
    }

    /// The raw results of each path node (custom-columns uses these).
    pub fn find_results(&self, root: &Value) -> Vec<Vec<Value>> {
        let mut out = Vec::new();
        for n in &self.nodes {
            match n {
                Node::Path(steps) => out.push(eval(steps, vec![root.clone()], root)),
                Node::Text(t) => out.push(vec![Value::String(t.clone())]),
                Node::Range(steps, _) => out.push(eval(steps, vec![root.clone()], root)),
            }
        }
        out
    }
}

enum Part {
    Text(String),
    Path(Vec<Step>),
    Range(Vec<Step>),
    End,
}

fn build(iter: &mut impl Iterator<Item = Part>, in_range: bool) -> Result<Vec<Node>, ParseError> {
    let mut nodes = Vec::new();
    while let Some(p) = iter.next() {
        match p {
            Part::Text(t) => nodes.push(Node::Text(t)),
            Part::Path(s) => nodes.push(Node::Path(s)),
            Part::Range(s) => {
                let body = build(iter, true)?;
                nodes.push(Node::Range(s, body));
            }
            Part::End => {
                if in_range {
                    return Ok(nodes);
                }
                return Err(ParseError("not in range, nothing to end".into()));
            }
        }
    }
    if in_range {
        return Err(ParseError("unclosed range".into()));
    }
    Ok(nodes)
}

fn find_action_end(chars: &[char], mut i: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == '\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                } else if c == '}' {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

fn parse_action(inner: &str) -> Result<Part, ParseError> {
    if inner == "end" {
        return Ok(Part::End);
    }
    if let Some(rest) = inner.strip_prefix("range ") {
        return Ok(Part::Range(parse_path(rest.trim())?));
    }
    if inner.starts_with('"') && inner.ends_with('"') && inner.len() >= 2 {
        return Ok(Part::Text(unescape(&inner[1..inner.len() - 1])));
    }
    Ok(Part::Path(parse_path(inner)?))
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_path(s: &str) -> Result<Vec<Step>, ParseError> {
    let chars: Vec<char> = s.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    if i < chars.len() && (chars[i] == '$' || chars[i] == '@') {
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let recursive = i + 1 < chars.len() && chars[i + 1] == '.';
                i += if recursive { 2 } else { 1 };
                if i < chars.len() && chars[i] == '*' {
                    steps.push(if recursive {
                        Step::RecursiveWildcard
                    } else {
                        Step::Wildcard
                    });
                    i += 1;
                    continue;
                }
                let (name, next) = read_name(&chars, i);
                i = next;
                if name.is_empty() {
                    if recursive {
                        steps.push(Step::RecursiveWildcard);
                    }
                    continue;
                }
                steps.push(if recursive {
                    Step::Recursive(name)
                } else {
                    Step::Field(name)
                });
            }
            '[' => {
                let end = find_bracket_end(&chars, i + 1)
                    .ok_or_else(|| ParseError(format!("unterminated array in {s:?}")))?;
                let inner: String = chars[i + 1..end].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = end + 1;
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                // A bare name at the start, e.g. `metadata.name`.
                let (name, next) = read_name(&chars, i);
                if name.is_empty() {
                    return Err(ParseError(format!(
                        "unrecognized character in action: {s:?}"
                    )));
                }
                steps.push(Step::Field(name));
                i = next;
            }
        }
    }
    Ok(steps)
}

fn read_name(chars: &[char], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            name.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == '.'
            || c == '['
            || c.is_whitespace()
            || c == ')'
            || c == '='
            || c == '!'
            || c == '<'
            || c == '>'
            || c == '&'
            || c == '|'
        {
            break;
        }
        name.push(c);
        i += 1;
    }
    (name, i)
}

fn find_bracket_end(chars: &[char], mut i: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' => depth += 1,
                ')' => depth -= 1,
                ']' if depth == 0 => return Some(i),
                ']' => depth -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, ParseError> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(f) = inner.strip_prefix('?') {
        let f = f.trim();
        let body = f
            .strip_prefix('(')
            .and_then(|x| x.strip_suffix(')'))
            .ok_or_else(|| ParseError(format!("invalid filter {inner:?}")))?;
        return Ok(Step::Filter(Box::new(parse_filter(body.trim())?)));
    }
    let items = split_top(inner, ',');
    if items.len() > 1 {
        let mut alts = Vec::new();
        for it in items {
            alts.push(vec![parse_bracket(it.trim())?]);
        }
        return Ok(Step::Union(alts));
    }
    if (inner.starts_with('\'') && inner.ends_with('\'')
        || inner.starts_with('"') && inner.ends_with('"'))
        && inner.len() >= 2
    {
        return Ok(Step::Field(inner[1..inner.len() - 1].to_string()));
    }
    if inner.contains(':') {
        let parts: Vec<&str> = inner.split(':').collect();
        let num = |s: &str| -> Result<Option<i64>, ParseError> {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse()
                    .map(Some)
                    .map_err(|_| ParseError(format!("invalid array index {s:?}")))
            }
        };
        let start = num(parts[0])?;
        let end = num(parts.get(1).copied().unwrap_or(""))?;
        let step = num(parts.get(2).copied().unwrap_or(""))?;
        return Ok(Step::Slice(start, end, step));
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| ParseError(format!("invalid array index {inner:?}")))
}

fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == sep => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            None => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_filter(body: &str) -> Result<Filter, ParseError> {
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some(pos) = find_op(body, op) {
            let left = parse_operand(body[..pos].trim())?;
            let right = parse_operand(body[pos + op.len()..].trim())?;
            return Ok(Filter::Compare(left, op.to_string(), right));
        }
    }
    Ok(Filter::Exists(parse_path(body)?))
}

fn find_op(s: &str, op: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if s[i..].starts_with(op) => return Some(i),
            None => {}
        }
    }
    None
}

fn parse_operand(s: &str) -> Result<Operand, ParseError> {
    if (s.starts_with('\'') && s.ends_with('\'') || s.starts_with('"') && s.ends_with('"'))
        && s.len() >= 2
    {
        return Ok(Operand::Literal(Value::String(
            s[1..s.len() - 1].to_string(),
        )));
    }
    if s.starts_with('@') || s.starts_with('$') || s.starts_with('.') {
        return Ok(Operand::Path(parse_path(s)?));
    }
    if let Ok(v) = serde_json::from_str::<Value>(s) {
        return Ok(Operand::Literal(v));
    }
    Err(ParseError(format!("unrecognized filter operand {s:?}")))
}

fn eval(steps: &[Step], mut cur: Vec<Value>, root: &Value) -> Vec<Value> {
    for step in steps {
        let mut next = Vec::new();
        for v in &cur {
            apply(step, v, root, &mut next);
        }
        cur = next;
    }
    cur
}

fn apply(step: &Step, v: &Value, root: &Value, out: &mut Vec<Value>) {
    match step {
        Step::Field(name) => {
            if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                out.push(x.clone());
            }
        }
        Step::Wildcard => match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.extend(keys.into_iter().map(|k| m[k].clone()));
            }
            Value::Array(a) => out.extend(a.iter().cloned()),
            _ => {}
        },
        Step::Recursive(name) => {
            let mut all = Vec::new();
            descendants(v, &mut all);
            for d in all {
                if let Some(x) = d.as_object().and_then(|m| m.get(name)) {
                    out.push(x.clone());
                }
            }
        }
        Step::RecursiveWildcard => descendants(v, out),
        Step::Index(i) => {
            if let Value::Array(a) = v {
                let len = a.len() as i64;
                let idx = if *i < 0 { len + i } else { *i };
                if idx >= 0 && idx < len {
                    out.push(a[idx as usize].clone());
                }
            }
        }
        Step::Slice(start, end, step) => {
            if let Value::Array(a) = v {
                let len = a.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = norm(start.unwrap_or(0));
                let e = norm(end.unwrap_or(len));
                let st = step.unwrap_or(1).max(1);
                let mut i = s;
                while i < e {
                    out.push(a[i as usize].clone());
                    i += st;
                }
            }
        }
        Step::Union(alts) => {
            for alt in alts {
                out.extend(eval(alt, vec![v.clone()], root));
            }
        }
        Step::Filter(f) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for item in items {
                if filter_matches(f, item, root) {
                    out.push(item.clone());
                }
            }
        }
    }
}

fn descendants(v: &Value, out: &mut Vec<Value>) {
    out.push(v.clone());
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                descendants(&m[k], out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| descendants(x, out)),
        _ => {}
    }
}

fn operand_values(o: &Operand, item: &Value, root: &Value) -> Vec<Value> {
    match o {
        Operand::Literal(v) => vec![v.clone()],
        Operand::Path(steps) => eval(steps, vec![item.clone()], root),
    }
}

fn filter_matches(f: &Filter, item: &Value, root: &Value) -> bool {
    match f {
        Filter::Exists(steps) => !eval(steps, vec![item.clone()], root).is_empty(),
        Filter::Compare(l, op, r) => {
            let lv = operand_values(l, item, root);
            let rv = operand_values(r, item, root);
            let (Some(a), Some(b)) = (lv.first(), rv.first()) else {
                return false;
            };
            compare(a, op, b)
        }
    }
}

fn compare(a: &Value, op: &str, b: &Value) -> bool {
    let ord = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        "==" => ord.map_or(a == b, |o| o.is_eq()),
        "!=" => ord.map_or(a != b, |o| o.is_ne()),
        "<" => ord.is_some_and(|o| o.is_lt()),
        ">" => ord.is_some_and(|o| o.is_gt()),
        "<=" => ord.is_some_and(|o| o.is_le()),
        ">=" => ord.is_some_and(|o| o.is_ge()),
        _ => false,
    }
}

fn render_nodes(nodes: &[Node], cur: &Value, root: &Value, out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Path(steps) => {
                let results = eval(steps, vec![cur.clone()], root);
                let texts: Vec<String> = results.iter().map(print_value).collect();
                out.push_str(&texts.join(" "));
            }
            Node::Range(steps, body) => {
                for item in eval(steps, vec![cur.clone()], root) {
                    render_nodes(body, &item, root, out);
                }
            }
        }
    }
}

/// A result as kubectl's JSONPath printer writes it: maps and lists as compact JSON, strings raw.
pub fn print_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => {
            serde_json::to_string(&crate::printers::yaml::sort_keys(v)).unwrap_or_default()
        }
        Value::Null => "<nil>".to_string(),
        other => other.to_string(),
    }
}

/// A value formatted like Go's `fmt.Sprintf("%v", x)` for decoded JSON (custom-columns cells).
pub fn go_format(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(go_format).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_format(&m[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// kubectl's `RelaxedJSONPathExpression`: accepts `.a.b`, `a.b`, `{.a.b}` and `{a.b}` and
/// returns `{.a.b}`.
pub fn relaxed(expr: &str) -> String {
    let e = expr.trim();
    let inner = e
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(e);
    let inner = inner.trim();
    if inner.starts_with('.') || inner.starts_with('$') || inner.starts_with('@') {
        format!("{{{inner}}}")
    } else {
        format!("{{.{inner}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo() -> Value {
        json!({"metadata": {"name": "r", "labels": {"a.b/c": "x"}},
               "spec": {"git": {"repo": "http://h/r.git", "branch": "main"}, "revision": -1},
               "status": {"conditions": [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]}})
    }

    #[test]
    fn fields_and_filters() {
        let r = repo();
        let p = JsonPath::parse("{.status.conditions[?(@.type=='Ready')].status}").unwrap();
        assert_eq!(p.render(&r), "True");
        assert_eq!(
            JsonPath::parse("{.spec.revision}").unwrap().render(&r),
            "-1"
        );
        assert_eq!(JsonPath::parse("{.spec.missing}").unwrap().render(&r), "");
        assert_eq!(
            JsonPath::parse("{.metadata.labels['a.b/c']}")
                .unwrap()
                .render(&r),
            "x"
        );
        assert_eq!(
            JsonPath::parse("{.metadata.labels.a\\.b/c}")
                .unwrap()
                .render(&r),
            "x"
        );
        assert_eq!(
            JsonPath::parse("{.status.conditions[*].type}")
                .unwrap()
                .render(&r),
            "Other Ready"
        );
        assert_eq!(
            JsonPath::parse("{.status.conditions[-1:].type}")
                .unwrap()
                .render(&r),
            "Ready"
        );
        assert_eq!(JsonPath::parse("{..branch}").unwrap().render(&r), "main");
        assert_eq!(
            JsonPath::parse("{.spec.git}").unwrap().render(&r),
            r#"{"branch":"main","repo":"http://h/r.git"}"#
        );
    }

    #[test]
    fn ranges_and_literals() {
        let list = json!({"items": [{"n": "a"}, {"n": "b"}]});
        let p = JsonPath::parse("{range .items[*]}{.n}{\"\\n\"}{end}").unwrap();
        assert_eq!(p.render(&list), "a\nb\n");
        let p = JsonPath::parse("names: {.items[*].n}").unwrap();
        assert_eq!(p.render(&list), "names: a b");
    }

    #[test]
    fn parse_errors() {
        assert!(JsonPath::parse("{.a").is_err());
        assert!(JsonPath::parse("{end}").is_err());
        assert!(JsonPath::parse("{range .a}").is_err());
    }

    #[test]
    fn relaxed_expressions() {
        assert_eq!(relaxed(".a.b"), "{.a.b}");
        assert_eq!(relaxed("a.b"), "{.a.b}");
        assert_eq!(relaxed("{.a}"), "{.a}");
    }

    #[test]
    fn go_formatting() {
        assert_eq!(
            go_format(&json!({"b": 1, "a": ["x", true]})),
            "map[a:[x true] b:1]"
        );
    }
}
