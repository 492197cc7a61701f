//! The CLI's commands, each a thin function over the pipeline that returns what to print
//! and the exit code. Exit codes are a contract: 0 ok, 1 differs (or blocked), 2 error.

use crate::diagnostic::{self, Code, Diagnostic};
use crate::emit::fresh::{Fresh, PutError};
use crate::emit::guard::{Access, RootLock, lock_root};
use crate::emit::report::{self, Paint};
use crate::emit::review::{self, Review};
use crate::emit::{self, Comparison, EmitError};
use crate::json::{CommandName, FileCounts, ModelSummary, Report};
use crate::render::{self, Stop};
use crate::source::{Source, Span, Sparse};
use crate::target::Target;
use crate::{Compiled, Failure, Prepared, check_spec};
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
    /// What the run built and no longer needs: `main` exits right after printing and may
    /// skip freeing it piece by piece (a 5000-app model holds hundreds of thousands).
    pub retained: Retained,
}

/// Values a command hands back only to be freed (or, by `main`, not).
#[derive(Default)]
pub struct Retained(pub Vec<Box<dyn std::any::Any + Send>>);

impl std::fmt::Debug for Retained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Retained({})", self.0.len())
    }
}

impl Outcome {
    /// The outcome, holding `value` until `main` is done with it.
    pub(crate) fn retaining(mut self, value: impl std::any::Any + Send) -> Outcome {
        self.retained.0.push(Box::new(value));
        self
    }

    /// The first value of type `T` the outcome retains, taken out of it.
    pub fn take<T: std::any::Any>(&mut self) -> Option<T> {
        let i = (self.retained.0.iter()).position(|v| v.is::<T>())?;
        self.retained.0.remove(i).downcast::<T>().ok().map(|v| *v)
    }

    /// The trees the run rendered and compared, as the files a build into an empty output
    /// root writes (each tree's files and its lock file), by absolute path; the rest of what
    /// it retained is freed. `None` when a tree leaves files out (files a run takes from an
    /// earlier build are not rendered).
    pub fn take_rendered(&mut self) -> Option<Rendered> {
        let mut rendered = Rendered::default();
        for value in std::mem::take(&mut self.retained.0) {
            let Ok(run) = value.downcast::<(Compiled, Comparison, Review)>() else {
                continue;
            };
            let (compiled, cmp, _) = *run;
            (cmp.new_lock.files.len() == compiled.tree.len()).then_some(())?;
            let lock = cmp.new_lock.to_bytes();
            let held = crate::incremental::held::Held::new(
                (&cmp.root, &cmp.owner),
                compiled.model.as_ref()?,
                &compiled.reuse,
                cmp.new_lock.files,
                &lock,
            );
            let files = &mut rendered.files;
            files.push((cmp.root.join(cmp.owner.lock_path()), lock));
            files.extend((compiled.tree.into_iter()).map(|(path, bytes)| (cmp.root.join(path), bytes)));
            rendered.records.push(held);
        }
        Some(rendered)
    }
}

/// What a run rendered, taken from its outcome ([`Outcome::take_rendered`]).
#[derive(Default)]
pub struct Rendered {
    /// Every file the run would write, by absolute path: each tree's files and lock file.
    pub files: Vec<(std::path::PathBuf, Vec<u8>)>,
    /// The records of each tree: its apps' keys and its files' hashes.
    pub records: Vec<crate::incremental::held::Held>,
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
    /// How the command prints what it found.
    pub format: Format,
    /// `check --full`: read and hash every file of the tree, and render every app, instead of
    /// taking what the cache records as untouched ([`crate::incremental`]).
    pub full: bool,
    /// A run over copies in a temporary folder (`check --staged`, `diff --base`): it records
    /// nothing for later runs, which would never read it (no tree cache, no record of the
    /// spec's files).
    pub scratch: bool,
    /// `diff --base`'s run over the base: what a recording run records of a fleet's files and
    /// apps is kept in its outcome, in memory, for the run over the spec as it is now
    /// ([`crate::incremental::held::SpecRecords`]), and each tree is checked and left to
    /// render until that run knows which apps it keeps ([`crate::incremental::deferred::Deferred`]).
    pub hold: bool,
}

