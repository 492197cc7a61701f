//! The runbook generated into each app's folder: the Vault paths and keys the app expects
//! (placeholders, never values), the objects it creates, the caveats that apply to it, and
//! the commands that verify it.

use super::secrets::store_name;
use super::{App, Manifest};
use crate::spec::{AppSpec, ClusterSpec};
use serde::Serialize;
use std::collections::BTreeMap;

/// A runbook.
#[derive(Debug, Serialize)]
pub struct Runbook {
    /// The app.
    pub app: String,
    /// Its namespace.
    pub namespace: String,
    /// Its Flux Kustomizations and folders, in apply order.
    pub layers: Vec<RunbookLayer>,
    /// `vault kv put` commands with placeholders, word by word (the blueprint quotes each).
    pub vault: Vec<Vec<String>>,
    /// Remote keys and properties read from stores gitopsc does not render.
    pub store_keys: Vec<String>,
    /// Caveats.
    pub caveats: Vec<String>,
    /// Verification commands, word by word (the blueprint quotes each).
    pub verify: Vec<Vec<String>>,
}

/// A layer as the runbook lists it.
#[derive(Debug, Serialize)]
pub struct RunbookLayer {
    /// Flux Kustomization.
    pub kustomization: String,
    /// Folder.
    pub dir: String,
    /// Files in it.
    pub files: Vec<String>,
}

/// Builds the runbook of an app whose layers are assembled.
pub fn runbook(
    spec: &ClusterSpec,
    app_spec: &AppSpec,
    app: &App,
    caveats: Vec<String>,
    verify: Vec<Vec<String>>,
) -> Manifest {
    // (store or Vault mount, remote key) → properties; Vault stores give `vault kv put` lines.
    let mut vault: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut other: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for secret in &app_spec.secrets {
        let store = store_name(spec, secret).unwrap_or_default();
        let decl = spec.secret_stores.iter().find(|s| s.name.as_str() == store);
        let (map, scope) = match decl.and_then(|d| d.vault.as_ref()) {
            Some(kv) => (&mut vault, kv.path.clone()),
            None => (&mut other, store.to_string()),
        };
        for d in &secret.data {
            let keys = map.entry((scope.clone(), d.remote_key.clone())).or_default();
            let prop = d.property.clone().unwrap_or_else(|| d.key.clone());
            if !keys.contains(&prop) {
                keys.push(prop);
            }
        }
        for key in &secret.data_from {
            map.entry((scope.clone(), key.clone())).or_default();
        }
    }
    let store_keys = other
        .into_iter()
        .map(|((store, key), props)| {
            if props.is_empty() {
                format!("store `{store}`: `{key}` (every property)")
            } else {
                let props: Vec<String> = props.iter().map(|p| format!("`{p}`")).collect();
                format!("store `{store}`: `{key}` with {}", props.join(", "))
            }
        })
        .collect();
    let vault = vault
        .into_iter()
        .map(|((mount, path), keys)| {
            let mut words: Vec<String> = vec![
                "vault".into(),
                "kv".into(),
                "put".into(),
                format!("-mount={mount}"),
                path,
            ];
            if keys.is_empty() {
                words.push("<key>=<value>".into());
            } else {
                words.extend(keys.iter().map(|k| format!("{k}=<{k}>")));
            }
            words
        })
        .collect();
    let mut all_verify: Vec<Vec<String>> = app
        .layers
        .iter()
        .map(|l| {
            [
                "flux",
                "get",
                "kustomizations",
                &l.kustomization.name,
                "-n",
                &l.kustomization.namespace,
            ]
            .map(String::from)
            .to_vec()
        })
        .collect();
    all_verify.extend(verify);
    let runbook = Runbook {
        app: app.name.clone(),
        namespace: app.namespace.clone(),
        layers: app
            .layers
            .iter()
            .map(|l| RunbookLayer {
                kustomization: l.kustomization.name.clone(),
                dir: l.dir.clone(),
                files: l.manifests.iter().map(|m| m.file.clone()).collect(),
            })
            .collect(),
        vault,
        store_keys,
        caveats,
        verify: all_verify,
    };
    Manifest::document("README.md", "runbook/README.md.j2", runbook)
}
