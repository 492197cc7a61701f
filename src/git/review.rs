//! The commands that read git: `check --staged` (is the commit being made current?) and
//! `diff --base REV` (what does the change since REV do?). Each runs the ordinary `check` or
//! `diff` over the files as git holds them: a spec that differs from git is read from git's
//! objects and held in memory over a private temporary folder (`super::inputs`); the output
//! root of a staged check is looked at where it is, through the staged view of it
//! (`crate::disk`). Paths in what they print are the repository's own.

use super::strangers::{self, Differences, is_below};
use super::{GitError, Repo, Snapshot, inputs};
use crate::commands::{Format, Mode, Outcome, Style};
use crate::diagnostic::{Code, Diagnostic};
use crate::disk;
use crate::incremental::deferred::Deferred;
use crate::json::{CommandName, Report, StagedFiles};
use std::collections::HashSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// `gitopsc check SPEC --out DIR --staged`: renders the spec as staged and compares the tree
/// as staged — exactly what `git commit` would record. Changes not staged under the spec or
/// the output (the commit would not hold them) fail too, with the command that fixes them.
/// For a fleet, `cluster` checks only that cluster.
pub fn check_staged(
    spec: &Path,
    out: &Path,
    blueprints: Option<&Path>,
    cluster: Option<&str>,
    style: Style,
) -> Outcome {
    match staged(spec, out, blueprints, cluster, style) {
        Ok(outcome) => outcome,
        Err(e) => git_failed(&e, CommandName::Check, spec, style),
    }
}

fn staged(
    spec: &Path,
    out: &Path,
    blueprints: Option<&Path>,
    cluster: Option<&str>,
    style: Style,
) -> Result<Outcome, GitError> {
    let repo = Repo::discover()?;
    let (spec_rel, out_rel) = (repo.relative(spec)?, repo.relative(out)?);
    let held = held(&repo, spec, (&spec_rel, &out_rel))?;
    let rels = (spec_rel.as_str(), out_rel.as_str());
    if held.spec && held.out {
        let outcome = in_place(&repo, rels, blueprints, cluster, style);
        return Ok(reported(
            outcome,
            StagedFiles::default(),
            (spec, out),
            rels,
            style,
        ));
    }
    // The output root is checked where it is: as it is when it holds what is staged, else
    // through the staged view of it; it is laid out of the index only when no view can stand
    // for it (git converts files, or a file that differs is no regular file as staged).
    let out_in_place = held.out || view_staged(&repo, &held, &out_rel)?;
    if held.spec && out_in_place {
        let outcome = in_place(&repo, rels, blueprints, cluster, style);
        let inputs = inputs::on_disk(&repo, spec, &spec_rel)?;
        return finish(&repo, &held, outcome, &inputs, (spec, out), rels, style);
    }
    // The spec's side as staged, held in memory over a folder that is not there.
    let temp = temp_dir()?;
    let laid = temp.path().join("index");
    let Some(side) = inputs::spec_side(&repo, Snapshot::Index, spec, &spec_rel)? else {
        return Err(GitError(format!(
            "`{spec_rel}` is not staged: the commit would not hold the spec (`git add {spec_rel}`)"
        )));
    };
    let inputs = side.inputs.clone();
    inputs::lay(side, &laid)?;
    let staged_spec = laid.join(&spec_rel);
    let out_temp = if out_in_place { None } else { Some(temp_dir()?) };
    let staged_out = match &out_temp {
        None => repo.top.join(&out_rel),
        Some(out_temp) => {
            repo.materialize(Snapshot::Index, &[&out_rel], out_temp.path())?;
            let laid_out = out_temp.path().join(&out_rel);
            create_dir(&laid_out)?;
            laid_out
        }
    };
    // A fleet's records of the last build over the work tree stand for the staged spec but
    // for its files that differ from the work tree or changed since that build: the staged
    // spec is then compiled over their apps.
    if out_temp.is_none()
        && let Some(records) = crate::incremental::spec::records_of(&repo.top.join(&spec_rel), &staged_out)
    {
        crate::incremental::held::hold_spec(&staged_out, records);
    }
    let scratch = Style {
        scratch: true,
        ..style
    };
    let mut outcome = fleet_run(
        &staged_spec,
        &staged_out,
        blueprints,
        Mode::Check,
        scratch,
        cluster,
    );
    strip_prefix(&mut outcome, &laid);
    if let Some(out_temp) = &out_temp {
        strip_prefix(&mut outcome, out_temp.path());
    }
    strip_prefix(&mut outcome, &repo.top);
    finish(&repo, &held, outcome, &inputs, (spec, out), rels, style)
}

