//! The Porch function runner: runs KRM functions natively in Rust, as configured
//! executables, or in pods of a real cluster, behind upstream's gRPC contract
//! (`evaluator.FunctionEvaluator`) and in-process through [`kpt::fn_eval::Evaluator`].

pub mod args;
pub mod chain;
pub mod duration;
pub mod exec;
pub mod function_config;
pub mod image;
pub mod krm;
pub mod native;
pub mod native_evaluator;
pub mod pod;
pub mod resource_list;
pub mod results;
pub mod server;
pub mod yaml;

use std::sync::Arc;

pub use args::FnRunnerArgs;
pub use chain::ChainEvaluator;
pub use exec::{ExecEntry, ExecEvaluator};
pub use native_evaluator::NativeEvaluator;
pub use server::{FnRunnerService, run, serve};

/// How the in-process chain (native, then exec) is set up.
#[derive(Debug, Clone)]
pub struct InProcessConfig {
    /// Prefix that bare image names expand to.
    pub default_image_prefix: String,
    /// Configured executables (FunctionConfig `binaryExecutor`).
    pub exec: Vec<ExecEntry>,
    /// Per-call time limit for executables.
    pub exec_timeout: std::time::Duration,
    /// Time limit for starlark programs.
    pub starlark_timeout: std::time::Duration,
}

impl Default for InProcessConfig {
    fn default() -> Self {
        InProcessConfig {
            default_image_prefix: image::GHCR_PREFIX.to_string(),
            exec: Vec::new(),
            exec_timeout: exec::DEFAULT_EXEC_TIMEOUT,
            starlark_timeout: native::DEFAULT_STARLARK_TIMEOUT,
        }
    }
}

impl InProcessConfig {
    /// Add the `binaryExecutor` entries of the FunctionConfigs in `path`
    /// (relative binary paths are under `functions_dir`).
    pub fn with_function_config_file(
        mut self,
        path: &std::path::Path,
        functions_dir: &std::path::Path,
    ) -> Result<Self, function_config::FunctionConfigError> {
        let configs = function_config::load(path)?;
        self.exec
            .extend(ExecEntry::from_configs(&configs, functions_dir));
        Ok(self)
    }
}

/// The native + exec chain, for renders that run functions without a network hop.
pub fn in_process_evaluator(config: InProcessConfig) -> Arc<dyn kpt::fn_eval::Evaluator> {
    let native: Arc<dyn kpt::fn_eval::Evaluator> = Arc::new(NativeEvaluator::new(
        config.default_image_prefix.clone(),
        config.starlark_timeout,
    ));
    let exec: Arc<dyn kpt::fn_eval::Evaluator> = Arc::new(ExecEvaluator::new(
        config.exec,
        config.default_image_prefix,
        config.exec_timeout,
    ));
    Arc::new(ChainEvaluator::new(vec![native, exec]))
}
