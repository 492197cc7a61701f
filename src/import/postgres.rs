//! A CloudNative-PG `Cluster` and what goes with it (its Barman Cloud `ObjectStore`,
//! `ScheduledBackup`, `PodMonitor`, `Database`s), as the spec's `postgres`.

use super::read::Object;
use serde_json::{Map, Value, json};

/// The spec's `postgres` of the app's one CNPG Cluster, or `None` when it has none (or more
/// than one: a note says so).
pub fn postgres(app: &str, objects: &[Object], notes: &mut Vec<String>) -> Option<Value> {
    let mut clusters = objects.iter().filter(|o| o.is("postgresql.cnpg.io", "Cluster"));
    let Some(cluster) = clusters.next() else {
        return kubeblocks(app, objects);
    };
    for extra in clusters {
        notes.push(format!(
            "app `{app}`: a second CloudNative-PG cluster is not expressed: {}",
            extra.describe()
        ));
    }
    let spec = cluster.value.get("spec")?;
    let mut pg = Map::new();
    if cluster.name() != format!("{app}-pg") {
        pg.insert("name".into(), json!(cluster.name()));
    }
    if let Some(n) = spec.get("instances") {
        pg.insert("instances".into(), n.clone());
    }
    image(spec, &mut pg);
    pg.insert("storage".into(), storage(spec.get("storage")));
    if let Some(wal) = spec.get("walStorage") {
        pg.insert("walStorage".into(), storage(Some(wal)));
    }
    for (from, to) in [
        ("/resources", "resources"),
        ("/postgresql/parameters", "parameters"),
        ("/postgresql/pg_hba", "pgHba"),
        ("/superuserSecret/name", "superuserSecret"),
    ] {
        let present = |v: &&Value| match v {
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        };
        if let Some(v) = spec.pointer(from).filter(present) {
            pg.insert(to.into(), v.clone());
        }
    }
    // The synchronous settings the spec has (others are listed as differing).
    if let Some(sync) = spec.pointer("/postgresql/synchronous").and_then(Value::as_object) {
        let known: Map<String, Value> = sync
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "method" | "number" | "dataDurability"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pg.insert("synchronous".into(), Value::Object(known));
    }
    if spec.get("enableSuperuserAccess") == Some(&json!(true)) {
        pg.insert("enableSuperuserAccess".into(), json!(true));
    }
    if spec
        .pointer("/affinity/podAntiAffinityType")
        .and_then(Value::as_str)
        == Some("required")
    {
        pg.insert("antiAffinity".into(), json!("required"));
    }
    if spec.get("primaryUpdateStrategy").and_then(Value::as_str) == Some("supervised") {
        pg.insert("primaryUpdateStrategy".into(), json!("supervised"));
    }
    initdb(spec.pointer("/bootstrap/initdb"), &mut pg);
    roles(spec.pointer("/managed/roles"), &mut pg);
    databases(cluster.name(), objects, &mut pg);
    poolers(cluster.name(), objects, &mut pg);
    if let Some(backup) = backup(cluster, objects) {
        pg.insert("backup".into(), backup);
    }
    let monitored = objects
        .iter()
        .any(|o| o.is_pod_scrape() && o.name() == cluster.name());
    if !monitored {
        pg.insert("monitoring".into(), json!(false));
    }
    Some(Value::Object(pg))
}

/// A KubeBlocks `Cluster` of the `postgresql` ClusterDefinition, with the database its
/// create-database Job makes (`<cluster>-create-db-<hash>`).
fn kubeblocks(app: &str, objects: &[Object]) -> Option<Value> {
    let cluster = objects
        .iter()
        .find(|o| o.is("apps.kubeblocks.io", "Cluster") && o.str_at("/spec/clusterDef") == "postgresql")?;
    let job_prefix = format!("{}-create-db-", cluster.name());
    let script = objects
        .iter()
        .find(|o| o.is("batch", "Job") && o.name().starts_with(&job_prefix))?
        .str_at("/spec/template/spec/containers/0/command/2");
    let database = script.split("datname = '").nth(1)?.split('\'').next()?;
    let mut pg = Map::new();
    pg.insert("provider".into(), json!("kubeblocks"));
    if cluster.name() != format!("{app}-pg") {
        pg.insert("name".into(), json!(cluster.name()));
    }
    let component = cluster
        .value
        .pointer("/spec/componentSpecs")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some("postgresql"))?;
    super::redis::kubeblocks_component(component, "instances", &mut pg);
    pg.insert("database".into(), json!(database));
    Some(Value::Object(pg))
}