/// How `validate`, `check`, `diff` and `build` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// For a terminal: objects, loud sections, unified diffs; diagnostics on stderr.
    #[default]
    Text,
    /// `diff` only: GitHub-flavoured Markdown for a pull-request comment ([`emit::markdown`]).
    Markdown,
    /// One JSON document on stdout ([`crate::json`]), diagnostics included; exit codes as in text.
    Json,
}

/// The starter spec `gitopsc init` prints.
pub const STARTER: &str = include_str!("starter.yaml");

/// One run of `validate`, `check`, `diff` or `build`: what its report names, and how it prints.
struct Ctx<'a> {
    spec: &'a Path,
    /// How a command line names the spec: `SPEC`, or `FLEET --cluster NAME`.
    args: String,
    out: Option<&'a Path>,
    command: CommandName,
    style: Style,
}

impl Ctx<'_> {
    fn json(&self) -> bool {
        self.style.format == Format::Json
    }

    /// An empty JSON report of this run.
    fn report(&self) -> Report {
        let out = self.out.map(|o| o.display().to_string());
        Report::new(self.command, &self.spec.display().to_string(), out.as_deref())
    }

    /// Exit 2 with the diagnostics of a spec that did not compile.
    fn failed(&self, f: Failure) -> Outcome {
        if self.json() {
            let report = self
                .report()
                .exit(2)
                .diagnostics(&f.diagnostics, f.source.as_ref());
            return Outcome {
                code: 2,
                stdout: report.to_text(),
                stderr: String::new(),
                ..Outcome::default()
            };
        }
        Outcome {
            code: 2,
            stdout: String::new(),
            stderr: diagnostic::render(&f.diagnostics, f.source.as_ref(), self.style.color_err),
            ..Outcome::default()
        }
    }

    /// Exit 2 with an error of the output root.
    fn emit_failed(&self, e: EmitError) -> Outcome {
        let mut d = Diagnostic::error(e.2, e.0);
        if let Some(help) = e.1 {
            d = d.help(help);
        }
        self.failed(Failure {
            source: None,
            diagnostics: vec![d],
        })
    }

    /// The warnings as stderr prints them: none in JSON (the report holds them) or quiet.
    fn warnings(&self, diags: &[Diagnostic], source: &Source) -> String {
        if self.json() || self.style.quiet || diags.is_empty() {
            String::new()
        } else {
            diagnostic::render(diags, Some(source), self.style.color_err)
        }
    }
}

/// `gitopsc validate SPEC [--schemas DIR]`.
pub fn validate(spec: &Path, schemas: Option<&Path>, style: Style) -> Outcome {
    let ctx = Ctx {
        spec,
        args: spec.display().to_string(),
        out: None,
        command: CommandName::Validate,
        style,
    };
    let mut checked = match check_spec(spec) {
        Ok(checked) => checked,
        Err(f) => return ctx.failed(f),
    };
    match rendered_checks(&checked, schemas) {
        Ok(found) => checked.warnings.extend(found),
        Err(diagnostics) => {
            let source = Some(checked.source.clone());
            return ctx.failed(Failure { source, diagnostics });
        }
    }
    let model = &checked.model;
    let summary = ModelSummary {
        cluster: model.cluster.to_string(),
        apps: model.apps.len(),
        kustomizations: model.kustomizations().count(),
    };
    let mut out = Outcome {
        stderr: ctx.warnings(&checked.warnings, &checked.source),
        ..Outcome::default()
    };
    if ctx.json() {
        let mut report = ctx.report().diagnostics(&checked.warnings, Some(&checked.source));
        report.model = Some(summary);
        out.stdout = report.to_text();
    } else if !style.quiet {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        out.stdout = format!(
            "{} is valid: cluster `{}`, {} app{}, {} Flux Kustomization{}\n",
            checked.source.name,
            summary.cluster,
            summary.apps,
            plural(summary.apps),
            summary.kustomizations,
            plural(summary.kustomizations),
        );
    }
    out.retaining(checked)
}

/// The checks that need the rendered tree, run in memory: the patches' (they apply only to
/// rendered objects), and with `schemas` every object's against them. Returns the warnings.
pub(crate) fn rendered_checks(
    checked: &crate::Checked,
    schemas: Option<&Path>,
) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    if checked.model.patches.is_empty() && schemas.is_none() {
        return Ok(Vec::new());
    }
    let blueprints = render::Blueprints::load(None)?;
    let tree = render::render(&checked.model, &blueprints)?;
    let found = schemas
        .map(|dir| emit::schemas::check(&tree, dir))
        .unwrap_or_default();
    if diagnostic::has_errors(&found) {
        return Err(found);
    }
    Ok(found)
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
    crate::fleet::command::run(spec, out_dir, blueprints, None, mode, style, None)
}

