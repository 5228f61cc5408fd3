//! Object names of package revisions and packages (upstream `pkg/util/util.go`,
//! `pkg/repository/repository.go`): composition, parsing and validation with
//! upstream's exact error texts.
//!
//! A package revision is named `<repo>.<path dotted>.<package>.<workspace>`; a package
//! `<repo>.<path dotted>.<package>`. Nothing is hashed or truncated: each part is
//! validated instead.

use std::sync::LazyLock;

use regex::Regex;

/// The RFC 1123 label pattern, as Kubernetes prints it in its messages.
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
const INVALID: &str = " invalid: ";

fn dns1123_subdomain_fmt() -> String {
    format!("{DNS1123_LABEL_FMT}(\\.{DNS1123_LABEL_FMT})*")
}

// The patterns are constants, so building them cannot fail; `Regex::new` on a
// constant is checked by the unit tests below.
#[allow(clippy::expect_used)]
static LABEL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^{DNS1123_LABEL_FMT}$")).expect("constant label regex"));
#[allow(clippy::expect_used)]
static SUBDOMAIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^{}$", dns1123_subdomain_fmt())).expect("constant subdomain regex")
});
#[allow(clippy::expect_used)]
static SEMVER_WORKSPACE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.v[0-9.]*[0-9]$").expect("constant workspace regex"));

/// An invalid object, package, directory or repository name. The text is upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NameError {
    /// The full message, exactly as upstream words it.
    pub message: String,
}

impl NameError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Go's `%q` (`strconv.Quote`), as upstream's name errors quote their parts.
pub fn go_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// Kubernetes' `RegexError`, including its odd `'a',  or 'b'` spacing.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

/// Kubernetes `validation.IsDNS1123Label`: the list of problems (empty when valid).
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !LABEL_RE.is_match(value) {
        if SUBDOMAIN_RE.is_match(value) {
            // A valid subdomain but not a label: with the length checked, it must be dots.
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// Kubernetes `validation.IsDNS1123Subdomain`: the list of problems (empty when valid).
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !SUBDOMAIN_RE.is_match(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            &dns1123_subdomain_fmt(),
            &["example.com"],
        ));
    }
    errs
}

/// Upstream `ValidateK8SName`: an RFC 1123 label, problems joined with `,`.
pub fn validate_k8s_name(name: &str) -> Result<(), NameError> {
    let errs = is_dns1123_label(name);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(NameError::new(errs.join(",")))
    }
}

/// Upstream `ValidateDirectoryName`: an RFC 1123 label once every `/` is removed, with no
/// `//`. An empty (or `/`-only) directory is valid unless `mandatory`.
pub fn validate_directory_name(directory: &str, mandatory: bool) -> Result<(), NameError> {
    let mut errs = Vec::new();
    if directory.contains("//") {
        errs.push("consecutive '/' characters are not allowed".to_string());
    }
    let no_slash = directory.replace('/', "");
    if mandatory || !no_slash.is_empty() {
        errs.extend(is_dns1123_label(&no_slash));
    } else {
        // The directory is the root: nothing else to say about it.
        errs.clear();
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(NameError::new(errs.join(",")))
    }
}

/// Upstream `ValidateRepository`: the repository name is a label and the directory valid.
pub fn validate_repository(repo_name: &str, directory: &str) -> Result<(), NameError> {
    let name_errs = is_dns1123_label(repo_name);
    let dir_err = validate_directory_name(directory, false).err();
    if name_errs.is_empty() && dir_err.is_none() {
        return Ok(());
    }
    let mut message = String::new();
    if !name_errs.is_empty() {
        message.push_str(&format!(
            "repository name {repo_name}{INVALID}{}\n",
            name_errs.join(",")
        ));
    }
    if let Some(err) = dir_err {
        message.push_str(&format!("directory name {directory}{INVALID}{err}\n"));
    }
    Err(NameError::new(message))
}

