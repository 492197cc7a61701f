//! `--schemas DIR`: every object of a rendered tree checked against JSON schemas laid out as
//! the community CRD catalogs are (`<group>/<kind>_<version>.json`, `core/` for the core
//! group; kubeconform's `<kind>-<group>-<version>.json` names for built-in kinds also found at
//! the top), offline. Schemas are used as written: strict ones (every object closed) refuse
//! unknown fields.

use super::Tree;
use crate::diagnostic::{Code, Diagnostic};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most problems reported per object.
const PER_OBJECT: usize = 5;

/// Checks every object of `tree` against the schemas in `dir`: an error per object that does
/// not validate (or whose schema does not compile), one warning naming the objects whose kind
/// has no schema there.
pub fn check(tree: &Tree, dir: &Path) -> Vec<Diagnostic> {
    if !dir.is_dir() {
        return vec![
            Diagnostic::error(
                Code::SchemasNotDirectory,
                format!("`--schemas {}` is not a directory", dir.display()),
            )
            .help("pass a folder laid out as `<group>/<kind>_<version>.json` (`core/` for v1 kinds)"),
        ];
    }
    let mut cache: BTreeMap<PathBuf, Option<Result<jsonschema::Validator, String>>> = BTreeMap::new();
    let mut diags = Vec::new();
    let mut unknown = Vec::new();
    for (path, bytes) in tree.iter() {
        if !path.ends_with(".yaml") {
            continue;
        }
        for doc in serde_yaml::Deserializer::from_slice(bytes) {
            let Ok(object) = <Value as serde::Deserialize>::deserialize(doc) else {
                diags.push(Diagnostic::error(
                    Code::RenderedObjectNotYaml,
                    format!("`{path}` is not valid YAML"),
                ));
                break;
            };
            let text = |p: &str| {
                object
                    .pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let (api_version, kind, name) = (text("/apiVersion"), text("/kind"), text("/metadata/name"));
            if api_version.starts_with("kustomize.config.k8s.io/") || kind.is_empty() {
                continue;
            }
            let found = candidates(dir, &api_version, &kind)
                .into_iter()
                .find(|p| p.is_file());
            let Some(file) = found else {
                unknown.push(format!("{kind} {name} ({api_version})"));
                continue;
            };
            let validator = cache.entry(file.clone()).or_insert_with(|| Some(compile(&file)));
            match validator {
                Some(Ok(v)) => {
                    let errors: Vec<String> = v
                        .iter_errors(&object)
                        .take(PER_OBJECT)
                        .map(|e| format!("at `{}`: {e}", e.instance_path()))
                        .collect();
                    if !errors.is_empty() {
                        diags.push(
                            Diagnostic::error(
                                Code::SchemaViolation,
                                format!(
                                    "`{path}`: {kind} `{name}` does not match {}: {}",
                                    file.display(),
                                    errors.join("; ")
                                ),
                            )
                            .help("fix the field in the spec, the manifest or the patch that writes it"),
                        );
                    }
                }
                Some(Err(e)) => {
                    diags.push(Diagnostic::error(
                        Code::SchemaUnusable,
                        format!("the schema {} cannot be used: {e}", file.display()),
                    ));
                    *validator = None;
                }
                None => {}
            }
        }
    }
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().take(8).map(String::as_str).collect();
        diags.push(
            Diagnostic::warning(
                Code::SchemaMissing,
                format!(
                    "{} object{} not checked: no schema in {} for {}{}",
                    unknown.len(),
                    if unknown.len() == 1 { "" } else { "s" },
                    dir.display(),
                    shown.join(", "),
                    if unknown.len() > shown.len() { ", ..." } else { "" }
                ),
            )
            .help("add their schemas as `<group>/<kind>_<version>.json`"),
        );
    }
    diags
}

/// Where the schema of a kind may be: the catalogs' name, then kubeconform's.
fn candidates(dir: &Path, api_version: &str, kind: &str) -> Vec<PathBuf> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = kind.to_lowercase();
    let folder = if group.is_empty() { "core" } else { group };
    let mut out = vec![dir.join(folder).join(format!("{kind}_{version}.json"))];
    match group.split('.').next().filter(|g| !g.is_empty()) {
        None => out.push(dir.join(format!("{kind}-{version}.json"))),
        Some(prefix) => out.push(dir.join(format!("{kind}-{prefix}-{version}.json"))),
    }
    out
}

/// A schema file compiled, or why not.
fn compile(file: &Path) -> Result<jsonschema::Validator, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let schema: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    jsonschema::options()
        .should_validate_formats(false)
        .build(&schema)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_looked_up_as_catalogs_and_kubeconform_name_them() {
        let dir = Path::new("s");
        assert_eq!(
            candidates(dir, "v1", "ConfigMap"),
            [dir.join("core/configmap_v1.json"), dir.join("configmap-v1.json")]
        );
        assert_eq!(
            candidates(dir, "networking.k8s.io/v1", "NetworkPolicy"),
            [
                dir.join("networking.k8s.io/networkpolicy_v1.json"),
                dir.join("networkpolicy-networking-v1.json")
            ]
        );
    }

    #[test]
    fn unknown_fields_fail_against_a_strict_schema() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("core")).unwrap();
        std::fs::write(
            dir.path().join("core/configmap_v1.json"),
            r#"{"type": "object", "additionalProperties": false,
                "properties": {"apiVersion": {}, "kind": {}, "metadata": {}, "data": {"type": "object"}}}"#,
        )
        .unwrap();
        let mut tree = Tree::new();
        tree.insert(
            "a/cm.yaml".into(),
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndatta: {}\n".to_vec(),
        );
        tree.insert(
            "a/w.yaml".into(),
            b"apiVersion: x.io/v1\nkind: W\nmetadata: {name: w}\n".to_vec(),
        );
        let diags = check(&tree, dir.path());
        assert!(
            diags[0].is_error() && diags[0].message.contains("datta"),
            "{diags:?}"
        );
        assert!(
            !diags[1].is_error() && diags[1].message.contains("W w (x.io/v1)"),
            "{diags:?}"
        );
        assert_eq!(diags.len(), 2);
    }
}
