//! Checks the keys a spec sets below the sections of a known chart's values that gitopsc
//! wires (Harbor's `redis.external`, `database.external`) against the keys the chart reads:
//! Helm ignores a key no template reads, so a misspelt one (`trivyAdapterDatabaseIndex` for
//! `trivyAdapterIndex`) installs a release that silently uses the chart's default.

use crate::charts::table::{Chart, KnownSection, get_path, version_of};
use crate::diagnostic::{Code, Diagnostic};
use crate::spec::path::SpecPath;
use crate::spec::places::Places;
use crate::spec::schema::did_you_mean;
use crate::spec::{AppSpec, HelmSpec};
use serde_json::{Map, Value};

/// Reports every key below a known section that the chart (at `version`) does not read: an
/// error for a version the table covers, a warning for one outside it (the chart may have
/// gained the key).
pub fn check(
    chart: &Chart,
    version: &str,
    values: &Map<String, Value>,
    base: &SpecPath,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    let parsed = version_of(version);
    let (first, last) = chart.versions;
    let covered = parsed.is_some_and(|v| first <= v && v <= last);
    for section in chart.known_keys {
        let Some(Value::Object(map)) = get_path(values, section.section) else {
            continue;
        };
        let known: Vec<&str> = section
            .keys
            .iter()
            .filter(|(_, since)| !covered || since.is_none_or(|s| parsed.is_some_and(|v| v >= s)))
            .map(|(k, _)| *k)
            .collect();
        let pointer = base
            .field(AppSpec::HELM)
            .field(HelmSpec::VALUES)
            .keys(section.section.split('.'));
        let ctx = Section {
            chart,
            version,
            covered,
            section,
            known: &known,
        };
        ctx.walk(map, "", &pointer, spans, diags);
    }
}

/// One section being checked.
struct Section<'a> {
    chart: &'a Chart,
    version: &'a str,
    covered: bool,
    section: &'a KnownSection,
    known: &'a [&'a str],
}

impl Section<'_> {
    /// Checks the keys of `map`, found at `prefix` (dotted, below the section).
    fn walk(
        &self,
        map: &Map<String, Value>,
        prefix: &str,
        pointer: &SpecPath,
        spans: &Places,
        diags: &mut Vec<Diagnostic>,
    ) {
        for (key, value) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let at = pointer.key(key);
            let has_children = self.known.iter().any(|k| k.starts_with(&format!("{path}.")));
            if self.known.contains(&path.as_str()) || has_children {
                if let Value::Object(children) = value
                    && has_children
                {
                    self.walk(children, &path, &at, spans, diags);
                }
                continue;
            }
            diags.push(self.unknown(key, prefix, &at, spans));
        }
    }

    /// The diagnostic of a key the chart does not read.
    fn unknown(&self, key: &str, prefix: &str, at: &SpecPath, spans: &Places) -> Diagnostic {
        let siblings = self.known.iter().filter_map(|k| {
            let rest = if prefix.is_empty() {
                Some(*k)
            } else {
                k.strip_prefix(prefix).and_then(|r| r.strip_prefix('.'))
            };
            rest.filter(|r| !r.contains('.'))
        });
        let full = |k: &str| match prefix {
            "" => format!("{}.{k}", self.section.section),
            p => format!("{}.{p}.{k}", self.section.section),
        };
        let suggestion = match did_you_mean(key, siblings.clone()) {
            Some(best) => format!("did you mean `{best}`? "),
            None => String::new(),
        };
        let keys = siblings.map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        let (first, last) = self.chart.versions;
        let span = spans.key(at);
        let path = match prefix {
            "" => key.to_string(),
            p => format!("{p}.{key}"),
        };
        if let Some((_, Some((major, minor)))) = self.section.keys.iter().find(|(k, _)| *k == path) {
            return Diagnostic::error(
                Code::UnknownChartKey,
                format!(
                    "the {} chart {} reads no `{}`: it came with chart {major}.{minor}",
                    self.chart.name,
                    self.version,
                    full(key)
                ),
            )
            .at(span, "too new for this chart")
            .help(format!("use chart {major}.{minor} or later, or remove it"));
        }
        if self.covered {
            Diagnostic::error(Code::UnknownChartKey, format!(
                "the {} chart {} reads no `{}`",
                self.chart.name,
                self.version,
                full(key)
            ))
                .at(span, "unknown key")
                .help(format!(
                    "{suggestion}Helm ignores a key no template reads, so the release would run with the chart's default; the keys it reads here: {keys}"
                ))
        } else {
            Diagnostic::warning(Code::UnknownChartKeyNewChart, format!(
                "the {} chart reads no `{}` in the versions gitopsc knows",
                self.chart.name,
                full(key)
            ))
                .at(span, "unknown key")
                .help(format!(
                    "{suggestion}gitopsc knows the keys of chart versions {}.{}–{}.{}, and this version may read more; the keys it knows here: {keys}",
                    first.0, first.1, last.0, last.1
                ))
        }
    }
}