/// [`run`] of one cluster spec, or one cluster of a fleet; with `schemas`, every object of the
/// rendered tree is checked against them before anything is compared or written.
pub fn run_target(
    mut target: Target,
    out_dir: &Path,
    blueprints: Option<&Path>,
    schemas: Option<&Path>,
    mode: Mode,
    style: Style,
) -> Outcome {
    let ctx = Ctx {
        spec: target.spec(),
        args: target.args(),
        out: Some(out_dir),
        command: CommandName::of(mode),
        style,
    };
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
        Err(e) => return ctx.emit_failed(e),
    };
    // With the built-in blueprints, what earlier runs recorded is taken; `--full` trusts
    // nothing recorded, the lock file's stamp of the spec included: it renders.
    let incremental = blueprints.is_none() && schemas.is_none() && !style.full;
    // The tree taken from a lock file that records this very spec: untouched, or (a check
    // through a view) beneath the view. A build where there is no lock file has no tree to
    // take: the spec's text is not read and hashed for it.
    if incremental
        && (mode == Mode::Check
            || mode == Mode::Build { force: false } && emit::has_lock(out_dir, &target.owner()))
        && let Some(stamped) = input_of(&target)
    {
        if let Some(outcome) = unchanged(&ctx, &target, &stamped, out_dir, mode) {
            return outcome;
        }
        if mode == Mode::Check
            && let Some(outcome) = beneath(&ctx, &target, stamped, out_dir)
        {
            return outcome;
        }
    }
    // A fleet's cluster compiled over its changed apps only (crate::incremental::apps).
    if let Some(compiled) = target.take_compiled(out_dir) {
        return finish(&ctx, compiled, out_dir, None, mode, true);
    }
    let prepared = match target.prepare(blueprints) {
        Ok(p) => p,
        Err(f) => return ctx.failed(f),
    };
    // `diff --base`'s base: rendered once the run over the spec as it is now knows which of
    // its apps it keeps (crate::incremental::deferred::settle).
    if style.hold && incremental && mode == Mode::Check {
        let Prepared {
            checked,
            blueprints,
            stamp,
        } = prepared;
        let tree = crate::incremental::deferred::Deferred::new(out_dir, checked.model, blueprints, stamp);
        return Outcome::default().retaining(tree);
    }
    let _late_lock = if root_lock.is_some() {
        None
    } else {
        match late_lock(out_dir, access, waiting) {
            Ok(lock) => lock,
            Err(e) => return ctx.emit_failed(e),
        }
    };
    if access == Access::Write
        && let Err(e) = target.make_lock_folder(out_dir)
    {
        return ctx.emit_failed(e);
    }
    if matches!(mode, Mode::Build { .. })
        && blueprints.is_none()
        && schemas.is_none()
        && let Some(outcome) = build_fresh(&ctx, &prepared, out_dir)
    {
        return outcome.retaining(prepared);
    }
    // The apps whose files are on disk as rendered are taken.
    let owner = target.owner();
    let compiled = match prepared.render_reusing(|model| {
        if incremental {
            crate::incremental::recall(out_dir, &owner, model)
        } else {
            crate::incremental::Reuse::default()
        }
    }) {
        Ok(c) => c,
        Err(f) => return ctx.failed(f),
    };
    finish(&ctx, compiled, out_dir, schemas, mode, incremental)
}

