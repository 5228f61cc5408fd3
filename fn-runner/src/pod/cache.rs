//! Pod-cache decisions, without I/O: which pod takes a request, when to start
//! another, which pods the garbage collector drops.

use std::time::{Duration, Instant};

/// What to do with a request for an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it to the pod at this index.
    Use(usize),
    /// Start another pod for it.
    Start,
    /// Every allowed pod is still starting: wait and ask again.
    Wait,
}

/// Pick the least-loaded pod; start one when there is none, or when the best
/// one's queue reached `max_waitlist` and fewer than `max_pods` exist (starting ones count).
/// Ties go to the pod after `rr` (round robin).
pub fn choose(
    loads: &[usize],
    starting: usize,
    max_waitlist: usize,
    max_pods: usize,
    rr: usize,
) -> Decision {
    let n = loads.len();
    let best = (0..n).map(|k| (rr + k) % n).min_by_key(|&i| loads[i]);
    let room = n + starting < max_pods.max(1);
    match best {
        None if starting == 0 || room => Decision::Start,
        None => Decision::Wait,
        Some(i) if loads[i] >= max_waitlist && room => Decision::Start,
        Some(i) => Decision::Use(i),
    }
}

/// A pod slot as the collector sees it.
#[derive(Debug, Clone, Copy)]
pub struct SlotView {
    /// Requests in flight.
    pub in_flight: usize,
    /// When it last finished a request (or was created).
    pub last_used: Instant,
    /// Whether the pod and service still exist and the pod has not failed.
    pub healthy: bool,
}

/// Whether the collector drops a slot: gone or failed, or idle for `ttl`.
pub fn should_collect(slot: &SlotView, ttl: Duration, now: Instant) -> bool {
    !slot.healthy || (slot.in_flight == 0 && now.saturating_duration_since(slot.last_used) >= ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice() {
        assert_eq!(choose(&[], 0, 2, 1, 0), Decision::Start);
        assert_eq!(choose(&[], 1, 2, 1, 0), Decision::Wait);
        assert_eq!(choose(&[0], 0, 2, 1, 0), Decision::Use(0));
        // Queue full but only one pod allowed: queue on it anyway.
        assert_eq!(choose(&[2], 0, 2, 1, 0), Decision::Use(0));
        assert_eq!(choose(&[2], 0, 2, 3, 0), Decision::Start);
        assert_eq!(choose(&[2], 1, 2, 2, 0), Decision::Use(0));
        assert_eq!(choose(&[3, 1, 1], 0, 2, 3, 2), Decision::Use(2));
        assert_eq!(choose(&[3, 1, 1], 0, 2, 3, 0), Decision::Use(1));
    }

    #[test]
    fn collection() {
        let now = Instant::now();
        let old = now - Duration::from_secs(100);
        let ttl = Duration::from_secs(60);
        assert!(should_collect(
            &SlotView {
                in_flight: 0,
                last_used: old,
                healthy: true
            },
            ttl,
            now
        ));
        assert!(!should_collect(
            &SlotView {
                in_flight: 1,
                last_used: old,
                healthy: true
            },
            ttl,
            now
        ));
        assert!(!should_collect(
            &SlotView {
                in_flight: 0,
                last_used: now,
                healthy: true
            },
            ttl,
            now
        ));
        assert!(should_collect(
            &SlotView {
                in_flight: 1,
                last_used: now,
                healthy: false
            },
            ttl,
            now
        ));
    }
}