/// The staged check's outcome with what was found not staged — or, for an error, as it is.
fn finish(
    repo: &Repo,
    held: &Held,
    mut outcome: Outcome,
    inputs: &[String],
    (spec, out): (&Path, &Path),
    rels: (&str, &str),
    style: Style,
) -> Result<Outcome, GitError> {
    if outcome.code == 2 {
        edit_report(&mut outcome, spec, |report| {
            report.out = Some(out.display().to_string())
        });
        return Ok(outcome);
    }
    let found = found(repo, held, outcome.code, rels, inputs)?;
    Ok(reported(outcome, found, (spec, out), rels, style))
}

/// Looks at the output root through the staged view ([`disk`]) for the rest of the run: the
/// tracked files below it whose working copy differs, with their staged bytes; the files git
/// does not track, absent. `false` — no view — when git converts files or was not asked (the
/// root is no folder), when a file that differs is not staged as a regular file, or when git
/// names a folder it does not track (a repository within).
fn view_staged(repo: &Repo, held: &Held, out_rel: &str) -> Result<bool, GitError> {
    if held.converts || held.looked.is_none() {
        return Ok(false);
    }
    let below = |p: &&String| is_below(out_rel, p);
    if held.untracked.iter().filter(below).any(|p| p.ends_with('/')) {
        return Ok(false);
    }
    let changed: HashSet<&str> = held.changed.iter().filter(below).map(String::as_str).collect();
    let staged = if changed.is_empty() {
        Vec::new()
    } else {
        match repo.staged_bytes(out_rel, &changed)? {
            Some(staged) => staged,
            None => return Ok(false),
        }
    };
    let root = repo.top.join(out_rel);
    let mut view = disk::View::default();
    for (path, bytes) in staged {
        view.hold(&root, repo.top.join(path), Some(bytes));
    }
    for path in held.untracked.iter().filter(below) {
        view.hold(&root, repo.top.join(path), None);
    }
    Ok(disk::set_view(view))
}

/// Which sides of a staged check the work tree holds as they are staged: the spec's folder
/// (which holds what the spec reads: included files, manifest files, vendored charts) and the
/// output root. A side is held when nothing below it differs from the index and nothing there
/// is untracked (ignored files included) — but, on the spec's side, files the spec does not
/// read ([`strangers`]); neither is when git converts files (attributes, end-of-line
/// conversion) or the output root is no folder.
struct Held {
    spec: bool,
    out: bool,
    /// Whether git converts files.
    converts: bool,
    /// The files below either side that git tracks and whose bytes differ from the index
    /// (none asked for when git converts files or the output root is no folder).
    changed: Vec<String>,
    /// The files below either side that git does not track, ignored ones included (as
    /// `changed`).
    untracked: Vec<String>,
    /// The folders git was asked about for `changed` (the spec's folder and the output
    /// root), when it was.
    looked: Option<[String; 2]>,
}

impl Held {
    /// The files below either side that differ from the index or are untracked.
    fn differ(&self) -> impl Iterator<Item = &String> {
        self.changed.iter().chain(&self.untracked)
    }

    fn differences(&self) -> Differences<'_> {
        Differences {
            changed: &self.changed,
            untracked: &self.untracked,
        }
    }
}

