//! The CLI's commands, each a thin function over the pipeline that returns what to print
//! and the exit code. Exit codes are a contract: 0 ok, 1 differs (or blocked), 2 error.

use crate::diagnostic::{self, Diagnostic};
use crate::emit::fresh::{Fresh, PutError};
use crate::emit::guard::{Access, lock_root};
use crate::emit::report::{self, Paint};
use crate::emit::{self, EmitError, review};
use crate::render::{self, Stop};
use crate::target::Target;
use crate::{Failure, Prepared, check_spec};
use std::fmt::Write;
use std::path::Path;

/// Output of a command: what goes to stdout and stderr, and the exit code.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Exit code: 0 ok, 1 stale / differs / blocked, 2 error.
    pub code: u8,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// How commands print.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colour on stdout.
    pub color_out: bool,
    /// Colour on stderr.
    pub color_err: bool,
    /// Print only errors and what the command exists to print.
    pub quiet: bool,
    /// Prints a notice on stderr at once (not at the end, as the rest): for a run that waits.
    pub notice: fn(&str),
    /// How `diff` prints what changes.
    pub format: Format,
}

/// How `diff` prints what changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// For a terminal: objects, loud sections, unified diffs.
    #[default]
    Text,
    /// GitHub-flavoured Markdown for a pull-request comment ([`emit::markdown`]).
    Markdown,
}

/// The starter spec `gitopsc init` prints.
pub const STARTER: &str = include_str!("starter.yaml");

fn failed(f: Failure, style: Style) -> Outcome {
    Outcome {
        code: 2,
        stdout: String::new(),
        stderr: diagnostic::render(&f.diagnostics, f.source.as_ref(), style.color_err),
    }
}

fn emit_failed(e: EmitError, style: Style) -> Outcome {
    let mut d = Diagnostic::error(e.0);
    if let Some(help) = e.1 {
        d = d.help(help);
    }
    Outcome {
        code: 2,
        stdout: String::new(),
        stderr: diagnostic::render(&[d], None, style.color_err),
    }
}

fn warnings(diags: &[Diagnostic], source: &crate::source::Source, style: Style) -> String {
    if style.quiet || diags.is_empty() {
        String::new()
    } else {
        diagnostic::render(diags, Some(source), style.color_err)
    }
}

/// `gitopsc validate SPEC`.
pub fn validate(spec: &Path, style: Style) -> Outcome {
    match check_spec(spec) {
        Err(f) => failed(f, style),
        Ok(checked) => {
            let mut out = Outcome {
                stderr: warnings(&checked.warnings, &checked.source, style),
                ..Outcome::default()
            };
            if !style.quiet {
                let apps = checked.model.apps.len();
                let kustomizations = checked.model.kustomizations().count();
                out.stdout = format!(
                    "{} is valid: cluster `{}`, {apps} app{}, {kustomizations} Flux Kustomization{}\n",
                    checked.source.name,
                    checked.model.cluster,
                    if apps == 1 { "" } else { "s" },
                    if kustomizations == 1 { "" } else { "s" },
                );
            }
            // As in `run`: the process exits next, freeing the model piece by piece is waste.
            std::mem::forget(checked);
            out
        }
    }
}

/// Which of the comparing commands runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write the tree.
    Build {
        /// Overwrite and delete files in the way.
        force: bool,
    },
    /// Report whether the tree is current.
    Check,
    /// Show what a build would change.
    Diff,
}

/// `gitopsc build|check|diff SPEC --out DIR`: a cluster spec, or every cluster of a fleet.
pub fn run(spec: &Path, out_dir: &Path, blueprints: Option<&Path>, mode: Mode, style: Style) -> Outcome {
    crate::fleet::command::run(spec, out_dir, blueprints, mode, style, None)
}

