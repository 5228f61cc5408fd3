//! Evaluators tried in a fixed order; only "not found" falls through.
//!
//! Upstream builds its list from a Go map, so the order changes per start; ours
//! is always the order given (native, exec, pod).

use std::sync::Arc;

use kpt::fn_eval::{EvalError, EvalFuture, Evaluator, FunctionRef};

/// A fixed-order evaluator chain.
pub struct ChainEvaluator {
    evaluators: Vec<Arc<dyn Evaluator>>,
}

impl ChainEvaluator {
    /// Try `evaluators` in this order.
    pub fn new(evaluators: Vec<Arc<dyn Evaluator>>) -> Self {
        ChainEvaluator { evaluators }
    }
}

impl Evaluator for ChainEvaluator {
    fn evaluate<'a>(
        &'a self,
        function: &'a FunctionRef,
        resource_list: &'a [u8],
    ) -> EvalFuture<'a> {
        Box::pin(async move {
            for e in &self.evaluators {
                match e.evaluate(function, resource_list).await {
                    Err(EvalError::NotFound(_)) => continue,
                    other => return other,
                }
            }
            Err(EvalError::NotFound(function.name().to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kpt::fn_eval::EvalOutput;

    struct Fixed(Result<EvalOutput, EvalError>);
    impl Evaluator for Fixed {
        fn evaluate<'a>(&'a self, _: &'a FunctionRef, _: &'a [u8]) -> EvalFuture<'a> {
            let r = self.0.clone();
            Box::pin(async move { r })
        }
    }

    fn out(code: i32) -> Result<EvalOutput, EvalError> {
        Ok(EvalOutput {
            exit_code: code,
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn only_not_found_falls_through() {
        let f = FunctionRef::Image("x".into());
        let nf = || Arc::new(Fixed(Err(EvalError::NotFound("x".into())))) as Arc<dyn Evaluator>;
        let chain =
            ChainEvaluator::new(vec![nf(), Arc::new(Fixed(out(7))), Arc::new(Fixed(out(0)))]);
        assert_eq!(chain.evaluate(&f, b"").await.unwrap().exit_code, 7);
        let failed = EvalError::Failed {
            function: "x".into(),
            message: "boom".into(),
        };
        let chain = ChainEvaluator::new(vec![
            Arc::new(Fixed(Err(failed.clone()))),
            Arc::new(Fixed(out(0))),
        ]);
        assert_eq!(chain.evaluate(&f, b"").await.unwrap_err(), failed);
        let chain = ChainEvaluator::new(vec![nf(), nf()]);
        assert_eq!(
            chain.evaluate(&f, b"").await.unwrap_err(),
            EvalError::NotFound("x".into())
        );
    }
}
