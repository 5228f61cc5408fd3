//! `rpkg propose|approve|reject|propose-delete|del`: per-name lifecycle changes with upstream's
//! batch reporting (`<name> failed (<err>)` per failure, then `Error: errors:\n  ...`).

use std::future::Future;

use serde_json::{Value, json};

use crate::api::{PACKAGE_REVISIONS, RequestError};
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;

/// What one name's operation printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A success line on stdout.
    Stdout(String),
    /// A notice on stderr (not a failure).
    Stderr(String),
}

/// A failed step: the HTTP code (for conflict retries) and the message.
#[derive(Debug, Clone)]
pub struct StepError {
    code: Option<u16>,
    message: String,
}

impl StepError {
    fn logic(message: impl Into<String>) -> Self {
        StepError {
            code: None,
            message: message.into(),
        }
    }

    fn api(e: RequestError, name: &str) -> Self {
        StepError {
            code: e.code(),
            message: e.message(&PACKAGE_REVISIONS, Some(name)),
        }
    }
}

const RETRIES: usize = 5;

/// client-go's `RetryOnConflict`: re-run the whole read-modify-write on 409.
async fn retry_on_conflict<F, Fut>(mut op: F) -> Result<Outcome, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Outcome, StepError>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if e.code == Some(409) && attempt + 1 < RETRIES => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 * attempt as u64)).await;
            }
            other => return other,
        }
    }
}

