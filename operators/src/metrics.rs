//! Counters exposed on `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Reconcile counters per controller, failures per controller and error category, and
/// whether this instance leads.
#[derive(Debug, Default)]
pub struct Metrics {
    reconciles: Mutex<BTreeMap<&'static str, u64>>,
    failures: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    writes: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    leader: AtomicBool,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, by: u64) {
    // A poisoned lock only means another thread panicked mid-increment; counting on is fine.
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    *map.entry(key).or_default() += by;
}

impl Metrics {
    /// One reconcile of `controller` ran.
    pub fn reconciled(&self, controller: &'static str) {
        bump(&self.reconciles, controller, 1);
    }

    /// One reconcile of `controller` failed with an error of `category`.
    pub fn failed(&self, controller: &'static str, category: &'static str) {
        bump(&self.failures, (controller, category), 1);
    }

    /// `count` writes of `kind` (`create`, `update`, `delete`, `status`) by `controller`.
    pub fn wrote(&self, controller: &'static str, kind: &'static str, count: u64) {
        if count > 0 {
            bump(&self.writes, (controller, kind), count);
        }
    }

    /// Whether this instance holds the Lease.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// Whether this instance holds the Lease.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    /// The reconcile count of `controller`.
    pub fn reconcile_count(&self, controller: &str) -> u64 {
        let map = self.reconciles.lock().unwrap_or_else(|e| e.into_inner());
        map.get(controller).copied().unwrap_or_default()
    }

    /// The failure count of `controller` in `category`.
    pub fn failure_count(&self, controller: &str, category: &str) -> u64 {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|((c, k), _)| *c == controller && *k == category)
            .map(|(_, v)| *v)
            .sum()
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP porch_operator_reconciles_total Reconciles run, per controller.\n");
        out.push_str("# TYPE porch_operator_reconciles_total counter\n");
        for (c, v) in self
            .reconciles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "porch_operator_reconciles_total{{controller=\"{c}\"}} {v}"
            );
        }
        out.push_str("# HELP porch_operator_reconcile_failures_total Failed reconciles, per controller and error category.\n");
        out.push_str("# TYPE porch_operator_reconcile_failures_total counter\n");
        for ((c, k), v) in self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "porch_operator_reconcile_failures_total{{controller=\"{c}\",category=\"{k}\"}} {v}"
            );
        }
        out.push_str("# HELP porch_operator_writes_total Kubernetes writes, per controller and kind of write.\n");
        out.push_str("# TYPE porch_operator_writes_total counter\n");
        for ((c, k), v) in self.writes.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "porch_operator_writes_total{{controller=\"{c}\",kind=\"{k}\"}} {v}"
            );
        }
        out.push_str(
            "# HELP porch_operator_leader Whether this instance holds the leader Lease.\n",
        );
        out.push_str("# TYPE porch_operator_leader gauge\n");
        let _ = writeln!(out, "porch_operator_leader {}", u8::from(self.is_leader()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let m = Metrics::default();
        m.reconciled("repository");
        m.reconciled("repository");
        m.failed("repository", "unreachable");
        m.wrote("repository", "create", 3);
        m.wrote("repository", "delete", 0);
        m.set_leader(true);
        let text = m.render();
        assert!(text.contains("porch_operator_reconciles_total{controller=\"repository\"} 2\n"));
        assert!(text.contains(
            "porch_operator_reconcile_failures_total{controller=\"repository\",category=\"unreachable\"} 1\n"
        ));
        assert!(text.contains(
            "porch_operator_writes_total{controller=\"repository\",kind=\"create\"} 3\n"
        ));
        assert!(!text.contains("kind=\"delete\""));
        assert!(text.contains("porch_operator_leader 1\n"));
        assert_eq!(m.failure_count("repository", "unreachable"), 1);
    }
}
