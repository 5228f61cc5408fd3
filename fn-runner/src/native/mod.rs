//! Catalog functions implemented in Rust (kpt-fn.md §6), looked up by short image name.

mod apply_replacements;
mod apply_setters;
mod config;
mod create_setters;
mod ensure_name_substring;
mod fieldpath;
mod glob;
mod remove_local_config_resources;
mod search_replace;
mod set_annotations;
mod set_enforcement_action;
mod set_image;
mod set_labels;
mod set_namespace;
mod starlark_fn;
mod starlib;
mod upsert_resource;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use kpt::fn_eval::{EvalError, EvalOutput};

use crate::resource_list::ResourceList;
use crate::results::KrmResult;
use crate::yaml::{self, CommentMap};

pub use starlark_fn::DEFAULT_STARLARK_TIMEOUT;

/// A function failed (exit code 1); the message also becomes an error result.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct FnFailure(pub String);

impl FnFailure {
    /// Build from anything printable.
    pub fn msg(m: impl Into<String>) -> Self {
        FnFailure(m.into())
    }
}

/// What a native function returns.
pub type FnResult = Result<(), FnFailure>;

/// How a native function is called.
#[derive(Clone, Copy)]
pub enum Entry {
    /// Operates on the data only.
    Plain(fn(&mut ResourceList) -> FnResult),
    /// Also reads and writes line comments (paths start at `items`).
    Commented(fn(&mut ResourceList, &mut CommentMap) -> FnResult),
    /// Runs a user program: on its own thread, with a time limit.
    Program(fn(&mut ResourceList, Duration) -> FnResult),
}

/// A native catalog function.
#[derive(Clone, Copy)]
pub struct NativeFunction {
    /// Short image name, e.g. `set-namespace`.
    pub name: &'static str,
    /// The implementation.
    pub entry: Entry,
}

/// Every native function, by short image name.
pub const FUNCTIONS: &[NativeFunction] = &[
    NativeFunction {
        name: "set-namespace",
        entry: Entry::Plain(set_namespace::run),
    },
    NativeFunction {
        name: "set-labels",
        entry: Entry::Plain(set_labels::run),
    },
    NativeFunction {
        name: "set-annotations",
        entry: Entry::Plain(set_annotations::run),
    },
    NativeFunction {
        name: "apply-replacements",
        entry: Entry::Plain(apply_replacements::run),
    },
    NativeFunction {
        name: "apply-setters",
        entry: Entry::Commented(apply_setters::run),
    },
    NativeFunction {
        name: "create-setters",
        entry: Entry::Commented(create_setters::run),
    },
    NativeFunction {
        name: "search-replace",
        entry: Entry::Commented(search_replace::run),
    },
    NativeFunction {
        name: "set-image",
        entry: Entry::Plain(set_image::run),
    },
    NativeFunction {
        name: "ensure-name-substring",
        entry: Entry::Plain(ensure_name_substring::run),
    },
    NativeFunction {
        name: "upsert-resource",
        entry: Entry::Plain(upsert_resource::run),
    },
    NativeFunction {
        name: "remove-local-config-resources",
        entry: Entry::Plain(remove_local_config_resources::run),
    },
    NativeFunction {
        name: "set-enforcement-action",
        entry: Entry::Plain(set_enforcement_action::run),
    },
    NativeFunction {
        name: "starlark",
        entry: Entry::Program(starlark_fn::run),
    },
];

/// The native function for a short name.
pub fn lookup(name: &str) -> Option<&'static NativeFunction> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// Whether a tag is one our native implementations stand in for: every catalog
/// release line is `v0.x`; a missing tag and `latest` mean "current".
pub fn supports_tag(tag: &str) -> bool {
    if tag.is_empty() || tag == "latest" {
        return true;
    }
    let Some(rest) = tag.strip_prefix("v0") else {
        return false;
    };
    rest.is_empty()
        || (rest.starts_with('.')
            && rest[1..].split('.').count() <= 2
            && rest[1..]
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

/// Run `f` over a serialized ResourceList, with kpt's exit-code semantics:
/// a failure gives exit code 1 and the ResourceList (with an error result) on stdout.
pub fn run_native(
    f: &NativeFunction,
    input: &[u8],
    program_timeout: Duration,
) -> Result<EvalOutput, EvalError> {
    let failed = |message: String| EvalError::Failed {
        function: f.name.to_string(),
        message,
    };
    let text = std::str::from_utf8(input)
        .map_err(|e| failed(format!("failed to parse input ResourceList: {e}")))?;
    let mut rl = ResourceList::parse(text.as_bytes())
        .map_err(|e| failed(format!("failed to parse input ResourceList: {e}")))?;
    let mut comments = match f.entry {
        Entry::Commented(_) => Some(yaml::read_line_comments(text)),
        _ => None,
    };
    // Upstream's builtin runner turns panics into errors; so do we.
    let outcome =
        std::panic::catch_unwind(AssertUnwindSafe(|| match (f.entry, comments.as_mut()) {
            (Entry::Plain(run), _) => run(&mut rl),
            (Entry::Commented(run), Some(c)) => run(&mut rl, c),
            (Entry::Commented(run), None) => run(&mut rl, &mut CommentMap::new()),
            (Entry::Program(run), _) => run(&mut rl, program_timeout),
        }))
        .map_err(|_| failed("the function panicked".into()))?;
    let mut stderr = Vec::new();
    let exit_code = match outcome {
        Ok(()) => 0,
        Err(FnFailure(message)) => {
            if !rl.results.iter().any(|r| r.message == message) {
                rl.results.push(KrmResult::error(message.clone()));
            }
            stderr.extend_from_slice(format!("{message}\n").as_bytes());
            1
        }
    };
    let out = match &comments {
        Some(c) => yaml::to_yaml_with_comments(&rl.into_value(), c),
        None => rl.into_yaml(),
    };
    Ok(EvalOutput {
        resource_list: out.into_bytes(),
        stderr,
        exit_code,
    })
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        for t in ["", "latest", "v0", "v0.4", "v0.4.5"] {
            assert!(supports_tag(t), "{t}");
        }
        for t in ["v1", "v0.", "v0.4.5.6", "unstable", "v0.x"] {
            assert!(!supports_tag(t), "{t}");
        }
    }
}