fn held(repo: &Repo, spec: &Path, (spec_rel, out_rel): (&str, &str)) -> Result<Held, GitError> {
    let (spec_abs, out_abs) = (repo.top.join(spec_rel), repo.top.join(out_rel));
    let folder = if spec_abs.is_dir() {
        spec_rel.to_string()
    } else {
        Path::new(spec_rel)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ".".into())
    };
    let inputs = [folder.as_str(), out_rel];
    let converting = Held {
        spec: false,
        out: false,
        converts: true,
        changed: Vec::new(),
        untracked: Vec::new(),
        looked: None,
    };
    if !out_abs.is_dir() {
        let converts = repo.converts(&inputs)?;
        return Ok(Held {
            converts,
            ..converting
        });
    }
    // The three questions asked of git at once: each of its answers walks the index or the
    // work tree, and the hook waits for all of them.
    let (converts, untracked, changed) = std::thread::scope(|scope| {
        let converts = scope.spawn(|| repo.converts(&inputs));
        let changed = scope.spawn(|| repo.unstaged(&inputs));
        let untracked = repo.untracked_or_ignored(&inputs);
        (answer(converts.join()), untracked, answer(changed.join()))
    });
    if converts? {
        return Ok(converting);
    }
    let untracked = untracked?;
    // An attributes file git does not track below either side converts files there too.
    if untracked
        .iter()
        .any(|p| p.rsplit('/').next() == Some(".gitattributes"))
    {
        return Ok(converting);
    }
    let mut held = Held {
        spec: true,
        out: true,
        converts: false,
        changed: changed?,
        untracked,
        looked: Some([folder.clone(), out_rel.to_string()]),
    };
    // Strangers the spec does not read leave its side as staged.
    let charts = || inputs::root_charts(repo, spec).ok();
    let spec = strangers::unread_by_spec(repo, &held.differences(), (spec_rel, &folder), charts);
    let out = !held.differ().any(|p| is_below(out_rel, p));
    (held.spec, held.out) = (spec, out);
    Ok(held)
}

/// What a question asked of git on a thread of its own answered.
fn answer<T>(joined: std::thread::Result<Result<T, GitError>>) -> Result<T, GitError> {
    joined.unwrap_or_else(|_| Err(GitError("a question to git failed".to_string())))
}

/// What a staged check whose verdict is `code` found not staged: with a stale tree, the new
/// files the tree needs that git does not track; and every input changed since staged.
fn found(
    repo: &Repo,
    held: &Held,
    code: u8,
    (spec_rel, out_rel): (&str, &str),
    read: &[String],
) -> Result<StagedFiles, GitError> {
    let mut found = StagedFiles::default();
    let mut inputs = vec![out_rel];
    inputs.extend(read.iter().map(String::as_str));
    if code == 1 {
        found.untracked = strangers::generated(repo, out_rel, repo.untracked(&inputs)?)?;
    }
    inputs.push(spec_rel);
    found.unstaged = unstaged_of(repo, held, &inputs)?;
    Ok(found)
}

