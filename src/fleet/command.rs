//! `build`, `check`, `diff` and `validate` of a fleet: every cluster (or the one `--cluster`
//! names), each compared with its own part of the output root. The clusters' specs are
//! checked first, all of them: an error in a definition several clusters share is reported
//! once, naming them. A spec file that is not a fleet goes the cluster spec's way.

use super::expand::{Cluster, Fleet};
use crate::commands::{self, Mode, Outcome, Style};
use crate::diagnostic::{self, Diagnostic};
use crate::emit::{self, owner::Owner};
use crate::target::{Target, input_of_cluster};
use crate::{Checked, Failure};
use std::fmt::Write;
use std::path::Path;

/// `gitopsc build|check|diff SPEC --out DIR [--cluster NAME]`.
pub fn run(
    spec: &Path,
    out: &Path,
    blueprints: Option<&Path>,
    mode: Mode,
    style: Style,
    cluster: Option<&str>,
) -> Outcome {
    let fleet = match opened(spec, cluster, style) {
        Opened::Cluster => return commands::run_target(Target::file(spec), out, blueprints, mode, style),
        Opened::Failed(outcome) => return outcome,
        Opened::Fleet(fleet) => fleet,
    };
    // Over the whole fleet, the clusters that left it are compared with nothing.
    let left = if cluster.is_none() {
        let names: Vec<&str> = fleet.clusters.iter().map(|c| c.name.as_str()).collect();
        super::retire::left(out, &fleet.name, &names)
    } else {
        Vec::new()
    };
    let Fleet {
        source,
        name: fleet_name,
        clusters,
        warnings,
        ..
    } = fleet;
    // A cluster whose tree is what this very spec rendered needs no checking first: its
    // command takes it as current without rendering, as a cluster spec's does.
    let current = |name: &str, input: &str| {
        blueprints.is_none()
            && matches!(mode, Mode::Check | Mode::Build { force: false })
            && emit::unchanged_for(out, &Owner::fleet_cluster(&fleet_name, name), input).is_some()
    };
    let mut targets = Vec::new();
    let mut failures = Vec::new();
    for Cluster { name, loaded } in clusters {
        let input = input_of_cluster(&loaded);
        if current(&name, &input) {
            let target = Target::fleet_cluster(spec, &fleet_name, &name, loaded, input);
            targets.push((name, target));
            continue;
        }
        match crate::check_loaded(loaded) {
            Ok(checked) => {
                let checked = named(checked, &name);
                let target = Target::checked_cluster(spec, &fleet_name, &name, checked, input);
                targets.push((name, target));
            }
            Err(failure) => failures.push((name, failure.diagnostics)),
        }
    }
    let mut outcome = Outcome {
        stderr: if style.quiet {
            String::new()
        } else {
            diagnostic::render(&warnings, Some(&source), style.color_err)
        },
        ..Outcome::default()
    };
    if !failures.is_empty() {
        outcome.code = 2;
        outcome.stderr = diagnostic::render(&merged(failures), Some(&source), style.color_err);
        return outcome;
    }
    for (name, target) in targets {
        let one = commands::run_target(target, out, blueprints, mode, style);
        outcome.code = outcome.code.max(one.code);
        outcome.stderr.push_str(&one.stderr);
        outcome.stdout.push_str(&headed(&name, &one.stdout));
    }
    for name in left {
        let one = super::retire::retire(out, &fleet_name, &name, mode, style);
        outcome.code = outcome.code.max(one.code);
        outcome.stderr.push_str(&one.stderr);
        outcome.stdout.push_str(&one.stdout);
    }
    outcome
}

/// What the spec file turned out to be.
enum Opened {
    /// A cluster spec (or a file the cluster spec's way reports on).
    Cluster,
    /// A fleet, with the clusters `--cluster` selects.
    Fleet(Fleet),
    /// A fleet that does not expand, or a `--cluster` that names none of its clusters.
    Failed(Outcome),
}

