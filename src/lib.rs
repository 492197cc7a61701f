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

pub mod charts;
pub mod commands;
pub mod diagnostic;
pub mod digest;
pub mod disk;
pub mod emit;
pub mod fleet;
pub mod git;
pub mod import;
pub mod incremental;
pub mod json;
pub mod kinds;
pub mod model;
pub mod render;
pub mod source;
pub mod spec;
pub mod target;

use diagnostic::{Code, Diagnostic, has_errors};
use emit::Tree;
use model::Model;
use source::Source;
use std::path::Path;

/// A spec compiled into a rendered tree.
pub struct Compiled {
    /// The spec file.
    pub source: Source,
    /// The resolved model (its apps released as they rendered, [`model::App::release`], by
    /// [`Prepared::render_reusing`]); `None` for a tree known from the lock file of the run
    /// that wrote it, without a compile ([`incremental::beneath`]).
    pub model: Option<Model>,
    /// Every rendered file.
    pub tree: Tree,
    /// What was taken from the last build instead of rendered: the apps whose files are on
    /// disk as this build renders them ([`incremental`]); its `kept` files are not in `tree`.
    pub reuse: incremental::Reuse,
    /// What the lock file records of the inputs.
    pub stamp: emit::Stamp,
    /// Warnings found on the way.
    pub warnings: Vec<Diagnostic>,
}

impl Compiled {
    /// How many files the tree has: those rendered and those kept.
    pub fn file_count(&self) -> usize {
        self.tree.len() + self.reuse.kept_len()
    }
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
    /// The vendored charts folder its values were checked against, as the lock records it.
    pub charts: Option<emit::lock::ChartsStamp>,
    /// Whether the spec reads manifest files beside it: the tree then depends on more than
    /// the spec's text, and is never taken as current without rendering.
    pub reads_files: bool,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
}

/// Loads, validates and resolves a spec.
pub fn check_spec(path: &Path) -> Result<Checked, Failure> {
    let loaded = spec::load::load(path).map_err(|(source, diagnostics)| Failure { source, diagnostics })?;
    check_loaded(loaded, path.parent().unwrap_or(Path::new("")))
}

/// Validates and resolves a loaded spec (a file's, or a cluster of a fleet's) whose file is
/// in `spec_dir`: the vendored charts and manifest files it names are read from there.
pub fn check_loaded(loaded: spec::load::Loaded, spec_dir: &Path) -> Result<Checked, Failure> {
    check_loaded_hashed(loaded, spec_dir, None)
}

/// [`check_loaded`] of a spec whose apps' data hashes ([`spec::app_hash`]) may be made
/// already (`app_hashes`, in the order of its apps).
pub fn check_loaded_hashed(
    loaded: spec::load::Loaded,
    spec_dir: &Path,
    app_hashes: Option<Vec<[u8; 32]>>,
) -> Result<Checked, Failure> {
    // Each app's data is made JSON, hashed, validated and typed on its own, apps in
    // parallel; the JSON of the whole spec is never made.
    let spec::typing::Typed {
        diagnostics: mut diags,
        spec: mut typed,
        hash: spec_hash,
    } = spec::typing::validate_and_type(&loaded, app_hashes);
    if let Some(typed) = &mut typed {
        typed.tree_root.clone_from(&loaded.tree_root);
    }
    // Typed, the spec's data is read no more from the loaded tree: only its places.
    let spec::load::Loaded {
        source,
        spans,
        tree_root: _,
    } = loaded;
    let places = spec::places::Places::of(spans);
    // Chart values are checked against the vendored charts beside the spec (read from disk)
    // while the semantic checks run.
    let (semantic, (chart_values, charts)) = rayon::join(
        || typed.as_ref().map(|t| spec::semantic::check(t, &places)),
        || {
            typed
                .as_ref()
                .map(|t| spec::chart_values::check(t, &places, spec_dir))
                .unwrap_or_default()
        },
    );
    diags.extend(semantic.unwrap_or_default());
    diags.extend(chart_values);
    let fail = |source: Source, mut diagnostics: Vec<Diagnostic>| {
        diagnostic::sort(&mut diagnostics);
        Failure {
            source: Some(source),
            diagnostics,
        }
    };
    let spec_ok = !has_errors(&diags);
    let Some(mut typed) = typed else {
        if !spec_ok {
            return Err(fail(source, diags));
        }
        let d = Diagnostic::error(Code::SchemaMismatch, "the spec does not match the schema")
            .help("run `gitopsc schema` to see it");
        return Err(fail(source, vec![d]));
    };
    // Resolution's checks (references, chart wiring) run even when the spec's own found
    // errors, so one run reports both kinds.
    let dir = if spec_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        spec_dir
    };
    let reads_files = typed
        .apps
        .iter()
        .any(|a| a.manifests.iter().any(|m| m.path.is_some()));
    let (user, read) = spec::manifests::read(&typed, dir, &places);
    let spec_ok = spec_ok && !has_errors(&read);
    diags.extend(read);
    let markers = spec::image_markers::check(&typed, &source, &places, typed.tree_root.is_empty());
    let spec_ok = spec_ok && !has_errors(&markers);
    diags.extend(markers);
    let patched = spec::patches::check(&typed, &places);
    let spec_ok = spec_ok && !has_errors(&patched);
    diags.extend(patched);
    let (model, found) = model::resolve(&mut typed, &places, spec_ok, &user);
    // The typed spec and the places, needed no more, are freed beside what follows.
    rayon::spawn(move || drop((typed, places)));
    diags.extend(found);
    let Some(model) = model else {
        return Err(fail(source, diags));
    };
    diagnostic::sort(&mut diags);
    Ok(Checked {
        source,
        model,
        spec_hash,
        charts,
        reads_files,
        warnings: diags,
    })
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
    prepare_with(|| check_spec(path), blueprints)
}

