//! ExternalSecrets and ClusterSecretStores, as the spec's `secrets` and `secretStores`.

use super::read::Object;
use serde_json::{Map, Value, json};

/// True for an ExternalSecret.
pub fn is_external_secret(object: &Object) -> bool {
    object.is("external-secrets.io", "ExternalSecret")
}

/// The spec's secret for an ExternalSecret, or `None` with a note when the spec cannot say it
/// (a target name other than its own, remote references other than key/property, and so on).
pub fn secret(object: &Object, default_store: Option<&str>, notes: &mut Vec<String>) -> Option<Value> {
    let spec = object.value.get("spec")?;
    let refuse = |why: &str, notes: &mut Vec<String>| {
        notes.push(format!("not expressed ({why}): {}", object.describe()));
        None
    };
    let target = spec.get("target").cloned().unwrap_or(Value::Null);
    let target_name = target
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(object.name());
    let mut secret = Map::new();
    secret.insert("name".into(), json!(target_name));
    if target_name != object.name() {
        secret.insert("externalSecretName".into(), json!(object.name()));
    }
    let store = object.str_at("/spec/secretStoreRef/name");
    if Some(store) != default_store {
        secret.insert("store".into(), json!(store));
    }
    if let Some(interval) = spec.get("refreshInterval").and_then(Value::as_str) {
        secret.insert("refreshInterval".into(), json!(interval));
    }
    if let Some(policy) = target
        .get("creationPolicy")
        .and_then(Value::as_str)
        .filter(|p| *p != "Owner")
    {
        secret.insert("creationPolicy".into(), json!(policy));
    }
    let Some(data) = data(spec) else {
        return refuse("a remote reference gitopsc does not write", notes);
    };
    if !data.is_empty() {
        secret.insert("data".into(), Value::Array(data));
    }
    let data_from: Option<Vec<Value>> = spec
        .get("dataFrom")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(|d| d.pointer("/extract/key").cloned()).collect())
        .unwrap_or(Some(Vec::new()));
    let Some(data_from) = data_from else {
        return refuse("a `dataFrom` other than `extract`", notes);
    };
    if !data_from.is_empty() {
        secret.insert("dataFrom".into(), Value::Array(data_from));
    }
    if !template(&target, &mut secret) {
        return refuse("a template gitopsc does not write", notes);
    }
    for key in ["labels", "annotations"] {
        if let Some(map) = object
            .value
            .pointer(&format!("/spec/target/template/metadata/{key}"))
        {
            secret.insert(key.into(), map.clone());
        }
    }
    Some(Value::Object(secret))
}

/// The `data` entries (`key`, `remoteKey`, `property`), or `None` when one has more.
fn data(spec: &Value) -> Option<Vec<Value>> {
    let Some(list) = spec.get("data").and_then(Value::as_array) else {
        return Some(Vec::new());
    };
    list.iter()
        .map(|item| {
            let remote = item.get("remoteRef")?.as_object()?;
            if remote.keys().any(|k| k != "key" && k != "property") {
                return None;
            }
            let mut entry = Map::new();
            entry.insert("key".into(), item.get("secretKey")?.clone());
            entry.insert("remoteKey".into(), remote.get("key")?.clone());
            if let Some(property) = remote.get("property") {
                entry.insert("property".into(), property.clone());
            }
            Some(Value::Object(entry))
        })
        .collect()
}

/// Reads the target's template into `type`, `registry` and `template`; false when the template
/// is one the spec cannot say.
fn template(target: &Value, secret: &mut Map<String, Value>) -> bool {
    let Some(template) = target.get("template") else {
        return true;
    };
    let kind = template.get("type").and_then(Value::as_str).unwrap_or("Opaque");
    let data = template
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match kind {
        "kubernetes.io/basic-auth" => {
            secret.insert("type".into(), json!("basic-auth"));
            true
        }
        "kubernetes.io/dockerconfigjson" => {
            secret.insert("type".into(), json!("dockerconfigjson"));
            // gitopsc writes the auths JSON itself; the registry host is in it.
            let json = data
                .get(".dockerconfigjson")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match registry_of(json) {
                Some(host) => {
                    secret.insert("registry".into(), json!(host));
                    true
                }
                None => false,
            }
        }
        "Opaque" if !data.is_empty() => {
            secret.insert("template".into(), Value::Object(data));
            true
        }
        "Opaque" => true,
        _ => false,
    }
}