/// Prints each outcome, collects failures, and turns them into the batch error.
fn report(io: &mut Io, results: Vec<(String, Result<Outcome, StepError>)>) -> Result<(), CliError> {
    let mut errors = Vec::new();
    for (name, r) in results {
        match r {
            Ok(Outcome::Stdout(line)) => io.out(&format!("{line}\n")),
            Ok(Outcome::Stderr(line)) => io.err(&format!("{line}\n")),
            Err(e) => {
                io.err(&format!("{name} failed ({})\n", e.message));
                errors.push(e.message);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::batch(&errors))
    }
}

async fn get_pr(s: &Session, ns: &str, name: &str) -> Result<Value, StepError> {
    s.rest
        .get(&PACKAGE_REVISIONS.item(Some(ns), name))
        .await
        .map_err(|e| StepError::api(e, name))
}

async fn put_pr(
    s: &Session,
    ns: &str,
    name: &str,
    pr: &Value,
    approval: bool,
) -> Result<(), StepError> {
    let mut path = PACKAGE_REVISIONS.item(Some(ns), name);
    if approval {
        path.push_str("/approval");
    }
    s.rest
        .update(&path, pr)
        .await
        .map(|_| ())
        .map_err(|e| StepError::api(e, name))
}

fn set_lifecycle(pr: &mut Value, lifecycle: &str) {
    if !pr.get("spec").is_some_and(Value::is_object) {
        pr["spec"] = json!({});
    }
    pr["spec"]["lifecycle"] = json!(lifecycle);
}

/// Whether every readiness gate has a `True` condition (porchctl's check; the server has none).
pub fn readiness_met(pr: &Value) -> bool {
    let gates = pr.pointer("/spec/readinessGates").and_then(Value::as_array);
    let conditions = pr.pointer("/status/conditions").and_then(Value::as_array);
    gates.into_iter().flatten().all(|g| {
        let Some(t) = g.get("conditionType").and_then(Value::as_str) else {
            return true;
        };
        conditions.into_iter().flatten().any(|c| {
            c.get("type").and_then(Value::as_str) == Some(t)
                && c.get("status").and_then(Value::as_str) == Some("True")
        })
    })
}

/// `rpkg propose`.
pub async fn propose(s: &Session, names: &[String], io: &mut Io) -> Result<(), CliError> {
    let ns = s.namespace();
    let mut results = Vec::new();
    for name in names {
        let r = retry_on_conflict(|| async {
            let mut pr = get_pr(s, &ns, name).await?;
            if !readiness_met(&pr) {
                return Err(StepError::logic("readiness conditions not met"));
            }
            match super::lifecycle(&pr) {
                "" | "Draft" => {
                    set_lifecycle(&mut pr, "Proposed");
                    put_pr(s, &ns, name, &pr, false).await?;
                    Ok(Outcome::Stdout(format!("{name} proposed")))
                }
                "Proposed" => Ok(Outcome::Stderr(format!("{name} is already proposed"))),
                other => Err(StepError::logic(format!("cannot propose {other} package"))),
            }
        })
        .await;
        results.push((name.clone(), r));
    }
    report(io, results)
}

/// `rpkg approve`.
pub async fn approve(s: &Session, names: &[String], io: &mut Io) -> Result<(), CliError> {
    let ns = s.namespace();
    let mut results = Vec::new();
    for name in names {
        let r = retry_on_conflict(|| async {
            let mut pr = get_pr(s, &ns, name).await?;
            if !readiness_met(&pr) {
                return Err(StepError::logic("readiness conditions not met"));
            }
            match super::lifecycle(&pr) {
                "Proposed" | "DeletionProposed" => {
                    set_lifecycle(&mut pr, "Published");
                    put_pr(s, &ns, name, &pr, true).await?;
                }
                "Published" => {}
                other => {
                    return Err(StepError::logic(format!(
                        "cannot change approval from {other} to Published"
                    )));
                }
            }
            Ok(Outcome::Stdout(format!("{name} approved")))
        })
        .await;
        results.push((name.clone(), r));
    }
    report(io, results)
}

/// `rpkg reject`.
pub async fn reject(s: &Session, names: &[String], io: &mut Io) -> Result<(), CliError> {
    let ns = s.namespace();
    let mut results = Vec::new();
    for name in names {
        let r = retry_on_conflict(|| async {
            let mut pr = get_pr(s, &ns, name).await?;
            match super::lifecycle(&pr) {
                "Proposed" => {
                    set_lifecycle(&mut pr, "Draft");
                    put_pr(s, &ns, name, &pr, true).await?;
                    Ok(Outcome::Stdout(format!(
                        "{name} no longer proposed for approval"
                    )))
                }
                "DeletionProposed" => {
                    set_lifecycle(&mut pr, "Published");
                    put_pr(s, &ns, name, &pr, false).await?;
                    Ok(Outcome::Stdout(format!(
                        "{name} no longer proposed for deletion"
                    )))
                }
                other => Err(StepError::logic(format!(
                    "cannot reject {name} with lifecycle '{other}'"
                ))),
            }
        })
        .await;
        results.push((name.clone(), r));
    }
    report(io, results)
}

/// `rpkg propose-delete`.
pub async fn propose_delete(s: &Session, names: &[String], io: &mut Io) -> Result<(), CliError> {
    let ns = s.namespace();
    let mut results = Vec::new();
    for name in names {
        let r = retry_on_conflict(|| async {
            let mut pr = get_pr(s, &ns, name).await?;
            match super::lifecycle(&pr) {
                "Published" => {
                    set_lifecycle(&mut pr, "DeletionProposed");
                    put_pr(s, &ns, name, &pr, false).await?;
                    Ok(Outcome::Stdout(format!("{name} proposed for deletion")))
                }
                "DeletionProposed" => Ok(Outcome::Stderr(format!("{name} is already proposed for deletion"))),
                _ => Err(StepError::logic(format!(
                    "can only propose published packages for deletion; package {name} is not published"
                ))),
            }
        })
        .await;
        results.push((name.clone(), r));
    }
    report(io, results)
}

/// `rpkg del`.
pub async fn delete(s: &Session, names: &[String], io: &mut Io) -> Result<(), CliError> {
    let ns = s.namespace();
    let mut results = Vec::new();
    for name in names {
        let r = s
            .rest
            .delete(&PACKAGE_REVISIONS.item(Some(&ns), name))
            .await
            .map(|_| Outcome::Stdout(format!("{name} deleted")))
            .map_err(|e| StepError::api(e, name));
        results.push((name.clone(), r));
    }
    report(io, results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_gates() {
        assert!(readiness_met(&json!({"spec": {}})));
        let gated = json!({"spec": {"readinessGates": [{"conditionType": "a"}]},
                           "status": {"conditions": [{"type": "a", "status": "False"}]}});
        assert!(!readiness_met(&gated));
        let ok = json!({"spec": {"readinessGates": [{"conditionType": "a"}]},
                        "status": {"conditions": [{"type": "a", "status": "True"}]}});
        assert!(readiness_met(&ok));
    }

    #[test]
    fn batch_report_format() {
        let mut io = Io::empty();
        let r = report(
            &mut io,
            vec![
                ("a".into(), Ok(Outcome::Stdout("a deleted".into()))),
                ("b".into(), Err(StepError::logic("boom"))),
                ("c".into(), Err(StepError::logic("bang"))),
            ],
        );
        let e = r.unwrap_err();
        e.print(&mut io);
        assert_eq!(io.stdout_text(), "a deleted\n");
        assert_eq!(
            io.stderr_text(),
            "b failed (boom)\nc failed (bang)\nError: errors:\n  boom\n  bang \n"
        );
    }
}
