//! Secret store providers beyond Vault: 1Password (Connect and SDK), AWS Secrets Manager and
//! Parameter Store, GCP Secret Manager, Azure Key Vault, Bitwarden Secrets Manager — each as
//! the `spec.provider` of an External Secrets store with its auth; and their checks.

use super::path::{Field, SpecPath};
use super::places::Places;
use super::secrets::{SecretSpec, SecretStoreSpec, ServiceAccountRef, StoreKind};
use super::{AppSpec, ClusterSpec, Name};
use crate::diagnostic::{Code, Diagnostic};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A key of a Secret (in the store's namespace; for a ClusterSecretStore `namespace` is
/// required).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret's name.
    pub name: Name,
    /// The key.
    pub key: String,
    /// The Secret's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
}

/// 1Password through a Connect server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OnePasswordConnect {
    /// The Connect server, e.g. `http://onepassword-connect.onepassword:8080`.
    #[schemars(regex(pattern = r"^https?://\S+$"))]
    pub connect_host: String,
    /// The vaults searched, by name, with their search order (1 first).
    #[schemars(length(min = 1))]
    pub vaults: BTreeMap<String, u32>,
    /// The Connect token.
    pub token: SecretKeyRef,
}

/// 1Password through its SDK and a service account.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OnePasswordSdk {
    /// The vault.
    pub vault: String,
    /// The service account token.
    pub service_account_token: SecretKeyRef,
}

/// An AWS secret service.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
pub enum AwsService {
    /// Secrets Manager.
    #[default]
    SecretsManager,
    /// Systems Manager Parameter Store.
    ParameterStore,
}

/// AWS Secrets Manager or Parameter Store.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsStore {
    /// The region, e.g. `eu-west-1`.
    pub region: String,
    /// The service.
    #[serde(default)]
    pub service: AwsService,
    /// A role to assume (ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// How External Secrets logs in (none: the controller's own identity, IRSA or Pod
    /// Identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AwsAuth>,
}

/// AWS login.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub enum AwsAuth {
    /// A service account's token (IRSA).
    ServiceAccount(ServiceAccountRef),
    /// Access keys.
    AccessKey {
        /// The access key id.
        id: SecretKeyRef,
        /// The secret access key.
        secret: SecretKeyRef,
    },
}

/// GCP Secret Manager.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GcpStore {
    /// The project holding the secrets.
    #[serde(rename = "projectID")]
    pub project_id: String,
    /// How External Secrets logs in (none: the controller's own identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<GcpAuth>,
}

/// GCP login.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum GcpAuth {
    /// Workload Identity: a Kubernetes service account bound to a GCP one.
    WorkloadIdentity {
        /// The service account.
        service_account: ServiceAccountRef,
        /// The GKE cluster's location.
        cluster_location: String,
        /// The GKE cluster's name.
        cluster_name: String,
    },
    /// A service account key (JSON).
    Credentials(SecretKeyRef),
}

/// Azure Key Vault.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureStore {
    /// The vault's URL, e.g. `https://team.vault.azure.net`.
    #[schemars(regex(pattern = r"^https://\S+$"))]
    pub vault_url: String,
    /// The tenant.
    pub tenant_id: String,
    /// How External Secrets logs in.
    pub auth: AzureAuth,
}

/// Azure login.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum AzureAuth {
    /// Workload Identity: a service account federated with an Entra ID application.
    WorkloadIdentity(ServiceAccountRef),
    /// The node's or pod's managed identity (optionally a user-assigned one by id).
    ManagedIdentity {
        /// The identity's client id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity_id: Option<String>,
    },
    /// A service principal's client id and secret.
    ServicePrincipal {
        /// The client id.
        client_id: SecretKeyRef,
        /// The client secret.
        client_secret: SecretKeyRef,
    },
}

/// Bitwarden Secrets Manager, through the Bitwarden SDK server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BitwardenStore {
    /// The organization.
    #[serde(rename = "organizationID")]
    pub organization_id: String,
    /// The project.
    #[serde(rename = "projectID")]
    pub project_id: String,
    /// The SDK server, e.g. `https://bitwarden-sdk-server.external-secrets.svc.cluster.local:9998`.
    #[schemars(regex(pattern = r"^https://\S+$"))]
    pub sdk_server_url: String,
    /// The CA certificate of the SDK server (it serves TLS only).
    pub ca: SecretKeyRef,
    /// The machine account's access token.
    pub token: SecretKeyRef,
}