/// The files of `inputs` whose working copy differs from the index: what [`held`] found
/// below the folders it looked at, and git's answer for the others (asking git again would
/// look at every file of both sides once more).
fn unstaged_of(repo: &Repo, held: &Held, inputs: &[&str]) -> Result<Vec<String>, GitError> {
    let Some(looked) = &held.looked else {
        return repo.unstaged(inputs);
    };
    let rest: Vec<&str> = (inputs.iter().copied())
        .filter(|i| !looked.iter().any(|l| is_below(l, i)))
        .collect();
    let mut found: Vec<String> = (held.changed.iter())
        .filter(|p| inputs.iter().any(|i| is_below(i, p)))
        .cloned()
        .collect();
    if !rest.is_empty() {
        found.extend(repo.unstaged(&rest)?);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The staged check run in the work tree, which holds what is staged of every file the check
/// reads ([`held`]): the staged tree is then the work tree, and the caches of earlier runs
/// apply (docs/performance.md).
fn in_place(
    repo: &Repo,
    (spec_rel, out_rel): (&str, &str),
    blueprints: Option<&Path>,
    cluster: Option<&str>,
    style: Style,
) -> Outcome {
    let (spec_abs, out_abs) = (repo.top.join(spec_rel), repo.top.join(out_rel));
    let mut outcome = fleet_run(&spec_abs, &out_abs, blueprints, Mode::Check, style, cluster);
    strip_prefix(&mut outcome, &repo.top);
    outcome
}

/// What the staged check prints: the check's `outcome`, with what `found` says was not
/// staged, and the commands that fix a stale commit.
fn reported(
    mut outcome: Outcome,
    found: StagedFiles,
    (spec, out): (&Path, &Path),
    (spec_rel, out_rel): (&str, &str),
    style: Style,
) -> Outcome {
    // The staged tree is stale: what fixes the commit is a build, then staging it.
    let stale = outcome.code == 1;
    if !found.unstaged.is_empty() {
        outcome.code = 1;
    }
    if style.format == Format::Json {
        let code = outcome.code;
        edit_report(&mut outcome, spec, |report| {
            report.out = Some(out.display().to_string());
            report.exit_code = code;
            report.ok = code == 0;
            report.staged = Some(found);
        });
        return outcome;
    }
    if stale {
        let _ = writeln!(
            outcome.stdout,
            "the staged tree is checked (what `git commit` records): build, then `git add {spec_rel} {out_rel}`"
        );
        list(
            &mut outcome.stdout,
            "not staged (new files git does not track yet)",
            &found.untracked,
        );
    }
    if !found.unstaged.is_empty() {
        list(
            &mut outcome.stdout,
            "changed since staged (the commit would not hold these versions)",
            &found.unstaged,
        );
        let _ = writeln!(
            outcome.stdout,
            "stage them (`git add {spec_rel} {out_rel}`) or set them aside (`git stash --keep-index`)"
        );
    }
    outcome
}

/// The ordinary command over a spec (a cluster spec, a fleet, or one cluster of a fleet).
fn fleet_run(
    spec: &Path,
    out: &Path,
    blueprints: Option<&Path>,
    mode: Mode,
    style: Style,
    cluster: Option<&str>,
) -> Outcome {
    crate::fleet::command::run(spec, out, blueprints, None, mode, style, cluster)
}

/// `gitopsc diff SPEC --base REV`: renders the spec as it is at `REV` (from git's objects)
/// and as it is in the working tree, and prints what the change does — no output tree on
/// disk is read or written. A spec that does not exist at `REV` diffs against nothing. For a
/// fleet, `cluster` diffs only that cluster.
pub fn diff_base(
    spec: &Path,
    base: &str,
    blueprints: Option<&Path>,
    cluster: Option<&str>,
    style: Style,
) -> Outcome {
    match based(spec, base, blueprints, cluster, style) {
        Ok(outcome) => outcome,
        Err(e) => git_failed(&e, CommandName::Diff, spec, style),
    }
}

fn based(
    spec: &Path,
    base: &str,
    blueprints: Option<&Path>,
    cluster: Option<&str>,
    style: Style,
) -> Result<Outcome, GitError> {
    let repo = Repo::discover()?;
    let spec_rel = repo.relative(spec)?;
    let temp = temp_dir()?;
    let base_dir = temp.path().join("base");
    let tree = temp.path().join(format!("tree@{base}"));
    create_dir(&tree)?;
    let scratch = Style {
        scratch: true,
        ..style
    };
    let current = || fleet_run(spec, &tree, blueprints, Mode::Diff, scratch, cluster);
    // The base's spec side is held in memory over a folder that is not there.
    let mut outcome = match inputs::spec_side(&repo, Snapshot::Revision(base), spec, &spec_rel)? {
        None => current(),
        Some(side) => {
            inputs::lay(side, &base_dir)?;
            let base_spec = base_dir.join(&spec_rel);
            let run_base = || based_tree(&base_spec, &tree, blueprints, cluster, style);
            // When the root file differs from the base's, the run over the spec as it is now
            // goes the whole way, whatever the base's records say: it runs beside the base's,
            // and waits for it where it needs the base's trees (the built-in blueprints only:
            // with them the base's trees are always left to render).
            let (mut built, outcome) =
                if blueprints.is_none() && !style.full && root_differs(spec, &base_spec) {
                    // Their parts of the same bytes are parsed once (most of a fleet's).
                    let _sharing = crate::fleet::shared::Sharing::begin();
                    std::thread::scope(|scope| {
                        let coming = crate::incremental::deferred::expect(&tree);
                        let built = scope.spawn(move || {
                            let built = run_base();
                            drop(coming);
                            built
                        });
                        let outcome = current();
                        (built.join().unwrap_or_else(|_| gave_up()), outcome)
                    })
                } else {
                    let built = run_base();
                    let outcome = if built.code == 0 {
                        current()
                    } else {
                        Outcome::default()
                    };
                    (built, outcome)
                };
            if built.code != 0 {
                strip_prefix(&mut built, &base_dir);
                return Ok(base_failed(built, base, spec, style));
            }
            outcome
        }
    };
    // The base's trees rendered on the way, as far as it needed them: a failure is the base's.
    if let Some(diagnostics) = crate::incremental::deferred::failure() {
        return Ok(base_failed(printed(&diagnostics, spec, style), base, spec, style));
    }
    strip_prefix(&mut outcome, temp.path());
    // The tree compared with is a temporary one, not an output root of the user's.
    edit_report(&mut outcome, spec, |report| report.out = None);
    Ok(outcome)
}

/// The base's run over `base_spec`: its trees checked and left to render until the run over
/// the spec as it is now knows which apps it keeps, or (other blueprints) rendered and held
/// in memory over the empty folder `tree` with the lock files a build would write there —
/// never written to disk — or, where they cannot be, built there. A fleet's records of its
/// files and apps are held too: the spec as it is now is compiled over the apps whose files
/// differ, when no other file does. Exit 0, or what its run printed.
fn based_tree(
    base_spec: &Path,
    tree: &Path,
    blueprints: Option<&Path>,
    cluster: Option<&str>,
    style: Style,
) -> Outcome {
    let quiet = Style {
        quiet: true,
        scratch: true,
        hold: true,
        ..style
    };
    let mut built = fleet_run(base_spec, tree, blueprints, Mode::Check, quiet, cluster);
    if built.code == 2 {
        return built;
    }
    let records = built.take::<crate::incremental::held::SpecRecords>();
    let deferred: Vec<Deferred> = std::iter::from_fn(|| built.take::<Deferred>()).collect();
    let held = if deferred.is_empty() {
        (built.take_rendered()).is_some_and(|rendered| held_in_memory(tree, rendered))
    } else {
        crate::incremental::deferred::defer(tree, deferred);
        true
    };
    if let Some(records) = records.filter(|_| held) {
        crate::incremental::held::hold_spec(tree, records);
    }
    if held {
        return Outcome::default();
    }
    fleet_run(
        base_spec,
        tree,
        blueprints,
        Mode::Build { force: false },
        quiet,
        cluster,
    )
}

/// Whether the root file of `spec` (a cluster spec's file, or a fleet's root) differs from
/// the one of `base_spec`, or either cannot be read.
fn root_differs(spec: &Path, base_spec: &Path) -> bool {
    let root = |spec: &Path| {
        let files = crate::fleet::include::Files::of(spec)?;
        disk::read(&files.root).ok()
    };
    root(spec).is_none_or(|now| root(base_spec).is_none_or(|then| now != then))
}

/// What a run of `diff` over `spec` that found `diagnostics` prints.
fn printed(diagnostics: &[Diagnostic], spec: &Path, style: Style) -> Outcome {
    if style.format == Format::Json {
        let report = Report::new(CommandName::Diff, &spec.display().to_string(), None);
        Outcome {
            stdout: report.exit(2).diagnostics(diagnostics, None).to_text(),
            ..Outcome::default()
        }
    } else {
        Outcome {
            stderr: crate::diagnostic::render(diagnostics, None, style.color_err),
            ..Outcome::default()
        }
    }
}

/// The base's run, stopped short: exit 2.
fn gave_up() -> Outcome {
    Outcome {
        code: 2,
        stderr: "error: the run over the base stopped short\n".to_string(),
        ..Outcome::default()
    }
}

/// Exit 2: the spec at `base` does not build; `failed` is what its run printed.
fn base_failed(mut failed: Outcome, base: &str, spec: &Path, style: Style) -> Outcome {
    failed.code = 2;
    let why = format!("the spec at `{base}` does not build");
    if style.format == Format::Json {
        // The base build's report, as the diff's, behind the reason.
        edit_report(&mut failed, spec, |report| {
            let first = Diagnostic::error(Code::Git, format!("{why}: its diagnostics follow"));
            let mut diff = Report::new(CommandName::Diff, &spec.display().to_string(), None)
                .exit(2)
                .diagnostics(&[first], None);
            diff.diagnostics.append(&mut report.diagnostics);
            *report = diff;
        });
    } else {
        failed.stderr.insert_str(0, &format!("error: {why}:\n"));
    }
    failed
}

/// Looks at the output root `root` (an empty folder) as holding the files a run `rendered`
/// from now on, and takes that run's records as the cache of its trees
/// ([`crate::incremental::held`]); `false` when it cannot (a view was set already).
fn held_in_memory(root: &Path, rendered: crate::commands::Rendered) -> bool {
    let mut view = disk::View::default();
    for (path, bytes) in rendered.files {
        view.hold(root, path, Some(bytes));
    }
    crate::incremental::held::hold(rendered.records) && disk::set_view(view)
}

/// In JSON mode, rewrites the report an outcome prints; other outcomes stay as they are.
fn edit_report(outcome: &mut Outcome, spec: &Path, edit: impl FnOnce(&mut Report)) {
    if let Some(mut report) = Report::parse(&outcome.stdout) {
        report.spec = spec.display().to_string();
        edit(&mut report);
        outcome.stdout = report.to_text();
    }
}

/// A private temporary folder, removed when dropped.
fn temp_dir() -> Result<tempfile::TempDir, GitError> {
    tempfile::Builder::new()
        .prefix("gitopsc-git-")
        .tempdir()
        .map_err(|e| GitError(format!("cannot make a temporary folder: {e}")))
}

fn create_dir(dir: &PathBuf) -> Result<(), GitError> {
    std::fs::create_dir_all(dir).map_err(|e| GitError(format!("cannot make `{}`: {e}", dir.display())))
}

/// Makes the temporary folder disappear from what the command prints: paths in it read as
/// the repository's own. (Its name is random, so nothing else can contain it.)
fn strip_prefix(outcome: &mut Outcome, temp: &Path) {
    let prefix = format!("{}/", temp.display());
    outcome.stdout = outcome.stdout.replace(&prefix, "");
    outcome.stderr = outcome.stderr.replace(&prefix, "");
}

fn list(out: &mut String, title: &str, paths: &[String]) {
    if paths.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    for path in paths {
        let _ = writeln!(out, "  {path}");
    }
}

fn git_failed(e: &GitError, command: CommandName, spec: &Path, style: Style) -> Outcome {
    let d = Diagnostic::error(Code::Git, e.0.clone());
    if style.format == Format::Json {
        let report = Report::new(command, &spec.display().to_string(), None)
            .exit(2)
            .diagnostics(&[d], None);
        return Outcome {
            code: 2,
            stdout: report.to_text(),
            ..Outcome::default()
        };
    }
    Outcome {
        code: 2,
        stderr: crate::diagnostic::render(&[d], None, style.color_err),
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::test_git as git;

    /// (spec side held, output side held) of a spec at `spec_rel` and an output root `k8s`.
    fn sides(repo: &Repo, spec_rel: &str) -> (bool, bool) {
        let held = held(repo, &repo.top.join(spec_rel), (spec_rel, "k8s")).unwrap();
        (held.spec, held.out)
    }

    #[test]
    fn the_vendored_charts_are_beside_the_root_file_of_a_fleet_folder() {
        let temp = tempfile::tempdir().unwrap();
        let top = std::fs::canonicalize(temp.path()).unwrap();
        std::fs::create_dir_all(top.join("spec")).unwrap();
        std::fs::write(top.join("spec/fleet.yaml"), "kind: Fleet\n").unwrap();
        std::fs::write(top.join("cluster.yaml"), "defaults: {chartsDir: vendor}\n").unwrap();
        let repo = Repo { top: top.clone() };
        let spec = top.join("spec");
        assert_eq!(inputs::root_charts(&repo, &spec).unwrap(), "spec/charts");
        let file = top.join("spec/fleet.yaml");
        assert_eq!(inputs::root_charts(&repo, &file).unwrap(), "spec/charts");
        let cluster = top.join("cluster.yaml");
        assert_eq!(inputs::root_charts(&repo, &cluster).unwrap(), "vendor");
    }

    #[test]
    fn attributes_files_convert_the_sides_they_apply_to() {
        let files = ["spec/fleet.yaml", "k8s/sub/a.yaml", "notes/x.txt"].map(|p| (p, "a"));
        let (_temp, repo) = crate::git::test_repo(&files);
        let top = repo.top.clone();
        let converts = || held(&repo, &top.join("spec"), ("spec", "k8s")).unwrap().converts;
        assert!(!converts());
        for (path, applies) in [
            (".gitattributes", true),
            ("k8s/.gitattributes", true),
            ("k8s/sub/.gitattributes", true),
            ("spec/.gitattributes", true),
            ("notes/.gitattributes", false),
        ] {
            std::fs::write(top.join(path), "* text eol=crlf\n").unwrap();
            assert_eq!(converts(), applies, "{path}, untracked");
            std::fs::remove_file(top.join(path)).unwrap();
        }
        // One git tracks converts wherever it is.
        std::fs::write(top.join("notes/.gitattributes"), "* text\n").unwrap();
        git(&top, &["add", "notes/.gitattributes"]);
        assert!(converts(), "notes/.gitattributes, tracked");
    }

    #[test]
    fn the_spec_side_and_the_output_side_are_held_apart() {
        let files = [
            ("spec/fleet.yaml", "a"),
            ("k8s/a.yaml", "b"),
            ("cluster.yaml", "c"),
        ];
        let (_temp, repo) = crate::git::test_repo(&files);
        let top = repo.top.clone();
        assert_eq!(sides(&repo, "spec"), (true, true));
        // A file the index does not hold, in the spec's folder, that the spec reads: a part
        // of a fleet folder. Only that side.
        std::fs::write(top.join("spec/new.yaml"), "x").unwrap();
        assert_eq!(sides(&repo, "spec"), (false, true));
        std::fs::remove_file(top.join("spec/new.yaml")).unwrap();
        // One it does not read: notes, a hidden editor's file, a part-like file beside a
        // fleet root that includes nothing.
        std::fs::write(top.join("spec/notes.txt"), "x").unwrap();
        std::fs::write(top.join("spec/.fleet.yaml.swp"), "x").unwrap();
        assert_eq!(sides(&repo, "spec"), (true, true));
        std::fs::write(top.join("spec/other.yaml"), "x").unwrap();
        assert_eq!(sides(&repo, "spec/fleet.yaml"), (true, true));
        assert_eq!(sides(&repo, "spec"), (false, true));
        for name in ["notes.txt", ".fleet.yaml.swp", "other.yaml"] {
            std::fs::remove_file(top.join("spec").join(name)).unwrap();
        }
        // With the root naming `folder`, a new `file` below it is read.
        let read_below = |root: &str, folder: &str, file: &str| {
            std::fs::write(top.join("spec/fleet.yaml"), root).unwrap();
            git(&top, &["commit", "-qam", folder]);
            let path = top.join("spec").join(folder).join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
            let found = sides(&repo, "spec/fleet.yaml");
            std::fs::remove_dir_all(top.join("spec").join(folder)).unwrap();
            found
        };
        // A file below a folder the spec names as manifests;
        let manifests = "apps: [{name: a, manifests: [{path: ./extra}]}]\n";
        assert_eq!(read_below(manifests, "extra", ".hidden/x.yml"), (false, true));
        // a file of a vendored charts folder a cluster of a fleet names for itself.
        let charts = "clusters: [{name: c, defaults: {chartsDir: ./vendor/}}]\n";
        assert_eq!(read_below(charts, "vendor", "web/values.yaml"), (false, true));
        // A file of the vendored charts folder is read (`charts` beside the spec).
        std::fs::create_dir_all(top.join("spec/charts/web")).unwrap();
        std::fs::write(top.join("spec/charts/web/values.schema.json"), "{}").unwrap();
        assert_eq!(sides(&repo, "spec/fleet.yaml"), (false, true));
        std::fs::remove_dir_all(top.join("spec/charts")).unwrap();
        // An unstaged change below the output root: only that side.
        std::fs::write(top.join("k8s/a.yaml"), "changed").unwrap();
        assert_eq!(sides(&repo, "spec"), (true, false));
        // A spec at the top: its folder holds the output root too.
        assert_eq!(sides(&repo, "cluster.yaml"), (false, false));
        std::fs::write(top.join("k8s/a.yaml"), "b").unwrap();
        std::fs::write(top.join("notes.txt"), "x").unwrap();
        assert_eq!(sides(&repo, "cluster.yaml"), (true, true));
        std::fs::write(top.join("k8s/notes.txt"), "x").unwrap();
        assert_eq!(sides(&repo, "cluster.yaml"), (true, false));
        std::fs::remove_file(top.join("k8s/notes.txt")).unwrap();
        // A name that only begins like the output root is not below it.
        std::fs::write(top.join("k8s-notes.txt"), "x").unwrap();
        assert_eq!(sides(&repo, "spec"), (true, true));
    }
}
