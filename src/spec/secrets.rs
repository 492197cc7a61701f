//! Secrets: External Secrets Operator stores and the ExternalSecrets an app pulls from them.
//! A spec never holds a secret value: only where it lives (a remote key and property).

use super::path::SpecPath;
use super::places::Places;
use super::{AppSpec, ClusterSpec, Duration, Name};
use crate::diagnostic::{Code, Diagnostic};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A secret store External Secrets reads from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretStoreSpec {
    /// The store's name, as apps name it in `secrets[].store` or `defaults.secretStore`.
    pub name: Name,
    /// `ClusterSecretStore` (one store for every namespace) or `SecretStore` (a copy in each
    /// namespace that uses it).
    #[serde(default)]
    pub kind: StoreKind,
    /// A HashiCorp Vault KV store. Without it (or another provider below) the store is
    /// declared only: it exists in the cluster already and gitopsc renders no object for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultSpec>,
    /// 1Password through a Connect server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_password: Option<super::stores::OnePasswordConnect>,
    /// 1Password through its SDK and a service account token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_password_sdk: Option<super::stores::OnePasswordSdk>,
    /// AWS Secrets Manager or Parameter Store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<super::stores::AwsStore>,
    /// GCP Secret Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<super::stores::GcpStore>,
    /// Azure Key Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<super::stores::AzureStore>,
    /// Bitwarden Secrets Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitwarden: Option<super::stores::BitwardenStore>,
}

/// Kinds of ESO store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StoreKind {
    /// Cluster-wide store.
    #[default]
    ClusterSecretStore,
    /// Namespaced store.
    SecretStore,
}

impl StoreKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::ClusterSecretStore => "ClusterSecretStore",
            StoreKind::SecretStore => "SecretStore",
        }
    }
}

/// A Vault KV secrets engine, read with Kubernetes auth.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultSpec {
    /// Vault's address, e.g. `https://vault.example.com:8200`.
    #[schemars(regex(pattern = r"^https?://\S+$"))]
    pub server: String,
    /// The KV mount, e.g. `secret`.
    #[serde(default = "default_kv_path")]
    pub path: String,
    /// KV engine version.
    #[serde(default)]
    pub version: KvVersion,
    /// Vault Enterprise namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// How External Secrets logs in.
    pub auth: VaultAuth,
}

/// Vault auth methods.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultAuth {
    /// Kubernetes auth (a service account token).
    pub kubernetes: VaultKubernetesAuth,
}

/// Vault KV engine version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KvVersion {
    /// KV version 1.
    V1,
    /// KV version 2.
    #[default]
    V2,
}

/// Vault's Kubernetes auth method.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultKubernetesAuth {
    /// Mount path of the auth method.
    #[serde(default = "default_auth_mount")]
    pub mount_path: String,
    /// The Vault role.
    pub role: String,
    /// The service account whose token logs in (its namespace is required for a
    /// ClusterSecretStore).
    pub service_account: ServiceAccountRef,
    /// Token audiences; must match the role's `audience` when it sets one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
}

/// A service account reference.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceAccountRef {
    /// Its name.
    pub name: Name,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
}

/// A Secret External Secrets builds in the app's namespace from a store.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretSpec {
    /// Name of the Secret it creates (and of the ExternalSecret, unless
    /// `externalSecretName` is set); what references and `valuesFrom` name.
    pub name: Name,
    /// The ExternalSecret's own name, when it differs from its Secret's (an adopted one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_secret_name: Option<Name>,
    /// The store (default `defaults.secretStore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Name>,
    /// How often ESO re-reads the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<Duration>,
    /// Who owns the created Secret. `Owner` deletes it with the ExternalSecret.
    #[serde(default)]
    pub creation_policy: CreationPolicy,
    /// What the Secret is: `opaque`, `basic-auth`, or `dockerconfigjson` (an image-pull
    /// secret for `registry`, built from the keys `username` and `password`).
    #[serde(default, rename = "type")]
    pub kind: SecretType,
    /// The registry host of a `dockerconfigjson` secret: a host name, or a compile-time
    /// reference such as `((harbor.host))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Keys of the Secret, each read from a remote key and property.
    #[serde(default)]
    pub data: Vec<SecretKeySpec>,
    /// Remote keys whose every property becomes a key of the Secret.
    #[serde(default)]
    pub data_from: Vec<String>,
    /// Keys whose value is an ESO template over the fetched keys (`{{ .password }}`),
    /// passed to ESO untouched.
    #[serde(default)]
    pub template: BTreeMap<String, String>,
    /// Labels of the created Secret.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the created Secret.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The chart's use of this secret (see the chart table in the README), e.g. `core`
    /// for Harbor's `core.existingSecret`.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub used_for: Option<String>,
}

