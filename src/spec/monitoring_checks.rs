//! Checks of the app's alert rules that the schema cannot say: annotations that their own
//! fields already write.

use super::path::SpecPath;
use super::places::Places;
use super::workload::{AlertGroup, AlertRule};
use super::{AppSpec, ClusterSpec};
use crate::diagnostic::{Code, Diagnostic};

/// The annotations an alert rule writes from its fields.
const FIELD_ANNOTATIONS: &[(&str, &str)] = &[
    ("summary", "summary"),
    ("description", "description"),
    ("runbook_url", "runbookUrl"),
];

/// Every rule's `annotations` that a field of the rule writes.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (a, app) in spec.apps.iter().enumerate() {
        for (g, group) in app.alerts.iter().enumerate() {
            for (r, rule) in group.rules.iter().enumerate() {
                for (key, field) in FIELD_ANNOTATIONS {
                    if rule.annotations.contains_key(*key) {
                        let pointer = SpecPath::app(a)
                            .field(AppSpec::ALERTS)
                            .index(g)
                            .field(AlertGroup::RULES)
                            .index(r)
                            .field(AlertRule::ANNOTATIONS)
                            .key(key);
                        diags.push(
                            Diagnostic::error(
                                Code::AlertRule,
                                format!("annotation `{key}` is written from the rule's `{field}`"),
                            )
                            .at(spans.key(&pointer), "set twice")
                            .help(format!(
                                "move the value to `{field}` and drop it from `annotations`"
                            )),
                        );
                    }
                }
            }
        }
    }
    diags
}
