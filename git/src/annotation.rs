//! Commit annotations and commit messages (`spec/porch-api.md` §6.3-§6.4), byte
//! for byte as upstream writes them. Pure logic.

use serde::{Deserialize, Serialize};

/// The `kpt:{...}` line of a commit message. Unknown fields are ignored and the
/// task is kept as raw JSON so that unknown task types survive.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CommitAnnotation {
    /// Full path of the package (Repository directory included).
    #[serde(rename = "package", default, skip_serializing_if = "String::is_empty")]
    pub package: String,
    #[serde(
        rename = "workspaceName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub workspace_name: String,
    /// `"0"` for drafts, `"<N>"` on approval, `"v1"` in legacy annotations.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<serde_json::Value>,
}

impl CommitAnnotation {
    /// The task's `type` field, if any.
    pub fn task_type(&self) -> Option<&str> {
        self.task.as_ref()?.get("type")?.as_str()
    }

    /// Whether the annotation belongs to the revision `(full_path, workspace)`,
    /// including legacy annotations without `workspaceName` whose revision equals the workspace.
    pub fn matches(&self, full_path: &str, workspace: &str) -> bool {
        self.package == full_path
            && (self.workspace_name == workspace
                || (self.workspace_name.is_empty() && self.revision == workspace))
    }

    /// The `kpt:<json>` line content (without the newline).
    pub fn to_line(&self) -> String {
        // Serializing plain strings and a JSON value cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("kpt:{json}")
    }
}

/// Parses every line that, trimmed, starts with `kpt:`. Lines that fail to parse
/// are reported in the second vector and the others are still returned.
pub fn parse_annotations(message: &str) -> (Vec<CommitAnnotation>, Vec<String>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for line in message.split('\n') {
        let line = line.trim();
        if let Some(json) = line.strip_prefix("kpt:") {
            match serde_json::from_str::<CommitAnnotation>(json) {
                Ok(a) => found.push(a),
                Err(e) => errors.push(format!("failed to unmarshal annotation {line:?}: {e}")),
            }
        }
    }
    (found, errors)
}

/// Task types that may start a package revision.
pub fn is_valid_first_task(task_type: &str) -> bool {
    matches!(task_type, "init" | "clone" | "edit" | "upgrade")
}

/// First line of a mutation commit for a task type (`None` = no task).
pub fn mutation_summary(task_type: Option<&str>) -> String {
    match task_type {
        Some("init") => "Creating new empty revision".to_string(),
        Some("clone") => "Creating new revision by cloning".to_string(),
        Some("edit") => "Creating new revision by copying previous revision".to_string(),
        Some("upgrade") => "Upgrading revision".to_string(),
        Some("render") => "Rendering package".to_string(),
        None | Some("") => "Intermediate commit".to_string(),
        Some(other) => format!("Intermediate commit: {other}"),
    }
}

/// Message of a draft mutation commit: `<summary>\n` followed by `\n\nkpt:<json>\n`.
pub fn mutation_message(annotation: &CommitAnnotation) -> String {
    let summary = mutation_summary(annotation.task_type());
    format!("{summary}\n\n\n{}\n", annotation.to_line())
}

/// Message of the approval commit: `Approving package revision <fullpath>/<N>\n\nkpt:<json>\n`.
pub fn approval_message(full_path: &str, workspace: &str, revision: i64) -> String {
    let annotation = CommitAnnotation {
        package: full_path.to_string(),
        workspace_name: workspace.to_string(),
        revision: revision.to_string(),
        task: None,
    };
    format!(
        "Approving package revision {full_path}/{revision}\n\n{}\n",
        annotation.to_line()
    )
}

/// Message of the placeholder deletion commit.
pub fn delete_message(full_path: &str) -> String {
    format!("Delete {full_path}")
}

/// Message of the commit that creates a missing branch.
pub const CREATE_BRANCH_MESSAGE: &str = "Initial commit: Creating main branch";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn annotation_line_is_byte_exact() {
        let a = CommitAnnotation {
            package: "up/foo".into(),
            workspace_name: "ws1".into(),
            revision: "0".into(),
            task: Some(json!({"type": "init", "init": {"description": "d"}})),
        };
        assert_eq!(
            a.to_line(),
            r#"kpt:{"package":"up/foo","workspaceName":"ws1","revision":"0","task":{"type":"init","init":{"description":"d"}}}"#
        );
        assert_eq!(
            mutation_message(&a),
            format!("Creating new empty revision\n\n\n{}\n", a.to_line())
        );
        assert_eq!(
            approval_message("up/foo", "ws1", 2),
            "Approving package revision up/foo/2\n\nkpt:{\"package\":\"up/foo\",\"workspaceName\":\"ws1\",\"revision\":\"2\"}\n"
        );
    }

    #[test]
    fn parsing_is_tolerant() {
        let msg = "Intermediate commit: frobnicate\n\n  kpt:{\"package\":\"p\",\"workspaceName\":\"w\",\"revision\":\"0\",\"task\":{\"type\":\"frobnicate\",\"extra\":[1]},\"future\":true}\nkpt:{broken\nkpt:{\"package\":\"q\",\"revision\":\"v1\"}\n";
        let (anns, errs) = parse_annotations(msg);
        assert_eq!(anns.len(), 2);
        assert_eq!(errs.len(), 1);
        assert_eq!(anns[0].task_type(), Some("frobnicate"));
        assert!(anns[0].matches("p", "w"));
        // legacy annotation: no workspaceName, revision == workspace
        assert!(anns[1].matches("q", "v1"));
        assert!(!anns[1].matches("q", "v2"));
    }

    #[test]
    fn summaries() {
        assert_eq!(
            mutation_summary(Some("clone")),
            "Creating new revision by cloning"
        );
        assert_eq!(mutation_summary(Some("eval")), "Intermediate commit: eval");
        assert_eq!(mutation_summary(None), "Intermediate commit");
        assert!(is_valid_first_task("upgrade"));
        assert!(!is_valid_first_task("render"));
    }
}
