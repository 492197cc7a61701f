//! Checks of the emitted Flux graph: unique Kustomization names, every folder of the tree
//! written by one owner only, every `dependsOn` resolvable, every Kustomization reachable
//! from the cluster root (listed by the cluster folder's kustomization.yaml, which Flux's
//! root Kustomization applies). The one place where what two apps would both claim in the
//! tree is found: files are written into folders only, so unique folders mean unique paths.

use super::Model;
use crate::diagnostic::{Code, Diagnostic};
use crate::spec::ClusterSpec;
use crate::spec::places::Places;
use std::collections::{BTreeMap, BTreeSet};

/// Checks the model's Flux graph.
pub fn check(model: &Model, spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let app_index: BTreeMap<&str, usize> = spec
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), i))
        .collect();
    let name_span = |app: &str| {
        app_index.get(app).and_then(|i| {
            spans.value(&crate::spec::path::SpecPath::app(*i).field(crate::spec::AppSpec::NAME))
        })
    };
    let externals: BTreeSet<&str> = spec.flux.external.iter().map(|e| e.as_str()).collect();
    let mut names = app_kustomization_names(model, &externals, &name_span, &mut diags);
    reserved_names(model, &mut names, &name_span, &mut diags);
    diags.extend(shared_folders(model, &name_span));
    diags.extend(unreachable(model, &names, &externals));
    diags
}

/// The names of the apps' Flux Kustomizations, each with its app; two alike, or one named
/// like a declared external Kustomization, are errors.
fn app_kustomization_names<'m>(
    model: &'m Model,
    externals: &BTreeSet<&str>,
    name_span: &dyn Fn(&str) -> Option<crate::source::Span>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<&'m str, &'m str> {
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for app in &model.apps {
        for layer in &app.layers {
            let name = layer.kustomization.name.as_str();
            if let Some(other) = names.insert(name, app.name.as_str()) {
                diags.push(
                    Diagnostic::error(Code::KustomizationNameClash, format!(
                        "the Flux Kustomization `{name}` of app `{}` has the same name as one of app `{other}`",
                        app.name
                    ))
                    .at(name_span(&app.name), "")
                    .help("rename one of the apps, or give one another `kustomizationName`"),
                );
            }
            if externals.contains(name) {
                diags.push(
                    Diagnostic::error(Code::KustomizationNameClash, format!(
                        "the Flux Kustomization `{name}` of app `{}` has the name of a declared external Kustomization",
                        app.name
                    ))
                    .at(name_span(&app.name), "")
                    .help("rename the app, or remove the name from `flux.external`"),
                );
            }
        }
    }
    names
}

/// The Flux Kustomizations gitopsc adds itself, and the files of the cluster folder: no app
/// may take their names.
fn reserved_names<'m>(
    model: &'m Model,
    names: &mut BTreeMap<&'m str, &'m str>,
    name_span: &dyn Fn(&str) -> Option<crate::source::Span>,
    diags: &mut Vec<Diagnostic>,
) {
    let own = model
        .shared_sources
        .iter()
        .flat_map(|s| s.sources.iter())
        .map(|s| (&s.kustomization, "applies a shared Helm source"))
        .chain(
            model
                .shared_stores
                .iter()
                .map(|s| (&s.kustomization, "applies the shared secret stores")),
        )
        .chain(
            model
                .image_automation
                .iter()
                .map(|s| (&s.kustomization, "applies the image automation")),
        )
        .chain(
            model
                .gates
                .iter()
                .map(|g| (&g.kustomization, "gates an operator")),
        );
    for (k, what) in own {
        let name = k.name.as_str();
        if let Some(app) = names.get(name) {
            diags.push(
                Diagnostic::error(
                    Code::ReservedAppName,
                    format!("app `{app}` has the name of the Flux Kustomization `{name}`, which {what}"),
                )
                .at(name_span(app), "reserved name")
                .help("rename the app"),
            );
        }
        names.insert(name, "");
    }
    for app in &model.apps {
        if matches!(
            app.name.as_str(),
            "kustomization" | "sources" | "operators" | "secret-stores"
        ) {
            diags.push(
                Diagnostic::error(Code::ReservedAppName, format!("the app name `{}` is reserved", app.name))
                    .at(name_span(&app.name), "reserved name")
                    .help("the cluster folder holds `kustomization.yaml`, `sources.yaml`, `operators.yaml` and `secret-stores.yaml`: rename the app"),
            );
        }
    }
}

