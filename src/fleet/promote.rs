//! `gitopsc diff FLEET --cluster production --against staging`: what `production` would
//! change to match `staging`, for the apps both run — value by value, each with the place in
//! the fleet file it comes from on each side, so a promotion is an edit of the right line
//! (the shared definition, or a cluster's override). Lists compare as the override rules
//! merge them: named items by name, other lists whole.

use super::expand::{Cluster, Fleet};
use super::merge::{REPLACED_NAMED_LISTS, SchemaAt};
use super::show::{apps_of, failed, find_cluster, open, ticked};
use crate::commands::{Format, Outcome, Style};
use crate::diagnostic::{Code, Diagnostic};
use crate::json::{Change, CommandName, PromotedApp, Promotion, Report, ValueChange};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// `gitopsc diff FLEET --cluster CLUSTER --against OTHER`. Exit 1 when an app differs.
pub fn diff(spec: &Path, cluster: &str, against: &str, style: Style) -> Outcome {
    let command = CommandName::Diff;
    let fleet = match open(spec, command, style) {
        Ok(fleet) => fleet,
        Err(outcome) => return outcome,
    };
    let (to, from) = match (find_cluster(&fleet, cluster), find_cluster(&fleet, against)) {
        (Ok(to), Ok(from)) if to.name != from.name => (to, from),
        (Ok(_), Ok(_)) => {
            let d = Diagnostic::error(
                Code::AgainstItself,
                format!("`--against {against}` names the cluster itself"),
            )
            .help("name another cluster of the fleet: the one whose apps to match");
            return failed(&[d], None, spec, command, style);
        }
        (Err(d), _) | (_, Err(d)) => return failed(&[d], None, spec, command, style),
    };
    let promotion = promotion(&fleet, to, from);
    let differs = promotion.apps.iter().any(|a| !a.changes.is_empty());
    let code = u8::from(differs);
    let stdout = if style.format == Format::Json {
        let mut report = Report::new(command, &spec.display().to_string(), None).exit(code);
        report.fleet = Some(fleet.name.clone());
        report.promotion = Some(promotion);
        report.to_text()
    } else {
        text(&promotion)
    };
    Outcome {
        code,
        stdout,
        ..Outcome::default()
    }
}

/// What `to` would change to match `from`, app by app.
fn promotion(fleet: &Fleet, to: &Cluster, from: &Cluster) -> Promotion {
    let (to_apps, from_apps) = (apps_of(to), apps_of(from));
    let apps = to_apps
        .iter()
        .enumerate()
        .filter_map(|(i, app)| {
            let j = from_apps.iter().position(|a| a == app)?;
            Some(PromotedApp {
                app: (*app).to_string(),
                changes: app_changes(fleet, (to, i), (from, j)),
            })
        })
        .collect();
    let only = |a: &[&str], b: &[&str]| {
        a.iter()
            .filter(|x| !b.contains(x))
            .map(|x| (*x).to_string())
            .collect()
    };
    Promotion {
        cluster: to.name.clone(),
        against: from.name.clone(),
        apps,
        only_in_cluster: only(&to_apps, &from_apps),
        only_in_against: only(&from_apps, &to_apps),
    }
}

/// The promotion as text: a block per app, each value with its places below it.
fn text(p: &Promotion) -> String {
    let mut out = format!(
        "what cluster `{}` would change to match cluster `{}`, app by app (`~` changed, `+` added, `-` removed; each value's place in the fleet file below it)\n",
        p.cluster, p.against
    );
    let flow = |v: &Value| {
        let mut text = String::new();
        crate::render::yaml::flow(v, &mut text);
        text
    };
    for app in &p.apps {
        if app.changes.is_empty() {
            let _ = writeln!(out, "\napp `{}`: the same in both", app.app);
            continue;
        }
        let _ = writeln!(out, "\napp `{}`:", app.app);
        for c in &app.changes {
            let line = match (&c.value, &c.against_value) {
                (Some(a), Some(b)) => format!("~ {}: {} → {}", c.path, flow(a), flow(b)),
                (None, Some(b)) => format!("+ {}: {}", c.path, flow(b)),
                (Some(a), None) => format!("- {}: {}", c.path, flow(a)),
                (None, None) => continue,
            };
            let _ = writeln!(out, "  {line}");
            for (cluster, place) in [(&p.cluster, &c.place), (&p.against, &c.against_place)] {
                if let Some(place) = place {
                    let _ = writeln!(out, "      {cluster}: {place}");
                }
            }
        }
    }
    for (cluster, apps) in [(&p.cluster, &p.only_in_cluster), (&p.against, &p.only_in_against)] {
        if !apps.is_empty() {
            let _ = writeln!(
                out,
                "\nonly `{cluster}` runs {}",
                ticked(apps.iter().map(String::as_str))
            );
        }
    }
    out
}