/// [`run`] of one cluster spec, or one cluster of a fleet.
pub fn run_target(
    mut target: Target,
    out_dir: &Path,
    blueprints: Option<&Path>,
    mode: Mode,
    style: Style,
) -> Outcome {
    let access = match mode {
        Mode::Build { .. } => Access::Write,
        Mode::Check | Mode::Diff => Access::Read,
    };
    let waiting = || {
        if !style.quiet {
            (style.notice)(&format!(
                "waiting for another gitopsc run to finish with `{}`",
                out_dir.display()
            ));
        }
    };
    // Held until the end: no other run writes the root while this one uses it. A root that
    // does not exist yet is locked once the spec compiled, when a build creates it.
    let root_lock = match lock_root(out_dir, access, waiting) {
        Ok(lock) => lock,
        Err(e) => return emit_failed(e, style),
    };
    // Fast path: the tree is what this very build rendered from this very spec, untouched.
    if blueprints.is_none()
        && matches!(mode, Mode::Check | Mode::Build { force: false })
        && let Some(source) = target.text()
        && let Some((files, recorded)) =
            emit::unchanged_for(out_dir, &target.owner(), &target.input_of(&source.text))
    {
        // The warnings the build that wrote the tree found, at their place in this very text.
        let diags: Vec<Diagnostic> = recorded.iter().map(|w| w.diagnostic(&source.text)).collect();
        let dir = out_dir.display();
        let stdout = match (mode, style.quiet) {
            (_, true) => String::new(),
            (Mode::Check, false) => format!("{dir} is up to date ({files} files)\n"),
            _ => format!("{dir}: {files} files, 0 written, 0 removed\n"),
        };
        return Outcome {
            stdout,
            stderr: warnings(&diags, &source, style),
            ..Outcome::default()
        };
    }
    let prepared = match target.prepare(blueprints) {
        Ok(p) => p,
        Err(f) => return failed(f, style),
    };
    let _late_lock = if root_lock.is_some() {
        None
    } else {
        let created = match access {
            // Something else by that name is the comparison's to report.
            Access::Write if std::fs::symlink_metadata(out_dir).is_ok() => Ok(()),
            Access::Write => std::fs::create_dir_all(out_dir)
                .map_err(|e| EmitError(format!("cannot create `{}`: {e}", out_dir.display()), None)),
            Access::Read => Ok(()),
        };
        match created.and_then(|()| lock_root(out_dir, access, waiting)) {
            Ok(lock) => lock,
            Err(e) => return emit_failed(e, style),
        }
    };
    if access == Access::Write
        && let Err(e) = target.make_lock_folder(out_dir)
    {
        return emit_failed(e, style);
    }
    if matches!(mode, Mode::Build { .. })
        && blueprints.is_none()
        && let Some(outcome) = build_fresh(&prepared, out_dir, style)
    {
        // The process exits right after printing (see below).
        std::mem::forget(prepared);
        return outcome;
    }
    let compiled = match prepared.render() {
        Ok(c) => c,
        Err(f) => return failed(f, style),
    };
    let force = matches!(mode, Mode::Build { force: true });
    let cmp = match emit::compare(out_dir, &compiled.tree, &compiled.stamp, force) {
        Ok(c) => c,
        Err(e) => return emit_failed(e, style),
    };
    let review = review::review(&cmp, &compiled.tree, mode == Mode::Diff);
    let paint_out = Paint(style.color_out);
    let mut out = Outcome {
        stderr: warnings(&compiled.warnings, &compiled.source, style),
        ..Outcome::default()
    };
    let dir = out_dir.display();
    // The loud sections: stateful objects leaving, workload changes a plain apply cannot make.
    let alarms = report::leaving(&review, paint_out)
        + &report::databases(&review, paint_out)
        + &report::workloads(&review, paint_out);
    match mode {
        Mode::Check => {
            if cmp.is_current() {
                if !style.quiet {
                    let _ = writeln!(out.stdout, "{dir} is up to date ({} files)", compiled.tree.len());
                }
            } else {
                out.code = 1;
                let _ = writeln!(out.stdout, "{dir} is stale: {}", report::summary(&cmp));
                out.stdout.push_str(&report::file_list(&cmp, paint_out));
                out.stdout.push_str(&alarms);
                let (force, first) = if cmp.conflicts.is_empty() {
                    ("", "")
                } else {
                    (" --force", " (after checking the blocked files)")
                };
                let _ = writeln!(
                    out.stdout,
                    "run `gitopsc build {} --out {dir}{force}` to update it{first}",
                    target.args(),
                );
            }
        }
        Mode::Diff if style.format == Format::Markdown => {
            out.code = u8::from(!cmp.is_current());
            out.stdout = emit::markdown::comment(&target.args(), &cmp, &review, &compiled.tree);
        }
        Mode::Diff => {
            if !cmp.is_current() {
                out.code = 1;
                let objects = report::objects(&review, paint_out);
                if !objects.is_empty() {
                    let _ = writeln!(out.stdout, "objects (files: {}):", report::summary(&cmp));
                    out.stdout.push_str(&objects);
                    out.stdout.push('\n');
                }
                out.stdout.push_str(&alarms);
                if !alarms.is_empty() {
                    out.stdout.push('\n');
                }
                out.stdout
                    .push_str(&report::unified_diff(&cmp, &compiled.tree, paint_out));
                out.stdout.push_str(&report::conflicts(&cmp, paint_out));
            }
        }
        Mode::Build { .. } => {
            let stats = match emit::write::apply(&cmp, &compiled.tree) {
                Ok(s) => s,
                Err(e) => return emit_failed(e, style),
            };
            out.stdout.push_str(&alarms);
            if !cmp.conflicts.is_empty() {
                out.code = 1;
                let n = cmp.conflicts.len();
                let _ = writeln!(
                    out.stderr,
                    "{n} {} in the way and left alone (check them, then use --force to overwrite):",
                    if n == 1 { "file is" } else { "files are" }
                );
                out.stderr
                    .push_str(&report::conflicts(&cmp, Paint(style.color_err)));
            }
            if !style.quiet {
                let _ = writeln!(
                    out.stdout,
                    "{dir}: {} files, {} written, {} removed{}",
                    compiled.tree.len(),
                    stats.written,
                    stats.removed,
                    if cmp.conflicts.is_empty() {
                        String::new()
                    } else {
                        format!(", {} blocked", cmp.conflicts.len())
                    }
                );
            }
        }
    }
    // The process exits right after printing: freeing the tree, the model and the review
    // piece by piece would only cost time (a 5000-app spec holds hundreds of thousands).
    std::mem::forget((compiled, cmp, review));
    out
}