/// The registry host in an ESO template of a `.dockerconfigjson` (`{"auths":{"HOST":...}}`).
fn registry_of(template: &str) -> Option<String> {
    let start = template.find("\"auths\"")?;
    let rest = &template[start + 7..];
    let open = rest.find('"')?;
    let close = rest[open + 1..].find('"')?;
    Some(rest[open + 1..open + 1 + close].to_string())
}

/// The spec's secret stores: the Vault ClusterSecretStores of the tree, and by name alone the
/// stores ExternalSecrets use that the tree does not hold (they exist in the cluster already).
pub fn stores(objects: &[Object], notes: &mut Vec<String>) -> Vec<Value> {
    let mut out: Vec<Value> = objects
        .iter()
        .filter(|o| o.is("external-secrets.io", "ClusterSecretStore"))
        .filter_map(|o| store(o, notes))
        .collect();
    let mut used = std::collections::BTreeMap::new();
    for secret in objects.iter().filter(|o| is_external_secret(o)) {
        let name = secret.str_at("/spec/secretStoreRef/name");
        let kind = secret
            .value
            .pointer("/spec/secretStoreRef/kind")
            .and_then(Value::as_str)
            .unwrap_or("SecretStore");
        used.entry(name.to_string()).or_insert(kind.to_string());
    }
    for (name, kind) in used {
        if !out
            .iter()
            .any(|s| s.get("name").and_then(Value::as_str) == Some(name.as_str()))
        {
            out.push(json!({ "name": name, "kind": kind }));
        }
    }
    out
}

/// The spec's secret store for a ClusterSecretStore (Vault, or a provider [`provider`] reads),
/// or `None` with a note.
fn store(object: &Object, notes: &mut Vec<String>) -> Option<Value> {
    let Some(vault) = object.value.pointer("/spec/provider/vault") else {
        let provider = object.value.pointer("/spec/provider").and_then(provider);
        if provider.is_none() {
            notes.push(format!(
                "not expressed (a provider gitopsc does not write): {}",
                object.describe()
            ));
        }
        let (key, spec) = provider?;
        return Some(json!({ "name": object.name(), "kind": "ClusterSecretStore", key: spec }));
    };
    let auth = vault.pointer("/auth/kubernetes")?;
    let mut kubernetes = Map::new();
    for (from, to) in [
        ("mountPath", "mountPath"),
        ("role", "role"),
        ("serviceAccountRef", "serviceAccount"),
    ] {
        if let Some(v) = auth.get(from) {
            kubernetes.insert(to.into(), v.clone());
        }
    }
    let mut spec = Map::new();
    for key in ["server", "path", "version", "namespace"] {
        if let Some(v) = vault.get(key) {
            spec.insert(key.into(), v.clone());
        }
    }
    spec.insert("auth".into(), json!({ "kubernetes": kubernetes }));
    Some(json!({ "name": object.name(), "kind": "ClusterSecretStore", "vault": spec }))
}

