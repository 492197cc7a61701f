//! Secrets: External Secrets stores and the ExternalSecrets of each app.
//!
//! ExternalSecrets go into the app's data layer, ahead of everything that reads them.
//! Templates are built with ESO's own template functions (`dict`, `toJson`, `b64enc`), so a
//! quote or backslash in a fetched value cannot break the JSON they produce; values gitopsc
//! knows at compile time are written into a template as escaped Go string literals.

use super::part::{AppCtx, Ctx, Part, Parts};
use super::refs::{Refs, UnknownRef};
use super::*;
use crate::kinds;
use crate::spec::secrets::{CreationPolicy, KvVersion, SecretSpec, SecretStoreSpec, SecretType, StoreKind};
use crate::spec::{AppSpec, ClusterSpec};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Flux's label that makes a change of a Secret reconcile the HelmReleases that read it.
pub const LABEL_WATCH: &str = "reconcile.fluxcd.io/watch";

/// Name of the Flux Kustomization that applies the shared ClusterSecretStores.
pub const STORES_KUSTOMIZATION: &str = "secret-stores";

const STORES_DIR: &str = "infrastructure/secret-stores";

/// An ESO store object (`ClusterSecretStore` or `SecretStore`) backed by Vault.
#[derive(Debug, Clone, Serialize)]
pub struct StoreObject {
    /// `ClusterSecretStore` or `SecretStore`.
    pub kind: &'static str,
    /// Object name.
    pub name: String,
    /// Namespace, for a SecretStore.
    pub namespace: Option<String>,
    /// Vault address.
    pub server: String,
    /// KV mount.
    pub path: String,
    /// `v1` or `v2`.
    pub version: &'static str,
    /// Vault Enterprise namespace.
    pub vault_namespace: Option<String>,
    /// Kubernetes auth mount.
    pub mount_path: String,
    /// Vault role.
    pub role: String,
    /// Service account name.
    pub service_account: String,
    /// Its namespace (ClusterSecretStore only).
    pub service_account_namespace: Option<String>,
    /// Token audiences.
    pub audiences: Vec<String>,
}

/// An `ExternalSecret`.
#[derive(Debug, Clone, Serialize)]
pub struct ExternalSecret {
    /// The target Secret's name (the object's too, unless `object_name` says otherwise).
    pub name: String,
    /// The ExternalSecret's own name, when it differs from its Secret's.
    pub object_name: Option<String>,
    /// Namespace.
    pub namespace: String,
    /// Labels of the ExternalSecret itself.
    pub labels: super::StrMap,
    /// Store kind.
    pub store_kind: &'static str,
    /// Store name.
    pub store_name: String,
    /// `refreshInterval`.
    pub refresh_interval: Option<String>,
    /// `target.creationPolicy`.
    pub creation_policy: &'static str,
    /// `target.template`.
    pub template: Option<SecretTemplate>,
    /// `data[]`.
    pub data: Vec<SecretKey>,
    /// `dataFrom[].extract.key`.
    pub data_from: Vec<String>,
}

/// `target.template` of an ExternalSecret.
#[derive(Debug, Clone, Serialize)]
pub struct SecretTemplate {
    /// Secret type.
    pub secret_type: Option<&'static str>,
    /// `Replace` (templated keys only) or `Merge` (fetched keys kept).
    pub merge_policy: &'static str,
    /// Labels of the Secret.
    pub labels: super::StrMap,
    /// Annotations of the Secret.
    pub annotations: super::StrMap,
    /// Templated keys.
    pub data: super::StrMap,
}

/// One `data[]` entry.
#[derive(Debug, Clone, Serialize)]
pub struct SecretKey {
    /// Key in the Secret.
    pub secret_key: String,
    /// Remote key.
    pub remote_key: String,
    /// Remote property.
    pub property: Option<String>,
}

