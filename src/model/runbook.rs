//! The runbook generated into each app's folder: the Vault paths and keys the app expects
//! (placeholders, never values), the objects it creates, the caveats that apply to it, and
//! the commands that verify it.

use super::secrets::store_name;
use super::{FluxKustomization, Manifest};
use crate::spec::{AppSpec, ClusterSpec};
use serde::Serialize;
use std::collections::BTreeMap;

/// A word of a runbook's command: a word every command repeats is the program's own text,
/// not a copy for each app.
pub type Word = std::borrow::Cow<'static, str>;

/// The words the runbooks' commands repeat ([`word`]).
const COMMON_WORDS: &[&str] = &[
    "kubectl",
    "-n",
    "-l",
    "get",
    "wait",
    "--timeout=15m",
    "--for=condition=Ready",
    "--for=condition=complete",
    "pods",
    "jobs",
    "externalsecrets",
    "scheduledbackups,backups",
    "replicationsources.volsync.backube",
    "poolers.postgresql.cnpg.io",
    "dragonflies.dragonflydb.io",
    "clusters.apps.kubeblocks.io",
];

/// A command's word: one of [`COMMON_WORDS`] borrowed, any other copied.
pub fn word(text: &str) -> Word {
    match COMMON_WORDS.iter().find(|w| **w == text) {
        Some(common) => Word::Borrowed(common),
        None => Word::Owned(text.to_string()),
    }
}

/// What resolution finds for an app's runbook. The app's name, namespace and layers, and the
/// command that checks each layer's Flux Kustomization, are read from the app as it renders
/// ([`crate::render`]): the model does not hold them twice.
#[derive(Debug, Serialize)]
pub struct Runbook {
    /// `vault kv put` commands with placeholders, word by word (the blueprint quotes each).
    pub vault: Vec<Vec<Word>>,
    /// Remote keys and properties read from stores gitopsc does not render.
    pub store_keys: Vec<String>,
    /// Caveats.
    pub caveats: Vec<String>,
    /// The parts' verification commands, word by word (the blueprint quotes each).
    pub verify: Vec<Vec<Word>>,
}

/// The command that checks a layer's Flux Kustomization: the first of a runbook's, one for
/// each layer (made as the runbook renders, from the app's layers).
pub fn layer_check(k: &FluxKustomization) -> [&str; 6] {
    ["flux", "get", "kustomizations", &k.name, "-n", &k.namespace]
}

/// Builds the runbook of an app.
pub fn runbook(
    spec: &ClusterSpec,
    app_spec: &AppSpec,
    caveats: Vec<String>,
    verify: Vec<Vec<Word>>,
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
            let mut words: Vec<Word> = vec![
                Word::Borrowed("vault"),
                Word::Borrowed("kv"),
                Word::Borrowed("put"),
                Word::Owned(format!("-mount={mount}")),
                Word::Owned(path),
            ];
            if keys.is_empty() {
                words.push(Word::Borrowed("<key>=<value>"));
            } else {
                words.extend(keys.iter().map(|k| Word::Owned(format!("{k}=<{k}>"))));
            }
            words
        })
        .collect();
    let runbook = Runbook {
        vault,
        store_keys,
        caveats,
        verify,
    };
    Manifest::document("README.md", "runbook/README.md.j2", runbook)
}
