//! `build`, `check`, `diff` and `validate` of a fleet: every cluster (or the one `--cluster`
//! names), each compared with its own part of the output root. The clusters' specs are
//! checked first, all of them: an error in a definition several clusters share is reported
//! once, naming them. A spec file that is not a fleet goes the cluster spec's way. In JSON a
//! fleet's run prints one report whose `clusters` hold each cluster's (docs/json-output.md).

use super::expand::{Cluster, Fleet};
use crate::commands::{self, Format, Mode, Outcome, Style};
use crate::diagnostic::{self, Code, Diagnostic};
use crate::emit::{self, owner::Owner};
use crate::incremental::apps::{ClusterRecord, Record};
use crate::incremental::stamp::{Layout, app_hashes, input_from};
use crate::json::{ClusterReport, CommandName, ModelSummary, Report};
use crate::source::Source;
use crate::target::Target;
use crate::{Checked, Failure};
use rayon::prelude::*;
use std::fmt::Write;
use std::path::Path;

/// How a fleet command runs: its spec, output root and options.
#[derive(Clone, Copy)]
struct Run<'a> {
    /// The spec file (or folder).
    spec: &'a Path,
    /// The output root.
    out: &'a Path,
    /// `--blueprints`.
    blueprints: Option<&'a Path>,
    /// `--schemas`.
    schemas: Option<&'a Path>,
    /// The command.
    mode: Mode,
    /// How it prints.
    style: Style,
    /// `--cluster`.
    cluster: Option<&'a str>,
}

impl Run<'_> {
    /// The command's report, before anything is in it.
    fn report(&self) -> Report {
        Report::new(
            CommandName::of(self.mode),
            &self.spec.display().to_string(),
            Some(&self.out.display().to_string()),
        )
    }

    /// The clusters that left the fleet `fleet`, whose clusters are now `names`: compared with
    /// nothing over the whole fleet; none for a run of one cluster.
    fn left<'n>(&self, fleet: &str, names: impl Iterator<Item = &'n str>) -> Vec<String> {
        if self.cluster.is_some() {
            return Vec::new();
        }
        let names: Vec<&str> = names.collect();
        super::retire::left(self.out, fleet, &names)
    }

    /// Whether the run uses only what gitopsc has built in (no `--blueprints` or `--schemas`).
    fn plain(&self) -> bool {
        self.blueprints.is_none() && self.schemas.is_none()
    }
}

/// `gitopsc build|check|diff SPEC --out DIR [--cluster NAME]`.
pub fn run(
    spec: &Path,
    out: &Path,
    blueprints: Option<&Path>,
    schemas: Option<&Path>,
    mode: Mode,
    style: Style,
    cluster: Option<&str>,
) -> Outcome {
    run_fleet(Run {
        spec,
        out,
        blueprints,
        schemas,
        mode,
        style,
        cluster,
    })
}

