//! kpt package algorithms as pure code: no network, no Kubernetes.
//!
//! Function execution comes in through [`fn_eval::Evaluator`], so the function
//! runner, an in-process runtime or a test double can serve a render.

pub mod fn_eval;
