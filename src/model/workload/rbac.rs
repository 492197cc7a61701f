//! RBAC: each ServiceAccount of the app, with a Role and RoleBinding for its namespaced
//! rules and a ClusterRole and ClusterRoleBinding for its cluster-wide ones.

use super::{Labels, Meta, app_labels};
use crate::kinds;
use crate::model::Manifest;
use crate::model::part::{AppCtx, Parts};
use crate::spec::workload::PolicyRule;
use serde::Serialize;
use serde_json::{Value, json};

/// A ServiceAccount.
#[derive(Debug, Serialize)]
struct ServiceAccountItem {
    meta: Meta,
    automount: bool,
}

/// A Role or ClusterRole.
#[derive(Debug, Serialize)]
struct RoleItem {
    meta: Meta,
    rules: Vec<Value>,
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Serialize)]
struct BindingItem {
    meta: Meta,
    role_kind: &'static str,
    role_name: String,
    subjects: Vec<Value>,
}

fn rules(rules: &[PolicyRule]) -> Vec<Value> {
    rules
        .iter()
        .map(|r| {
            let mut out = serde_json::Map::new();
            for (field, list) in [
                ("apiGroups", &r.api_groups),
                ("resources", &r.resources),
                ("resourceNames", &r.resource_names),
                ("nonResourceURLs", &r.non_resource_urls),
                ("verbs", &r.verbs),
            ] {
                if !list.is_empty() {
                    out.insert(field.into(), json!(list));
                }
            }
            Value::Object(out)
        })
        .collect()
}

/// Adds the app's ServiceAccounts and their roles and bindings.
pub fn parts(app: &AppCtx, parts: &mut Parts) {
    let labels: Labels = app_labels(&app.name);
    let meta = |name: String, namespace: &str| Meta {
        name,
        namespace: namespace.to_string(),
        labels: labels.clone(),
    };
    for sa in &app.spec.service_accounts {
        let name = sa.name.to_string();
        parts.release(Manifest::new(
            format!("serviceaccount-{name}.yaml"),
            "rbac/serviceaccount.yaml.j2",
            &kinds::SERVICE_ACCOUNT,
            ServiceAccountItem {
                meta: meta(name.clone(), &app.namespace),
                automount: sa.talks_to_api(),
            },
        ));
        let subjects = vec![json!({"kind": "ServiceAccount", "name": name, "namespace": app.namespace})];
        if !sa.rules.is_empty() {
            parts.release(Manifest::new(
                format!("role-{name}.yaml"),
                "rbac/role.yaml.j2",
                &kinds::ROLE,
                RoleItem {
                    meta: meta(name.clone(), &app.namespace),
                    rules: rules(&sa.rules),
                },
            ));
            parts.release(Manifest::new(
                format!("rolebinding-{name}.yaml"),
                "rbac/rolebinding.yaml.j2",
                &kinds::ROLE_BINDING,
                BindingItem {
                    meta: meta(name.clone(), &app.namespace),
                    role_kind: "Role",
                    role_name: name.clone(),
                    subjects: subjects.clone(),
                },
            ));
        }
        if !sa.cluster_rules.is_empty() {
            // Cluster-scoped: the namespace keeps two apps' accounts of one name apart.
            let cluster_name = format!("{}:{name}", app.namespace);
            parts.release(Manifest::new(
                format!("clusterrole-{name}.yaml"),
                "rbac/clusterrole.yaml.j2",
                &kinds::CLUSTER_ROLE,
                RoleItem {
                    meta: meta(cluster_name.clone(), ""),
                    rules: rules(&sa.cluster_rules),
                },
            ));
            parts.release(Manifest::new(
                format!("clusterrolebinding-{name}.yaml"),
                "rbac/clusterrolebinding.yaml.j2",
                &kinds::CLUSTER_ROLE_BINDING,
                BindingItem {
                    meta: meta(cluster_name.clone(), ""),
                    role_kind: "ClusterRole",
                    role_name: cluster_name,
                    subjects,
                },
            ));
        }
    }
}