/// [`prepare`] of the spec `check` checks.
pub fn prepare_with(
    check: impl FnOnce() -> Result<Checked, Failure> + Send,
    blueprints: Option<&Path>,
) -> Result<Prepared, Failure> {
    // The schema's validators and the blueprints compile while the spec loads.
    let (checked, engine) = rayon::join(check, || {
        spec::schema::compile_validators();
        render::Blueprints::load(blueprints)
    });
    let checked = checked?;
    let engine = engine.map_err(|diagnostics| Failure {
        source: Some(checked.source.clone()),
        diagnostics,
    })?;
    let stamp = emit::Stamp {
        input: if blueprints.is_none() && !checked.reads_files {
            emit::Stamp::input_of(&checked.source.text)
        } else {
            String::new()
        },
        spec: checked.spec_hash.clone(),
        charts: checked.charts.clone(),
        warnings: emit::lock::Warning::record(&checked.warnings),
        owner: emit::owner::Owner::default(),
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
        self.render_reusing(|_| incremental::Reuse::default())
    }

    /// Renders the tree but for the apps that `recall` finds on disk as rendered (the
    /// incremental path, [`incremental::recall`]: only with the built-in blueprints),
    /// releasing each app it renders from the model ([`render::render_releasing`]).
    pub fn render_reusing(
        self,
        recall: impl FnOnce(&Model) -> incremental::Reuse,
    ) -> Result<Compiled, Failure> {
        let Prepared {
            mut checked,
            blueprints,
            stamp,
        } = self;
        let mut reuse = recall(&checked.model);
        // Each app's items are released once its files render: the tree, held whole, takes
        // the memory they give up.
        let skip = |i: usize| reuse.skips(i);
        let rendered = render::render_releasing(&mut checked.model, &blueprints, &skip, reuse.keys());
        let (tree, keys) = rendered.map_err(|diagnostics| Failure {
            source: Some(checked.source.clone()),
            diagnostics,
        })?;
        reuse.set_keys(keys);
        Ok(Compiled {
            source: checked.source,
            model: Some(checked.model),
            tree,
            reuse,
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

    /// A spec of `apps` apps, the one at `broken` (if any) with a field the schema refuses.
    fn large_spec(apps: usize, broken: Option<usize>) -> String {
        let mut text =
            String::from("apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: big}\napps:\n");
        for i in 0..apps {
            text.push_str(&format!(
                "  - name: app{i}\n    helm:\n      chart: podinfo\n      version: 6.7.{i}\n      source: podinfo\n      values: {{replicas: {i}, ui: {{message: \"hi: #{i}\"}}, empty: {{}}}}\n"
            ));
            if broken == Some(i) {
                text.push_str("    colour: blue\n");
            }
        }
        text.push_str(
            "sources:\n  helm:\n    - {name: podinfo, url: https://stefanprodan.github.io/podinfo}\n",
        );
        text
    }

    #[test]
    fn a_large_spec_with_a_refused_app_is_reported_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.yaml");
        std::fs::write(&path, large_spec(200, None)).unwrap();
        assert_eq!(check_spec(&path).ok().unwrap().model.apps.len(), 200);
        std::fs::write(&path, large_spec(200, Some(150))).unwrap();
        let failure = check_spec(&path).err().unwrap();
        // Warnings (the charts' Pod Security) may come along; the one error is the field.
        let errors: Vec<_> = failure.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("unknown field `colour`"));
        let span = errors[0].span.unwrap();
        let text = &failure.source.unwrap().text;
        assert_eq!(&text[span.start..span.end], "colour");
    }
}
