//! Command-line arguments (clap derive only).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Compile a cluster spec into a deterministic Flux tree.
#[derive(Debug, Parser)]
#[command(name = "gitopsc", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// Print only errors and what the command exists to print.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// When to colour output (NO_COLOR turns `auto` off).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub color: Color,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// When writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How `diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Objects, loud sections and unified diffs, for a terminal.
    Text,
    /// GitHub-flavoured Markdown, for a pull-request comment.
    Markdown,
    /// One JSON document (docs/json-output.md).
    Json,
}

/// How `validate`, `check` and `build` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For a terminal; diagnostics on stderr.
    Text,
    /// One JSON document on stdout, diagnostics included (docs/json-output.md).
    Json,
}

/// Arguments shared by build, check and diff.
#[derive(Debug, clap::Args)]
pub struct TreeArgs {
    /// The cluster or fleet spec.
    pub spec: PathBuf,
    /// The output root: the rendered tree's folder in the GitOps repository.
    #[arg(long, short)]
    pub out: PathBuf,
    /// A folder of blueprints that replace the built-in ones of the same name.
    #[arg(long, value_name = "DIR")]
    pub blueprints: Option<PathBuf>,
    /// Check every object against the JSON schemas in DIR (`<group>/<kind>_<version>.json`).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// `text` for a terminal, `json` for programs (docs/json-output.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// For a fleet spec: only this cluster (default: every cluster of the fleet).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

/// gitopsc's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the spec and write the tree; only files whose bytes change are written.
    #[command(after_help = "Example:\n  gitopsc build cluster.yaml --out kubernetes/\n\n\
        Exit status: 0 written; 1 some files were in the way and left alone; 2 invalid spec or I/O error.")]
    Build {
        #[command(flatten)]
        args: TreeArgs,
        /// Overwrite hand-edited generated files and files gitopsc did not write.
        #[arg(long)]
        force: bool,
    },
    /// Fail when the tree on disk is not what the spec renders (for pre-commit hooks).
    #[command(after_help = "Examples:\n  gitopsc check cluster.yaml --out kubernetes/\n  \
        gitopsc check cluster.yaml --out kubernetes/ --staged   # what `git commit` records\n\n\
        Exit status: 0 up to date; 1 stale (files listed); 2 invalid spec or I/O error. Writes nothing.")]
    Check {
        #[command(flatten)]
        args: TreeArgs,
        /// Check the spec and the tree as staged in git's index (what the commit records), and
        /// fail on changes under them that are not staged.
        #[arg(long)]
        staged: bool,
        /// Read and hash every file of the tree and render every app, trusting nothing the
        /// cache of the last build records (by default a file whose size, times and inode are
        /// those the cache records is taken as written).
        #[arg(long)]
        full: bool,
    },
    /// Show, object by object and as a unified diff, what `build` would change.
    #[command(after_help = "Examples:\n  gitopsc diff cluster.yaml --out kubernetes/\n  \
        gitopsc diff cluster.yaml --base origin/main   # the change since a revision, no tree needed\n  \
        gitopsc diff fleet.yaml --cluster production --against staging   # promotion\n\n\
        Exit status: 0 no change; 1 changes shown; 2 invalid spec or I/O error. Writes nothing.")]
    Diff {
        /// The cluster spec.
        spec: PathBuf,
        /// The output root to compare with.
        #[arg(long, short, required_unless_present_any = ["base", "against"], conflicts_with_all = ["base", "against"])]
        out: Option<PathBuf>,
        /// Compare with the spec as it is at this git revision, rendered from git's objects.
        #[arg(long, value_name = "REV")]
        base: Option<String>,
        /// `text` for a terminal, `markdown` for a pull-request comment, `json` for programs.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        /// A folder of blueprints that replace the built-in ones of the same name.
        #[arg(long, value_name = "DIR")]
        blueprints: Option<PathBuf>,
        /// For a fleet spec: only this cluster (default: every cluster of the fleet).
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// For a fleet spec: show what `--cluster` would change to match this cluster, app by
        /// app, for the apps both run (no output root is read).
        #[arg(long, value_name = "CLUSTER", requires = "cluster", conflicts_with = "base")]
        against: Option<String>,
    },
    /// Check a spec without rendering it.
    #[command(after_help = "Example:\n  gitopsc validate cluster.yaml\n\nExit status: 0 valid; 2 invalid.")]
    Validate {
        /// The cluster or fleet spec.
        spec: PathBuf,
        /// For a fleet spec: only this cluster (default: every cluster of the fleet).
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// Also render the tree and check every object against the JSON schemas in DIR.
        #[arg(long, value_name = "DIR")]
        schemas: Option<PathBuf>,
        /// `text` for a terminal, `json` for programs (docs/json-output.md).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Explain a diagnostic code: what it means, a spec that shows it, and the fix.
    #[command(after_help = "Examples:\n  gitopsc explain GSC0201\n  \
        gitopsc explain --index > docs/error-index.md   # every code, in Markdown\n\n\
        Exit status: 0 explained; 2 unknown code.")]
    Explain {
        /// The code, e.g. `GSC0201` (as printed in `error[GSC0201]: ...`).
        #[arg(required_unless_present = "index")]
        code: Option<String>,
        /// Print the whole error index in Markdown instead.
        #[arg(long, conflicts_with = "code")]
        index: bool,
    },
    /// Work with the vendored charts that chart values are checked against.
    Charts {
        /// What to do.
        #[command(subcommand)]
        command: ChartsCommand,
    },
    /// Print an app of a fleet's cluster as the cluster runs it, each value with the line it
    /// comes from: the shared definition or the cluster's override.
    #[command(
        after_help = "Example:\n  gitopsc show fleet.yaml production harbor\n\nExit status: 0 shown; 2 no such cluster or app, or invalid spec."
    )]
    Show {
        /// The fleet spec.
        spec: PathBuf,
        /// The cluster.
        cluster: String,
        /// The app.
        app: String,
        /// `text` (YAML with each value's place) or `json` (docs/json-output.md).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the spec's JSON Schema.
    #[command(after_help = "Examples:\n  gitopsc schema > schemas/cluster.schema.json\n  \
        gitopsc schema --markdown > docs/spec-reference.md\n  \
        gitopsc schema --fleet > schemas/fleet.schema.json\n  \
        gitopsc schema --fleet-part > schemas/fleet-part.schema.json\n  \
        gitopsc schema --output-json > schemas/json-output.schema.json")]
    Schema {
        /// Print the spec reference in Markdown (field tables from the schema) instead.
        #[arg(long)]
        markdown: bool,
        /// The fleet spec's (`kind: Fleet`) instead of the cluster spec's.
        #[arg(long)]
        fleet: bool,
        /// The schema of a file a fleet spec includes (`kind: FleetPart`).
        #[arg(long, conflicts_with_all = ["fleet", "markdown"])]
        fleet_part: bool,
        /// Print the JSON Schema of `--format json` output instead.
        #[arg(long, conflicts_with_all = ["markdown", "fleet", "fleet_part"])]
        output_json: bool,
    },
    /// Print a commented starter spec.
    #[command(after_help = "Example:\n  gitopsc init > cluster.yaml")]
    Init,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  gitopsc completions bash > /etc/bash_completion.d/gitopsc\n  \
        gitopsc completions zsh > \"${fpath[1]}/_gitopsc\"\n  \
        gitopsc completions fish > ~/.config/fish/completions/gitopsc.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a spec that renders an existing Flux tree (hand-written or generated).
    #[command(
        after_help = "Examples:\n  gitopsc import kubernetes/ --cluster home > cluster.yaml\n  \
        gitopsc import kubernetes/apps/default/echo > echo.yaml\n\n\
        What the spec cannot express is listed on stderr and at the top of the spec.\n\
        Exit status: 0 printed; 2 nothing to import or unreadable input."
    )]
    Import {
        /// Folders (or files) of the Flux tree: a whole tree, or an app's folder.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The cluster's name in the spec.
        #[arg(long, default_value = "imported")]
        cluster: String,
    },
    /// Print the manual page (roff).
    #[command(after_help = "Example:\n  gitopsc man > /usr/local/share/man/man1/gitopsc.1")]
    Man,
}

