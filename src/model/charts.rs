//! Wiring an app into a chart gitopsc knows: its data services, secrets and monitoring put
//! where the chart's table ([`crate::charts::table`]) says.

use super::ValuesFrom;
use super::postgres::Connection;
use super::redis::RedisConnection;
use crate::charts::table::{Chart, DbValue, RedisTable, SecretKnob, version_of};
pub use crate::charts::table::{get_path, lookup};
use crate::diagnostic::{Code, Diagnostic};
use crate::spec::data::{DatabaseSpec, PostgresProvider, PostgresSpec, RedisSpec};
use crate::spec::path::{Field, SpecPath};
use crate::spec::places::Places;
use crate::spec::secrets::SecretSpec;
use crate::spec::{AppSpec, HelmSpec};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What wiring adds to a release.
#[derive(Default)]
pub struct Wiring {
    /// Values gitopsc sets.
    pub values: Map<String, Value>,
    /// `valuesFrom` entries gitopsc adds.
    pub values_from: Vec<ValuesFrom>,
    /// Secrets a HelmRelease reads through `valuesFrom` (Flux must watch them).
    pub watched: BTreeSet<String>,
    /// Caveats for the runbook.
    pub caveats: Vec<String>,
}

/// Inputs of the wiring of one app.
pub struct WiringInput<'a> {
    /// The app.
    pub app: &'a AppSpec,
    /// Its chart values as the user wrote them (references not resolved).
    pub values: &'a Map<String, Value>,
    /// Its place in the spec (`/apps/<i>`).
    pub index_base: &'a SpecPath,
    /// Its database.
    pub postgres: Option<&'a Connection>,
    /// Its Redis.
    pub redis: Option<&'a RedisConnection>,
    /// The cluster's monitoring.
    pub monitoring: &'a crate::spec::MonitoringDefaults,
}

/// Wires an app's data services, secrets and monitoring into its chart's values.
pub fn wire(chart: &Chart, input: &WiringInput, spans: &Places, diags: &mut Vec<Diagnostic>) -> Wiring {
    let mut w = Wirer {
        chart,
        input,
        spans,
        diags,
        wiring: Wiring::default(),
    };
    w.database();
    w.redis();
    w.redis_indexes();
    w.secrets();
    w.metrics();
    w.wiring
}

/// One app's wiring under way.
struct Wirer<'a> {
    chart: &'a Chart,
    input: &'a WiringInput<'a>,
    spans: &'a Places,
    diags: &'a mut Vec<Diagnostic>,
    wiring: Wiring,
}

