//! gitopsc: a compiler from one cluster spec to a complete, deterministic Flux tree.
//!
//! The pipeline, top-down:
//! **load** ([`spec::load`]: YAML with source spans) → **validate** ([`spec::schema`] then
//! [`spec::semantic`]: every error at once) → **resolve** ([`model`]: defaults, references,
//! names, paths) → **render** ([`render`]: minijinja blueprints, in parallel) → **emit**
//! ([`emit`]: compare with the output root; write, check or diff).
//!
//! The library never prints and never exits: [`commands`] turns each CLI command into an
//! [`commands::Outcome`] that `main` prints.

pub mod commands;
pub mod diagnostic;
pub mod emit;
pub mod model;
pub mod render;
pub mod source;
pub mod spec;

use diagnostic::{Diagnostic, has_errors};
use emit::Tree;
use emit::lock::hex;
use model::Model;
use source::Source;
use std::path::Path;

/// A spec compiled into a rendered tree.
pub struct Compiled {
    /// The spec file.
    pub source: Source,
    /// The resolved model.
    pub model: Model,
    /// Every rendered file.
    pub tree: Tree,
    /// What the lock file records of the inputs.
    pub stamp: emit::Stamp,
    /// Warnings found on the way.
    pub warnings: Vec<Diagnostic>,
}

/// Why a spec did not compile: all its diagnostics, and the file when it could be read.
pub struct Failure {
    /// The spec file, when it could be read.
    pub source: Option<Source>,
    /// Every diagnostic, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
}

/// A spec that passed validation and resolution.
pub struct Checked {
    /// The spec file.
    pub source: Source,
    /// The resolved model.
    pub model: Model,
    /// `sha256:<hex>` of the spec's data.
    pub spec_hash: String,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
}

/// Loads, validates and resolves a spec.
pub fn check_spec(path: &Path) -> Result<Checked, Failure> {
    let loaded = spec::load::load(path).map_err(|(source, diagnostics)| Failure { source, diagnostics })?;
    // The schema and the spec hash are made side by side; then the spec's JSON (without
    // the nodes the schema rejects, if any) moves into the typed spec, app by app in
    // parallel, and the semantic checks run on that.
    let ((mut diags, pruned), spec_hash) =
        rayon::join(|| spec::schema::validate(&loaded), || data_hash(&loaded.value));
    let typed = spec::typed(pruned.unwrap_or(loaded.value));
    let semantic = typed
        .as_ref()
        .map(|t| spec::semantic::check(t, &loaded.spans))
        .unwrap_or_default();
    diags.extend(semantic);
    let fail = |source: Source, mut diagnostics: Vec<Diagnostic>| {
        diagnostic::sort(&mut diagnostics);
        Failure {
            source: Some(source),
            diagnostics,
        }
    };
    if has_errors(&diags) {
        return Err(fail(loaded.source, diags));
    }
    let Some(mut typed) = typed else {
        let d =
            Diagnostic::error("the spec does not match the schema").help("run `gitopsc schema` to see it");
        return Err(fail(loaded.source, vec![d]));
    };
    // The typed spec is freed after resolution, beside what follows.
    let (model, found) = model::resolve(&mut typed, &loaded.spans);
    rayon::spawn(move || drop(typed));
    diags.extend(found);
    let Some(model) = model else {
        return Err(fail(loaded.source, diags));
    };
    diagnostic::sort(&mut diags);
    Ok(Checked {
        source: loaded.source,
        model,
        spec_hash,
        warnings: diags,
    })
}

/// `sha256:<hex>` of a spec's data: of its compact JSON (maps sorted by key). The apps are
/// serialized in parallel and hashed in order: the bytes are those of the whole.
fn data_hash(value: &serde_json::Value) -> String {
    use rayon::prelude::*;
    use sha2::Digest;
    let json = |v: &serde_json::Value| serde_json::to_vec(v).unwrap_or_default();
    let mut hash = sha2::Sha256::new();
    match value {
        serde_json::Value::Object(root) => {
            hash.update(b"{");
            for (i, (key, v)) in root.iter().enumerate() {
                if i > 0 {
                    hash.update(b",");
                }
                hash.update(serde_json::to_vec(key).unwrap_or_default());
                hash.update(b":");
                match v {
                    serde_json::Value::Array(items) if key == "apps" => {
                        let pieces: Vec<Vec<u8>> = items.par_iter().map(json).collect();
                        hash.update(b"[");
                        for (j, piece) in pieces.iter().enumerate() {
                            if j > 0 {
                                hash.update(b",");
                            }
                            hash.update(piece);
                        }
                        hash.update(b"]");
                    }
                    _ => hash.update(json(v)),
                }
            }
            hash.update(b"}");
        }
        _ => hash.update(json(value)),
    }
    format!("sha256:{}", hex(&hash.finalize()))
}

/// A checked spec and the blueprints that render it: everything but the rendering.
pub struct Prepared {
    /// The checked spec.
    pub checked: Checked,
    /// The template environment.
    pub blueprints: render::Blueprints,
    /// What the lock file records of the inputs.
    pub stamp: emit::Stamp,
}

/// Checks a spec and compiles the built-in blueprints or, for those it finds there, the ones
/// in `blueprints`.
pub fn prepare(path: &Path, blueprints: Option<&Path>) -> Result<Prepared, Failure> {
    // The blueprints compile while the spec loads.
    let (checked, engine) = rayon::join(|| check_spec(path), || render::Blueprints::load(blueprints));
    let checked = checked?;
    let engine = engine.map_err(|diagnostics| Failure {
        source: Some(checked.source.clone()),
        diagnostics,
    })?;
    let stamp = emit::Stamp {
        input: if blueprints.is_none() {
            emit::Stamp::input_of(&checked.source.text)
        } else {
            String::new()
        },
        spec: checked.spec_hash.clone(),
    };
    Ok(Prepared {
        checked,
        blueprints: engine,
        stamp,
    })
}

impl Prepared {
    /// Renders the tree.
    pub fn render(self) -> Result<Compiled, Failure> {
        let Prepared {
            checked,
            blueprints,
            stamp,
        } = self;
        let tree = render::render(&checked.model, &blueprints).map_err(|diagnostics| Failure {
            source: Some(checked.source.clone()),
            diagnostics,
        })?;
        Ok(Compiled {
            source: checked.source,
            model: checked.model,
            tree,
            stamp,
            warnings: checked.warnings,
        })
    }
}

/// Compiles a spec into its rendered tree, with the built-in blueprints or, for those it
/// finds there, the ones in `blueprints`.
pub fn compile(path: &Path, blueprints: Option<&Path>) -> Result<Compiled, Failure> {
    prepare(path, blueprints)?.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::lock::sha256_hex;

    #[test]
    fn the_data_hash_is_that_of_the_whole_json() {
        let value = serde_json::json!({
            "a\"pi": 1, "apps": [{"name": "x", "v": [1.5, null]}, {"name": "é"}], "z": {"apps": []}
        });
        let whole = format!("sha256:{}", sha256_hex(&serde_json::to_vec(&value).unwrap()));
        assert_eq!(data_hash(&value), whole);
        let no_apps = serde_json::json!({"a": 1});
        let whole = format!("sha256:{}", sha256_hex(&serde_json::to_vec(&no_apps).unwrap()));
        assert_eq!(data_hash(&no_apps), whole);
    }
}