/// The rest of [`run_target`] once the tree is rendered: checks it against `schemas`, compares
/// it with the output root, and checks, diffs or builds it.
fn finish(
    ctx: &Ctx,
    mut compiled: Compiled,
    out_dir: &Path,
    schemas: Option<&Path>,
    mode: Mode,
    incremental: bool,
) -> Outcome {
    let style = ctx.style;
    if let Some(dir) = schemas {
        let found = emit::schemas::check(&compiled.tree, dir);
        if diagnostic::has_errors(&found) {
            let source = Some(compiled.source.clone());
            return ctx.failed(Failure {
                source,
                diagnostics: found,
            });
        }
        compiled.warnings.extend(found);
    }
    let force = matches!(mode, Mode::Build { force: true });
    let read = compiled.reuse.read.take();
    let kept = compiled.reuse.take_kept();
    let tree = (&compiled.tree, &compiled.reuse as &dyn emit::Known);
    let cmp = match emit::compare_read(out_dir, tree, kept, &compiled.stamp, force, read) {
        Ok(c) => c,
        Err(e) => return ctx.emit_failed(e),
    };
    let review = review::review(&cmp, &compiled.tree, mode == Mode::Diff || ctx.json());
    let outcome = match mode {
        Mode::Check => check(ctx, &compiled, &cmp, &review),
        Mode::Diff => diff(ctx, &compiled, &cmp, &review),
        Mode::Build { .. } => build(ctx, &compiled, &cmp, &review),
    };
    if matches!(mode, Mode::Build { .. }) {
        // Written, the tree is read no more: freed beside the record, which takes its room.
        let tree = std::mem::take(&mut compiled.tree);
        rayon::spawn(move || drop(tree));
        if !style.scratch {
            remember(out_dir, &compiled, &cmp, incremental && outcome.code != 2);
        }
    }
    outcome.retaining((compiled, cmp, review))
}

/// After a build: records what the next run may take without rendering, or (a build with
/// other blueprints, or one that failed) forgets it.
fn remember(out_dir: &Path, compiled: &Compiled, cmp: &Comparison, record: bool) {
    let Some(model) = compiled.model.as_ref().filter(|_| record) else {
        crate::incremental::forget(out_dir, &cmp.owner);
        return;
    };
    let blocked = cmp.conflicts.iter().map(|c| c.path.as_str()).collect();
    crate::incremental::record(
        out_dir,
        &cmp.owner,
        model,
        &compiled.reuse,
        (&cmp.new_lock.files, cmp.lock_digest()),
        &blocked,
    );
}

/// Fast path: the tree is what this very build rendered from this very spec (its input stamp
/// and text, [`input_of`]), untouched. The warnings are those the build that wrote it found,
/// at their place in this very text.
fn unchanged(
    ctx: &Ctx,
    target: &Target,
    (input, text): &(String, Option<Source>),
    out_dir: &Path,
    mode: Mode,
) -> Option<Outcome> {
    let (files, recorded) = emit::unchanged_for(out_dir, &target.owner(), input, &target.spec_dir())?;
    let (diags, source) = recorded_warnings(target, text.clone(), &recorded)?;
    let dir = out_dir.display();
    let stdout = if ctx.json() {
        let mut report = ctx.report().diagnostics(&diags, Some(&source));
        report.files = Some(FileCounts {
            total: files,
            ..FileCounts::default()
        });
        report.to_text()
    } else {
        match (mode, ctx.style.quiet) {
            (_, true) => String::new(),
            (Mode::Check, false) => format!("{dir} is up to date ({files} files)\n"),
            _ => format!("{dir}: {files} files, 0 written, 0 removed\n"),
        }
    };
    Some(Outcome {
        stdout,
        stderr: ctx.warnings(&diags, &source),
        ..Outcome::default()
    })
}

/// A check through a view (`check --staged`) whose work tree beneath holds what this very spec
/// renders, as built and not staged: the tree is taken from the work tree's lock file and
/// files, with no compile ([`crate::incremental::beneath`]), and compared with the view.
fn beneath(
    ctx: &Ctx,
    target: &Target,
    (input, text): (String, Option<Source>),
    out_dir: &Path,
) -> Option<Outcome> {
    let owner = target.owner();
    let lock = emit::recorded_beneath(out_dir, &owner, &input, &target.spec_dir())?;
    let (warnings, source) = recorded_warnings(target, text, &lock.warnings)?;
    let (tree, kept) = crate::incremental::beneath::tree(out_dir, &owner, &lock)?;
    let stamp = emit::Stamp {
        spec: lock.spec,
        input: lock.input,
        charts: lock.charts,
        warnings: lock.warnings,
        owner,
    };
    let compiled = Compiled {
        source,
        model: None,
        tree,
        reuse: crate::incremental::Reuse::of_kept(kept),
        stamp,
        warnings,
    };
    Some(finish(ctx, compiled, out_dir, None, Mode::Check, true))
}

