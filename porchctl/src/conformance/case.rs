//! The case format: upstream's `testdata/<case>/config.yaml`, or `<case>.yaml` files.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One case file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CaseConfig {
    /// The case writes to the basic-auth `porch-test` repository (reset after the case).
    #[serde(default)]
    pub uses_porch_test_repo: bool,
    /// Skip the case with this reason.
    #[serde(default)]
    pub skip: Option<String>,
    /// The commands, in order.
    #[serde(default)]
    pub commands: Vec<CaseCommand>,
}

/// One command and its expectations. Absent outputs mean empty output.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CaseCommand {
    /// argv; `porchctl` is replaced by the binary under test.
    pub args: Vec<String>,
    /// Text piped to stdin.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Expected stdout.
    #[serde(default)]
    pub stdout: Option<String>,
    /// Expected stderr.
    #[serde(default)]
    pub stderr: Option<String>,
    /// Expected exit code.
    #[serde(default)]
    pub exit_code: i32,
    /// Compare stdout as YAML.
    #[serde(default)]
    pub yaml: bool,
    /// Collapse runs of spaces before comparing.
    #[serde(default)]
    pub ignore_whitespace: bool,
    /// Replace tabs in stderr with two spaces.
    #[serde(default)]
    pub std_err_tab_to_whitespace: bool,
    /// stderr must contain the expected text.
    #[serde(default)]
    pub contains_error_string: bool,
}

/// A named case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The case name (also its namespace).
    pub name: String,
    /// Where it came from.
    pub path: PathBuf,
    /// Its content.
    pub config: CaseConfig,
}

/// Errors loading cases.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// Reading failed.
    #[error("reading {0}: {1}")]
    Io(String, String),
    /// Parsing failed.
    #[error("parsing {0}: {1}")]
    Parse(String, String),
}

/// Parses one case file's text.
pub fn parse_case(name: &str, path: &Path, text: &str) -> Result<Case, CaseError> {
    let config: CaseConfig = serde_saphyr::from_str(text)
        .map_err(|e| CaseError::Parse(path.display().to_string(), e.to_string()))?;
    Ok(Case {
        name: name.to_string(),
        path: path.to_path_buf(),
        config,
    })
}

/// Loads every case under `dir`: `<name>.yaml` files and `<name>/config.yaml` directories,
/// sorted by name.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, CaseError> {
    let io = |e: std::io::Error| CaseError::Io(dir.display().to_string(), e.to_string());
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let (name, file) = if path.is_dir() {
            let f = path.join("config.yaml");
            if !f.is_file() {
                continue;
            }
            (entry.file_name().to_string_lossy().into_owned(), f)
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem, path.clone())
        } else {
            continue;
        };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| CaseError::Io(file.display().to_string(), e.to_string()))?;
        cases.push(parse_case(&name, &file, &text)?);
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_cases_dir() -> PathBuf {
        std::env::var_os("SHARED_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(
                    std::env::var_os("CARGO_MANIFEST_DIR")
                        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
                )
                .join("../../shared/conformance")
            })
            .join("cases")
    }

    #[test]
    fn parses_the_shared_cases() {
        let dir = shared_cases_dir();
        if !dir.is_dir() {
            // The shared cases live outside the repository; CI provides them next to it.
            eprintln!("skipping: {} not present", dir.display());
            return;
        }
        let cases = load_cases(&dir).unwrap();
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        for want in ["repo-register", "rpkg-get", "rpkg-init", "rpkg-lifecycle"] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        let init = cases.iter().find(|c| c.name == "rpkg-init").unwrap();
        assert!(init.config.uses_porch_test_repo);
        let last = init.config.commands.last().unwrap();
        assert_eq!(last.exit_code, 1);
        assert_eq!(
            last.stderr.as_deref(),
            Some(
                "Error: Internal error occurred: package \"init-package\" already exists in repository \"git\" \n"
            )
        );
        assert!(init.config.commands[3].yaml);
        let lc = cases.iter().find(|c| c.name == "rpkg-lifecycle").unwrap();
        assert_eq!(lc.config.commands.len(), 23);
    }

    #[test]
    fn parses_flags_and_defaults() {
        let text = "skip: not today\ncommands:\n  - args: [sleep, \"1\"]\n  - args: [porchctl]\n    stdin: x\n    exitCode: 1\n    stdErrTabToWhitespace: true\n    containsErrorString: true\n    ignoreWhitespace: true\n";
        let c = parse_case("x", Path::new("x.yaml"), text).unwrap();
        assert_eq!(c.config.skip.as_deref(), Some("not today"));
        assert_eq!(
            c.config.commands[0],
            CaseCommand {
                args: vec!["sleep".into(), "1".into()],
                ..Default::default()
            }
        );
        let second = &c.config.commands[1];
        assert!(
            second.std_err_tab_to_whitespace
                && second.contains_error_string
                && second.ignore_whitespace
        );
        assert_eq!(second.stdin.as_deref(), Some("x"));
    }
}
