//! A well-defined subset of CEL for CRD `x-kubernetes-validations` rules.
//!
//! Supported: literals (null, bool, int, uint, double, strings incl. raw and triple-quoted),
//! lists and maps, `self`/`oldSelf`, field selection, indexing, `has()`, the operators
//! `! - * / % + - < <= > >= == != in && || ?:`, the macros `all`, `exists`, `exists_one`,
//! `map`, `filter`, and the functions in [`eval::FUNCTIONS`]. Anything else is rejected when
//! the rule is compiled (that is, when the CRD is created), never silently ignored.

mod eval;
mod parse;

pub use eval::FUNCTIONS;
pub use parse::Expr;
use serde_json::Value;
use std::collections::HashMap;

/// A CEL rule that does not compile or fails to evaluate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CelError {
    #[error("compilation failed: syntax error: {0}")]
    Syntax(String),
    #[error("compilation failed: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Eval(String),
}

/// A compiled rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    expr: Expr,
    uses_old_self: bool,
}

impl Program {
    /// Parse and check a rule: only known functions and the variables `self` and `oldSelf`.
    pub fn compile(src: &str) -> Result<Self, CelError> {
        let expr = parse::parse(src)?;
        let mut uses_old_self = false;
        check(
            &expr,
            &mut vec!["self".to_string(), "oldSelf".to_string()],
            &mut uses_old_self,
        )?;
        Ok(Self {
            expr,
            uses_old_self,
        })
    }

    /// Whether the rule is a transition rule (mentions `oldSelf`).
    pub fn uses_old_self(&self) -> bool {
        self.uses_old_self
    }

    /// Evaluate with `self` (and `oldSelf` for transition rules).
    pub fn eval(&self, self_value: &Value, old_self: Option<&Value>) -> Result<Value, CelError> {
        let mut vars: HashMap<String, &Value> = HashMap::new();
        vars.insert("self".into(), self_value);
        if let Some(o) = old_self {
            vars.insert("oldSelf".into(), o);
        }
        eval::eval(&self.expr, &eval::Scope { vars })
    }

    /// Evaluate a rule that must yield a bool.
    pub fn eval_bool(
        &self,
        self_value: &Value,
        old_self: Option<&Value>,
    ) -> Result<bool, CelError> {
        match self.eval(self_value, old_self)? {
            Value::Bool(b) => Ok(b),
            other => Err(CelError::Eval(format!(
                "rule evaluated to {other}, not a bool"
            ))),
        }
    }
}

fn check(e: &Expr, scope: &mut Vec<String>, old: &mut bool) -> Result<(), CelError> {
    match e {
        Expr::Ident(name) => {
            if name == "oldSelf" {
                *old = true;
            }
            if scope.iter().any(|s| s == name) {
                Ok(())
            } else {
                Err(CelError::Unsupported(format!(
                    "undeclared reference to '{name}'"
                )))
            }
        }
        Expr::List(items) => items.iter().try_for_each(|i| check(i, scope, old)),
        Expr::Map(entries) => entries.iter().try_for_each(|(k, v)| {
            check(k, scope, old)?;
            check(v, scope, old)
        }),
        Expr::Select(t, _) | Expr::Has(t, _) => check(t, scope, old),
        Expr::Index(t, i) => {
            check(t, scope, old)?;
            check(i, scope, old)
        }
        Expr::Unary(_, x) => check(x, scope, old),
        Expr::Binary(_, l, r) => {
            check(l, scope, old)?;
            check(r, scope, old)
        }
        Expr::Ternary(a, b, c) => {
            check(a, scope, old)?;
            check(b, scope, old)?;
            check(c, scope, old)
        }
        Expr::Call { target, name, args } => {
            if !FUNCTIONS.contains(&name.as_str()) {
                return Err(CelError::Unsupported(format!(
                    "undeclared reference to '{name}' (not in the supported CEL subset)"
                )));
            }
            if let Some(t) = target {
                check(t, scope, old)?;
            }
            args.iter().try_for_each(|a| check(a, scope, old))
        }
        Expr::Comprehension {
            target, var, body, ..
        } => {
            check(target, scope, old)?;
            scope.push(var.clone());
            let r = check(body, scope, old);
            scope.pop();
            r
        }
        Expr::Null
        | Expr::Bool(_)
        | Expr::Int(_)
        | Expr::UInt(_)
        | Expr::Double(_)
        | Expr::Str(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(rule: &str, s: Value, old: Option<Value>) -> bool {
        Program::compile(rule)
            .unwrap()
            .eval_bool(&s, old.as_ref())
            .unwrap()
    }

    #[test]
    fn repository_rules() {
        assert!(t("self == oldSelf", json!("git"), Some(json!("git"))));
        assert!(!t("self == oldSelf", json!("git"), Some(json!("oci"))));
        assert!(t("self == '' || self == 'Package'", json!("Package"), None));
        assert!(!t("self == '' || self == 'Package'", json!("Other"), None));
        let obj = json!({"metadata":{"name":"my-repo"}});
        assert!(t(
            "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
            obj.clone(),
            None
        ));
        assert!(t("size(self.metadata.name) <= 63", obj.clone(), None));
        assert!(!t(
            "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
            json!({"metadata":{"name":"A.b"}}),
            None
        ));
        assert!(Program::compile("self == oldSelf").unwrap().uses_old_self());
    }

    #[test]
    fn has_macros_and_operators() {
        let s = json!({"a":{"b":1},"list":[1,2,3],"m":{"k":"v"}});
        assert!(t("has(self.a) && !has(self.c)", s.clone(), None));
        assert!(t(
            "self.list.all(x, x > 0) && self.list.exists(x, x == 2) && self.list.exists_one(x, x == 3)",
            s.clone(),
            None
        ));
        assert!(t(
            "self.list.map(x, x * 2) == [2, 4, 6] && self.list.filter(x, x % 2 == 1).size() == 2",
            s.clone(),
            None
        ));
        assert!(t(
            "'k' in self.m && 2 in self.list && self.m['k'] == 'v' && self.list[0] == 1",
            s.clone(),
            None
        ));
        assert!(t(
            "self.a.b + 1 == 2 && (self.a.b > 0 ? true : false) && 1.5 < 2",
            s.clone(),
            None
        ));
        assert!(t(
            "'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b') && 'ABC'.lowerAscii() == 'abc'",
            s.clone(),
            None
        ));
        // An error on one side of || is absorbed when the other side is true.
        assert!(t("self.missing == 1 || true", s.clone(), None));
        assert!(
            Program::compile("self.missing == 1")
                .unwrap()
                .eval_bool(&s, None)
                .is_err()
        );
    }

    #[test]
    fn rejects_unsupported() {
        assert!(matches!(
            Program::compile("self.isSorted()"),
            Err(CelError::Unsupported(_))
        ));
        assert!(matches!(
            Program::compile("other == 1"),
            Err(CelError::Unsupported(_))
        ));
        assert!(matches!(
            Program::compile("self =="),
            Err(CelError::Syntax(_))
        ));
        assert!(matches!(
            Program::compile("has(self)"),
            Err(CelError::Syntax(_))
        ));
    }
}