/// The target's input stamp, with its text when it had to be read for it (a fleet's cluster
/// has its stamp: its text is read only for recorded warnings).
fn input_of(target: &Target) -> Option<(String, Option<Source>)> {
    match target.cluster_input() {
        Some(input) => Some((input.to_string(), None)),
        None => {
            let source = target.text()?;
            Some((target.input_of(&source.text), Some(source)))
        }
    }
}

/// The warnings a lock file `recorded`, shown at their place in the target's text (`text`
/// when it was read; a fleet's only in the files the warnings are in), with that text.
fn recorded_warnings(
    target: &Target,
    text: Option<Source>,
    recorded: &[emit::lock::Warning],
) -> Option<(Vec<Diagnostic>, Source)> {
    let text = match text {
        Some(source) => Sparse::whole(source),
        None if recorded.is_empty() => Sparse::whole(Source::new(target.spec().display().to_string(), "")),
        None => {
            let spans: Vec<Span> = recorded
                .iter()
                .filter_map(|w| w.span)
                .map(|[s, e]| Span::new(s, e))
                .collect();
            target.text_at(&spans)?
        }
    };
    let diags = recorded
        .iter()
        .map(|w| text.show(w.diagnostic(text.whole_len())?))
        .collect::<Option<Vec<_>>>()?;
    Some((diags, text.source))
}

/// Creates (for a build) and locks an output root that did not exist when the run began.
fn late_lock(out_dir: &Path, access: Access, waiting: impl Fn()) -> Result<Option<RootLock>, EmitError> {
    match access {
        // Something else by that name is the comparison's to report.
        Access::Write if std::fs::symlink_metadata(out_dir).is_ok() => {}
        Access::Write => std::fs::create_dir_all(out_dir).map_err(|e| {
            EmitError(
                format!("cannot create `{}`: {e}", out_dir.display()),
                None,
                crate::diagnostic::Code::Output,
            )
        })?,
        Access::Read => {}
    }
    lock_root(out_dir, access, waiting)
}

/// The JSON report of a comparison: the diagnostics, the file counts, the changes and the
/// review.
fn compared(ctx: &Ctx, compiled: &Compiled, cmp: &Comparison, review: &Review, code: u8) -> Report {
    let mut report = ctx
        .report()
        .exit(code)
        .diagnostics(&compiled.warnings, Some(&compiled.source))
        .comparison(cmp)
        .review(review);
    report.files = Some(FileCounts {
        total: compiled.file_count(),
        blocked: cmp.conflicts.len(),
        ..FileCounts::default()
    });
    report
}

/// The loud sections: stateful objects leaving, workload changes a plain apply cannot make.
fn alarms(review: &Review, paint: Paint) -> String {
    report::leaving(review, paint) + &report::databases(review, paint) + &report::workloads(review, paint)
}

/// `check`: exit 1 with the stale files when the tree is not what the spec renders.
fn check(ctx: &Ctx, compiled: &Compiled, cmp: &Comparison, review: &Review) -> Outcome {
    let code = u8::from(!cmp.is_current());
    let mut out = Outcome {
        code,
        stderr: ctx.warnings(&compiled.warnings, &compiled.source),
        ..Outcome::default()
    };
    if ctx.json() {
        out.stdout = compared(ctx, compiled, cmp, review, code).to_text();
        return out;
    }
    let dir = ctx.out.unwrap_or(ctx.spec).display();
    if cmp.is_current() {
        if !ctx.style.quiet {
            let _ = writeln!(
                out.stdout,
                "{dir} is up to date ({} files)",
                compiled.file_count()
            );
        }
        return out;
    }
    let paint = Paint(ctx.style.color_out);
    let _ = writeln!(out.stdout, "{dir} is stale: {}", report::summary(cmp));
    out.stdout.push_str(&report::file_list(cmp, paint));
    out.stdout.push_str(&alarms(review, paint));
    let (force, first) = if cmp.conflicts.is_empty() {
        ("", "")
    } else {
        (" --force", " (after checking the blocked files)")
    };
    let _ = writeln!(
        out.stdout,
        "run `gitopsc build {} --out {dir}{force}` to update it{first}",
        ctx.args,
    );
    out
}

