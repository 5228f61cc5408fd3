//! Evaluation of parsed CEL expressions over JSON values.

use super::CelError;
use super::parse::Expr;
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Functions this evaluator implements (receiver or global style).
pub const FUNCTIONS: &[&str] = &[
    "size",
    "matches",
    "startsWith",
    "endsWith",
    "contains",
    "lowerAscii",
    "upperAscii",
    "trim",
    "join",
    "int",
    "uint",
    "double",
    "string",
    "bool",
];

/// Variables in scope.
pub struct Scope<'a> {
    pub vars: HashMap<String, &'a Value>,
}

fn int(v: i64) -> Value {
    Value::Number(v.into())
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn truthy(v: &Value, what: &str) -> Result<bool, CelError> {
    v.as_bool().ok_or_else(|| {
        CelError::Eval(format!(
            "no such overload: {what} applied to {}",
            type_name(v)
        ))
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null_type",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int",
        Value::Number(n) if n.is_u64() => "uint",
        Value::Number(_) => "double",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

fn cel_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| cel_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| cel_eq(v, w)))
        }
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Result<Ordering, CelError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => Ok(i.cmp(&j)),
            _ => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .ok_or_else(|| CelError::Eval("NaN comparison".into())),
        },
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        _ => Err(CelError::Eval(format!(
            "no such overload: {} < {}",
            type_name(a),
            type_name(b)
        ))),
    }
}

fn arith(op: &str, a: &Value, b: &Value) -> Result<Value, CelError> {
    match (a, b) {
        (Value::String(x), Value::String(y)) if op == "+" => Ok(Value::String(format!("{x}{y}"))),
        (Value::Array(x), Value::Array(y)) if op == "+" => {
            Ok(Value::Array(x.iter().chain(y).cloned().collect()))
        }
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                let r = match op {
                    "+" => i.checked_add(j),
                    "-" => i.checked_sub(j),
                    "*" => i.checked_mul(j),
                    "/" => i.checked_div(j),
                    "%" => i.checked_rem(j),
                    _ => None,
                };
                return r.map(int).ok_or_else(|| {
                    CelError::Eval(format!("integer overflow or division by zero in {op}"))
                });
            }
            let (Some(p), Some(q)) = (num(a), num(b)) else {
                return Err(CelError::Eval("bad number".into()));
            };
            let r = match op {
                "+" => p + q,
                "-" => p - q,
                "*" => p * q,
                "/" => p / q,
                _ => {
                    return Err(CelError::Eval(format!(
                        "no such overload: double {op} double"
                    )));
                }
            };
            Number::from_f64(r)
                .map(Value::Number)
                .ok_or_else(|| CelError::Eval("non-finite result".into()))
        }
        _ => Err(CelError::Eval(format!(
            "no such overload: {} {op} {}",
            type_name(a),
            type_name(b)
        ))),
    }
}