/// A Secret key reference as External Secrets writes it.
fn key_ref(r: &SecretKeyRef) -> Value {
    let mut v = json!({"name": r.name, "key": r.key});
    if let Some(ns) = &r.namespace {
        v["namespace"] = json!(ns);
    }
    v
}

/// A service account reference as External Secrets writes it.
fn account_ref(r: &ServiceAccountRef) -> Value {
    let mut v = json!({"name": r.name});
    if let Some(ns) = &r.namespace {
        v["namespace"] = json!(ns);
    }
    v
}

impl SecretStoreSpec {
    /// The store's `spec.provider`, for a provider other than Vault.
    pub fn provider(&self) -> Option<Value> {
        if let Some(p) = &self.one_password {
            return Some(json!({"onepassword": {
                "connectHost": p.connect_host,
                "vaults": p.vaults,
                "auth": {"secretRef": {"connectTokenSecretRef": key_ref(&p.token)}},
            }}));
        }
        if let Some(p) = &self.one_password_sdk {
            return Some(json!({"onepasswordSDK": {
                "vault": p.vault,
                "auth": {"serviceAccountSecretRef": key_ref(&p.service_account_token)},
            }}));
        }
        if let Some(p) = &self.aws {
            let mut aws = json!({"region": p.region, "service": p.service});
            if let Some(role) = &p.role {
                aws["role"] = json!(role);
            }
            match &p.auth {
                Some(AwsAuth::ServiceAccount(sa)) => {
                    aws["auth"] = json!({"jwt": {"serviceAccountRef": account_ref(sa)}})
                }
                Some(AwsAuth::AccessKey { id, secret }) => {
                    aws["auth"] = json!({"secretRef": {"accessKeyIDSecretRef": key_ref(id), "secretAccessKeySecretRef": key_ref(secret)}});
                }
                None => {}
            }
            return Some(json!({"aws": aws}));
        }
        if let Some(p) = &self.gcp {
            let mut gcp = json!({"projectID": p.project_id});
            match &p.auth {
                Some(GcpAuth::WorkloadIdentity {
                    service_account,
                    cluster_location,
                    cluster_name,
                }) => {
                    gcp["auth"] = json!({"workloadIdentity": {
                        "serviceAccountRef": account_ref(service_account),
                        "clusterLocation": cluster_location,
                        "clusterName": cluster_name,
                        "clusterProjectID": p.project_id,
                    }});
                }
                Some(GcpAuth::Credentials(r)) => {
                    gcp["auth"] = json!({"secretRef": {"secretAccessKeySecretRef": key_ref(r)}})
                }
                None => {}
            }
            return Some(json!({"gcpsm": gcp}));
        }
        if let Some(p) = &self.azure {
            let mut azure = json!({"vaultUrl": p.vault_url, "tenantId": p.tenant_id});
            match &p.auth {
                AzureAuth::WorkloadIdentity(sa) => {
                    azure["authType"] = json!("WorkloadIdentity");
                    azure["serviceAccountRef"] = account_ref(sa);
                }
                AzureAuth::ManagedIdentity { identity_id } => {
                    azure["authType"] = json!("ManagedIdentity");
                    if let Some(id) = identity_id {
                        azure["identityId"] = json!(id);
                    }
                }
                AzureAuth::ServicePrincipal {
                    client_id,
                    client_secret,
                } => {
                    azure["authType"] = json!("ServicePrincipal");
                    azure["authSecretRef"] =
                        json!({"clientId": key_ref(client_id), "clientSecret": key_ref(client_secret)});
                }
            }
            return Some(json!({"azurekv": azure}));
        }
        let p = self.bitwarden.as_ref()?;
        let mut ca = json!({"type": "Secret", "name": p.ca.name, "key": p.ca.key});
        if let Some(ns) = &p.ca.namespace {
            ca["namespace"] = json!(ns);
        }
        Some(json!({"bitwardensecretsmanager": {
            "organizationID": p.organization_id,
            "projectID": p.project_id,
            "bitwardenServerSDKURL": p.sdk_server_url,
            "caProvider": ca,
            "auth": {"secretRef": {"credentials": key_ref(&p.token)}},
        }}))
    }

