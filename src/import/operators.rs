//! The spec's `operators`: read from gitopsc's gates or the apps that install the operators,
//! else assumed installed outside the tree when the apps need them.

use super::apps;
use super::read::Object;
use serde_json::{Map, Value, json};

/// The operators the apps use: from gitopsc's gates (`cnpg-gate` health-checking a
/// HelmRelease or a Deployment), else from the apps that install the operators' charts.
pub fn operators(
    objects: &[Object],
    apps: &[apps::App],
    default_timeout: Option<&str>,
) -> Map<String, Value> {
    const OPERATORS: [(&str, &str, &str); 6] = [
        ("cnpg", "cnpg-gate", "cloudnative-pg"),
        ("barmanCloud", "barman-cloud-gate", "plugin-barman-cloud"),
        ("externalSecrets", "external-secrets-gate", "external-secrets"),
        ("kubeblocks", "kubeblocks-gate", "kubeblocks"),
        ("dragonfly", "dragonfly-gate", "dragonfly-operator"),
        ("volsync", "volsync-gate", "volsync"),
    ];
    let mut out = Map::new();
    for (key, gate, chart) in OPERATORS {
        let gate = objects
            .iter()
            .find(|o| o.is("kustomize.toolkit.fluxcd.io", "Kustomization") && o.name() == gate);
        let check = gate
            .and_then(|g| g.value.pointer("/spec/healthChecks")?.as_array())
            .and_then(|checks| {
                checks.iter().find(|c| {
                    matches!(
                        c.get("kind").and_then(Value::as_str),
                        Some("HelmRelease" | "Deployment")
                    )
                })
            });
        let spec = match check {
            Some(c) if c.get("kind").and_then(Value::as_str) == Some("HelmRelease") => {
                json!({ "app": c.get("name") })
            }
            Some(c) => {
                let external = gate.and_then(|g| g.value.pointer("/spec/dependsOn/0/name"));
                json!({ "external": external, "deployment": c.get("name"), "namespace": c.get("namespace") })
            }
            None => {
                let installs = |a: &&apps::App| {
                    a.objects.iter().any(|o| {
                        o.is("helm.toolkit.fluxcd.io", "HelmRelease")
                            && o.str_at("/spec/chart/spec/chart") == chart
                            || o.is("source.toolkit.fluxcd.io", "OCIRepository")
                                && o.str_at("/spec/url").ends_with(&format!("/{chart}"))
                    })
                };
                match apps.iter().find(installs) {
                    Some(app) => json!({ "app": app.name }),
                    None => continue,
                }
            }
        };
        let mut spec = spec;
        let timeout = gate.map(|g| g.str_at("/spec/timeout")).filter(|t| !t.is_empty());
        if let (Some(t), Some(map)) = (timeout, spec.as_object_mut())
            && Some(t) != default_timeout
        {
            map.insert("timeout".into(), json!(t));
        }
        out.insert(key.into(), spec);
    }
    out
}

/// Operators the imported apps need that neither a gate nor an app of the tree installs:
/// declared as installed outside the tree by a Flux Kustomization of the operator's usual
/// name, with its usual Deployment and namespace (else the spec would not compile). Returns
/// each one's key and Kustomization.
pub fn assumed(apps: &[Value], operators: &mut Map<String, Value>) -> Vec<(&'static str, &'static str)> {
    const USUAL: [(&str, &str, &str, &str); 6] = [
        (
            "externalSecrets",
            "external-secrets",
            "external-secrets",
            "external-secrets",
        ),
        ("cnpg", "cloudnative-pg", "cnpg-controller-manager", "cnpg-system"),
        (
            "barmanCloud",
            "plugin-barman-cloud",
            "barman-cloud",
            "cnpg-system",
        ),
        ("kubeblocks", "kubeblocks", "kubeblocks", "kb-system"),
        (
            "dragonfly",
            "dragonfly-operator",
            "dragonfly-operator-controller-manager",
            "dragonfly-operator-system",
        ),
        ("volsync", "volsync", "volsync", "volsync-system"),
    ];
    let mut out = Vec::new();
    for (key, ks, deployment, namespace) in USUAL {
        if operators.contains_key(key) || !apps.iter().any(|app| needs(app, key)) {
            continue;
        }
        operators.insert(
            key.into(),
            json!({ "external": ks, "deployment": deployment, "namespace": namespace }),
        );
        out.push((key, ks));
    }
    out
}

/// Whether an app of the spec needs the operator `key`.
fn needs(app: &Value, key: &str) -> bool {
    let provider = |of: &str| {
        app.get(of)
            .map(|v| v.get("provider").and_then(Value::as_str).unwrap_or("cnpg"))
    };
    match key {
        "externalSecrets" => app.get("secrets").is_some(),
        "cnpg" => provider("postgres").is_some_and(|p| p == "cnpg"),
        "barmanCloud" => app.pointer("/postgres/backup").is_some(),
        "kubeblocks" => provider("postgres") == Some("kubeblocks") || provider("redis") == Some("kubeblocks"),
        "dragonfly" => provider("redis") == Some("dragonfly"),
        _ => app.get("volumeBackups").is_some(),
    }
}