impl SecretSpec {
    /// The keys of the Secret it builds, when known at compile time (not with `dataFrom`,
    /// which takes every property of a remote key).
    pub fn keys(&self) -> Option<Vec<String>> {
        match self.kind {
            SecretType::BasicAuth => Some(vec!["username".into(), "password".into()]),
            SecretType::Dockerconfigjson => Some(vec![".dockerconfigjson".into()]),
            SecretType::Opaque if !self.template.is_empty() => Some(self.template.keys().cloned().collect()),
            SecretType::Opaque if self.data_from.is_empty() => {
                Some(self.data.iter().map(|d| d.key.clone()).collect())
            }
            SecretType::Opaque => None,
        }
    }
}

/// One key of a Secret and where its value lives.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeySpec {
    /// The key in the Secret.
    #[schemars(regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
    /// The remote key (for Vault KV v2: the path under the mount, e.g. `harbor/core`).
    pub remote_key: String,
    /// The property (field) of the remote secret; the whole secret when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

/// ESO's target creation policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CreationPolicy {
    /// ESO owns the Secret: it is deleted with the ExternalSecret.
    #[default]
    Owner,
    /// ESO creates the Secret and leaves it behind.
    Orphan,
    /// ESO merges into an existing Secret.
    Merge,
}

/// The type of a generated Secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecretType {
    /// `Opaque`.
    #[default]
    Opaque,
    /// `kubernetes.io/basic-auth` with keys `username` and `password`.
    #[serde(rename = "basic-auth")]
    BasicAuth,
    /// `kubernetes.io/dockerconfigjson` for one registry.
    Dockerconfigjson,
}

fn default_kv_path() -> String {
    "secret".into()
}
fn default_auth_mount() -> String {
    "kubernetes".into()
}

/// Refuses control characters (a newline included) in the store paths, remote keys and
/// properties: the runbook writes them into `vault kv put` commands, where a newline would
/// end the command and the code block, and no store names a key with one.
pub fn check_command_text(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut texts: Vec<(SpecPath, &str)> = Vec::new();
    for (s, store) in spec.secret_stores.iter().enumerate() {
        if let Some(vault) = &store.vault {
            texts.push((
                SpecPath::root()
                    .field(ClusterSpec::SECRET_STORES)
                    .index(s)
                    .field(SecretStoreSpec::VAULT)
                    .field(VaultSpec::PATH),
                &vault.path,
            ));
        }
    }
    for (a, app) in spec.apps.iter().enumerate() {
        for (s, secret) in app.secrets.iter().enumerate() {
            let at = SpecPath::app(a).field(AppSpec::SECRETS).index(s);
            for (d, data) in secret.data.iter().enumerate() {
                texts.push((
                    at.field(SecretSpec::DATA)
                        .index(d)
                        .field(SecretKeySpec::REMOTE_KEY),
                    &data.remote_key,
                ));
                if let Some(property) = &data.property {
                    texts.push((
                        at.field(SecretSpec::DATA).index(d).field(SecretKeySpec::PROPERTY),
                        property,
                    ));
                }
            }
            for (d, key) in secret.data_from.iter().enumerate() {
                texts.push((at.field(SecretSpec::DATA_FROM).index(d), key));
            }
        }
    }
    texts
        .into_iter()
        .filter_map(|(pointer, text)| {
            let bad = text.chars().find(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))?;
            Some(
                Diagnostic::error(Code::SecretControlCharacter, format!(
                    "a secret path or key holds the control character {}",
                    bad.escape_unicode()
                ))
                .at(spans.value(&pointer), "control character")
                .help("write the path or key on one line, without control characters: the runbook prints it into a `vault kv put` command, which a newline would end"),
            )
        })
        .collect()
}