/// Evaluate an expression.
pub fn eval(e: &Expr, scope: &Scope<'_>) -> Result<Value, CelError> {
    match e {
        Expr::Null => Ok(Value::Null),
        Expr::Bool(b) => Ok(Value::Bool(*b)),
        Expr::Int(i) => Ok(int(*i)),
        Expr::UInt(u) => Ok(Value::Number((*u).into())),
        Expr::Double(d) => Number::from_f64(*d)
            .map(Value::Number)
            .ok_or_else(|| CelError::Eval("bad double".into())),
        Expr::Str(s) => Ok(Value::String(s.clone())),
        Expr::Ident(name) => scope
            .vars
            .get(name)
            .map(|v| (*v).clone())
            .ok_or_else(|| CelError::Eval(format!("undeclared reference to '{name}'"))),
        Expr::List(items) => Ok(Value::Array(
            items
                .iter()
                .map(|i| eval(i, scope))
                .collect::<Result<_, _>>()?,
        )),
        Expr::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = match eval(k, scope)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                m.insert(key, eval(v, scope)?);
            }
            Ok(Value::Object(m))
        }
        Expr::Select(target, field) => {
            let t = eval(target, scope)?;
            match t {
                Value::Object(m) => m
                    .get(field)
                    .cloned()
                    .ok_or_else(|| CelError::Eval(format!("no such key: {field}"))),
                other => Err(CelError::Eval(format!(
                    "type '{}' does not support field selection",
                    type_name(&other)
                ))),
            }
        }
        Expr::Has(target, field) => {
            let t = eval(target, scope)?;
            match t {
                Value::Object(m) => Ok(Value::Bool(m.get(field).is_some_and(|v| !v.is_null()))),
                other => Err(CelError::Eval(format!(
                    "invalid type for field selection: {}",
                    type_name(&other)
                ))),
            }
        }
        Expr::Index(target, idx) => {
            let t = eval(target, scope)?;
            let i = eval(idx, scope)?;
            match (&t, &i) {
                (Value::Array(a), Value::Number(n)) => {
                    let k = n
                        .as_i64()
                        .ok_or_else(|| CelError::Eval("bad index".into()))?;
                    usize::try_from(k)
                        .ok()
                        .and_then(|k| a.get(k))
                        .cloned()
                        .ok_or_else(|| CelError::Eval(format!("index out of range: {k}")))
                }
                (Value::Object(m), Value::String(k)) => m
                    .get(k)
                    .cloned()
                    .ok_or_else(|| CelError::Eval(format!("no such key: {k}"))),
                _ => Err(CelError::Eval(format!(
                    "no such overload: {}[{}]",
                    type_name(&t),
                    type_name(&i)
                ))),
            }
        }
        Expr::Unary(op, inner) => {
            let v = eval(inner, scope)?;
            match op.as_str() {
                "!" => Ok(Value::Bool(!truthy(&v, "!")?)),
                _ => arith("-", &int(0), &v),
            }
        }
        Expr::Binary(op, l, r) => binary(op, l, r, scope),
        Expr::Ternary(c, a, b) => {
            if truthy(&eval(c, scope)?, "?:")? {
                eval(a, scope)
            } else {
                eval(b, scope)
            }
        }
        Expr::Call { target, name, args } => call(target.as_deref(), name, args, scope),
        Expr::Comprehension {
            kind,
            target,
            var,
            body,
        } => comprehension(kind, target, var, body, scope),
    }
}

