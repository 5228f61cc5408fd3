//! kpt package algorithms as pure code: no network, no Kubernetes.
//!
//! Function execution comes in through [`fn_eval::Evaluator`], so the function
//! runner, an in-process runtime or a test double can serve a render.
//!
//! * [`yaml`]: the comment-, order- and style-preserving YAML model (`parse_stream`,
//!   `emit`, `to_json`/`from_json`, [`heal()`]).
//! * [`kptfile::Kptfile`]: the strict `kpt.dev/v1` schema.
//! * [`Package`]: path → text, with [`Package::read`] / [`Package::write`] to and
//!   from annotated resources; [`ResourceList`] is the function wire object.
//! * [`ops`]: `init`, `clone`, `copy`, `upgrade` (four strategies),
//!   `package_context`, `ensure_merge_key`.
//! * [`render::render`]: the Kptfile pipelines of a package tree.

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
pub use render::{RenderOptions, RenderOutcome, render};
pub use resource::ResourceList;
pub use results::FunctionResultList;
pub use yaml::heal;