fn store_object(
    store: &SecretStoreSpec,
    kind: StoreKind,
    name: String,
    namespace: Option<String>,
) -> Option<StoreObject> {
    let vault = store.vault.as_ref()?;
    Some(StoreObject {
        kind: kind.as_str(),
        name,
        namespace,
        server: vault.server.clone(),
        path: vault.path.clone(),
        version: match vault.version {
            KvVersion::V1 => "v1",
            KvVersion::V2 => "v2",
        },
        vault_namespace: vault.namespace.clone(),
        mount_path: vault.auth.kubernetes.mount_path.clone(),
        role: vault.auth.kubernetes.role.clone(),
        service_account: vault.auth.kubernetes.service_account.name.to_string(),
        service_account_namespace: match kind {
            StoreKind::ClusterSecretStore => vault
                .auth
                .kubernetes
                .service_account
                .namespace
                .as_ref()
                .map(|n| n.to_string()),
            StoreKind::SecretStore => None,
        },
        audiences: vault.auth.kubernetes.audiences.clone(),
    })
}

/// A store provided by something other than Vault: its provider as External Secrets reads it.
#[derive(Debug, Serialize)]
struct ProviderStore {
    kind: &'static str,
    name: String,
    namespace: Option<String>,
    provider: serde_json::Value,
}

/// The object of a store that names a provider (file `file`), of `kind`.
fn store_manifest(
    store: &SecretStoreSpec,
    kind: StoreKind,
    name: String,
    namespace: Option<String>,
    file: String,
) -> Option<Manifest> {
    let row = match kind {
        StoreKind::ClusterSecretStore => &kinds::CLUSTER_SECRET_STORE,
        StoreKind::SecretStore => &kinds::SECRET_STORE,
    };
    if let Some(object) = store_object(store, kind, name.clone(), namespace.clone()) {
        return Some(Manifest::new(file, "eso/secretstore.yaml.j2", row, object));
    }
    let item = ProviderStore {
        kind: kind.as_str(),
        name,
        namespace,
        provider: store.provider()?,
    };
    Some(Manifest::new(file, "eso/providerstore.yaml.j2", row, item))
}

/// The ClusterSecretStores the spec declares (with `vault:`), with the Flux Kustomization that
/// applies them after the External Secrets gate. A declared store is rendered whether or not
/// an app reads from it: were it rendered only while used, removing its last app would prune
/// a store the spec still declares (and that other trees or hand-written ExternalSecrets may
/// read from).
pub fn shared_stores(spec: &ClusterSpec, ctx: &Ctx, eso_gate: Option<String>) -> Option<SharedStores> {
    let mut stores: Vec<&SecretStoreSpec> = spec
        .secret_stores
        .iter()
        .filter(|s| s.kind == StoreKind::ClusterSecretStore && s.rendered())
        .collect();
    if stores.is_empty() {
        return None;
    }
    stores.sort_by(|a, b| a.name.cmp(&b.name));
    let manifests = stores
        .iter()
        .filter_map(|s| {
            store_manifest(
                s,
                StoreKind::ClusterSecretStore,
                s.name.to_string(),
                None,
                format!("{}.yaml", s.name),
            )
        })
        .collect();
    let kustomization = ctx.kustomization(
        STORES_KUSTOMIZATION.to_string(),
        &format!("{}{STORES_DIR}", ctx.flux.tree_root),
        &spec.defaults.timeout.to_string(),
        &spec.defaults.retry_interval.to_string(),
        &[&kinds::CLUSTER_SECRET_STORE],
        eso_gate.into_iter().collect(),
    );
    Some(SharedStores {
        dir: format!("{}{STORES_DIR}", ctx.flux.tree_root),
        stores: manifests,
        kustomization,
    })
}

/// The store a secret reads from.
pub fn store_name<'a>(spec: &'a ClusterSpec, secret: &'a SecretSpec) -> Option<&'a str> {
    secret
        .store
        .as_ref()
        .or(spec.defaults.secret_store.as_ref())
        .map(|n| n.as_str())
}

/// Which of an app's secrets need more than a plain ExternalSecret.
#[derive(Debug, Default)]
pub struct SecretUses {
    /// Data services depend on them: kept when the app leaves (prune disabled).
    pub protected: BTreeSet<String>,
    /// HelmReleases read them through `valuesFrom`: Flux watches them.
    pub watched: BTreeSet<String>,
    /// Passwords of CloudNative-PG managed roles: the operator applies changes at once.
    pub reload: BTreeSet<String>,
}