impl Wirer<'_> {
    /// The place of a field of the app.
    fn at(&self, field: Field) -> SpecPath {
        self.input.index_base.field(field)
    }

    /// Sets a value gitopsc wires (from the spec's `from`), refusing a different one the user
    /// set at the same path.
    fn set(&mut self, path: &str, value: Value, from: &str) {
        if let Some(existing) = get_path(self.input.values, path)
            && existing != &value
        {
            let pointer = self
                .at(AppSpec::HELM)
                .field(HelmSpec::VALUES)
                .keys(path.split('.'));
            self.diags.push(
                Diagnostic::error(
                    Code::ValueSetByGitopsc,
                    format!("`{path}` is set by gitopsc from `{from}`"),
                )
                .at(self.spans.value(&pointer), format!("gitopsc sets {value}"))
                .help("remove it from `helm.values`; gitopsc wires it"),
            );
        }
        set_path(&mut self.wiring.values, path, value);
    }

    /// The database connection, and the databases the chart no longer uses.
    fn database(&mut self) {
        let (Some(conn), Some(pg)) = (self.input.postgres, &self.input.app.postgres) else {
            return;
        };
        for (path, what) in self.chart.database {
            let value = match what {
                DbValue::Literal(s) => (*s).to_string(),
                DbValue::Host => conn.host.clone(),
                DbValue::PortString => conn.port.to_string(),
                DbValue::User => conn.user.clone(),
                DbValue::Database => conn.database.clone(),
                DbValue::Secret => conn.secret.clone(),
                DbValue::SslMode => match pg.provider {
                    PostgresProvider::Cnpg => "require",
                    PostgresProvider::Kubeblocks => "disable",
                }
                .to_string(),
            };
            self.set(path, Value::String(value), "postgres");
        }
        for (d, db) in pg.databases.iter().enumerate() {
            if let Some((_, why)) = self.chart.obsolete_databases.iter().find(|(n, _)| *n == db.name) {
                let at = self.spans.value(
                    &self
                        .at(AppSpec::POSTGRES)
                        .field(PostgresSpec::DATABASES)
                        .index(d)
                        .field(DatabaseSpec::NAME),
                );
                self.diags.push(
                    Diagnostic::warning(
                        Code::ChartUnusedDatabase,
                        format!(
                            "the {} chart does not use a `{}` database",
                            self.chart.name, db.name
                        ),
                    )
                    .at(at, "unused database")
                    .help(format!("{why}; remove it")),
                );
            }
        }
    }

    /// Redis: the address, the consumers' indexes, the password through `valuesFrom`.
    fn redis(&mut self) {
        let (Some(conn), Some(redis), Some(table)) =
            (self.input.redis, &self.input.app.redis, &self.chart.redis)
        else {
            return;
        };
        if let (Some(why), Some(_), Some(_)) = (
            table.sentinel_without_password,
            &conn.sentinel_master_set,
            &conn.secret,
        ) {
            let at = self
                .spans
                .key(&self.at(AppSpec::REDIS).field(RedisSpec::SENTINEL_MASTER_SET));
            self.diags.push(
                Diagnostic::warning(Code::ChartSentinelPassword, format!(
                    "the {} chart cannot use a Sentinel with a password",
                    self.chart.name
                ))
                .at(at, "Sentinel and `passwordSecret`")
                .help(format!(
                    "{why}; point `address` at the master's Service instead of the sentinels and drop `sentinelMasterSet` (what the `kubeblocks` provider does), or run the sentinels without a password"
                )),
            );
            self.wiring.caveats.push(format!(
                "Redis: {why}. The release is wired to the sentinels with a password: run them without one, or \
                 point `redis.address` at the master's Service."
            ));
        }
        for (path, value) in table.literals {
            self.set(path, Value::String((*value).into()), "redis");
        }
        self.set(table.addr, Value::String(conn.address.clone()), "redis");
        if let Some(master) = &conn.sentinel_master_set {
            self.set(table.sentinel_master_set, Value::String(master.clone()), "redis");
        }
        for (consumer, index) in &redis.databases {
            self.redis_consumer(table, consumer, *index);
        }
        if let Some(secret) = &conn.secret {
            self.redis_password(table, conn, secret);
        }
    }

    /// Where one Redis consumer's index goes, and whether the chart allows it.
    fn redis_consumer(&mut self, table: &RedisTable, consumer: &str, index: u32) {
        let pointer = self.at(AppSpec::REDIS).field(RedisSpec::DATABASES).key(consumer);
        match table.consumers.iter().find(|(c, _)| *c == consumer) {
            None => self.diags.push(
                Diagnostic::error(
                    Code::UnknownRedisConsumer,
                    format!("the {} chart has no Redis consumer `{consumer}`", self.chart.name),
                )
                .at(self.spans.key(&pointer), "unknown consumer")
                .help(format!(
                    "its consumers are: {}",
                    table
                        .consumers
                        .iter()
                        .map(|(c, _)| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ),
            Some((_, path)) => self.set(path, Value::String(index.to_string()), "redis.databases"),
        }
        if let Some((_, why)) = table.index_zero.iter().find(|(c, _)| *c == consumer)
            && index != 0
        {
            self.diags.push(
                Diagnostic::error(
                    Code::RedisDatabaseNotZero,
                    format!("`{consumer}` must use Redis database 0, not {index}"),
                )
                .at(self.spans.value(&pointer), "must be 0")
                .help(format!("{why}; set `{consumer}: 0`")),
            );
        }
    }

    /// The Redis password, through `valuesFrom` as a literal, and what the chart does with it.
    fn redis_password(&mut self, table: &RedisTable, conn: &RedisConnection, secret: &str) {
        self.wiring.values_from.push(ValuesFrom {
            kind: "Secret",
            name: secret.to_string(),
            values_key: Some(conn.password_key.clone()),
            target_path: Some(table.password.to_string()),
            literal: true,
            optional: false,
        });
        if conn.secret_from_spec {
            self.wiring.watched.insert(secret.to_string());
        }
        let version = self.input.app.helm.as_ref().map(|h| h.version.as_str());
        let old = version
            .and_then(version_of)
            .zip(table.password_quoted_since)
            .is_some_and(|(v, since)| v < since);
        if let (true, Some(version)) = (old, version) {
            let at = self.spans.key(&self.at(AppSpec::REDIS));
            self.diags.push(
                Diagnostic::warning(Code::RedisPasswordUnquoted, format!(
                    "{} chart {version} writes the Redis password unquoted into the registry's YAML config",
                    self.chart.name
                ))
                .at(at, "")
                .help("generate the Redis password without `: `, ` #` or a leading `*&!@'\"[{`, or use chart 1.19 or later"),
            );
            self.wiring.caveats.push(format!(
                "Chart {version} writes the Redis password unquoted into the registry's YAML config \
                 (quoted from 1.19.0): a password containing `: ` or ` #`, or starting with one of \
                 `*&!@'\"[{{`, breaks the registry. Generate it without those characters."
            ));
        }
        self.wiring.caveats.push(format!(
            "The Redis password reaches the release through `valuesFrom` (key → `{}`, literal); {}",
            table.password, table.password_copies
        ));
    }

    /// Two consumers on one Redis index collide, except where the chart itself shares one.
    fn redis_indexes(&mut self) {
        let Some(redis) = &self.input.app.redis else {
            return;
        };
        let shared: &[&str] = self.chart.redis.as_ref().map_or(&[], |t| t.shared);
        let mut by_index: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for (consumer, index) in &redis.databases {
            by_index.entry(*index).or_default().push(consumer);
        }
        for (index, consumers) in by_index {
            if consumers.len() > 1 && !consumers.iter().all(|c| shared.contains(c)) {
                let names = consumers
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let last = consumers.last().copied().unwrap_or_default();
                let at = self
                    .spans
                    .value(&self.at(AppSpec::REDIS).field(RedisSpec::DATABASES).key(last));
                self.diags.push(
                    Diagnostic::error(
                        Code::RedisIndexClash,
                        format!("Redis database {index} is used by {names}"),
                    )
                    .at(at, "index already used")
                    .help("give each consumer its own database index"),
                );
            }
        }
    }

    /// The chart's `existingSecret` knobs, each with the keys it reads.
    fn secrets(&mut self) {
        let app = self.input.app;
        if app.secrets.iter().any(|s| s.used_for.is_some())
            && let Some(note) = self.chart.secrets_note
        {
            self.wiring.caveats.push(note.to_string());
        }
        for (s, secret) in app.secrets.iter().enumerate() {
            let Some(used_for) = &secret.used_for else {
                continue;
            };
            let Some(knob) = self.chart.secrets.iter().find(|k| k.used_for == used_for) else {
                let at = self
                    .spans
                    .value(&self.at(AppSpec::SECRETS).index(s).field(SecretSpec::FOR));
                self.diags.push(
                    Diagnostic::error(
                        Code::UnknownSecretUse,
                        format!("the {} chart has no secret use `{used_for}`", self.chart.name),
                    )
                    .at(at, "unknown use")
                    .help(format!(
                        "its uses are: {}",
                        self.chart
                            .secrets
                            .iter()
                            .map(|k| format!("`{}`", k.used_for))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                continue;
            };
            self.set(knob.path, Value::String(secret.name.to_string()), "secrets");
            if secret.data_from.is_empty() {
                self.secret_keys(s, secret, knob);
            }
        }
    }

    /// The keys a knob reads that the secret lacks.
    fn secret_keys(&mut self, s: usize, secret: &crate::spec::secrets::SecretSpec, knob: &SecretKnob) {
        let keys: BTreeSet<&str> = secret
            .data
            .iter()
            .map(|d| d.key.as_str())
            .chain(secret.template.keys().map(String::as_str))
            .collect();
        for key in knob.keys.iter().filter(|k| !keys.contains(*k)) {
            let at = self.spans.key(&self.at(AppSpec::SECRETS).index(s));
            self.diags.push(
                Diagnostic::error(
                    Code::SecretMissingKey,
                    format!(
                        "`{}` must have the key `{key}`: the chart reads it from `{}`",
                        secret.name, knob.path
                    ),
                )
                .at(at, "missing key")
                .help(format!(
                    "add `{{key: {key}, remoteKey: ..., property: ...}}` to its `data`"
                )),
            );
        }
    }

    /// Metrics and the chart's own monitors, with the labels a Prometheus selects.
    fn metrics(&mut self) {
        if !self.input.app.monitoring.as_ref().is_some_and(|m| m.enabled) {
            return;
        }
        for (path, value) in self.chart.metrics {
            self.set(path, Value::Bool(*value), "monitoring");
        }
        let prometheus = self.input.monitoring.flavor == crate::spec::MonitoringFlavor::Prometheus;
        if let Some(path) = self.chart.service_monitor {
            self.set(path, Value::Bool(prometheus), "defaults.monitoring.flavor");
        }
        if let Some(path) = self.chart.monitor_labels
            && prometheus
            && !self.input.monitoring.labels.is_empty()
        {
            let labels: Map<String, Value> = self
                .input
                .monitoring
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            self.set(path, Value::Object(labels), "defaults.monitoring.labels");
        }
    }
}

/// Sets the value at a dotted path, creating mappings on the way.
pub fn set_path(map: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut node = map;
    for part in parts {
        let entry = node
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        node = next;
    }
    node.insert(last.to_string(), value);
}

/// Merges `extra` into `values` (extra wins where both set a leaf).
pub fn merge(values: &mut Map<String, Value>, extra: Map<String, Value>) {
    for (k, v) in extra {
        match (values.get_mut(&k), v) {
            (Some(Value::Object(dst)), Value::Object(src)) => merge(dst, src),
            (_, v) => {
                values.insert(k, v);
            }
        }
    }
}