/// [`run`] of its arguments.
fn run_fleet(run: Run) -> Outcome {
    let Run {
        spec,
        out,
        mode,
        style,
        cluster,
        ..
    } = run;
    if let Some(outcome) = from_records(run) {
        return outcome;
    }
    let recorder = if run.plain() && cluster.is_none() && !style.scratch {
        crate::incremental::spec::begin(spec, out)
    } else {
        None
    };
    let holding = style.hold && run.plain() && cluster.is_none();
    let fleet = match opened(spec, cluster, style, || run.report()) {
        Opened::Cluster => {
            return commands::run_target(Target::file(spec), out, run.blueprints, run.schemas, mode, style);
        }
        Opened::Failed(outcome) => return outcome,
        Opened::Fleet(fleet) => fleet,
    };
    let names: Vec<String> = fleet.clusters.iter().map(|c| c.name.clone()).collect();
    let Fleet {
        source,
        name: fleet_name,
        clusters,
        warnings,
        read,
        defined,
        listed,
        ..
    } = fleet;
    let (targets, failures, mut records) = cluster_targets(
        spec,
        out,
        &fleet_name,
        clusters,
        (run.plain(), recorder.is_some() || holding),
        mode,
        style,
    );
    let mut fleet_report = run.report().diagnostics(&warnings, Some(&source));
    fleet_report.fleet = Some(fleet_name.clone());
    if !failures.is_empty() {
        return failed_clusters(fleet_report, failures, &source, style);
    }
    if !style.hold {
        settle(out, &targets);
    }
    let left = run.left(&fleet_name, names.iter().map(String::as_str));
    // A run that holds its records is one that records nothing on disk (a scratch run).
    let held = (holding && warnings.is_empty())
        .then(|| {
            let records = std::mem::take(&mut records);
            held_records(
                spec,
                &fleet_name,
                &targets,
                &read,
                &source,
                (&defined, &listed),
                records,
            )
        })
        .flatten();
    if let Some(recorder) = recorder
        && warnings.is_empty()
    {
        let stamps: Option<Vec<(String, String)>> = targets
            .iter()
            .map(|(name, t)| Some((name.clone(), t.cluster_input()?.to_string())))
            .collect();
        if let Some(stamps) = stamps {
            let (began, apps) = (recorder.began(), recorder.apps_path());
            if recorder.record((&read, &[]), &fleet_name, &stamps, &source.file_starts()) {
                Record::new(began, &source, &defined, &listed, records).write(&apps);
            }
        }
    }
    let stderr = if style.quiet || style.format == Format::Json {
        String::new()
    } else {
        diagnostic::render(&warnings, Some(&source), style.color_err)
    };
    let outcome = run_clusters(run, &fleet_name, targets, left, fleet_report, stderr);
    match held {
        Some(held) => outcome.retaining(held),
        None => outcome,
    }
}

/// Renders `diff --base`'s base trees deferred over `out`, but for the apps each cluster of
/// `targets` keeps: those of a key its checked model has too ([`crate::incremental::held`]).
fn settle(out: &Path, targets: &[(String, Target)]) {
    if !crate::incremental::deferred::deferred(out) {
        return;
    }
    let now = (targets.iter())
        .filter_map(|(_, target)| {
            let model = target.model()?;
            let keys = model.apps.par_iter().map(crate::render::app_key).collect();
            Some((target.owner(), keys))
        })
        .collect();
    crate::incremental::deferred::settle(out, now);
}

/// What a recording run records of the fleet `fleet` read from `read` (its files, then the
/// folders walked), whose clusters are `targets`, held in memory for the run over the spec as
/// it is now (`diff --base`'s base: [`crate::incremental::held`]).
fn held_records(
    spec: &Path,
    fleet: &str,
    targets: &[(String, Target)],
    read: &[std::path::PathBuf],
    source: &Source,
    (defined, listed): (&[(String, crate::source::Span)], &[crate::source::Span]),
    records: Vec<ClusterRecord>,
) -> Option<crate::incremental::held::SpecRecords> {
    let clusters = (targets.iter())
        .map(|(name, t)| Some((name.clone(), t.cluster_input()?.to_string())))
        .collect::<Option<Vec<_>>>()?;
    let record = Record::new(0, source, defined, listed, records);
    Some(crate::incremental::held::SpecRecords {
        fleet: fleet.to_string(),
        clusters,
        files: read.get(..record.starts.len())?.to_vec(),
        spec_dir: super::spec_dir(spec),
        record,
        stale: Vec::new(),
    })
}

/// A check or build of a fleet whose files are untouched since a run expanded them takes their
/// expansion from that run (crate::incremental::spec); a check, diff or build of one whose only
/// changed files define apps is compiled over those apps (super::changed). A build over changed
/// apps records: its clock tick is taken before any file of the spec is looked at. `None` when
/// the records do not allow it.
fn from_records(run: Run) -> Option<Outcome> {
    let (spec, out, mode, style, cluster) = (run.spec, run.out, run.mode, run.style, run.cluster);
    if !(run.plain()
        && !style.full
        && matches!(mode, Mode::Check | Mode::Diff | Mode::Build { force: false }))
    {
        return None;
    }
    let recorder = if matches!(mode, Mode::Build { .. }) && cluster.is_none() && !style.scratch {
        crate::incremental::spec::begin(spec, out)
    } else {
        None
    };
    // A run over a scratch root has no records but those a base's run held in memory.
    let recalled = if style.scratch {
        let files = || super::include::file_paths(&super::include::Files::of(spec)?);
        crate::incremental::held::recall_changed(out, &super::spec_dir(spec), files)
            .map(|(m, c, r)| (m, c, Some(r)))
    } else {
        crate::incremental::spec::recall_changed(spec, out).map(|(m, c)| (m, c, None))
    };
    let (memo, changed, record) = recalled?;
    if changed.is_empty() {
        return (mode != Mode::Diff).then(|| remembered(run, memo)).flatten();
    }
    (!style.scratch || record.is_some()).then_some(())?;
    // Over the base's records, the base's trees are rendered whole first: this way keeps
    // the apps of the files that did not change without a model of them.
    if !style.hold {
        crate::incremental::deferred::settle(out, Vec::new());
    }
    let changed = super::changed::compile_changed(
        spec,
        out,
        cluster,
        (recorder, record),
        memo,
        (&changed, matches!(mode, Mode::Build { .. })),
    )?;
    Some(changed_apps(run, changed))
}