/// The spec's key and value for a store's provider other than Vault, as gitopsc writes them
/// (1Password Connect or SDK, AWS, GCP, Azure Key Vault, Bitwarden).
fn provider(provider: &Value) -> Option<(&'static str, Value)> {
    let at = |p: &str| provider.pointer(p).cloned();
    if let Some(p) = provider.get("onepassword") {
        let token = p.pointer("/auth/secretRef/connectTokenSecretRef")?;
        return Some((
            "onePassword",
            json!({ "connectHost": p.get("connectHost")?, "vaults": p.get("vaults")?, "token": token }),
        ));
    }
    if let Some(p) = provider.get("onepasswordSDK") {
        let token = p.pointer("/auth/serviceAccountSecretRef")?;
        return Some((
            "onePasswordSdk",
            json!({ "vault": p.get("vault")?, "serviceAccountToken": token }),
        ));
    }
    if let Some(p) = provider.get("aws") {
        let mut aws = json!({ "region": p.get("region")?, "service": p.get("service")? });
        if let Some(role) = p.get("role") {
            aws["role"] = role.clone();
        }
        if let Some(sa) = at("/aws/auth/jwt/serviceAccountRef") {
            aws["auth"] = json!({ "serviceAccount": sa });
        } else if let Some(keys) = at("/aws/auth/secretRef") {
            aws["auth"] = json!({ "accessKey": {
                "id": keys.get("accessKeyIDSecretRef")?, "secret": keys.get("secretAccessKeySecretRef")? } });
        }
        return Some(("aws", aws));
    }
    if let Some(p) = provider.get("gcpsm") {
        let mut gcp = json!({ "projectID": p.get("projectID")? });
        if let Some(wi) = at("/gcpsm/auth/workloadIdentity") {
            gcp["auth"] = json!({ "workloadIdentity": {
                "serviceAccount": wi.get("serviceAccountRef")?,
                "clusterLocation": wi.get("clusterLocation")?,
                "clusterName": wi.get("clusterName")? } });
        } else if let Some(key) = at("/gcpsm/auth/secretRef/secretAccessKeySecretRef") {
            gcp["auth"] = json!({ "credentials": key });
        }
        return Some(("gcp", gcp));
    }
    if let Some(p) = provider.get("azurekv") {
        let auth = match p.get("authType")?.as_str()? {
            "WorkloadIdentity" => json!({ "workloadIdentity": p.get("serviceAccountRef")? }),
            "ManagedIdentity" => match p.get("identityId") {
                Some(id) => json!({ "managedIdentity": { "identityId": id } }),
                None => json!({ "managedIdentity": {} }),
            },
            "ServicePrincipal" => json!({ "servicePrincipal": {
                "clientId": p.pointer("/authSecretRef/clientId")?,
                "clientSecret": p.pointer("/authSecretRef/clientSecret")? } }),
            _ => return None,
        };
        let vault = json!({ "vaultUrl": p.get("vaultUrl")?, "tenantId": p.get("tenantId")?, "auth": auth });
        return Some(("azure", vault));
    }
    let p = provider.get("bitwardensecretsmanager")?;
    let mut ca = json!({ "name": p.pointer("/caProvider/name")?, "key": p.pointer("/caProvider/key")? });
    if let Some(ns) = p.pointer("/caProvider/namespace") {
        ca["namespace"] = ns.clone();
    }
    Some((
        "bitwarden",
        json!({
            "organizationID": p.get("organizationID")?,
            "projectID": p.get("projectID")?,
            "sdkServerUrl": p.get("bitwardenServerSDKURL")?,
            "ca": ca,
            "token": p.pointer("/auth/secretRef/credentials")?,
        }),
    ))
}

/// A patch that gives an ExternalSecret read into `secrets` its own labels and annotations
/// (`secrets[]` has those of the Secret it creates, not its own), but those the app gives
/// every object (`common`: the app's `labels` and `annotations`); `None` when nothing is left.
pub fn metadata_patch(object: &Object, common: [&Map<String, Value>; 2]) -> Option<Value> {
    let mut metadata = Map::new();
    for (which, common) in ["labels", "annotations"].into_iter().zip(common) {
        let own: Map<String, Value> = object
            .value
            .pointer(&format!("/metadata/{which}"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(k, _)| !common.contains_key(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !own.is_empty() {
            metadata.insert(which.into(), Value::Object(own));
        }
    }
    (!metadata.is_empty()).then(|| {
        json!({
            "target": {"kind": "ExternalSecret", "name": object.name()},
            "merge": {"metadata": metadata},
        })
    })
}