/// The part of an app's secrets: its ExternalSecrets (and namespaced stores), in its data
/// layer, ahead of everything that reads them.
pub struct Secrets;

impl Part for Secrets {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        let registry_of = |text: &str| match app.scope.resolve_str(text) {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(_) => text.to_string(),
        };
        for (s, secret) in app.spec.secrets.iter().enumerate() {
            let at = app.at(AppSpec::SECRETS).index(s).field(SecretSpec::REGISTRY);
            if let Some(registry) = &secret.registry
                && let Err(name) = app.scope.resolve_at(registry, &at)
            {
                out.unknown.push(UnknownRef { pointer: at, name });
            }
        }
        let uses = secret_uses(app.spec, &out.watched);
        parts(app, out, &uses, &registry_of);
        if !app.spec.secrets.is_empty() {
            out.verify(
                LayerKind::Data,
                &["kubectl", "-n", &app.namespace, "get", "externalsecrets"],
            );
        }
    }

    fn refs(&self, app: &crate::spec::AppSpec, _public: bool, refs: &mut Refs) {
        for s in &app.secrets {
            refs.insert(format!("secrets.{}", s.name), s.name.to_string());
        }
    }
}

/// What the app's other parts do with its secrets: `watched` are those its HelmRelease reads.
fn secret_uses(app: &crate::spec::AppSpec, watched: &BTreeSet<String>) -> SecretUses {
    let mut uses = SecretUses {
        watched: watched.clone(),
        ..SecretUses::default()
    };
    if let Some(pg) = &app.postgres {
        uses.protected
            .extend(pg.backup.as_ref().map(|b| b.credentials.to_string()));
        uses.protected
            .extend(pg.owner_secret.as_ref().map(|s| s.to_string()));
        let role_secrets: Vec<String> = pg
            .roles
            .iter()
            .filter_map(|r| r.password_secret.as_ref().map(|s| s.to_string()))
            .collect();
        uses.protected.extend(role_secrets.iter().cloned());
        uses.reload.extend(role_secrets);
        uses.protected
            .extend(pg.superuser_secret.as_ref().map(|s| s.to_string()));
    }
    // A kept ReplicationSource reads its restic repository from the app's secret.
    uses.protected
        .extend(app.volume_backups.iter().map(|b| b.repository.to_string()));
    // A kept Dragonfly reads its password from the app's secret.
    if let Some(redis) = app
        .redis
        .as_ref()
        .filter(|r| r.provider == crate::spec::data::RedisProvider::Dragonfly)
    {
        uses.protected
            .extend(redis.password_secret.as_ref().map(|s| s.to_string()));
    }
    uses
}

/// Adds the app's ExternalSecrets (and namespaced stores) to its data layer.
fn parts(app: &AppCtx, parts: &mut Parts, uses: &SecretUses, registry_of: &dyn Fn(&str) -> String) {
    let spec = app.cluster;
    let protect = app.protect;
    let mut local_stores: BTreeSet<&str> = BTreeSet::new();
    for secret in &app.spec.secrets {
        let Some(store) = store_name(spec, secret) else {
            continue;
        };
        let declared = spec.secret_stores.iter().find(|s| s.name.as_str() == store);
        let kind = declared.map_or(StoreKind::ClusterSecretStore, |s| s.kind);
        let store_ref = match kind {
            StoreKind::ClusterSecretStore => store.to_string(),
            StoreKind::SecretStore => {
                // A namespaced store is emitted per app, so two apps of one namespace never
                // emit the same object.
                let name = format!("{store}-{}", app.name);
                if let Some(decl) = declared
                    && local_stores.insert(store)
                    && let Some(manifest) = store_manifest(
                        decl,
                        kind,
                        name.clone(),
                        Some(app.namespace.clone()),
                        format!("secretstore-{store}.yaml"),
                    )
                {
                    parts.add(LayerKind::Data, manifest);
                }
                name
            }
        };
        if kind == StoreKind::ClusterSecretStore && declared.is_some_and(SecretStoreSpec::rendered) {
            parts.dep(LayerKind::Data, STORES_KUSTOMIZATION);
        }
        let object = external_secret(secret, app, kind, store_ref, uses, protect, registry_of);
        parts.external_secret(&object);
        parts.add(
            LayerKind::Data,
            Manifest::new(
                format!("externalsecret-{}.yaml", secret.name),
                "eso/externalsecret.yaml.j2",
                &kinds::EXTERNAL_SECRET_KIND,
                object,
            ),
        );
    }
}

