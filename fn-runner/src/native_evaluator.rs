//! The native runtime as a kpt [`Evaluator`].

use std::time::Duration;

use kpt::fn_eval::{EvalError, EvalFuture, Evaluator, FunctionRef};

use crate::image::ImageRef;
use crate::native::{self, Entry, NativeFunction};

/// Runs catalog functions implemented in Rust.
pub struct NativeEvaluator {
    default_prefix: String,
    starlark_timeout: Duration,
}

impl NativeEvaluator {
    /// `default_prefix` is the prefix bare names expand to (also accepted as a catalog prefix).
    pub fn new(default_prefix: String, starlark_timeout: Duration) -> Self {
        NativeEvaluator {
            default_prefix,
            starlark_timeout,
        }
    }

    /// The native function an image routes to, if any.
    pub fn resolve(&self, image: &str) -> Option<&'static NativeFunction> {
        let r = ImageRef::parse(image);
        if !r.is_catalog(&self.default_prefix) || !native::supports_tag(&r.tag) {
            return None;
        }
        native::lookup(&r.name)
    }
}

impl Evaluator for NativeEvaluator {
    fn evaluate<'a>(
        &'a self,
        function: &'a FunctionRef,
        resource_list: &'a [u8],
    ) -> EvalFuture<'a> {
        Box::pin(async move {
            let FunctionRef::Image(image) = function else {
                return Err(EvalError::NotFound(function.name().to_string()));
            };
            let f = self
                .resolve(image)
                .ok_or_else(|| EvalError::NotFound(image.clone()))?;
            let timeout = self.starlark_timeout;
            match f.entry {
                // User programs block for up to their time limit: keep them off the async workers.
                Entry::Program(_) => {
                    let input = resource_list.to_vec();
                    tokio::task::spawn_blocking(move || native::run_native(f, &input, timeout))
                        .await
                        .map_err(|e| EvalError::Failed {
                            function: image.clone(),
                            message: e.to_string(),
                        })?
                }
                _ => native::run_native(f, resource_list, timeout),
            }
            .map_err(|e| match e {
                EvalError::Failed { message, .. } => EvalError::Failed {
                    function: image.clone(),
                    message,
                },
                other => other,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::GHCR_PREFIX;

    #[test]
    fn routes_catalog_names_only() {
        let e = NativeEvaluator::new("example.com/fns".into(), Duration::from_secs(1));
        for ok in [
            "ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4.5",
            "gcr.io/kpt-fn/set-labels:v0.2",
            "example.com/fns/starlark:v0.5",
            "apply-setters:v0.2.0",
            "search-replace",
        ] {
            assert!(e.resolve(ok).is_some(), "{ok}");
        }
        for not in [
            "docker.io/me/set-namespace:v0.4",
            &format!("{GHCR_PREFIX}/kubeconform:v0.1"),
            &format!("{GHCR_PREFIX}/set-namespace:v1.0"),
        ] {
            assert!(e.resolve(not).is_none(), "{not}");
        }
    }
}