/// Go's `path.Clean`.
fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Join` on a Unix system: empty elements are dropped, then the path is cleaned.
fn go_join(elems: &[&str]) -> String {
    let kept: Vec<&str> = elems.iter().copied().filter(|e| !e.is_empty()).collect();
    if kept.is_empty() {
        return String::new();
    }
    go_clean(&kept.join("/"))
}

fn dotted_path(path: &str, package: &str) -> String {
    go_join(&[path, package])
        .replace('/', ".")
        .trim_matches('.')
        .to_string()
}

/// Upstream `ComposePkgObjName`: `<repo>.<path dotted>.<package>`, or `""` when the
/// repository or package is empty.
pub fn compose_pkg_obj_name(repo: &str, path: &str, package: &str) -> String {
    if repo.is_empty() || package.is_empty() {
        return String::new();
    }
    format!("{repo}.{}", dotted_path(path, package))
}

/// Upstream `ComposePkgRevObjName`: `<repo>.<path dotted>.<package>.<workspace>`, or `""`
/// when the repository, package or workspace is empty.
pub fn compose_pkg_rev_obj_name(repo: &str, path: &str, package: &str, workspace: &str) -> String {
    if repo.is_empty() || package.is_empty() || workspace.is_empty() {
        return String::new();
    }
    format!("{repo}.{}.{workspace}", dotted_path(path, package))
}

fn valid_pkg_name_parts(repo: &str, path: &str, package: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if let Err(err) = validate_repository(repo, "") {
        errs.push(format!(
            "repository part {} of object name invalid\n",
            go_quote(repo)
        ));
        errs.push(err.message);
    }
    if let Err(err) = validate_directory_name(path, false) {
        errs.push(format!(
            "package path part {} of object name invalid\n",
            go_quote(path)
        ));
        errs.push(format!("path {path}{INVALID}{err}\n"));
    }
    if let Err(err) = validate_k8s_name(package) {
        errs.push(format!(
            "package name part {} of object name invalid\n",
            go_quote(package)
        ));
        errs.push(format!("package name {package}{INVALID}{err}\n"));
    }
    errs
}

/// Upstream `ValidPkgObjName`: every part of a package object name is valid.
pub fn valid_pkg_obj_name(repo: &str, path: &str, package: &str) -> Result<(), NameError> {
    let mut errs = valid_pkg_name_parts(repo, path, package);
    if errs.is_empty() {
        let name = compose_pkg_obj_name(repo, path, package);
        let name_errs = is_dns1123_subdomain(&name);
        if !name_errs.is_empty() {
            errs.push(format!(
                "package kubernetes name {} invalid\n",
                go_quote(&name)
            ));
            errs.push(format!(
                "package kubernetes name {name}{INVALID}{}\n",
                name_errs.concat()
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(NameError::new(format!(
            "package kubernetes resource name invalid:\n{}",
            errs.concat()
        )))
    }
}

/// Upstream `ValidPkgRevObjName`: every part of a package revision object name is valid.
pub fn valid_pkg_rev_obj_name(
    repo: &str,
    path: &str,
    package: &str,
    workspace: &str,
) -> Result<(), NameError> {
    let mut errs = valid_pkg_name_parts(repo, path, package);
    if let Err(err) = validate_k8s_name(workspace) {
        errs.push(format!(
            "workspace name part {} of package revision name invalid\n",
            go_quote(workspace)
        ));
        errs.push(format!("workspace name {workspace}{INVALID}{err}\n"));
    }
    if errs.is_empty() {
        let name = compose_pkg_rev_obj_name(repo, path, package, workspace);
        let name_errs = is_dns1123_subdomain(&name);
        if !name_errs.is_empty() {
            errs.push(format!(
                "package revision kubernetes name {} invalid\n",
                go_quote(&name)
            ));
            errs.push(format!(
                "package revision kubernetes name {name}{INVALID}{}\n",
                name_errs.concat()
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(NameError::new(format!(
            "package revision kubernetes resource name invalid:\n{}",
            errs.concat()
        )))
    }
}

/// Upstream `GetPRWorkspaceName`: the workspace part of a package revision object name.
/// A name ending in `.v<digits and dots>` keeps the whole version (`repo.pkg.v1.2` gives
/// `v1.2`); otherwise it is the text after the last `.`; a name without `.` has none.
pub fn workspace_of_obj_name(name: &str) -> &str {
    if !name.contains('.') {
        return "";
    }
    let start = if SEMVER_WORKSPACE_RE.is_match(name) {
        name.rfind(".v")
    } else {
        name.rfind('.')
    };
    match start {
        Some(i) => &name[i + 1..],
        None => "",
    }
}

/// Upstream `SplitIn3OnDelimiter`: first segment, middle segments (rejoined), last segment.
fn split_in_3(value: &str, delimiter: char) -> [String; 3] {
    let split: Vec<&str> = value.split(delimiter).collect();
    match split.as_slice() {
        [] => Default::default(),
        [only] => [(*only).to_string(), String::new(), String::new()],
        [first, last] => [(*first).to_string(), String::new(), (*last).to_string()],
        [first, middle @ .., last] => [
            (*first).to_string(),
            middle.join(&delimiter.to_string()),
            (*last).to_string(),
        ],
    }
}

/// The parts of a package object name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct PackageKey {
    /// The Kubernetes namespace (the Repository's).
    pub namespace: String,
    /// The Repository object name.
    pub repository: String,
    /// The directory holding the package, `/`-separated, relative to the repository
    /// directory; empty at the root.
    pub path: String,
    /// The package (leaf directory) name.
    pub package: String,
}

impl PackageKey {
    /// The package path as stored in `spec.packageName`: `path/package`.
    pub fn package_path(&self) -> String {
        if self.path.is_empty() {
            self.package.clone()
        } else {
            format!("{}/{}", self.path, self.package)
        }
    }

    /// The object name (`ComposePkgObjName`).
    pub fn obj_name(&self) -> String {
        compose_pkg_obj_name(&self.repository, &self.path, &self.package)
    }
}

/// The parts of a package revision object name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct PackageRevisionKey {
    /// The package this revision belongs to.
    pub package: PackageKey,
    /// The workspace name (for the placeholder revision, the branch name).
    pub workspace: String,
}

impl PackageRevisionKey {
    /// The object name (`ComposePkgRevObjName`).
    pub fn obj_name(&self) -> String {
        compose_pkg_rev_obj_name(
            &self.package.repository,
            &self.package.path,
            &self.package.package,
            &self.workspace,
        )
    }
}

/// Upstream `PkgRevK8sName2Key`: parses and validates a package revision object name.
pub fn parse_pkg_rev_obj_name(
    namespace: &str,
    name: &str,
) -> Result<PackageRevisionKey, NameError> {
    let workspace = workspace_of_obj_name(name);
    // A dotted workspace (`v1.2`) must not be split: swap its dots for '-' while parsing.
    let conditioned = if workspace.contains('.') {
        format!(
            "{}{}",
            &name[..name.len() - workspace.len()],
            workspace.replace('.', "-")
        )
    } else {
        name.to_string()
    };
    let [repo, middle, ws_part] = split_in_3(&conditioned, '.');
    let [_, path_dotted, package] = split_in_3(&format!("{repo}.{middle}"), '.');
    let path = path_dotted.replace('.', "/");
    valid_pkg_rev_obj_name(&repo, &path, &package, &ws_part)?;
    Ok(PackageRevisionKey {
        package: PackageKey {
            namespace: namespace.to_string(),
            repository: repo,
            path,
            package,
        },
        workspace: workspace.to_string(),
    })
}

/// Upstream `PkgK8sName2Key`: parses and validates a package object name.
pub fn parse_pkg_obj_name(namespace: &str, name: &str) -> Result<PackageKey, NameError> {
    let [repo, path_dotted, package] = split_in_3(name, '.');
    let path = path_dotted.replace('.', "/");
    valid_pkg_obj_name(&repo, &path, &package)?;
    Ok(PackageKey {
        namespace: namespace.to_string(),
        repository: repo,
        path,
        package,
    })
}

/// Splits a package path (`spec.packageName`, e.g. `a/b/pkg`) into its directory (`a/b`)
/// and leaf package name (`pkg`).
pub fn split_package_path(package_path: &str) -> (&str, &str) {
    match package_path.rfind('/') {
        Some(i) => (&package_path[..i], &package_path[i + 1..]),
        None => ("", package_path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    #[test]
    fn composes_names_like_upstream() {
        assert_eq!(
            compose_pkg_rev_obj_name("porch-test", "basedir/subdir", "edge-function", "v1"),
            "porch-test.basedir.subdir.edge-function.v1"
        );
        assert_eq!(
            compose_pkg_rev_obj_name("blueprints", "", "nginx", "main"),
            "blueprints.nginx.main"
        );
        assert_eq!(
            compose_pkg_rev_obj_name("r", "/a//b/", "p", "w"),
            "r.a.b.p.w"
        );
        assert_eq!(compose_pkg_rev_obj_name("", "a", "p", "w"), "");
        assert_eq!(compose_pkg_rev_obj_name("r", "a", "p", ""), "");
        assert_eq!(compose_pkg_obj_name("r", "a/b", "p"), "r.a.b.p");
        assert_eq!(compose_pkg_obj_name("r", "", "p"), "r.p");
    }

    #[test]
    fn label_messages_are_kubernetes_words() {
        assert!(is_dns1123_label("my-name").is_empty());
        assert_eq!(is_dns1123_label("My"), vec![LABEL_MSG.to_string()]);
        assert_eq!(
            is_dns1123_label("a.b"),
            vec!["must not contain dots".to_string()]
        );
        let long = "a".repeat(64);
        assert_eq!(
            is_dns1123_label(&long),
            vec!["must be no more than 63 characters".to_string()]
        );
        assert_eq!(
            is_dns1123_subdomain("-x"),
            vec!["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string()]
        );
    }

    #[test]
    fn directory_rules() {
        assert!(validate_directory_name("", false).is_ok());
        assert!(validate_directory_name("/", false).is_ok());
        assert!(validate_directory_name("a/b/c", true).is_ok());
        assert_eq!(
            validate_directory_name("a//b", false).unwrap_err().message,
            "consecutive '/' characters are not allowed"
        );
        assert_eq!(
            validate_directory_name("", true).unwrap_err().message,
            LABEL_MSG
        );
        assert_eq!(
            validate_directory_name("A/b", false).unwrap_err().message,
            LABEL_MSG
        );
        // The path minus slashes must fit in one label.
        let long = format!("{}/{}", "a".repeat(32), "b".repeat(32));
        assert_eq!(
            validate_directory_name(&long, true).unwrap_err().message,
            "must be no more than 63 characters"
        );
    }

    #[test]
    fn pkg_rev_name_validation_messages() {
        assert!(valid_pkg_rev_obj_name("repo", "a/b", "pkg", "ws").is_ok());
        let err = valid_pkg_rev_obj_name("Repo", "a//b", "pkg", "Ws").unwrap_err();
        let expected = format!(
            "package revision kubernetes resource name invalid:\n\
             repository part \"Repo\" of object name invalid\n\
             repository name Repo invalid: {LABEL_MSG}\n\
             package path part \"a//b\" of object name invalid\n\
             path a//b invalid: consecutive '/' characters are not allowed\n\
             workspace name part \"Ws\" of package revision name invalid\n\
             workspace name Ws invalid: {LABEL_MSG}\n"
        );
        assert_eq!(err.message, expected);
        let err = valid_pkg_rev_obj_name("repo", "", "pkg.x", "ws").unwrap_err();
        assert_eq!(
            err.message,
            "package revision kubernetes resource name invalid:\n\
             package name part \"pkg.x\" of object name invalid\n\
             package name pkg.x invalid: must not contain dots\n"
        );
    }

    #[test]
    fn whole_name_must_be_a_subdomain() {
        let path = ["a".repeat(60), "b".repeat(60), "c".repeat(60)];
        // Each part is fine, but the path minus slashes is too long for a label.
        assert!(valid_pkg_rev_obj_name("r", &path.join("/"), "p", "w").is_err());
        let repo = "r".repeat(63);
        let pkg = "p".repeat(63);
        let ws = "w".repeat(63);
        let dir = "d".repeat(63);
        let err = valid_pkg_rev_obj_name(&repo, &dir, &pkg, &ws).unwrap_err();
        let name = compose_pkg_rev_obj_name(&repo, &dir, &pkg, &ws);
        assert_eq!(
            err.message,
            format!(
                "package revision kubernetes resource name invalid:\n\
                 package revision kubernetes name {name:?} invalid\n\
                 package revision kubernetes name {name} invalid: must be no more than 253 characters\n"
            )
        );
    }

    #[test]
    fn workspace_parsing_keeps_versions_whole() {
        assert_eq!(workspace_of_obj_name("repo.pkg.v1.2"), "v1.2");
        assert_eq!(workspace_of_obj_name("repo.pkg.v1"), "v1");
        assert_eq!(workspace_of_obj_name("repo.pkg.main"), "main");
        assert_eq!(workspace_of_obj_name("repo.pkg.ws-1"), "ws-1");
        assert_eq!(workspace_of_obj_name("nodots"), "");
    }

    #[test]
    fn parses_names_back() {
        let key =
            parse_pkg_rev_obj_name("ns", "porch-test.basedir.subdir.edge-function.v1").unwrap();
        assert_eq!(key.package.repository, "porch-test");
        assert_eq!(key.package.path, "basedir/subdir");
        assert_eq!(key.package.package, "edge-function");
        assert_eq!(key.workspace, "v1");
        assert_eq!(key.package.package_path(), "basedir/subdir/edge-function");
        assert_eq!(key.obj_name(), "porch-test.basedir.subdir.edge-function.v1");

        let key = parse_pkg_rev_obj_name("ns", "repo.pkg.v1.2").unwrap();
        assert_eq!(
            (key.package.repository.as_str(), key.package.path.as_str()),
            ("repo", "")
        );
        assert_eq!(key.package.package, "pkg");
        assert_eq!(key.workspace, "v1.2");

        let key = parse_pkg_rev_obj_name("ns", "blueprints.nginx.main").unwrap();
        assert_eq!(key.package.package, "nginx");
        assert_eq!(key.workspace, "main");

        assert!(parse_pkg_rev_obj_name("ns", "justone").is_err());
        assert!(parse_pkg_rev_obj_name("ns", "Bad.pkg.ws").is_err());

        let pkg = parse_pkg_obj_name("ns", "repo.a.b.pkg").unwrap();
        assert_eq!((pkg.path.as_str(), pkg.package.as_str()), ("a/b", "pkg"));
        assert_eq!(pkg.obj_name(), "repo.a.b.pkg");
        assert_eq!(
            parse_pkg_obj_name("ns", "repo").unwrap_err().message,
            format!(
                "package kubernetes resource name invalid:\n\
                 package name part \"\" of object name invalid\n\
                 package name  invalid: {LABEL_MSG}\n"
            )
        );
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("x\ny\u{1b}\u{0}"), r#""x\ny\x1b\x00""#);
        assert_eq!(go_quote("é"), "\"é\"");
        let err = valid_pkg_rev_obj_name("repo", "", "p", "w\n").unwrap_err();
        assert!(
            err.message
                .contains("workspace name part \"w\\n\" of package revision name invalid\n")
        );
    }

    #[test]
    fn splits_package_paths() {
        assert_eq!(split_package_path("a/b/pkg"), ("a/b", "pkg"));
        assert_eq!(split_package_path("pkg"), ("", "pkg"));
    }

    #[test]
    fn go_path_semantics() {
        assert_eq!(go_join(&["", ""]), "");
        assert_eq!(go_join(&["a/./b/../c", "p"]), "a/c/p");
        assert_eq!(go_join(&["/", "p"]), "/p");
        assert_eq!(go_clean("../x"), "../x");
    }
}