/// `gitopsc charts` commands.
#[derive(Debug, Subcommand)]
pub enum ChartsCommand {
    /// Copy `Chart.yaml`, `values.yaml` and `values.schema.json` of a chart archive (what
    /// `helm pull` downloads) into `<charts-dir>/<chart>/<version>/`.
    #[command(
        after_help = "Example:\n  helm pull oci://ghcr.io/stefanprodan/charts/podinfo --version 6.7.1\n  \
        gitopsc charts vendor podinfo-6.7.1.tgz\n\n\
        Reads the local archive only. Exit status: 0 written or unchanged; 2 error (nothing written)."
    )]
    Vendor {
        /// The chart archive (`.tgz`).
        archive: PathBuf,
        /// The vendored charts folder: the one the spec's `defaults.chartsDir` names, relative
        /// to the spec (default `charts` beside it).
        #[arg(long, value_name = "DIR", default_value = "charts")]
        charts_dir: PathBuf,
        /// Replace files that differ from the archive's.
        #[arg(long)]
        force: bool,
    },
}

/// The version line: the package version, and the commit it was built from when known
/// (set by `build.rs`).
pub const VERSION: &str = env!("GITOPSC_VERSION_LINE");

/// A completion script for `shell`, made from the argument definitions.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "gitopsc",
        &mut out,
    );
    out
}

/// The manual page, made from the argument definitions.
pub fn man() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out)?;
    Ok(out)
}