/// Flux Kustomizations the cluster root does not reach, and dependencies on ones the tree
/// does not contain: gitopsc's own mistakes, said as such.
fn unreachable(model: &Model, names: &BTreeMap<&str, &str>, externals: &BTreeSet<&str>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let listed: BTreeSet<String> = model
        .cluster_resources()
        .into_iter()
        .map(|f| format!("{}/{f}", model.flux.cluster_dir))
        .collect();
    for app in &model.apps {
        if !listed.contains(&app.kustomizations_file) {
            diags.push(Diagnostic::error(
                Code::Internal,
                format!(
                    "internal: the Flux Kustomizations of app `{}` are not reachable from the cluster root",
                    app.name
                ),
            ));
        }
    }
    for k in model.kustomizations() {
        for dep in &k.depends_on {
            let known = names.contains_key(dep.as_str()) || externals.contains(dep.as_str());
            if !known {
                diags.push(Diagnostic::error(Code::Internal, format!(
                    "internal: Flux Kustomization `{}` depends on `{dep}`, which the tree does not contain",
                    k.name
                )));
            }
        }
    }
    diags
}

/// Every folder of the tree that gitopsc writes files into, each with its one owner: two apps
/// in one folder (an app named `release`, `data` or `init` in the group of an app whose
/// layers have those names) would overwrite each other's files, and two Flux Kustomizations
/// would apply the same folder.
fn shared_folders<'m>(
    model: &'m Model,
    name_span: &dyn Fn(&str) -> Option<crate::source::Span>,
) -> Vec<Diagnostic> {
    /// Who writes into a folder: what to call it, the app (if one), whether it is the folder
    /// the app's name makes (not one of its layers').
    type Owner<'m> = (String, Option<&'m str>, bool);
    let mut owners: BTreeMap<&'m str, Owner<'m>> = BTreeMap::new();
    let mut own = |dir: &'m str, what: String| owners.insert(dir, (what, None, false));
    own(
        &model.flux.cluster_dir,
        "the cluster's Flux Kustomizations".into(),
    );
    if let Some(s) = &model.shared_sources {
        own(&s.dir, "the shared Helm sources".into());
    }
    if let Some(s) = &model.shared_stores {
        own(&s.dir, "the shared secret stores".into());
    }
    if let Some(s) = &model.image_automation {
        own(&s.dir, "the image automation".into());
    }
    for g in &model.gates {
        own(&g.dir, format!("the gate of operator `{}`", g.operator));
    }
    let mut diags = Vec::new();
    for app in &model.apps {
        let mut dirs: BTreeSet<&str> = app.layers.iter().map(|l| l.dir.as_str()).collect();
        dirs.insert(&app.dir);
        for dir in dirs {
            let mine = (
                format!("app `{}`", app.name),
                Some(app.name.as_str()),
                dir == app.dir,
            );
            let Some(other) = owners.insert(dir, mine.clone()) else {
                continue;
            };
            // The app whose own name made the folder is the one that moved in.
            let (blamed, other) = match other {
                (_, Some(name), true) if !mine.2 => (name, mine.0),
                (what, _, _) => (app.name.as_str(), what),
            };
            diags.push(
                Diagnostic::error(Code::FolderClash, format!(
                    "app `{blamed}` renders into the folder `{dir}`, which {other} renders into too: one would overwrite the other's files (its HelmRelease, its kustomization.yaml), and two Flux Kustomizations would apply the same folder"
                ))
                .at(name_span(blamed), "folder taken")
                .help("rename the app, or give it another `group`"),
            );
        }
    }
    diags
}