fn external_secret(
    secret: &SecretSpec,
    app: &AppCtx,
    store_kind: StoreKind,
    store_name: String,
    uses: &SecretUses,
    protect: bool,
    registry_of: &dyn Fn(&str) -> String,
) -> ExternalSecret {
    let name = secret.name.to_string();
    // An `Owner` ExternalSecret takes its Secret with it when pruned: one a kept database
    // depends on is kept too.
    let labels = kinds::EXTERNAL_SECRET_KIND.prune_labels(protect, uses.protected.contains(&name));
    let mut target_labels = secret.labels.clone();
    if uses.watched.contains(&name) {
        target_labels.insert(LABEL_WATCH.to_string(), "Enabled".to_string());
    }
    if uses.reload.contains(&name) {
        target_labels.insert("cnpg.io/reload".to_string(), "true".to_string());
    }
    let (secret_type, data) = match secret.kind {
        SecretType::Opaque => (None, secret.template.clone()),
        SecretType::BasicAuth => (
            Some("kubernetes.io/basic-auth"),
            BTreeMap::from([
                ("username".to_string(), "{{ .username }}".to_string()),
                ("password".to_string(), "{{ .password }}".to_string()),
            ]),
        ),
        SecretType::Dockerconfigjson => {
            let registry = registry_of(secret.registry.as_deref().unwrap_or_default());
            (
                Some("kubernetes.io/dockerconfigjson"),
                BTreeMap::from([(
                    ".dockerconfigjson".to_string(),
                    format!(
                        "{{{{ dict \"auths\" (dict {} (dict \"username\" .username \"password\" .password \"auth\" (printf \"%s:%s\" .username .password | b64enc))) | toJson }}}}",
                        go_string(&registry)
                    ),
                )]),
            )
        }
    };
    let template = (secret_type.is_some()
        || !data.is_empty()
        || !target_labels.is_empty()
        || !secret.annotations.is_empty())
    .then(|| SecretTemplate {
        secret_type,
        // Metadata alone must not drop the fetched keys.
        merge_policy: if data.is_empty() { "Merge" } else { "Replace" },
        labels: super::StrMap::from(target_labels),
        annotations: super::StrMap::from(&secret.annotations),
        data: super::StrMap::from(data),
    });
    ExternalSecret {
        name,
        object_name: secret.external_secret_name.as_ref().map(|n| n.to_string()),
        namespace: app.namespace.clone(),
        labels: super::StrMap::from(labels),
        store_kind: store_kind.as_str(),
        store_name,
        refresh_interval: secret.refresh_interval.as_ref().map(|d| d.to_string()),
        creation_policy: match secret.creation_policy {
            CreationPolicy::Owner => "Owner",
            CreationPolicy::Orphan => "Orphan",
            CreationPolicy::Merge => "Merge",
        },
        template,
        data: secret
            .data
            .iter()
            .map(|d| SecretKey {
                secret_key: d.key.clone(),
                remote_key: d.remote_key.clone(),
                property: d.property.clone(),
            })
            .collect(),
        data_from: secret.data_from.clone(),
    }
}

/// `s` as a Go double-quoted string literal (as Go's `strconv.Quote` writes it for the
/// characters that matter): safe inside an ESO template whatever `s` holds.
pub fn go_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::go_string;

    #[test]
    fn go_strings_escape_quotes_and_controls() {
        assert_eq!(go_string("harbor.example.com"), "\"harbor.example.com\"");
        assert_eq!(go_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\x01\"");
    }
}