/// `diff`: exit 1 with the objects, the loud sections and the unified diff of what changes.
fn diff(ctx: &Ctx, compiled: &Compiled, cmp: &Comparison, review: &Review) -> Outcome {
    let code = u8::from(!cmp.is_current());
    let mut out = Outcome {
        code,
        stderr: ctx.warnings(&compiled.warnings, &compiled.source),
        ..Outcome::default()
    };
    match ctx.style.format {
        Format::Json => out.stdout = compared(ctx, compiled, cmp, review, code).to_text(),
        Format::Markdown => {
            out.stdout = emit::markdown::comment(&ctx.args, cmp, review, &compiled.tree);
        }
        Format::Text if code == 1 => {
            let paint = Paint(ctx.style.color_out);
            let objects = report::objects(review, paint);
            if !objects.is_empty() {
                let _ = writeln!(out.stdout, "objects (files: {}):", report::summary(cmp));
                out.stdout.push_str(&objects);
                out.stdout.push('\n');
            }
            let alarms = alarms(review, paint);
            out.stdout.push_str(&alarms);
            if !alarms.is_empty() {
                out.stdout.push('\n');
            }
            out.stdout
                .push_str(&report::unified_diff(cmp, &compiled.tree, paint));
            out.stdout.push_str(&report::conflicts(cmp, paint));
        }
        Format::Text => {}
    }
    out
}

/// `build`: writes the tree; exit 1 when files in the way were left alone.
fn build(ctx: &Ctx, compiled: &Compiled, cmp: &Comparison, review: &Review) -> Outcome {
    let stats = match emit::write::apply(cmp, &compiled.tree) {
        Ok(s) => s,
        Err(e) => return ctx.emit_failed(e),
    };
    let code = u8::from(!cmp.conflicts.is_empty());
    let mut out = Outcome {
        code,
        stderr: ctx.warnings(&compiled.warnings, &compiled.source),
        ..Outcome::default()
    };
    if ctx.json() {
        let mut report = compared(ctx, compiled, cmp, review, code);
        if let Some(files) = &mut report.files {
            files.written = stats.written;
            files.removed = stats.removed;
        }
        out.stdout = report.to_text();
        return out;
    }
    out.stdout.push_str(&alarms(review, Paint(ctx.style.color_out)));
    if code == 1 {
        let n = cmp.conflicts.len();
        let _ = writeln!(
            out.stderr,
            "{n} {} in the way and left alone (check them, then use --force to overwrite):",
            if n == 1 { "file is" } else { "files are" }
        );
        out.stderr
            .push_str(&report::conflicts(cmp, Paint(ctx.style.color_err)));
    }
    if !ctx.style.quiet {
        let blocked = if code == 1 {
            format!(", {} blocked", cmp.conflicts.len())
        } else {
            String::new()
        };
        let _ = writeln!(
            out.stdout,
            "{}: {} files, {} written, {} removed{blocked}",
            ctx.out.unwrap_or(ctx.spec).display(),
            compiled.file_count(),
            stats.written,
            stats.removed,
        );
    }
    out
}

