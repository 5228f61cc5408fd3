//! Black-box end-to-end support shared by the test and bench targets of several packages:
//! running the real `kubectl` ([`kubectl`]), starting `porch standalone` as a child process
//! ([`standalone`]) and the kubectl suite itself ([`kubectl_suite`]), one definition of its
//! steps run against any target (the API server in a test process, or the `porch` binary).
//!
//! This is test code in a library so that several test crates can share it: a failed step
//! panics with what kubectl printed, exactly as an assertion in a test would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod kubectl;
pub mod kubectl_suite;
pub mod standalone;