/// A leaf of an app's value: where it is below the app (JSON pointer) and the value.
type Leaves<'v> = BTreeMap<String, (String, &'v Value)>;

/// The changes from app `to` to app `from`, value by value.
fn app_changes(fleet: &Fleet, (to, i): (&Cluster, usize), (from, j): (&Cluster, usize)) -> Vec<ValueChange> {
    let schema = crate::spec::schema::schema();
    let app_schema = SchemaAt::root(schema).property("apps").and_then(|s| s.items());
    let (mut ours, mut theirs) = (Leaves::new(), Leaves::new());
    let (to_app, from_app) = (to.loaded.app_value(i), from.loaded.app_value(j));
    leaves(&to_app, "", "", app_schema, &mut ours);
    leaves(&from_app, "", "", app_schema, &mut theirs);
    let place = |cluster: &Cluster, index: usize, pointer: &str| {
        cluster
            .loaded
            .spans
            .value(&format!("/apps/{index}{pointer}"))
            .map_or_else(String::new, |span| fleet.place(span))
    };
    let mut paths: Vec<&String> = ours.keys().chain(theirs.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        let (a, b) = (ours.get(path), theirs.get(path));
        let change = match (a, b) {
            (Some((_, x)), Some((_, y))) if x == y => continue,
            (Some(_), Some(_)) => Change::Changed,
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            (None, None) => continue,
        };
        out.push(ValueChange {
            path: path.clone(),
            change,
            value: a.map(|(_, v)| (*v).clone()),
            place: a.map(|(p, _)| place(to, i, p)),
            against_value: b.map(|(_, v)| (*v).clone()),
            against_place: b.map(|(q, _)| place(from, j, q)),
        });
    }
    out
}

/// The leaves of `value`: scalars, empty collections, lists the override rules replace
/// whole, each under its path (`helm.values.image.tag`, `workloads[api].replicas`).
fn leaves<'v>(value: &'v Value, pointer: &str, path: &str, schema: Option<SchemaAt>, out: &mut Leaves<'v>) {
    let join = |segment: &str| {
        let plain = !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let segment = if plain {
            segment.to_string()
        } else {
            serde_json::to_string(segment).unwrap_or_default()
        };
        if path.is_empty() {
            segment
        } else {
            format!("{path}.{segment}")
        }
    };
    let escape = |key: &str| key.replace('~', "~0").replace('/', "~1");
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                let (child, here) = (
                    schema.and_then(|s| s.property(key)),
                    format!("{pointer}/{}", escape(key)),
                );
                match v.as_array() {
                    // As the override rules merge it: by name.
                    Some(items)
                        if child.is_some_and(|s| s.names_items())
                            && !REPLACED_NAMED_LISTS.contains(&key.as_str())
                            && distinct_names(items) =>
                    {
                        for (index, item) in items.iter().enumerate() {
                            let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                            let at = format!("{here}/{index}");
                            leaves(
                                item,
                                &at,
                                &format!("{}[{name}]", join(key)),
                                child.and_then(|s| s.items()),
                                out,
                            );
                        }
                    }
                    _ => leaves(v, &here, &join(key), child, out),
                }
            }
        }
        _ => {
            out.insert(path.to_string(), (pointer.to_string(), value));
        }
    }
}

/// Whether every item of a list has a `name`, and no two the same.
fn distinct_names(items: &[Value]) -> bool {
    let mut names: Vec<&str> = items.iter().filter_map(|i| i.get("name")?.as_str()).collect();
    let all = names.len() == items.len();
    names.sort_unstable();
    all && names.windows(2).all(|w| w[0] != w[1])
}
