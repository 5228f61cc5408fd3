//! The runner of upstream's data-driven porchctl cases (spec/porch-tests-and-perf.md §1.1):
//! case files, output normalisation, diffs, and the runner itself.

pub mod case;
pub mod diff;
pub mod normalize;
pub mod runner;