/// `version` from CloudNative-PG's standard image (`…/postgresql:16.10-standard-trixie`), else
/// `image`.
fn image(spec: &Value, pg: &mut Map<String, Value>) {
    let Some(image) = spec.get("imageName").and_then(Value::as_str) else {
        return;
    };
    let standard = image
        .strip_prefix("ghcr.io/cloudnative-pg/postgresql:")
        .and_then(|tag| tag.strip_suffix("-standard-trixie"));
    match standard {
        Some(version) => pg.insert("version".into(), json!(version)),
        None => pg.insert("image".into(), json!(image)),
    };
}

fn storage(value: Option<&Value>) -> Value {
    let mut out = Map::new();
    for key in ["size", "storageClass"] {
        if let Some(v) = value.and_then(|s| s.get(key)) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The initdb bootstrap: database, owner, its secret, encoding, locale, SQL run after.
fn initdb(initdb: Option<&Value>, pg: &mut Map<String, Value>) {
    let Some(initdb) = initdb else { return };
    for (from, to) in [
        ("/database", "database"),
        ("/owner", "owner"),
        ("/secret/name", "ownerSecret"),
        ("/encoding", "encoding"),
        ("/localeCollate", "locale"),
        ("/postInitApplicationSQL", "postInitSql"),
    ] {
        if let Some(v) = initdb.pointer(from) {
            pg.insert(to.into(), v.clone());
        }
    }
}

/// Managed roles.
fn roles(roles: Option<&Value>, pg: &mut Map<String, Value>) {
    let Some(list) = roles.and_then(Value::as_array) else {
        return;
    };
    let roles: Vec<Value> = list
        .iter()
        .map(|role| {
            let mut out = Map::new();
            out.insert("name".into(), role.get("name").cloned().unwrap_or(Value::Null));
            if role.get("login") == Some(&json!(false)) {
                out.insert("login".into(), json!(false));
            }
            for (from, to) in [
                ("/passwordSecret/name", "passwordSecret"),
                ("/inRoles", "inRoles"),
                ("/connectionLimit", "connectionLimit"),
                ("/createdb", "createdb"),
                ("/replication", "replication"),
                ("/bypassrls", "bypassrls"),
                ("/validUntil", "validUntil"),
            ] {
                if let Some(v) = role.pointer(from) {
                    out.insert(to.into(), v.clone());
                }
            }
            Value::Object(out)
        })
        .collect();
    pg.insert("roles".into(), Value::Array(roles));
}

/// `Database` objects of the cluster.
fn databases(cluster: &str, objects: &[Object], pg: &mut Map<String, Value>) {
    let list: Vec<Value> = objects
        .iter()
        .filter(|o| o.is("postgresql.cnpg.io", "Database") && o.str_at("/spec/cluster/name") == cluster)
        .map(|db| {
            let mut out = Map::new();
            out.insert("name".into(), json!(db.str_at("/spec/name")));
            out.insert("owner".into(), json!(db.str_at("/spec/owner")));
            if let Some(ext) = db.value.pointer("/spec/extensions").and_then(Value::as_array) {
                let names: Vec<&Value> = ext.iter().filter_map(|e| e.get("name")).collect();
                out.insert("extensions".into(), json!(names));
            }
            Value::Object(out)
        })
        .collect();
    if !list.is_empty() {
        pg.insert("databases".into(), Value::Array(list));
    }
}

/// The backup: the Barman Cloud ObjectStore the cluster archives to, and its ScheduledBackup.
fn backup(cluster: &Object, objects: &[Object]) -> Option<Value> {
    let store_name = cluster
        .value
        .pointer("/spec/plugins")?
        .as_array()?
        .iter()
        .find_map(|p| p.pointer("/parameters/barmanObjectName")?.as_str())?;
    let store = objects
        .iter()
        .find(|o| o.is("barmancloud.cnpg.io", "ObjectStore") && o.name() == store_name)?;
    let config = store.value.pointer("/spec/configuration")?;
    let mut backup = Map::new();
    backup.insert("destinationPath".into(), config.get("destinationPath")?.clone());
    if let Some(url) = config.get("endpointURL") {
        backup.insert("endpointURL".into(), url.clone());
    }
    backup.insert(
        "credentials".into(),
        config.pointer("/s3Credentials/accessKeyId/name")?.clone(),
    );
    for (from, to, default) in [
        (
            "/s3Credentials/accessKeyId/key",
            "accessKeyIdKey",
            "ACCESS_KEY_ID",
        ),
        (
            "/s3Credentials/secretAccessKey/key",
            "secretAccessKeyKey",
            "ACCESS_SECRET_KEY",
        ),
        ("/wal/compression", "compression", "gzip"),
    ] {
        if let Some(v) = config.pointer(from).filter(|v| v.as_str() != Some(default)) {
            backup.insert(to.into(), v.clone());
        }
    }
    if let Some(retention) = store.value.pointer("/spec/retentionPolicy") {
        backup.insert("retention".into(), retention.clone());
    }
    for (from, to) in [
        ("/data/jobs", "jobs"),
        ("/data/immediateCheckpoint", "immediateCheckpoint"),
        ("/wal/encryption", "encryption"),
    ] {
        if let Some(v) = config.pointer(from) {
            backup.insert(to.into(), v.clone());
        }
    }
    let server = cluster.value.pointer("/spec/plugins")?.as_array()?.iter();
    if let Some(name) = server.filter_map(|p| p.pointer("/parameters/serverName")).next() {
        backup.insert("serverName".into(), name.clone());
    }
    let scheduled = objects.iter().find(|o| {
        o.is("postgresql.cnpg.io", "ScheduledBackup") && o.str_at("/spec/cluster/name") == cluster.name()
    });
    for (from, to) in [("/spec/schedule", "schedule"), ("/spec/target", "target")] {
        if let Some(v) = scheduled.and_then(|s| s.value.pointer(from)) {
            backup.insert(to.into(), v.clone());
        }
    }
    Some(Value::Object(backup))
}

/// The cluster's CloudNative-PG `Pooler`s (`<cluster>-pooler-<name>`), and `connectVia` when a
/// release's values name one's Service.
fn poolers(cluster: &str, objects: &[Object], pg: &mut Map<String, Value>) {
    let prefix = format!("{cluster}-pooler-");
    let mut list = Vec::new();
    for pooler in objects
        .iter()
        .filter(|o| o.is("postgresql.cnpg.io", "Pooler") && o.str_at("/spec/cluster/name") == cluster)
    {
        let Some(name) = pooler.name().strip_prefix(&prefix) else {
            continue;
        };
        let mut out = Map::new();
        out.insert("name".into(), json!(name));
        let spec = |p: &str| pooler.value.pointer(&format!("/spec{p}"));
        for (from, to) in [
            ("/type", "type"),
            ("/instances", "instances"),
            ("/pgbouncer/poolMode", "poolMode"),
            ("/pgbouncer/parameters", "parameters"),
            ("/template/spec/containers/0/resources", "resources"),
            ("/template/spec/affinity", "affinity"),
        ] {
            if let Some(v) = spec(from) {
                out.insert(to.into(), v.clone());
            }
        }
        let budget = objects
            .iter()
            .find(|o| o.is("policy", "PodDisruptionBudget") && o.name() == pooler.name());
        if let Some(budget) = budget {
            let mut b = Map::new();
            for key in ["minAvailable", "maxUnavailable"] {
                if let Some(v) = budget.value.pointer(&format!("/spec/{key}")) {
                    b.insert(key.into(), v.clone());
                }
            }
            out.insert("disruptionBudget".into(), Value::Object(b));
        }
        let monitored = objects
            .iter()
            .any(|o| o.is_pod_scrape() && o.name() == pooler.name());
        if !monitored {
            out.insert("monitoring".into(), json!(false));
        }
        let named = objects
            .iter()
            .filter(|o| o.is("helm.toolkit.fluxcd.io", "HelmRelease"))
            .any(|r| r.value.get("spec").is_some_and(|v| mentions(v, pooler.name())));
        if named {
            pg.insert("connectVia".into(), json!(name));
        }
        list.push(Value::Object(out));
    }
    if !list.is_empty() {
        pg.insert("poolers".into(), Value::Array(list));
    }
}

/// True when a string in `value` is `text`.
fn mentions(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => s == text,
        Value::Array(items) => items.iter().any(|v| mentions(v, text)),
        Value::Object(map) => map.values().any(|v| mentions(v, text)),
        _ => false,
    }
}

/// `postgres.allowNamespaces` and a KubeBlocks Redis's `redis.allowNamespaces` of each app,
/// read back from its cluster's `<cluster>-database` NetworkPolicy (written under a default
/// deny of the namespace, by whichever app denies): the rule after the one that admits the
/// namespace's own pods, on the same client ports, from namespaces by name.
pub fn allow_namespaces(apps: &mut [Value], objects: &[Object]) {
    for app in apps.iter_mut() {
        let name = app
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let namespace = app
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or(&name)
            .to_string();
        for (field, suffix) in [("postgres", "pg"), ("redis", "redis")] {
            let Some(service) = app.get_mut(field).and_then(Value::as_object_mut) else {
                continue;
            };
            if field == "redis" && service.get("provider") != Some(&json!("kubeblocks")) {
                continue;
            }
            let cluster = match service.get("name").and_then(Value::as_str) {
                Some(cluster) => cluster.to_string(),
                None => format!("{name}-{suffix}"),
            };
            let allowed = admitted(objects, &format!("{cluster}-database"), &namespace);
            if !allowed.is_empty() {
                service.insert("allowNamespaces".into(), json!(allowed));
            }
        }
    }
}

/// The namespaces the NetworkPolicy `policy` in `namespace` admits by name beside the
/// namespace's own pods, on the same ports.
fn admitted(objects: &[Object], policy: &str, namespace: &str) -> Vec<String> {
    let policy = objects.iter().find(|o| {
        o.is("networking.k8s.io", "NetworkPolicy") && o.name() == policy && o.namespace() == Some(namespace)
    });
    let rules = policy
        .and_then(|p| p.value.pointer("/spec/ingress")?.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let own = rules
        .iter()
        .position(|r| r.get("from") == Some(&json!([{"podSelector": {}}])));
    own.and_then(|i| Some((&rules[i], rules.get(i + 1)?)))
        .filter(|(own, next)| own.get("ports") == next.get("ports"))
        .map(|(_, next)| namespaces_by_name(next))
        .unwrap_or_default()
}

/// The namespaces a rule's one `from` peer names by `kubernetes.io/metadata.name` (one by
/// `matchLabels`, several by an `In` expression); none when it selects otherwise.
fn namespaces_by_name(rule: &Value) -> Vec<String> {
    const NAME: &str = "kubernetes.io/metadata.name";
    let Some([peer]) = rule.get("from").and_then(Value::as_array).map(Vec::as_slice) else {
        return Vec::new();
    };
    let Some(selector) = peer.get("namespaceSelector").and_then(Value::as_object) else {
        return Vec::new();
    };
    if peer.as_object().is_some_and(|p| p.len() != 1) || selector.len() != 1 {
        return Vec::new();
    }
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object)
        && labels.len() == 1
        && let Some(one) = labels.get(NAME).and_then(Value::as_str)
    {
        return vec![one.to_string()];
    }
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    match expressions.map(Vec::as_slice) {
        Some([e]) if e.get("key") == Some(&json!(NAME)) && e.get("operator") == Some(&json!("In")) => e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_namespaces_are_read_from_either_selector_form() {
        const NAME: &str = "kubernetes.io/metadata.name";
        let one = json!({"from": [{"namespaceSelector": {"matchLabels": {NAME: "web"}}}]});
        assert_eq!(namespaces_by_name(&one), ["web"]);
        let many = json!({"from": [{"namespaceSelector": {"matchExpressions": [
            {"key": NAME, "operator": "In", "values": ["web", "reports"]}]}}]});
        assert_eq!(namespaces_by_name(&many), ["web", "reports"]);
        let with_pods =
            json!({"from": [{"namespaceSelector": {"matchLabels": {NAME: "web"}}, "podSelector": {}}]});
        assert!(
            namespaces_by_name(&with_pods).is_empty(),
            "pods of a namespace are not the namespace"
        );
        let by_label = json!({"from": [{"namespaceSelector": {"matchLabels": {"team": "web"}}}]});
        assert!(namespaces_by_name(&by_label).is_empty());
    }
}