/// The run over the clusters of a fleet compiled over its changed apps; a build records what
/// the next run needs.
fn changed_apps(run: Run, changed: super::changed::Changed) -> Outcome {
    let super::changed::Changed {
        fleet,
        clusters,
        names,
        pending,
    } = changed;
    let left = run.left(&fleet, names.iter().map(String::as_str));
    let stamps: Vec<(String, String)> = clusters
        .iter()
        .map(|c| (c.name.clone(), c.input.clone()))
        .collect();
    let targets = clusters
        .into_iter()
        .map(|c| {
            let target = Target::compiled_cluster(run.spec, (&fleet, &c.name), (c.compiled, c.text), c.input);
            (c.name, target)
        })
        .collect();
    let mut fleet_report = run.report();
    fleet_report.fleet = Some(fleet.clone());
    let outcome = run_clusters(run, &fleet, targets, left, fleet_report, String::new());
    if let Some(pending) = pending
        && outcome.code == 0
    {
        pending.record(&fleet, &stamps);
    }
    outcome
}

/// The run over the clusters of a fleet whose files are as a recorded run read them, with
/// their recorded input stamps; `None` without such a record (or one with the cluster named).
fn remembered(run: Run, memo: crate::incremental::spec::Memo) -> Option<Outcome> {
    let chosen: Vec<&(String, String)> = match run.cluster {
        Some(name) => vec![memo.clusters.iter().find(|(n, _)| n == name)?],
        None => memo.clusters.iter().collect(),
    };
    let left = run.left(&memo.fleet, memo.clusters.iter().map(|(n, _)| n.as_str()));
    let targets = chosen
        .into_iter()
        .map(|(name, input)| {
            let text = (memo.files.clone(), memo.starts.clone());
            let target = Target::remembered_cluster(run.spec, &memo.fleet, name, input.clone(), text);
            (name.clone(), target)
        })
        .collect();
    let mut fleet_report = run.report();
    fleet_report.fleet = Some(memo.fleet.clone());
    Some(run_clusters(
        run,
        &memo.fleet,
        targets,
        left,
        fleet_report,
        String::new(),
    ))
}

/// Runs each cluster's target, then retires the clusters that `left` the fleet, into one
/// outcome: the clusters' outputs under their names, or one JSON report holding theirs.
fn run_clusters(
    run: Run,
    fleet_name: &str,
    targets: Vec<(String, Target)>,
    left: Vec<String>,
    mut fleet_report: Report,
    stderr: String,
) -> Outcome {
    let Run {
        spec,
        out,
        mode,
        style,
        ..
    } = run;
    let json = style.format == Format::Json;
    let mut outcome = Outcome {
        stderr,
        ..Outcome::default()
    };
    let ran = targets.into_iter().map(|(name, target)| {
        (
            name,
            commands::run_target(target, out, run.blueprints, run.schemas, mode, style),
        )
    });
    let retired = left.into_iter().map(|name| {
        (
            name.clone(),
            super::retire::retire(spec, out, fleet_name, &name, mode, style),
        )
    });
    for (name, mut one) in ran.chain(retired) {
        outcome.code = outcome.code.max(one.code);
        outcome.stderr.push_str(&one.stderr);
        outcome.retained.0.append(&mut one.retained.0);
        if json {
            fleet_report.clusters.push(ClusterReport {
                cluster: name,
                report: cluster_report(&one, || run.report()),
            });
        } else {
            outcome.stdout.push_str(&headed(&name, &one.stdout));
        }
    }
    if json {
        outcome.stdout = fleet_report.exit(outcome.code).to_text();
    }
    outcome
}

