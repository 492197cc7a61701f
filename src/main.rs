//! The `gitopsc` binary: parse arguments, run the command, print, exit.

mod cli;

use clap::Parser;
use cli::{Cli, Color, Command, DiffFormat};
use gitopsc::commands::{self, Format, Mode, Style};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

// A compiler allocates many small strings and maps: mimalloc is measurably faster here than
// the system allocator (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = |terminal: bool| match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && !no_color,
    };
    let style = Style {
        color_out: color(std::io::stdout().is_terminal()),
        color_err: color(std::io::stderr().is_terminal()),
        quiet: cli.quiet,
        notice: |text| eprintln!("{text}"),
        format: match &cli.command {
            Command::Diff {
                format: DiffFormat::Markdown,
                ..
            } => Format::Markdown,
            _ => Format::Text,
        },
    };
    let outcome = match &cli.command {
        Command::Build { args, force } => commands::run(
            &args.spec,
            &args.out,
            args.blueprints.as_deref(),
            Mode::Build { force: *force },
            style,
        ),
        Command::Check { args, staged: true } => {
            gitopsc::git::review::check_staged(&args.spec, &args.out, args.blueprints.as_deref(), style)
        }
        Command::Check { args, staged: false } => commands::run(
            &args.spec,
            &args.out,
            args.blueprints.as_deref(),
            Mode::Check,
            style,
        ),
        Command::Diff {
            spec,
            out,
            base,
            blueprints,
            ..
        } => match (base, out) {
            (Some(base), _) => gitopsc::git::review::diff_base(spec, base, blueprints.as_deref(), style),
            (None, Some(out)) => commands::run(spec, out, blueprints.as_deref(), Mode::Diff, style),
            (None, None) => commands::Outcome {
                stderr: "error: `diff` needs `--out DIR` or `--base REV`\n".to_string(),
                code: 2,
                ..commands::Outcome::default()
            },
        },
        Command::Validate { spec } => commands::validate(spec, style),
        Command::Schema {
            markdown,
            fleet: false,
        } => commands::schema(*markdown),
        Command::Schema {
            markdown,
            fleet: true,
        } => gitopsc::fleet::schema(*markdown),
        Command::Init => commands::init(),
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
    // What a command prints on stdout is its result (a schema, a starter spec, a report): when
    // it cannot be written (a full disk, a closed pipe) the command failed, whatever it did.
    let printed = print_stdout(&outcome.stdout);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(outcome.stderr.as_bytes());
    match printed {
        Ok(()) => ExitCode::from(outcome.code),
        Err(e) => {
            let _ = writeln!(stderr, "error: cannot write to standard output: {e}");
            ExitCode::from(2)
        }
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
