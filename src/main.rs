//! The `gitopsc` binary: parse arguments, run the command, print, exit.

mod cli;

use clap::Parser;
use cli::{ChartsCommand, Cli, Color, Command, DiffFormat};
use gitopsc::commands::{self, Format, Mode, Style};
use gitopsc::fleet;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

// A compiler allocates many small strings and maps: mimalloc is measurably faster here than
// the system allocator (bench/RESULTS.md). Its v2 line holds less memory than v3 for the
// same work at the same speed (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = style(&cli);
    let outcome = match &cli.command {
        Command::Build { args, force } => fleet::command::run(
            &args.spec,
            &args.out,
            args.blueprints.as_deref(),
            args.schemas.as_deref(),
            Mode::Build { force: *force },
            style,
            args.cluster.as_deref(),
        ),
        Command::Check {
            args, staged: true, ..
        } => gitopsc::git::review::check_staged(
            &args.spec,
            &args.out,
            args.blueprints.as_deref(),
            args.cluster.as_deref(),
            style,
        ),
        Command::Check {
            args, staged: false, ..
        } => fleet::command::run(
            &args.spec,
            &args.out,
            args.blueprints.as_deref(),
            args.schemas.as_deref(),
            Mode::Check,
            style,
            args.cluster.as_deref(),
        ),
        Command::Diff {
            spec,
            out,
            base,
            blueprints,
            cluster,
            against,
            ..
        } => diff(
            spec,
            out.as_deref(),
            base.as_deref(),
            blueprints.as_deref(),
            cluster.as_deref(),
            against.as_deref(),
            style,
        ),
        Command::Validate {
            spec,
            cluster,
            schemas,
            ..
        } => fleet::command::validate(spec, cluster.as_deref(), schemas.as_deref(), style),
        Command::Explain { code, index } => commands::explain(code.as_deref(), *index),
        Command::Charts {
            command:
                ChartsCommand::Vendor {
                    archive,
                    charts_dir,
                    force,
                },
        } => gitopsc::charts::vendor::vendor(archive, charts_dir, *force, cli.quiet),
        Command::Show {
            spec, cluster, app, ..
        } => fleet::show::show(spec, cluster, app, style),
        Command::Schema { fleet_part: true, .. } => gitopsc::fleet::part_schema(),
        Command::Schema {
            markdown,
            fleet: true,
            ..
        } => gitopsc::fleet::schema(*markdown),
        Command::Schema {
            markdown,
            output_json,
            ..
        } => commands::schema(*markdown, *output_json),
        Command::Init => commands::init(),
        Command::Import { paths, cluster } => commands::import(paths, cluster, style),
        Command::Completions { shell } => return print_bytes(&cli::completions(*shell)),
        Command::Man => match cli::man() {
            Ok(page) => return print_bytes(&page),
            Err(e) => commands::Outcome {
                stderr: format!("error: cannot render the manual page: {e}\n"),
                code: 2,
                ..commands::Outcome::default()
            },
        },
    };
    finish(outcome)
}

/// `gitopsc diff`: against another cluster, a git revision or the output tree.
fn diff(
    spec: &Path,
    out: Option<&Path>,
    base: Option<&str>,
    blueprints: Option<&Path>,
    cluster: Option<&str>,
    against: Option<&str>,
    style: Style,
) -> commands::Outcome {
    match (base, out, against) {
        (_, _, Some(against)) => match cluster {
            Some(cluster) => fleet::promote::diff(spec, cluster, against, style),
            None => usage_error("`diff --against` needs `--cluster NAME`: the cluster to promote to"),
        },
        (Some(base), _, _) => gitopsc::git::review::diff_base(spec, base, blueprints, cluster, style),
        (None, Some(out), _) => fleet::command::run(spec, out, blueprints, None, Mode::Diff, style, cluster),
        (None, None, None) => usage_error("`diff` needs `--out DIR` or `--base REV`"),
    }
}

/// How the command prints: colours, quiet, and the format it was asked for.
fn style(cli: &Cli) -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = |terminal: bool| match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && !no_color,
    };
    Style {
        color_out: color(std::io::stdout().is_terminal()),
        color_err: color(std::io::stderr().is_terminal()),
        quiet: cli.quiet,
        notice: |text| eprintln!("{text}"),
        format: match &cli.command {
            Command::Diff { format, .. } => match format {
                DiffFormat::Text => Format::Text,
                DiffFormat::Markdown => Format::Markdown,
                DiffFormat::Json => Format::Json,
            },
            Command::Build { args, .. } | Command::Check { args, .. } => json_if(args.format),
            Command::Validate { format, .. } | Command::Show { format, .. } => json_if(*format),
            _ => Format::Text,
        },
        full: matches!(&cli.command, Command::Check { full: true, .. }),
        scratch: false,
        hold: false,
    }
}

/// Prints an outcome and gives its exit code.
fn finish(outcome: commands::Outcome) -> ExitCode {
    // What a command prints on stdout is its result (a schema, a starter spec, a report): when
    // it cannot be written (a full disk, a closed pipe) the command failed, whatever it did.
    let printed = print_stdout(&outcome.stdout);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(outcome.stderr.as_bytes());
    // The process exits next: freeing what the command built piece by piece is waste.
    std::mem::forget(outcome.retained);
    match printed {
        Ok(()) => ExitCode::from(outcome.code),
        Err(e) => {
            let _ = writeln!(stderr, "error: cannot write to standard output: {e}");
            ExitCode::from(2)
        }
    }
}

/// The style's format for a `--format` of `validate`, `check` or `build`.
fn json_if(format: cli::Format) -> Format {
    match format {
        cli::Format::Text => Format::Text,
        cli::Format::Json => Format::Json,
    }
}

/// Writes all of `text` to stdout and flushes it: an error shows only at the flush when the
/// text fits in the buffer.
fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes a generated text to stdout: exit 2 with the error when stdout cannot take it.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write to standard output: {e}");
            ExitCode::from(2)
        }
    }
}

/// A command line the parser let through but the command cannot run: exit code 2.
fn usage_error(message: &str) -> commands::Outcome {
    commands::Outcome {
        stderr: format!("error: {message}\n"),
        code: 2,
        ..commands::Outcome::default()
    }
}
