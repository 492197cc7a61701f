//! The ServiceAccount a workload runs as, read back into a `serviceAccounts` entry with the
//! rules of its Role (same name) and ClusterRole (`<namespace>:<account>`) and their bindings.

use super::read::Object;
use super::rest::Rest;
use super::verify::{Key, key};
use super::workloads::Context;
use serde_json::{Map, Value, json};

/// The `serviceAccounts` entry of account `name`, adding the objects it stands for to
/// `owned`; what `serviceAccounts` cannot say of them goes to `unread`.
pub fn account(cx: &Context, name: &str, owned: &mut Vec<Key>, unread: &mut Vec<String>) -> Option<Value> {
    let namespace = cx.app.namespace.as_deref().unwrap_or(&cx.app.name);
    let find = |kind: &str, wanted: &str| {
        cx.app
            .objects
            .iter()
            .find(|o| o.group() == group_of(kind) && o.kind() == kind && o.name() == wanted)
    };
    let Some(account) = find("ServiceAccount", name) else {
        unread.push(format!(
            "serviceAccountName `{name}` (no ServiceAccount `{name}` in the app)"
        ));
        return None;
    };
    let mut rest = Rest::new(account.value.clone(), &format!("ServiceAccount {name}"));
    own_metadata(cx, &mut rest, unread);
    let automount = rest.take("/automountServiceAccountToken");
    unread.extend(rest.left());
    owned.push(key(account));
    let mut entry = json!({"name": name});
    let cluster_name = format!("{namespace}:{name}");
    for (role_kind, binding_kind, role_name, field) in [
        ("Role", "RoleBinding", name, "rules"),
        (
            "ClusterRole",
            "ClusterRoleBinding",
            cluster_name.as_str(),
            "clusterRules",
        ),
    ] {
        let Some(role) = find(role_kind, role_name) else {
            continue;
        };
        let rules = rules(cx, role, unread);
        let subject = json!([{"kind": "ServiceAccount", "name": name, "namespace": namespace}]);
        let role_ref = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name});
        match find(binding_kind, role_name) {
            Some(binding) => {
                let mut b = Rest::new(binding.value.clone(), &format!("{binding_kind} {role_name}"));
                own_metadata(cx, &mut b, unread);
                if b.peek("/subjects") == Some(&subject) && b.peek("/roleRef") == Some(&role_ref) {
                    b.take("/subjects");
                    b.take("/roleRef");
                }
                unread.extend(b.left());
                owned.push(key(binding));
            }
            None => unread.push(format!(
                "{role_kind} {role_name} (bound by no {binding_kind} of that name)"
            )),
        }
        owned.push(key(role));
        entry[field] = Value::Array(rules);
    }
    let has_rules = entry.get("rules").is_some() || entry.get("clusterRules").is_some();
    if automount != Some(json!(has_rules)) {
        entry["automountToken"] = automount.unwrap_or(json!(true));
    }
    Some(entry)
}

fn group_of(kind: &str) -> &'static str {
    if kind == "ServiceAccount" {
        ""
    } else {
        "rbac.authorization.k8s.io"
    }
}

/// Takes the identity and gitopsc's labels of an RBAC object; other labels and annotations
/// are unread.
fn own_metadata(cx: &Context, rest: &mut Rest, unread: &mut Vec<String>) {
    for pointer in ["/apiVersion", "/kind", "/metadata/name", "/metadata/namespace"] {
        rest.take(pointer);
    }
    let mut own = Map::new();
    own.insert("app.kubernetes.io/instance".into(), json!(cx.app.name));
    own.insert("app.kubernetes.io/managed-by".into(), json!("gitopsc"));
    for (k, v) in rest.take_map("/metadata/labels") {
        if own.get(&k) != Some(&v) && cx.labels.get(&k) != Some(&v) {
            unread.push(format!("{}: metadata.labels.{k}", rest.path("")));
        }
    }
    for (k, v) in rest.take_map("/metadata/annotations") {
        if cx.annotations.get(&k) != Some(&v) {
            unread.push(format!("{}: metadata.annotations.{k}", rest.path("")));
        }
    }
}

/// A Role's or ClusterRole's rules as the spec's.
fn rules(cx: &Context, role: &Object, unread: &mut Vec<String>) -> Vec<Value> {
    let mut rest = Rest::new(role.value.clone(), &format!("{} {}", role.kind(), role.name()));
    own_metadata(cx, &mut rest, unread);
    let mut out = Vec::new();
    for (i, rule) in rest.take_list("/rules").into_iter().enumerate() {
        let mut r = Rest::new(rule, &rest.path(&format!("/rules/{i}")));
        let mut entry = Map::new();
        for (from, to) in [
            ("apiGroups", "apiGroups"),
            ("resources", "resources"),
            ("resourceNames", "resourceNames"),
            ("nonResourceURLs", "nonResourceUrls"),
            ("verbs", "verbs"),
        ] {
            if let Some(list) = r.take(&format!("/{from}")) {
                entry.insert(to.into(), list);
            }
        }
        unread.extend(r.left());
        out.push(Value::Object(entry));
    }
    unread.extend(rest.left());
    out
}
