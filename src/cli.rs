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
}

/// Arguments shared by build, check and diff.
#[derive(Debug, clap::Args)]
pub struct TreeArgs {
    /// The cluster spec.
    pub spec: PathBuf,
    /// The output root: the rendered tree's folder in the GitOps repository.
    #[arg(long, short)]
    pub out: PathBuf,
    /// A folder of blueprints that replace the built-in ones of the same name.
    #[arg(long, value_name = "DIR")]
    pub blueprints: Option<PathBuf>,
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
        /// `text` for a terminal, `markdown` for a pull-request comment.
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
    },
    /// Print the spec's JSON Schema.
    #[command(after_help = "Examples:\n  gitopsc schema > schemas/cluster.schema.json\n  \
        gitopsc schema --markdown > docs/spec-reference.md\n  \
        gitopsc schema --fleet > schemas/fleet.schema.json\n  \
        gitopsc schema --fleet-part > schemas/fleet-part.schema.json")]
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
    /// Print the manual page (roff).
    #[command(after_help = "Example:\n  gitopsc man > /usr/local/share/man/man1/gitopsc.1")]
    Man,
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
