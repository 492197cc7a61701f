//! Clusters that left a fleet: a lock file `fleet/<cluster>/gitopsc.lock` of this fleet whose
//! cluster the spec no longer lists. Its tree is compared with nothing: `check` and `diff`
//! report its files as to be removed (and the stateful objects leaving with them), `build`
//! removes them as it removes an app's files — never a file edited by hand or not written by
//! gitopsc — then its lock file. Only a run over the whole fleet does this: one with
//! `--cluster` touches that cluster alone.

use crate::commands::{Format, Mode, Outcome, Style};
use crate::diagnostic::Diagnostic;
use crate::emit::guard::{Access, lock_root};
use crate::emit::lock::{LOCK_FILE, Lock};
use crate::emit::owner::{FLEET_DIR, Owner};
use crate::emit::report::{self, Paint};
use crate::emit::{self, EmitError, Stamp, Tree, review};
use crate::json::{CommandName, Report};
use std::fmt::Write;
use std::path::Path;

/// The clusters of fleet `fleet` with a lock file in `out` that `clusters` does not name.
pub fn left(out: &Path, fleet: &str, clusters: &[&str]) -> Vec<String> {
    let Ok(entries) = crate::disk::names_in(&out.join(FLEET_DIR)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .into_iter()
        .filter_map(|name| name.into_string().ok())
        .filter(|name| !clusters.contains(&name.as_str()))
        .filter(|name| {
            let lock = crate::disk::read(&out.join(Owner::fleet_cluster(fleet, name).lock_path()));
            lock.ok()
                .and_then(|bytes| Lock::parse(&bytes).ok())
                .is_some_and(|lock| lock.fleet == fleet && lock.cluster == *name)
        })
        .collect();
    names.sort();
    names
}

/// `build`, `check` or `diff` of the cluster `cluster`, which left the fleet `fleet`.
/// In JSON, the outcome prints the cluster's report (of `spec`'s run).
pub fn retire(spec: &Path, out: &Path, fleet: &str, cluster: &str, mode: Mode, style: Style) -> Outcome {
    let json = style.format == Format::Json;
    let report = || {
        Report::new(
            CommandName::of(mode),
            &spec.display().to_string(),
            Some(&out.display().to_string()),
        )
    };
    match retired(out, fleet, cluster, mode, style) {
        Ok((mut outcome, cmp, review)) => {
            if json {
                outcome.stdout = report()
                    .exit(outcome.code)
                    .comparison(&cmp)
                    .review(&review)
                    .to_text();
                outcome.stderr.clear();
            }
            outcome
        }
        Err(e) if json => Outcome {
            code: 2,
            stdout: report()
                .exit(2)
                .diagnostics(&[Diagnostic::error(e.2, e.0)], None)
                .to_text(),
            ..Outcome::default()
        },
        Err(e) => Outcome {
            code: 2,
            stderr: format!(
                "error: {}\n{}",
                e.0,
                e.1.map(|h| format!("  help: {h}\n")).unwrap_or_default()
            ),
            ..Outcome::default()
        },
    }
}

/// The run, the comparison and its review.
fn retired(
    out: &Path,
    fleet: &str,
    cluster: &str,
    mode: Mode,
    style: Style,
) -> Result<(Outcome, emit::Comparison, review::Review), EmitError> {
    let access = if matches!(mode, Mode::Build { .. }) {
        Access::Write
    } else {
        Access::Read
    };
    let _root_lock = lock_root(out, access, || {})?;
    let owner = Owner::fleet_cluster(fleet, cluster);
    let stamp = Stamp {
        owner: owner.clone(),
        ..Stamp::default()
    };
    let force = matches!(mode, Mode::Build { force: true });
    let nothing = Tree::new();
    let cmp = emit::compare(out, &nothing, emit::Kept::new(), &stamp, force)?;
    let review = review::review(&cmp, &nothing, mode == Mode::Diff || style.format == Format::Json);
    let paint = Paint(style.color_out);
    let alarms = report::leaving(&review, paint) + &report::databases(&review, paint);
    let mut outcome = Outcome::default();
    let _ = writeln!(
        outcome.stdout,
        "cluster `{cluster}` is no longer in the fleet `{fleet}`: {}",
        report::summary(&cmp)
    );
    match mode {
        Mode::Check => {
            outcome.code = 1;
            outcome.stdout.push_str(&report::file_list(&cmp, paint));
            outcome.stdout.push_str(&alarms);
        }
        Mode::Diff => {
            outcome.code = 1;
            outcome.stdout.push_str(&alarms);
            outcome
                .stdout
                .push_str(&report::unified_diff(&cmp, &nothing, paint));
            outcome.stdout.push_str(&report::conflicts(&cmp, paint));
        }
        Mode::Build { .. } => {
            let stats = emit::write::apply(&cmp, &nothing)?;
            outcome.stdout = format!(
                "cluster `{cluster}` left the fleet: {} removed{}\n{alarms}",
                stats.removed,
                if cmp.conflicts.is_empty() {
                    String::new()
                } else {
                    format!(", {} blocked", cmp.conflicts.len())
                }
            );
            if cmp.conflicts.is_empty() {
                // Nothing of the cluster is left: its lock file goes, and its folders when
                // empty (a file removed by hand leaves its folder).
                let dir = out.join(owner.dir());
                std::fs::remove_file(dir.join(LOCK_FILE)).map_err(|e| {
                    EmitError(
                        format!("cannot remove `{}`: {e}", dir.join(LOCK_FILE).display()),
                        None,
                        crate::diagnostic::Code::Output,
                    )
                })?;
                remove_empty_folders(&dir);
                remove_empty_folders(&out.join(crate::model::CLUSTERS_DIR).join(cluster));
            } else {
                outcome.code = 1;
                outcome.stderr = report::conflicts(&cmp, Paint(style.color_err));
            }
        }
    }
    Ok((outcome, cmp, review))
}

/// Removes `dir` and the folders below it that hold nothing (no file, no symlink, nothing
/// else): whatever is in them stays, and so does every folder above it.
fn remove_empty_folders(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_folders(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}