/// Opens `spec`: a fleet, expanded, with only the cluster `cluster` when one is named.
fn opened(spec: &Path, cluster: Option<&str>, style: Style) -> Opened {
    let mut fleet = match super::load_if_fleet(spec) {
        None if cluster.is_none() => return Opened::Cluster,
        None => {
            return Opened::Failed(error(
                format!(
                    "`--cluster` selects a cluster of a fleet spec; `{}` is not one",
                    spec.display()
                ),
                "drop `--cluster`: a cluster spec is one cluster",
                style,
            ));
        }
        Some(Err(f)) => return Opened::Failed(failed(f, style)),
        Some(Ok(fleet)) => fleet,
    };
    if let Some(name) = cluster {
        if !fleet.clusters.iter().any(|c| c.name == name) {
            let names = fleet.clusters.iter().map(|c| c.name.as_str());
            let help = match crate::spec::schema::did_you_mean(name, names) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!(
                    "its clusters: {}",
                    fleet
                        .clusters
                        .iter()
                        .map(|c| format!("`{}`", c.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Opened::Failed(error(
                format!("the fleet `{}` has no cluster `{name}`", fleet.name),
                &help,
                style,
            ));
        }
        fleet.clusters.retain(|c| c.name == name);
        // The fleet's warnings are about all its clusters.
        fleet.warnings.clear();
    }
    Opened::Fleet(fleet)
}

/// `gitopsc validate SPEC [--cluster NAME]`.
pub fn validate(spec: &Path, cluster: Option<&str>, style: Style) -> Outcome {
    let fleet = match opened(spec, cluster, style) {
        Opened::Cluster => return commands::validate(spec, style),
        Opened::Failed(outcome) => return outcome,
        Opened::Fleet(fleet) => fleet,
    };
    let mut outcome = Outcome::default();
    let mut warnings = fleet.warnings.clone();
    let mut failures = Vec::new();
    for Cluster { name, loaded } in fleet.clusters {
        match crate::check_loaded(loaded) {
            Ok(checked) => {
                let checked = named(checked, &name);
                warnings.extend(checked.warnings.iter().cloned());
                let apps = checked.model.apps.len();
                let kustomizations = checked.model.kustomizations().count();
                let _ = writeln!(
                    outcome.stdout,
                    "{} is valid: cluster `{name}` of fleet `{}`, {apps} app{}, {kustomizations} Flux Kustomization{}",
                    spec.display(),
                    fleet.name,
                    if apps == 1 { "" } else { "s" },
                    if kustomizations == 1 { "" } else { "s" },
                );
            }
            Err(failure) => failures.push((name, failure.diagnostics)),
        }
    }
    if !failures.is_empty() {
        outcome.code = 2;
        outcome.stdout.clear();
        outcome.stderr = diagnostic::render(&merged(failures), Some(&fleet.source), style.color_err);
        return outcome;
    }
    if style.quiet {
        outcome.stdout.clear();
    } else {
        outcome.stderr = diagnostic::render(&warnings, Some(&fleet.source), style.color_err);
    }
    outcome
}

/// A checked cluster whose warnings name it.
fn named(mut checked: Checked, cluster: &str) -> Checked {
    for d in &mut checked.warnings {
        d.message = format!("cluster `{cluster}`: {}", d.message);
    }
    checked
}

/// The diagnostics of the clusters that failed, one for each place and message: one in a
/// definition several clusters share names them all.
fn merged(failures: Vec<(String, Vec<Diagnostic>)>) -> Vec<Diagnostic> {
    let mut merged: Vec<(Diagnostic, Vec<String>)> = Vec::new();
    for (cluster, diags) in failures {
        for d in diags {
            match merged.iter_mut().find(|(m, _)| *m == d) {
                Some((_, clusters)) => clusters.push(cluster.clone()),
                None => merged.push((d, vec![cluster.clone()])),
            }
        }
    }
    let mut out: Vec<Diagnostic> = merged
        .into_iter()
        .map(|(mut d, clusters)| {
            let names: Vec<String> = clusters.iter().map(|c| format!("`{c}`")).collect();
            let word = if names.len() == 1 { "cluster" } else { "clusters" };
            d.message = format!("{word} {}: {}", names.join(", "), d.message);
            d
        })
        .collect();
    diagnostic::sort(&mut out);
    out
}

/// A cluster's output under its name: one line gets the name in front, more a heading.
fn headed(cluster: &str, text: &str) -> String {
    match text.trim_end().lines().count() {
        0 => String::new(),
        1 => format!("cluster `{cluster}`: {text}"),
        _ => format!("cluster `{cluster}`:\n{text}"),
    }
}

fn failed(f: Failure, style: Style) -> Outcome {
    Outcome {
        code: 2,
        stdout: String::new(),
        stderr: diagnostic::render(&f.diagnostics, f.source.as_ref(), style.color_err),
    }
}

fn error(message: String, help: &str, style: Style) -> Outcome {
    Outcome {
        code: 2,
        stdout: String::new(),
        stderr: diagnostic::render(&[Diagnostic::error(message).help(help)], None, style.color_err),
    }
}
