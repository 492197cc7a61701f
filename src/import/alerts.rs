//! An app's alert rules: its one `PrometheusRule` (or VictoriaMetrics `VMRule`), as the spec's
//! `alerts` (and `ruleName` when the object is not named after the app).

use super::read::Object;
use serde_json::{Map, Value, json};

/// True for a rule object of either flavour.
fn is_rule(object: &Object) -> bool {
    object.is("monitoring.coreos.com", "PrometheusRule")
        || object.is("operator.victoriametrics.com", "VMRule")
}

/// The app's `alerts` and `ruleName`, when it has exactly one rule object and every rule is
/// one the spec can say (an alert with a known severity and a summary).
pub fn alerts(app: &str, objects: &[Object], spec: &mut Map<String, Value>) {
    let mut rules = objects.iter().filter(|o| is_rule(o));
    let (Some(rule), None) = (rules.next(), rules.next()) else {
        return;
    };
    let Some(groups) = rule.value.pointer("/spec/groups").and_then(Value::as_array) else {
        return;
    };
    let Some(alerts) = groups.iter().map(group).collect::<Option<Vec<Value>>>() else {
        return;
    };
    if rule.name() != app {
        spec.insert("ruleName".into(), json!(rule.name()));
    }
    spec.insert("alerts".into(), Value::Array(alerts));
}

fn group(group: &Value) -> Option<Value> {
    let mut out = Map::new();
    out.insert("name".into(), group.get("name")?.clone());
    if let Some(interval) = group.get("interval") {
        out.insert("interval".into(), interval.clone());
    }
    let rules = group
        .get("rules")?
        .as_array()?
        .iter()
        .map(rule)
        .collect::<Option<Vec<Value>>>()?;
    out.insert("rules".into(), Value::Array(rules));
    Some(Value::Object(out))
}

fn rule(rule: &Value) -> Option<Value> {
    let mut out = Map::new();
    out.insert("alert".into(), rule.get("alert")?.clone());
    out.insert("expr".into(), rule.get("expr")?.clone());
    for (from, to) in [("for", "for"), ("keep_firing_for", "keepFiringFor")] {
        if let Some(v) = rule.get(from) {
            out.insert(to.into(), v.clone());
        }
    }
    let mut labels = rule
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let severity = labels.remove("severity")?;
    if !matches!(severity.as_str(), Some("critical" | "warning" | "info")) {
        return None;
    }
    out.insert("severity".into(), severity);
    let mut annotations = rule
        .get("annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    out.insert("summary".into(), annotations.remove("summary")?);
    for (from, to) in [("description", "description"), ("runbook_url", "runbookUrl")] {
        if let Some(v) = annotations.remove(from) {
            out.insert(to.into(), v);
        }
    }
    for (key, map) in [("labels", labels), ("annotations", annotations)] {
        if !map.is_empty() {
            out.insert(key.into(), Value::Object(map));
        }
    }
    Some(Value::Object(out))
}
