//! kpt package algorithms as pure code: no network, no Kubernetes.
//!
//! Function execution comes in through [`fn_eval::Evaluator`], so the function
//! runner, an in-process runtime or a test double can serve a render.

pub mod error;
pub mod fn_eval;
pub mod kptfile;
pub mod merge3;
pub mod ops;
pub mod package;
pub mod path;
pub mod render;
pub mod resource;
pub mod results;
pub mod yaml;

pub use error::{KptError, Result};
pub use kptfile::Kptfile;
pub use package::{Package, PackageResources};
pub use resource::ResourceList;
pub use results::FunctionResultList;
pub use yaml::heal;
