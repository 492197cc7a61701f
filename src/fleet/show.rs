//! `gitopsc show FLEET CLUSTER APP`: an app as a cluster runs it — its definition with the
//! cluster's override merged over it — printed as YAML (through the one emitter) with, after
//! each value, the place in the fleet file it comes from.

use super::expand::{Cluster, Fleet};
use crate::commands::{Format, Outcome, Style};
use crate::diagnostic::{self, Code, Diagnostic};
use crate::json::{CommandName, Report, ShownApp, ValuePlace};
use crate::spec::load::SpanNode;
use crate::spec::schema::did_you_mean;
use serde_json::Value;
use std::path::Path;

/// `gitopsc show FLEET CLUSTER APP`.
pub fn show(spec: &Path, cluster: &str, app: &str, style: Style) -> Outcome {
    let command = CommandName::Show;
    let fleet = match open(spec, command, style) {
        Ok(fleet) => fleet,
        Err(outcome) => return outcome,
    };
    let (cluster, index) = match find_app(&fleet, cluster, app) {
        Ok(found) => found,
        Err(d) => return failed(&[d], None, spec, command, style),
    };
    let pointer = format!("/apps/{index}");
    let value = &cluster.loaded.app_value(index);
    let note = |at: &str| {
        cluster
            .loaded
            .spans
            .value(&format!("{pointer}{at}"))
            .map_or_else(String::new, |span| fleet.place(span))
    };
    if style.format == Format::Json {
        let mut places = Vec::new();
        places_of(value, String::new(), &note, &mut places);
        let mut report = Report::new(command, &spec.display().to_string(), None);
        report.fleet = Some(fleet.name.clone());
        report.shown = Some(ShownApp {
            cluster: cluster.name.clone(),
            app: app.to_string(),
            value: value.clone(),
            places,
        });
        return Outcome {
            stdout: report.to_text(),
            ..Outcome::default()
        };
    }
    let mut out = format!(
        "# app `{app}` of cluster `{}` of fleet `{}`, as the cluster runs it; after each value,\n\
         # where in the fleet spec it comes from\n",
        cluster.name, fleet.name
    );
    crate::render::yaml::block_with_notes(value, &note, &mut out);
    out.push('\n');
    Outcome {
        stdout: out,
        ..Outcome::default()
    }
}

/// The place of every value below `value` (the value itself included) that has one.
fn places_of(value: &Value, pointer: String, note: &dyn Fn(&str) -> String, out: &mut Vec<ValuePlace>) {
    let place = note(&pointer);
    if !place.is_empty() {
        out.push(ValuePlace {
            pointer: pointer.clone(),
            place,
        });
    }
    let escape = |key: &str| key.replace('~', "~0").replace('/', "~1");
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                places_of(v, format!("{pointer}/{}", escape(key)), note, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                places_of(v, format!("{pointer}/{i}"), note, out);
            }
        }
        _ => {}
    }
}

/// The fleet in `spec`, or what to print when it is none or does not expand.
pub(super) fn open(spec: &Path, command: CommandName, style: Style) -> Result<Fleet, Outcome> {
    match super::load_if_fleet(spec) {
        Some(Ok(fleet)) => Ok(fleet),
        Some(Err(f)) => Err(failed(&f.diagnostics, f.source.as_ref(), spec, command, style)),
        None => Err(failed(
            &[Diagnostic::error(
                Code::NotAFleet,
                format!("`{}` is not a fleet spec", spec.display()),
            )
            .help("this command compares the clusters of a fleet spec (`kind: Fleet`, docs/fleet.md)")],
            None,
            spec,
            command,
            style,
        )),
    }
}

/// The cluster named `name`, or an error naming the fleet's.
pub(super) fn find_cluster<'f>(fleet: &'f Fleet, name: &str) -> Result<&'f Cluster, Diagnostic> {
    fleet.clusters.iter().find(|c| c.name == name).ok_or_else(|| {
        let names = fleet.clusters.iter().map(|c| c.name.as_str());
        let help = match did_you_mean(name, names.clone()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("its clusters: {}", ticked(names)),
        };
        Diagnostic::error(
            Code::UnknownCluster,
            format!("the fleet `{}` has no cluster `{name}`", fleet.name),
        )
        .help(help)
    })
}

/// The names of the apps a cluster runs, in its order.
pub(super) fn apps_of(cluster: &Cluster) -> Vec<&str> {
    let apps = cluster.loaded.spans.root().get("apps");
    (apps.and_then(SpanNode::as_seq).unwrap_or_default())
        .iter()
        .filter_map(|a| a.get("name")?.as_str())
        .collect()
}

/// The cluster `cluster` and the index of its app `app`, or an error saying which is not.
fn find_app<'f>(fleet: &'f Fleet, cluster: &str, app: &str) -> Result<(&'f Cluster, usize), Diagnostic> {
    let cluster = find_cluster(fleet, cluster)?;
    let apps = apps_of(cluster);
    if let Some(index) = apps.iter().position(|a| *a == app) {
        return Ok((cluster, index));
    }
    let help = match did_you_mean(app, apps.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("the apps it runs: {}", ticked(apps.iter().copied())),
    };
    Err(Diagnostic::error(
        Code::AppNotRun,
        format!("cluster `{}` runs no app `{app}`", cluster.name),
    )
    .help(help))
}

/// Names in backticks, separated by commas.
pub(super) fn ticked<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The outcome of a command that failed with `diags`: rendered on stderr, or in JSON mode a
/// report holding them on stdout.
pub(super) fn failed(
    diags: &[Diagnostic],
    source: Option<&crate::source::Source>,
    spec: &Path,
    command: CommandName,
    style: Style,
) -> Outcome {
    if style.format == Format::Json {
        let report = Report::new(command, &spec.display().to_string(), None)
            .exit(2)
            .diagnostics(diags, source);
        return Outcome {
            code: 2,
            stdout: report.to_text(),
            ..Outcome::default()
        };
    }
    Outcome {
        code: 2,
        stderr: diagnostic::render(diags, source, style.color_err),
        ..Outcome::default()
    }
}