fn binary(op: &str, l: &Expr, r: &Expr, scope: &Scope<'_>) -> Result<Value, CelError> {
    match op {
        // CEL's logical operators are commutative over errors: an error on one side is
        // absorbed when the other side decides the result.
        "&&" | "||" => {
            let decisive = op == "||";
            let a = eval(l, scope).and_then(|v| truthy(&v, op));
            if matches!(a, Ok(x) if x == decisive) {
                return Ok(Value::Bool(decisive));
            }
            let b = eval(r, scope).and_then(|v| truthy(&v, op));
            match (a, b) {
                (_, Ok(x)) if x == decisive => Ok(Value::Bool(decisive)),
                (Ok(_), Ok(_)) => Ok(Value::Bool(!decisive)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        _ => {
            let a = eval(l, scope)?;
            let b = eval(r, scope)?;
            match op {
                "==" => Ok(Value::Bool(cel_eq(&a, &b))),
                "!=" => Ok(Value::Bool(!cel_eq(&a, &b))),
                "<" => Ok(Value::Bool(compare(&a, &b)? == Ordering::Less)),
                "<=" => Ok(Value::Bool(compare(&a, &b)? != Ordering::Greater)),
                ">" => Ok(Value::Bool(compare(&a, &b)? == Ordering::Greater)),
                ">=" => Ok(Value::Bool(compare(&a, &b)? != Ordering::Less)),
                "in" => match &b {
                    Value::Array(items) => Ok(Value::Bool(items.iter().any(|x| cel_eq(x, &a)))),
                    Value::Object(m) => {
                        Ok(Value::Bool(a.as_str().is_some_and(|k| m.contains_key(k))))
                    }
                    other => Err(CelError::Eval(format!(
                        "no such overload: in {}",
                        type_name(other)
                    ))),
                },
                _ => arith(op, &a, &b),
            }
        }
    }
}

fn string_arg(args: &[Value], i: usize, f: &str) -> Result<String, CelError> {
    args.get(i)
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| CelError::Eval(format!("no such overload: {f} expects a string argument")))
}

fn call(
    target: Option<&Expr>,
    name: &str,
    args: &[Expr],
    scope: &Scope<'_>,
) -> Result<Value, CelError> {
    let mut vals: Vec<Value> = Vec::new();
    if let Some(t) = target {
        vals.push(eval(t, scope)?);
    }
    for a in args {
        vals.push(eval(a, scope)?);
    }
    let recv = vals.first().cloned().unwrap_or(Value::Null);
    let s = || {
        recv.as_str()
            .map(String::from)
            .ok_or_else(|| CelError::Eval(format!("no such overload: {}.{name}", type_name(&recv))))
    };
    match name {
        "size" => match &recv {
            Value::String(x) => Ok(int(x.chars().count() as i64)),
            Value::Array(x) => Ok(int(x.len() as i64)),
            Value::Object(x) => Ok(int(x.len() as i64)),
            other => Err(CelError::Eval(format!(
                "no such overload: size({})",
                type_name(other)
            ))),
        },
        "matches" => {
            let re = regex::Regex::new(&string_arg(&vals, 1, name)?)
                .map_err(|e| CelError::Eval(e.to_string()))?;
            Ok(Value::Bool(re.is_match(&s()?)))
        }
        "startsWith" => Ok(Value::Bool(s()?.starts_with(&string_arg(&vals, 1, name)?))),
        "endsWith" => Ok(Value::Bool(s()?.ends_with(&string_arg(&vals, 1, name)?))),
        "contains" => Ok(Value::Bool(s()?.contains(&string_arg(&vals, 1, name)?))),
        "lowerAscii" => Ok(Value::String(s()?.to_ascii_lowercase())),
        "upperAscii" => Ok(Value::String(s()?.to_ascii_uppercase())),
        "trim" => Ok(Value::String(s()?.trim().to_string())),
        "join" => {
            let sep = if vals.len() > 1 {
                string_arg(&vals, 1, name)?
            } else {
                String::new()
            };
            let items = recv
                .as_array()
                .ok_or_else(|| CelError::Eval("join expects a list".into()))?;
            let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            Ok(Value::String(parts.join(&sep)))
        }
        "int" => match &recv {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(int)
                .ok_or_else(|| CelError::Eval("int overflow".into())),
            Value::String(x) => x
                .parse::<i64>()
                .map(int)
                .map_err(|e| CelError::Eval(e.to_string())),
            other => Err(CelError::Eval(format!(
                "no such overload: int({})",
                type_name(other)
            ))),
        },
        "uint" => match &recv {
            Value::Number(n) => n
                .as_u64()
                .map(|u| Value::Number(u.into()))
                .ok_or_else(|| CelError::Eval("uint overflow".into())),
            Value::String(x) => x
                .parse::<u64>()
                .map(|u| Value::Number(u.into()))
                .map_err(|e| CelError::Eval(e.to_string())),
            other => Err(CelError::Eval(format!(
                "no such overload: uint({})",
                type_name(other)
            ))),
        },
        "double" => match &recv {
            Value::Number(n) => n
                .as_f64()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| CelError::Eval("bad double".into())),
            Value::String(x) => x
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| CelError::Eval("bad double".into())),
            other => Err(CelError::Eval(format!(
                "no such overload: double({})",
                type_name(other)
            ))),
        },
        "string" => Ok(Value::String(match &recv {
            Value::String(x) => x.clone(),
            other => other.to_string(),
        })),
        "bool" => match &recv {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(x) => x
                .parse::<bool>()
                .map(Value::Bool)
                .map_err(|e| CelError::Eval(e.to_string())),
            other => Err(CelError::Eval(format!(
                "no such overload: bool({})",
                type_name(other)
            ))),
        },
        other => Err(CelError::Eval(format!("undeclared reference to '{other}'"))),
    }
}

fn comprehension(
    kind: &str,
    target: &Expr,
    var: &str,
    body: &Expr,
    scope: &Scope<'_>,
) -> Result<Value, CelError> {
    let t = eval(target, scope)?;
    let items: Vec<Value> = match t {
        Value::Array(a) => a,
        Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
        other => {
            return Err(CelError::Eval(format!(
                "cannot iterate over {}",
                type_name(&other)
            )));
        }
    };
    let mut results = Vec::new();
    let mut count = 0usize;
    for item in &items {
        let mut vars = scope.vars.clone();
        vars.insert(var.to_string(), item);
        let inner = Scope { vars };
        let v = eval(body, &inner)?;
        match kind {
            "all" if !truthy(&v, "all")? => return Ok(Value::Bool(false)),
            "exists" if truthy(&v, "exists")? => return Ok(Value::Bool(true)),
            "exists_one" if truthy(&v, "exists_one")? => count += 1,
            "map" => results.push(v),
            "filter" if truthy(&v, "filter")? => results.push(item.clone()),
            _ => {}
        }
    }
    Ok(match kind {
        "all" => Value::Bool(true),
        "exists" => Value::Bool(false),
        "exists_one" => Value::Bool(count == 1),
        _ => Value::Array(results),
    })
}