/// Each cluster of the fleet as a target to run: taken as current when its tree is what this
/// very spec rendered (a `plain` run: no `--blueprints` or `--schemas`), else checked; and the
/// diagnostics of the clusters that do not compile.
#[allow(
    clippy::type_complexity,
    reason = "the two lists a caller takes apart at once"
)]
fn cluster_targets<'a>(
    spec: &'a Path,
    out: &Path,
    fleet_name: &str,
    clusters: Vec<Cluster>,
    (plain, record): (bool, bool),
    mode: Mode,
    style: Style,
) -> (
    Vec<(String, Target<'a>)>,
    Vec<(String, Vec<Diagnostic>)>,
    Vec<ClusterRecord>,
) {
    let spec_dir = super::spec_dir(spec);
    // A cluster whose tree is what this very spec rendered needs no checking first: its
    // command takes it as current without rendering, as a cluster spec's does.
    let current = |name: &str, input: &str| {
        plain
            && !style.full
            && matches!(mode, Mode::Check | Mode::Build { force: false })
            && emit::unchanged_for(out, &Owner::fleet_cluster(fleet_name, name), input, &spec_dir).is_some()
    };
    let mut targets = Vec::new();
    let mut failures = Vec::new();
    let mut records = Vec::new();
    for Cluster {
        name,
        loaded,
        overrides,
    } in clusters
    {
        let layout = Layout::of(&loaded.source);
        let hashes = app_hashes(&loaded, &layout);
        let input = input_from(&loaded, &layout, &hashes.digests);
        if record {
            records.push(crate::incremental::apps::cluster_record(
                &name, &loaded, &hashes, overrides,
            ));
        }
        if current(&name, &input) {
            let target = Target::fleet_cluster(spec, fleet_name, &name, loaded, input);
            targets.push((name, target));
            continue;
        }
        match crate::check_loaded_hashed(loaded, &spec_dir, Some(hashes.data)) {
            Ok(checked) => {
                let checked = named(checked, &name);
                let target = Target::checked_cluster(spec, fleet_name, &name, checked, input);
                targets.push((name, target));
            }
            Err(failure) => failures.push((name, failure.diagnostics)),
        }
    }
    (targets, failures, records)
}

/// The report of one cluster's run: the one it printed, or (when it printed none, as for an
/// error of the output root in text) its exit code and what it wrote on stderr.
fn cluster_report(one: &Outcome, report: impl Fn() -> Report) -> Report {
    Report::parse(&one.stdout).unwrap_or_else(|| {
        let d = Diagnostic::error(Code::Output, one.stderr.trim().to_string());
        report().exit(one.code).diagnostics(&[d], None)
    })
}

/// Exit 2 with the errors of the clusters that did not check, each once.
fn failed_clusters(
    mut report: Report,
    failures: Vec<(String, Vec<Diagnostic>)>,
    source: &Source,
    style: Style,
) -> Outcome {
    let merged = merged(failures);
    if style.format == Format::Json {
        report.diagnostics.clear();
        return Outcome {
            code: 2,
            stdout: report.exit(2).diagnostics(&merged, Some(source)).to_text(),
            stderr: String::new(),
            ..Outcome::default()
        };
    }
    Outcome {
        code: 2,
        stdout: String::new(),
        stderr: diagnostic::render(&merged, Some(source), style.color_err),
        ..Outcome::default()
    }
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

/// Opens `spec`: a fleet, expanded, with only the cluster `cluster` when one is named. An
/// error prints as `report` (of the command) in JSON.
fn opened(spec: &Path, cluster: Option<&str>, style: Style, report: impl Fn() -> Report) -> Opened {
    let fail = |diagnostics: Vec<Diagnostic>, source: Option<Source>| {
        Opened::Failed(failed(Failure { source, diagnostics }, style, report()))
    };
    let mut fleet = match super::load_if_fleet(spec) {
        None if cluster.is_none() => return Opened::Cluster,
        None => {
            let d = Diagnostic::error(
                Code::NotAFleet,
                format!(
                    "`--cluster` selects a cluster of a fleet spec; `{}` is not one",
                    spec.display()
                ),
            )
            .help("drop `--cluster`: a cluster spec is one cluster");
            return fail(vec![d], None);
        }
        Some(Err(f)) => return fail(f.diagnostics, f.source),
        Some(Ok(fleet)) => fleet,
    };
    if let Some(name) = cluster {
        if !fleet.clusters.iter().any(|c| c.name == name) {
            let d = Diagnostic::error(
                Code::UnknownCluster,
                format!("the fleet `{}` has no cluster `{name}`", fleet.name),
            )
            .help(clusters_help(&fleet, name));
            return fail(vec![d], None);
        }
        fleet.clusters.retain(|c| c.name == name);
        // The fleet's warnings are about all its clusters.
        fleet.warnings.clear();
    }
    Opened::Fleet(fleet)
}

/// The help of a `--cluster` the fleet does not have: the nearest name, or all of them.
fn clusters_help(fleet: &Fleet, name: &str) -> String {
    let names = fleet.clusters.iter().map(|c| c.name.as_str());
    match crate::spec::schema::did_you_mean(name, names) {
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
    }
}

/// `gitopsc validate SPEC [--cluster NAME] [--schemas DIR]`.
pub fn validate(spec: &Path, cluster: Option<&str>, schemas: Option<&Path>, style: Style) -> Outcome {
    let report = || Report::new(CommandName::Validate, &spec.display().to_string(), None);
    let fleet = match opened(spec, cluster, style, report) {
        Opened::Cluster => return commands::validate(spec, schemas, style),
        Opened::Failed(outcome) => return outcome,
        Opened::Fleet(fleet) => fleet,
    };
    let json = style.format == Format::Json;
    let spec_dir = super::spec_dir(spec);
    let mut outcome = Outcome::default();
    let mut fleet_report = report().diagnostics(&fleet.warnings, Some(&fleet.source));
    fleet_report.fleet = Some(fleet.name.clone());
    let mut warnings = fleet.warnings.clone();
    let mut failures = Vec::new();
    for Cluster { name, loaded, .. } in fleet.clusters {
        let checked = crate::check_loaded(loaded, &spec_dir).and_then(|mut checked| {
            let found = commands::rendered_checks(&checked, schemas).map_err(|diagnostics| Failure {
                source: Some(checked.source.clone()),
                diagnostics,
            })?;
            checked.warnings.extend(found);
            Ok(checked)
        });
        let checked = match checked {
            Ok(checked) => named(checked, &name),
            Err(failure) => {
                failures.push((name, failure.diagnostics));
                continue;
            }
        };
        warnings.extend(checked.warnings.iter().cloned());
        let summary = ModelSummary {
            cluster: name.clone(),
            apps: checked.model.apps.len(),
            kustomizations: checked.model.kustomizations().count(),
        };
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let _ = writeln!(
            outcome.stdout,
            "{} is valid: cluster `{name}` of fleet `{}`, {} app{}, {} Flux Kustomization{}",
            spec.display(),
            fleet.name,
            summary.apps,
            plural(summary.apps),
            summary.kustomizations,
            plural(summary.kustomizations),
        );
        let mut one = report().diagnostics(&checked.warnings, Some(&fleet.source));
        one.model = Some(summary);
        fleet_report.clusters.push(ClusterReport {
            cluster: name,
            report: one,
        });
    }
    if !failures.is_empty() {
        return failed_clusters(fleet_report, failures, &fleet.source, style);
    }
    if json {
        outcome.stdout = fleet_report.to_text();
    } else if style.quiet {
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

/// Exit 2 with the diagnostics of a spec that did not expand, or of a wrong `--cluster`.
fn failed(f: Failure, style: Style, report: Report) -> Outcome {
    if style.format == Format::Json {
        return Outcome {
            code: 2,
            stdout: report
                .exit(2)
                .diagnostics(&f.diagnostics, f.source.as_ref())
                .to_text(),
            stderr: String::new(),
            ..Outcome::default()
        };
    }
    Outcome {
        code: 2,
        stdout: String::new(),
        stderr: diagnostic::render(&f.diagnostics, f.source.as_ref(), style.color_err),
        ..Outcome::default()
    }
}