/// `build` into an output root that holds none of the tree: rendered and written in one
/// pass ([`emit::fresh`]). `None` when the root is not fresh: the general way applies.
fn build_fresh(prepared: &Prepared, out_dir: &Path, style: Style) -> Option<Outcome> {
    let Prepared {
        checked,
        blueprints,
        stamp,
    } = prepared;
    // A fleet's cluster keeps its lock file in its own folder: built the general way.
    if !stamp.owner.dir().is_empty() {
        return None;
    }
    let tops = render::top_folders(&checked.model)?;
    let fresh = match Fresh::begin(out_dir, &tops) {
        Ok(fresh) => fresh?,
        Err(e) => return Some(emit_failed(e, style)),
    };
    let written = render::render_each(&checked.model, blueprints, &|path, bytes| fresh.put(path, bytes));
    let files = match written {
        Ok(files) => fresh.finish(files, stamp),
        Err(stop) => {
            if let Err(e) = fresh.abandon() {
                return Some(emit_failed(e, style));
            }
            return match stop {
                Stop::Take(PutError::Unplanned) => None,
                Stop::Take(PutError::Io(e)) => Some(emit_failed(e, style)),
                Stop::Render(diagnostics) => Some(failed(
                    Failure {
                        source: Some(checked.source.clone()),
                        diagnostics,
                    },
                    style,
                )),
            };
        }
    };
    let mut out = Outcome {
        stderr: warnings(&checked.warnings, &checked.source, style),
        ..Outcome::default()
    };
    match files {
        Ok(n) if !style.quiet => {
            let _ = writeln!(
                out.stdout,
                "{}: {n} files, {n} written, 0 removed",
                out_dir.display()
            );
        }
        Ok(_) => {}
        Err(e) => return Some(emit_failed(e, style)),
    }
    Some(out)
}

/// `gitopsc schema`: the JSON Schema, or with `markdown` the spec reference made from it.
pub fn schema(markdown: bool) -> Outcome {
    let stdout = if markdown {
        crate::spec::reference::markdown(crate::spec::schema::schema())
    } else {
        crate::spec::schema::schema_text()
    };
    Outcome {
        stdout,
        ..Outcome::default()
    }
}

/// `gitopsc init`.
pub fn init() -> Outcome {
    Outcome {
        stdout: STARTER.to_string(),
        ..Outcome::default()
    }
}