    /// The providers the store names, by their spec key.
    fn providers(&self) -> Vec<Field> {
        [
            (SecretStoreSpec::VAULT, self.vault.is_some()),
            (SecretStoreSpec::ONE_PASSWORD, self.one_password.is_some()),
            (SecretStoreSpec::ONE_PASSWORD_SDK, self.one_password_sdk.is_some()),
            (SecretStoreSpec::AWS, self.aws.is_some()),
            (SecretStoreSpec::GCP, self.gcp.is_some()),
            (SecretStoreSpec::AZURE, self.azure.is_some()),
            (SecretStoreSpec::BITWARDEN, self.bitwarden.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }

    /// Whether gitopsc renders the store (it names a provider); otherwise it is declared only.
    pub fn rendered(&self) -> bool {
        !self.providers().is_empty()
    }
}

/// One provider per store; in a ClusterSecretStore every Secret or service account the
/// provider names has a namespace.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (s, store) in spec.secret_stores.iter().enumerate() {
        let at = SpecPath::root().field(ClusterSpec::SECRET_STORES).index(s);
        let providers = store.providers();
        if providers.len() > 1 {
            diags.push(
                Diagnostic::error(
                    Code::StoreProviders,
                    format!("store `{}` names {} providers", store.name, providers.len()),
                )
                .at(spans.key(&at.field(providers[1])), "second provider")
                .help(format!(
                    "keep one of {}: declare another store for the other",
                    providers
                        .iter()
                        .map(|p| format!("`{}`", p.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
        if store.kind != StoreKind::ClusterSecretStore || providers.first() == Some(&SecretStoreSpec::VAULT) {
            continue;
        }
        if let Some(provider) = store.provider()
            && let Some(pointer) = unnamespaced(&provider)
        {
            diags.push(
                Diagnostic::error(Code::ClusterStoreNamespace, format!(
                    "ClusterSecretStore `{}` reads a Secret or service account without a namespace",
                    store.name
                ))
                .at(spans.key(&at), "")
                .help(format!(
                    "add `namespace:` to the reference that becomes `spec.provider{pointer}` (a ClusterSecretStore has no namespace of its own)"
                )),
            );
        }
    }
    for (a, app) in spec.apps.iter().enumerate() {
        let mut objects: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, secret) in app.secrets.iter().enumerate() {
            let object = secret
                .external_secret_name
                .as_ref()
                .unwrap_or(&secret.name)
                .as_str();
            // Two Secrets of one name are refused where secrets are checked.
            if let Some(first) = objects.insert(object, i)
                && (secret.external_secret_name.is_some()
                    || app.secrets[first].external_secret_name.is_some())
            {
                let field = if secret.external_secret_name.is_some() {
                    SecretSpec::EXTERNAL_SECRET_NAME
                } else {
                    SecretSpec::NAME
                };
                diags.push(
                    Diagnostic::error(Code::DuplicateName, format!("two ExternalSecrets of app `{}` are named `{object}`", app.name))
                        .at(spans.value(&SpecPath::app(a).field(AppSpec::SECRETS).index(i).field(field)), "second one")
                        .help(format!(
                            "secret {} is already written as ExternalSecret `{object}`: give this one another `externalSecretName`",
                            first + 1
                        )),
                );
            }
        }
    }
    diags
}

/// The JSON pointer of the first Secret or service account reference without a namespace.
fn unnamespaced(node: &Value) -> Option<String> {
    let Value::Object(map) = node else { return None };
    let is_ref = map.contains_key("name") && (map.contains_key("key") || map.len() == 1);
    if is_ref && !map.contains_key("namespace") {
        return Some(String::new());
    }
    map.iter()
        .find_map(|(k, v)| unnamespaced(v).map(|rest| format!("/{k}{rest}")))
}
