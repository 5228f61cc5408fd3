//! `porchctl repo sync`: schedule a one-time sync by setting `spec.sync.runOnceAt`.

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::api::REPOSITORIES;
use crate::cli::SyncArgs;
use crate::commands::get::flatten;
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;

/// The sync time and the warning (printed on stdout) when it had to be moved.
#[derive(Debug, PartialEq)]
pub struct RunOnce {
    /// When the sync runs.
    pub at: Timestamp,
    /// A warning to print on stdout.
    pub warning: Option<&'static str>,
}

const DURATION_WARNING: &str =
    "Warning: Duration must be at least 1 minute. Sync time adjusted to comply with minimum delay.";
const TIME_WARNING: &str = "Warning: Scheduled time is within 1 minute or in the past. Sync time adjusted to comply with minimum delay.";

/// Resolves `--run-once` against `now` (no I/O).
pub fn resolve_run_once(value: Option<&str>, now: Timestamp) -> Result<RunOnce, CliError> {
    let min = now + 1.minute();
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(RunOnce {
            at: min,
            warning: None,
        });
    };
    if let Some(secs) = parse_go_duration(v) {
        if secs < 60.0 {
            return Ok(RunOnce {
                at: min,
                warning: Some(DURATION_WARNING),
            });
        }
        let at = now
            .checked_add(jiff::SignedDuration::from_secs_f64(secs))
            .map_err(|_| CliError::cmd("invalid --run-once value"))?;
        return Ok(RunOnce { at, warning: None });
    }
    let at: Timestamp = v
        .parse()
        .map_err(|_| CliError::cmd("invalid --run-once value"))?;
    if at < min {
        return Ok(RunOnce {
            at: min,
            warning: Some(TIME_WARNING),
        });
    }
    Ok(RunOnce { at, warning: None })
}

/// Parses Go's `time.ParseDuration` syntax into seconds.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_end..];
    }
    Some(if neg { -total } else { total })
}

/// RFC 3339 in UTC with second precision, as Go's `time.RFC3339` prints a UTC time.
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Runs `repo sync`.
pub async fn run(session: &Session, a: &SyncArgs, io: &mut Io) -> Result<(), CliError> {
    let ns = session.namespace_flag.clone().unwrap_or_default();
    if !a.all_namespaces && ns.is_empty() {
        return Err(CliError::cmd(
            "namespace must be specified unless --all-namespaces is set",
        ));
    }
    if a.names.is_empty() && !a.all {
        return Err(CliError::cmd(
            "repository name(s) required unless --all is set",
        ));
    }
    let run_once = resolve_run_once(a.run_once.as_deref(), Timestamp::now())?;
    if let Some(w) = run_once.warning {
        io.out(&format!("{w}\n"));
    }
    let scope = if a.all_namespaces {
        None
    } else {
        Some(ns.as_str())
    };
    let mut repos: Vec<Value> = Vec::new();
    if a.all {
        let list = session
            .rest
            .get(&REPOSITORIES.collection(scope))
            .await
            .map_err(|e| e.into_cli(&REPOSITORIES, None))?;
        flatten(list, &mut repos);
        if repos.is_empty() {
            return Err(CliError::cmd(match scope {
                Some(ns) => format!("no repositories found in namespace {ns:?}"),
                None => "no repositories found across all namespaces".to_string(),
            }));
        }
    } else {
        for name in &a.names {
            let path = REPOSITORIES.item(Some(if ns.is_empty() { "default" } else { &ns }), name);
            match session.rest.get(&path).await {
                Ok(r) => repos.push(r),
                Err(e) => io.err(&format!(
                    "Error fetching repository {name:?}: {}\n",
                    e.message(&REPOSITORIES, Some(name))
                )),
            }
        }
    }
    let at = rfc3339(run_once.at);
    for mut repo in repos {
        let name = repo
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let rns = repo
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(&ns)
            .to_string();
        if repo.pointer("/spec/sync").is_none_or(|s| !s.is_object()) {
            repo["spec"]["sync"] = json!({});
        }
        repo["spec"]["sync"]["runOnceAt"] = json!(at);
        match session
            .rest
            .update(&REPOSITORIES.item(Some(&rns), &name), &repo)
            .await
        {
            Ok(_) => io.out(&format!("Scheduled one-time sync for {name:?} at {at}\n")),
            Err(e) => io.err(&format!(
                "Failed to update repository {name:?}: {}\n",
                e.message(&REPOSITORIES, Some(&name))
            )),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("5m"), Some(300.0));
        assert_eq!(parse_go_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_go_duration("30s"), Some(30.0));
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration("2024-01-01T00:00:00Z"), None);
    }

    #[test]
    fn run_once_rules() {
        let now = t("2026-01-01T00:00:00Z");
        assert_eq!(
            resolve_run_once(None, now).unwrap(),
            RunOnce {
                at: t("2026-01-01T00:01:00Z"),
                warning: None
            }
        );
        assert_eq!(
            resolve_run_once(Some("10m"), now).unwrap().at,
            t("2026-01-01T00:10:00Z")
        );
        assert_eq!(
            resolve_run_once(Some("10s"), now).unwrap().warning,
            Some(DURATION_WARNING)
        );
        assert_eq!(
            resolve_run_once(Some("2025-01-01T00:00:00Z"), now)
                .unwrap()
                .warning,
            Some(TIME_WARNING)
        );
        assert_eq!(
            resolve_run_once(Some("2026-01-02T00:00:00Z"), now)
                .unwrap()
                .at,
            t("2026-01-02T00:00:00Z")
        );
        assert!(resolve_run_once(Some("soon"), now).is_err());
        assert_eq!(rfc3339(now), "2026-01-01T00:00:00Z");
    }
}
