//! The command line, with upstream's command names, aliases and flags (spec/porch-api.md §5).

use clap::{Args, Parser, Subcommand};

/// porchctl: manage Porch repositories and package revisions.
#[derive(Debug, Parser)]
#[command(name = "porchctl", disable_version_flag = true)]
pub struct Cli {
    /// Truncate long output (kept for upstream compatibility).
    #[arg(long, global = true, default_value_t = true, action = clap::ArgAction::Set, hide = true)]
    pub truncate_output: bool,
    /// Log verbosity (accepted for compatibility with klog's `-v`).
    #[arg(short = 'v', long = "v", global = true, hide = true)]
    pub verbosity: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage package repositories.
    #[command(alias = "repository")]
    Repo(RepoArgs),
    /// Manage package revisions.
    #[command(alias = "rpackage")]
    Rpkg(RpkgArgs),
    /// Print the version.
    Version,
}

/// kubectl's connection flags.
#[derive(Debug, Clone, Default, Args)]
pub struct KubeFlags {
    /// Path to the kubeconfig file.
    #[arg(long, global = true)]
    pub kubeconfig: Option<String>,
    /// The namespace scope of this request.
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// The kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The kubeconfig cluster to use.
    #[arg(long, global = true)]
    pub cluster: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// The address and port of the Kubernetes API server.
    #[arg(short = 's', long, global = true)]
    pub server: Option<String>,
    /// Server name for server certificate validation.
    #[arg(long, global = true)]
    pub tls_server_name: Option<String>,
    /// Skip server certificate verification.
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,
}

/// `porchctl repo`.
#[derive(Debug, Args)]
pub struct RepoArgs {
    /// Connection flags.
    #[command(flatten)]
    pub kube: KubeFlags,
    /// The repo command.
    #[command(subcommand)]
    pub command: RepoCommand,
}

/// `porchctl rpkg`.
#[derive(Debug, Args)]
pub struct RpkgArgs {
    /// Connection flags.
    #[command(flatten)]
    pub kube: KubeFlags,
    /// API version of PackageRevisions (only v1alpha1 is served).
    #[arg(
        long,
        global = true,
        env = "PORCHCTL_API_VERSION",
        default_value = "v1alpha1"
    )]
    pub api_version: String,
    /// The rpkg command.
    #[command(subcommand)]
    pub command: RpkgCommand,
}

/// kubectl's printing flags.
#[derive(Debug, Clone, Default, Args)]
pub struct PrintFlags {
    /// Output format: yaml, json, name, wide, jsonpath=..., custom-columns=...
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// Do not print headers.
    #[arg(long)]
    pub no_headers: bool,
    /// Print all labels as the last column.
    #[arg(long)]
    pub show_labels: bool,
    /// Print the resource type with the name.
    #[arg(long)]
    pub show_kind: bool,
    /// Labels to print as columns.
    #[arg(short = 'L', long = "label-columns", value_delimiter = ',')]
    pub label_columns: Vec<String>,
}

/// `repo` subcommands.
#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Register a git or OCI repository.
    #[command(alias = "register")]
    Reg(RegisterArgs),
    /// List registered repositories.
    #[command(aliases = ["ls", "list"])]
    Get(RepoGetArgs),
    /// Unregister a repository.
    #[command(alias = "unregister")]
    Unreg(UnregisterArgs),
    /// Schedule a one-time sync of repositories.
    #[command(alias = "reconcile")]
    Sync(SyncArgs),
}

/// `repo reg`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The repository URL (git URL or `oci://registry`).
    pub repository: Vec<String>,
    /// Repository name (default: the last URL segment).
    #[arg(long)]
    pub name: Option<String>,
    /// Brief description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Branch holding the packages.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Create the branch when it does not exist.
    #[arg(long)]
    pub create_branch: bool,
    /// Directory inside the repository holding the packages.
    #[arg(long, default_value = "/")]
    pub directory: String,
    /// The repository holds deployment packages.
    #[arg(long)]
    pub deployment: bool,
    /// Cron schedule of periodic syncs.
    #[arg(long, default_value = "")]
    pub sync_schedule: String,
    /// Basic-auth user name.
    #[arg(long, default_value = "")]
    pub repo_basic_username: String,
    /// Basic-auth password.
    #[arg(long, default_value = "")]
    pub repo_basic_password: String,
    /// Use workload identity for authentication.
    #[arg(long)]
    pub repo_workload_identity: bool,
}

/// `repo get`.
#[derive(Debug, Args)]
pub struct RepoGetArgs {
    /// Repository names.
    pub names: Vec<String>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Printing flags.
    #[command(flatten)]
    pub print: PrintFlags,
}

/// `repo unreg`.
#[derive(Debug, Args)]
pub struct UnregisterArgs {
    /// Repository name.
    pub repository: Vec<String>,
    /// Keep the repository's auth Secret.
    #[arg(long)]
    pub keep_auth_secret: bool,
}

