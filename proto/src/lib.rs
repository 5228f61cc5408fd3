//! Generated gRPC code for the function evaluator (`proto/evaluator.proto`).
//!
//! Wire-compatible with upstream Porch: service `evaluator.FunctionEvaluator`,
//! method `EvaluateFunction`, the same messages and field numbers.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod evaluator {
    tonic::include_proto!("evaluator");
}

pub use evaluator::function_evaluator_client::FunctionEvaluatorClient;
pub use evaluator::function_evaluator_server::{FunctionEvaluator, FunctionEvaluatorServer};
pub use evaluator::{EvaluateFunctionRequest, EvaluateFunctionResponse};

/// The full gRPC method path, as upstream clients call it.
pub const EVALUATE_FUNCTION_PATH: &str = "/evaluator.FunctionEvaluator/EvaluateFunction";

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn field_numbers_match_upstream() {
        let req = EvaluateFunctionRequest {
            resource_list: b"kind: ResourceList".to_vec(),
            image: "set-namespace:v0.4".into(),
        };
        let bytes = req.encode_to_vec();
        // field 1, wire type 2 (length-delimited) -> tag byte 0x0a; field 2 -> 0x12
        assert_eq!(bytes[0], 0x0a);
        let img_tag = 2 + req.resource_list.len();
        assert_eq!(bytes[img_tag], 0x12);
        let back = EvaluateFunctionRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, req);

        let resp = EvaluateFunctionResponse {
            resource_list: vec![1],
            log: vec![2],
        };
        assert_eq!(resp.encode_to_vec(), vec![0x0a, 1, 1, 0x12, 1, 2]);
    }
}