/// `build` into an output root that holds none of the tree: rendered and written in one
/// pass ([`emit::fresh`]). `None` when the root is not fresh: the general way applies.
fn build_fresh(ctx: &Ctx, prepared: &Prepared, out_dir: &Path) -> Option<Outcome> {
    let Prepared {
        checked,
        blueprints,
        stamp,
    } = prepared;
    // A fleet's cluster keeps its lock file in its own folder: built the general way. (Written
    // as it renders, its peak is the load's all the same, and it takes longer: see
    // docs/performance.md.)
    if !stamp.owner.dir().is_empty() {
        return None;
    }
    let tops = render::top_folders(&checked.model)?;
    let rivals = stamp
        .owner
        .rivals(std::iter::once(checked.model.cluster.as_str()));
    let fresh = match Fresh::begin(out_dir, &tops, &rivals) {
        Ok(fresh) => fresh?,
        Err(e) => return Some(ctx.emit_failed(e)),
    };
    let written = render::render_each(&checked.model, blueprints, &|path, bytes| fresh.put(path, bytes));
    let (lock, written) = match written {
        Ok(put) => {
            use rayon::prelude::*;
            let (files, written): (Vec<_>, Vec<_>) = put
                .into_par_iter()
                .map(|(path, hash, stat)| {
                    let known = stat.map(|s| (path.clone(), hash.clone(), s));
                    ((path, hash), known)
                })
                .unzip();
            (fresh.finish(files, stamp), written)
        }
        Err(stop) => {
            if let Err(e) = fresh.abandon() {
                return Some(ctx.emit_failed(e));
            }
            return match stop {
                Stop::Take(PutError::Unplanned) => None,
                Stop::Take(PutError::Io(e)) => Some(ctx.emit_failed(e)),
                Stop::Render(diagnostics) => Some(ctx.failed(Failure {
                    source: Some(checked.source.clone()),
                    diagnostics,
                })),
            };
        }
    };
    let n = match lock {
        Ok((lock, digest)) => {
            if !ctx.style.scratch {
                // Each file's stat as it was written: none is looked at again.
                let known = crate::incremental::Reuse::of_written(written.into_iter().flatten().collect());
                crate::incremental::record(
                    out_dir,
                    &stamp.owner,
                    &checked.model,
                    &known,
                    (&lock.files, Some(&digest)),
                    &Default::default(),
                );
            }
            lock.files.len()
        }
        Err(e) => return Some(ctx.emit_failed(e)),
    };
    let mut out = Outcome {
        stderr: ctx.warnings(&checked.warnings, &checked.source),
        ..Outcome::default()
    };
    if ctx.json() {
        let mut report = ctx.report().diagnostics(&checked.warnings, Some(&checked.source));
        report.files = Some(FileCounts {
            total: n,
            written: n,
            ..FileCounts::default()
        });
        out.stdout = report.to_text();
    } else if !ctx.style.quiet {
        let _ = writeln!(
            out.stdout,
            "{}: {n} files, {n} written, 0 removed",
            out_dir.display()
        );
    }
    Some(out)
}

/// `gitopsc schema`: the spec's JSON Schema; with `markdown` the spec reference made from it;
/// with `output_json` the schema of `--format json` output instead.
pub fn schema(markdown: bool, output_json: bool) -> Outcome {
    let stdout = if output_json {
        crate::json::schema_text()
    } else if markdown {
        crate::spec::reference::markdown(crate::spec::schema::schema())
    } else {
        crate::spec::schema::schema_text()
    };
    Outcome {
        stdout,
        ..Outcome::default()
    }
}

/// `gitopsc explain CODE`: the code's page of the error index; with `index`, the whole
/// index in Markdown.
pub fn explain(code: Option<&str>, index: bool) -> Outcome {
    if index {
        return Outcome {
            stdout: diagnostic::codes::index_markdown(),
            ..Outcome::default()
        };
    }
    let given = code.unwrap_or_default();
    match Code::parse(given) {
        Some(code) => Outcome {
            stdout: code.explain(),
            ..Outcome::default()
        },
        None => {
            let upper = given.trim().to_ascii_uppercase();
            let help = match crate::spec::schema::did_you_mean(&upper, Code::ALL.iter().map(|c| c.as_str())) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "`gitopsc explain --index` lists every code".to_string(),
            };
            let d = Diagnostic::error(Code::UnknownCode, format!("no code `{given}` in the error index"))
                .help(help);
            Outcome {
                code: 2,
                stdout: String::new(),
                stderr: diagnostic::render(&[d], None, false),
                ..Outcome::default()
            }
        }
    }
}

/// `gitopsc init`.
pub fn init() -> Outcome {
    Outcome {
        stdout: STARTER.to_string(),
        ..Outcome::default()
    }
}

/// `gitopsc import`: the spec on stdout, what it does not express on stderr.
pub fn import(paths: &[std::path::PathBuf], cluster: &str, style: Style) -> Outcome {
    match crate::import::import(paths, cluster) {
        Ok(imported) => {
            let mut stderr = String::new();
            if !style.quiet {
                let (same, total) = imported.reproduced;
                stderr.push_str(&format!(
                    "note: the spec renders {same} of the {total} objects imported exactly\n"
                ));
                for note in &imported.notes {
                    stderr.push_str(&format!("  - {note}\n"));
                }
            }
            Outcome {
                stdout: imported.spec,
                stderr,
                code: 0,
                ..Outcome::default()
            }
        }
        Err(message) => Outcome {
            stderr: format!("error: {message}\n"),
            code: 2,
            ..Outcome::default()
        },
    }
}