/// `repo sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Repository names.
    pub names: Vec<String>,
    /// Sync every repository in the namespace.
    #[arg(long)]
    pub all: bool,
    /// Across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// When to sync: a duration (>= 1m, e.g. 5m, 1h30m) or an RFC 3339 time. Default: in 1 minute.
    #[arg(long)]
    pub run_once: Option<String>,
}

/// `rpkg` subcommands.
#[derive(Debug, Subcommand)]
pub enum RpkgCommand {
    /// List package revisions.
    #[command(alias = "list")]
    Get(RpkgGetArgs),
    /// Create a new package revision from scratch.
    Init(InitArgs),
    /// Clone a package revision into a new package.
    Clone(CloneArgs),
    /// Create a new revision of a package from a published one.
    #[command(alias = "edit")]
    Copy(CopyArgs),
    /// Propose package revisions for approval.
    Propose(NamesArgs),
    /// Approve proposed package revisions.
    Approve(NamesArgs),
    /// Reject a proposal (approval or deletion).
    Reject(NamesArgs),
    /// Propose published package revisions for deletion.
    #[command(name = "propose-delete", alias = "propose-del")]
    ProposeDelete(NamesArgs),
    /// Delete package revisions.
    #[command(alias = "delete")]
    Del(NamesArgs),
    /// Print or download the content of a package revision.
    #[command(aliases = ["source", "read"])]
    Pull(PullArgs),
    /// Replace the content of a draft package revision.
    #[command(aliases = ["sink", "write"])]
    Push(PushArgs),
    /// Upgrade a downstream package revision to a newer upstream.
    Upgrade(UpgradeArgs),
}

/// `rpkg get`.
#[derive(Debug, Args)]
pub struct RpkgGetArgs {
    /// Package revision names.
    pub names: Vec<String>,
    /// Only package revisions of this package (exact match).
    #[arg(long, default_value = "")]
    pub name: String,
    /// Only this revision number (-2 means any).
    #[arg(long, default_value_t = -2, allow_negative_numbers = true)]
    pub revision: i64,
    /// Only this workspace.
    #[arg(long, default_value = "")]
    pub workspace: String,
    /// Print the root Kptfile of one package revision.
    #[arg(long)]
    pub show_kptfile: bool,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Printing flags.
    #[command(flatten)]
    pub print: PrintFlags,
}

/// `rpkg init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Package name.
    pub package: Vec<String>,
    /// Target repository.
    #[arg(long, default_value = "")]
    pub repository: String,
    /// Workspace name.
    #[arg(long, default_value = "")]
    pub workspace: String,
    /// Package description.
    #[arg(long, default_value = "sample description")]
    pub description: String,
    /// Keywords.
    #[arg(long, value_delimiter = ',')]
    pub keywords: Vec<String>,
    /// Site URL.
    #[arg(long, default_value = "")]
    pub site: String,
}

/// `rpkg clone`.
#[derive(Debug, Args)]
pub struct CloneArgs {
    /// SOURCE_PACKAGE and NAME.
    pub args: Vec<String>,
    /// Downstream repository.
    #[arg(long, default_value = "")]
    pub repository: String,
    /// Downstream workspace.
    #[arg(long, default_value = "v1")]
    pub workspace: String,
    /// Directory of the package in the upstream git repository.
    #[arg(long, default_value = "")]
    pub directory: String,
    /// Git ref of the upstream package.
    #[arg(long = "ref", default_value = "")]
    pub git_ref: String,
    /// Secret with basic-auth credentials for the upstream (git only).
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// Merge strategy (legacy; upstream removed `clone.strategy` from the API).
    #[arg(long, default_value = "resource-merge")]
    pub strategy: String,
}

/// `rpkg copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// SOURCE_PACKAGE.
    pub args: Vec<String>,
    /// Workspace of the new revision.
    #[arg(long, default_value = "")]
    pub workspace: String,
}

/// Commands that take package revision names.
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Package revision names.
    pub names: Vec<String>,
}

/// `rpkg pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// PACKAGE [DIR].
    pub args: Vec<String>,
}

/// `rpkg push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// PACKAGE [DIR|-].
    pub args: Vec<String>,
}

/// `rpkg upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// SOURCE_PACKAGE_REVISION (or, with --discover, names to report on).
    pub args: Vec<String>,
    /// Workspace of the new revision.
    #[arg(long, default_value = "")]
    pub workspace: String,
    /// Upstream revision to upgrade to (0 = latest).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub revision: i64,
    /// Merge strategy.
    #[arg(long, default_value = "resource-merge")]
    pub strategy: String,
    /// Report available updates instead: `upstream` or `downstream`.
    #[arg(long, default_value = "")]
    pub discover: String,
}
