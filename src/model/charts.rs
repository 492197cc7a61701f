//! What gitopsc knows about the charts it wires, as data: one table per chart saying where
//! each generated reference goes, which keys its `existingSecret`s read, and the value
//! constraints checked at compile time. Adding a chart is adding a table.

use super::ValuesFrom;
use super::postgres::Connection;
use super::redis::RedisConnection;
use crate::diagnostic::{Code, Diagnostic};
use crate::spec::AppSpec;
use crate::spec::data::PostgresProvider;
use crate::spec::load::SpanIndex;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A chart's wiring table.
pub struct Chart {
    /// The chart's name.
    pub name: &'static str,
    /// Where the database connection goes.
    pub database: &'static [(&'static str, DbValue)],
    /// Where Redis goes.
    pub redis: Option<RedisTable>,
    /// The chart's `existingSecret` knobs, by the `for:` name a secret uses.
    pub secrets: &'static [SecretKnob],
    /// Values that turn metrics and the chart's own ServiceMonitors on; the labels of
    /// `defaults.monitoring` go to `monitor_labels`.
    pub metrics: &'static [(&'static str, bool)],
    /// Where the monitor labels go.
    pub monitor_labels: Option<&'static str>,
    /// Databases the chart no longer uses, and why.
    pub obsolete_databases: &'static [(&'static str, &'static str)],
    /// What the runbook says about the values of the chart's secrets.
    pub secrets_note: Option<&'static str>,
    /// The chart versions (`major.minor`, first and last) whose value keys `known_keys` lists.
    pub versions: ((u64, u64), (u64, u64)),
    /// The keys the chart reads below the sections gitopsc wires, checked in `helm.values`.
    pub known_keys: &'static [KnownSection],
    /// The chart's pods pass Pod Security `restricted` with its default values (read in its
    /// templates), so a namespace may enforce that level without the app asking for it.
    pub restricted_pods: bool,
}

/// The keys a chart reads below one section of its values.
pub struct KnownSection {
    /// The section, a dotted path (`redis.external`).
    pub section: &'static str,
    /// Its keys, dotted below the section (`tlsOptions.enable`), each with the first chart
    /// version (`major.minor`) that reads it, if later than the first of `versions`.
    pub keys: &'static [(&'static str, Option<(u64, u64)>)],
}

/// A database value.
#[derive(Clone, Copy)]
pub enum DbValue {
    /// A constant.
    Literal(&'static str),
    /// The read-write host.
    Host,
    /// The port, as a string.
    PortString,
    /// The user.
    User,
    /// The application database.
    Database,
    /// The Secret whose key `password` holds the user's password.
    Secret,
    /// `require` on CloudNative-PG (TLS is always on), `disable` on KubeBlocks.
    SslMode,
}

/// Where Redis goes in a chart's values.
pub struct RedisTable {
    /// Constant values.
    pub literals: &'static [(&'static str, &'static str)],
    /// The address.
    pub addr: &'static str,
    /// The sentinel master set.
    pub sentinel_master_set: &'static str,
    /// Where the password goes (through `valuesFrom`, literal).
    pub password: &'static str,
    /// Consumers and where their database index goes (as a string).
    pub consumers: &'static [(&'static str, &'static str)],
    /// Consumers that must use index 0, and why.
    pub index_zero: &'static [(&'static str, &'static str)],
    /// Consumers the chart itself lets share one index.
    pub shared: &'static [&'static str],
    /// The first chart version that quotes the password in its YAML configs.
    pub password_quoted_since: Option<(u64, u64)>,
    /// Why a password does not work with Sentinel, if the chart cannot authenticate to it.
    pub sentinel_without_password: Option<&'static str>,
}

/// An `existingSecret` knob.
pub struct SecretKnob {
    /// The `for:` name.
    pub used_for: &'static str,
    /// Where the Secret's name goes.
    pub path: &'static str,
    /// The keys the chart reads from it.
    pub keys: &'static [&'static str],
}

/// The Harbor chart (goharbor/harbor-helm), as of 1.16–1.19.
pub const HARBOR: Chart = Chart {
    name: "harbor",
    database: &[
        ("database.type", DbValue::Literal("external")),
        ("database.external.host", DbValue::Host),
        ("database.external.port", DbValue::PortString),
        ("database.external.username", DbValue::User),
        ("database.external.coreDatabase", DbValue::Database),
        ("database.external.existingSecret", DbValue::Secret),
        ("database.external.sslmode", DbValue::SslMode),
    ],
    redis: Some(RedisTable {
        literals: &[("redis.type", "external")],
        addr: "redis.external.addr",
        sentinel_master_set: "redis.external.sentinelMasterSet",
        password: "redis.external.password",
        consumers: &[
            ("core", "redis.external.coreDatabaseIndex"),
            ("jobservice", "redis.external.jobserviceDatabaseIndex"),
            ("registry", "redis.external.registryDatabaseIndex"),
            ("trivy", "redis.external.trivyAdapterIndex"),
            ("harbor", "redis.external.harborDatabaseIndex"),
            ("cacheLayer", "redis.external.cacheLayerDatabaseIndex"),
        ],
        index_zero: &[(
            "core",
            "Harbor's chart requires `coreDatabaseIndex` 0 (its values.yaml: the library Harbor uses does not support configuring it); a Harbor with core on another index is broken",
        )],
        shared: &["core", "harbor", "cacheLayer"],
        password_quoted_since: Some((1, 19)),
        sentinel_without_password: Some(
            "Harbor cannot authenticate to Sentinel (goharbor/harbor#14757): it sends the password to the Redis \
             nodes only, so sentinels that require one refuse it and Harbor cannot find the master",
        ),
    }),
    secrets: &[
        SecretKnob {
            used_for: "core",
            path: "core.existingSecret",
            keys: &["secret"],
        },
        SecretKnob {
            used_for: "xsrf",
            path: "core.existingXsrfSecret",
            keys: &["CSRF_KEY"],
        },
        SecretKnob {
            used_for: "secretKey",
            path: "existingSecretSecretKey",
            keys: &["secretKey"],
        },
        SecretKnob {
            used_for: "registry",
            path: "registry.existingSecret",
            keys: &["REGISTRY_HTTP_SECRET"],
        },
        SecretKnob {
            used_for: "jobservice",
            path: "jobservice.existingSecret",
            keys: &["JOBSERVICE_SECRET"],
        },
        SecretKnob {
            used_for: "registryCredentials",
            path: "registry.credentials.existingSecret",
            keys: &["REGISTRY_PASSWD", "REGISTRY_HTPASSWD"],
        },
        SecretKnob {
            used_for: "admin",
            path: "existingSecretAdminPassword",
            keys: &["HARBOR_ADMIN_PASSWORD"],
        },
    ],
    metrics: &[
        ("metrics.enabled", true),
        ("metrics.serviceMonitor.enabled", true),
    ],
    monitor_labels: Some("metrics.serviceMonitor.additionalLabels"),
    obsolete_databases: &[
        (
            "notary_server",
            "Notary left the Harbor chart in 1.13: Harbor uses one database, `registry`",
        ),
        (
            "notary_signer",
            "Notary left the Harbor chart in 1.13: Harbor uses one database, `registry`",
        ),
    ],
    secrets_note: Some(
        "Harbor's secret values (core `secret`, `JOBSERVICE_SECRET`, `REGISTRY_HTTP_SECRET`, `secretKey`) must be \
         16 characters long; the XSRF key (`CSRF_KEY`) 32.",
    ),
    // goharbor/harbor-helm v1.16.0–v1.19.1: the keys of `values.yaml` below these sections, and
    // those only its templates read (`harborDatabaseIndex`, `cacheLayerDatabaseIndex`, which
    // values.yaml shows commented out).
    versions: ((1, 16), (1, 19)),
    known_keys: &[
        KnownSection {
            section: "redis.external",
            keys: &[
                ("addr", None),
                ("sentinelMasterSet", None),
                ("tlsOptions", Some((1, 17))),
                ("tlsOptions.enable", Some((1, 17))),
                ("coreDatabaseIndex", None),
                ("jobserviceDatabaseIndex", None),
                ("registryDatabaseIndex", None),
                ("trivyAdapterIndex", None),
                ("harborDatabaseIndex", None),
                ("cacheLayerDatabaseIndex", None),
                ("username", None),
                ("password", None),
                ("existingSecret", None),
            ],
        },
        KnownSection {
            section: "database.external",
            keys: &[
                ("host", None),
                ("port", None),
                ("username", None),
                ("password", None),
                ("coreDatabase", None),
                ("existingSecret", None),
                ("sslmode", None),
            ],
        },
    ],
    // Not verified against every component's templates (nginx, trivy, the internal
    // databases): `baseline` is enforced unless the app asks for `restricted`.
    restricted_pods: false,
};

/// The charts gitopsc knows.
pub const CHARTS: &[&Chart] = &[&HARBOR];

/// The table of a chart, if known.
pub fn lookup(chart: &str) -> Option<&'static Chart> {
    CHARTS.iter().copied().find(|c| c.name == chart)
}

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
    /// Its index in the spec.
    pub index: usize,
    /// Its database.
    pub postgres: Option<&'a Connection>,
    /// Its Redis.
    pub redis: Option<&'a RedisConnection>,
    /// Monitor labels.
    pub monitor_labels: &'a BTreeMap<String, String>,
}

pub(crate) fn version_of(v: &str) -> Option<(u64, u64)> {
    let mut parts = v.trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Wires an app's data services, secrets and monitoring into its chart's values.
pub fn wire(chart: &Chart, input: &WiringInput, spans: &SpanIndex, diags: &mut Vec<Diagnostic>) -> Wiring {
    let app = input.app;
    let base = format!("/apps/{}", input.index);
    let mut w = Wiring::default();
    let mut set = |path: &str, value: Value, from: &str, diags: &mut Vec<Diagnostic>| {
        if let Some(existing) = get_path(input.values, path)
            && existing != &value
        {
            let pointer = format!("{base}/helm/values/{}", path.replace('.', "/"));
            diags.push(
                Diagnostic::error(
                    Code::ValueSetByGitopsc,
                    format!("`{path}` is set by gitopsc from `{from}`"),
                )
                .at(spans.value(&pointer), format!("gitopsc sets {value}"))
                .help("remove it from `helm.values`; gitopsc wires it"),
            );
        }
        set_path(&mut w.values, path, value);
    };

    if let (Some(conn), Some(pg)) = (input.postgres, &app.postgres) {
        if !chart.database.is_empty() {
            for (path, what) in chart.database {
                let value = match what {
                    DbValue::Literal(s) => Value::String((*s).into()),
                    DbValue::Host => Value::String(conn.host.clone()),
                    DbValue::PortString => Value::String(conn.port.to_string()),
                    DbValue::User => Value::String(conn.user.clone()),
                    DbValue::Database => Value::String(conn.database.clone()),
                    DbValue::Secret => Value::String(conn.secret.clone()),
                    DbValue::SslMode => Value::String(
                        match pg.provider {
                            PostgresProvider::Cnpg => "require",
                            PostgresProvider::Kubeblocks => "disable",
                        }
                        .into(),
                    ),
                };
                set(path, value, "postgres", diags);
            }
        }
        for (d, db) in pg.databases.iter().enumerate() {
            if let Some((_, why)) = chart.obsolete_databases.iter().find(|(n, _)| *n == db.name) {
                diags.push(
                    Diagnostic::warning(
                        Code::ChartUnusedDatabase,
                        format!("the {} chart does not use a `{}` database", chart.name, db.name),
                    )
                    .at(
                        spans.value(&format!("{base}/postgres/databases/{d}/name")),
                        "unused database",
                    )
                    .help(format!("{why}; remove it")),
                );
            }
        }
    }

    if let (Some(conn), Some(redis), Some(table)) = (input.redis, &app.redis, &chart.redis) {
        if let (Some(why), Some(_), Some(_)) = (
            table.sentinel_without_password,
            &conn.sentinel_master_set,
            &conn.secret,
        ) {
            diags.push(
                Diagnostic::warning(Code::ChartSentinelPassword, format!(
                    "the {} chart cannot use a Sentinel with a password",
                    chart.name
                ))
                .at(spans.key(&format!("{base}/redis/sentinelMasterSet")), "Sentinel and `passwordSecret`")
                .help(format!(
                    "{why}; point `address` at the master's Service instead of the sentinels and drop `sentinelMasterSet` (what the `kubeblocks` provider does), or run the sentinels without a password"
                )),
            );
            w.caveats.push(format!(
                "Redis: {why}. The release is wired to the sentinels with a password: run them without one, or \
                 point `redis.address` at the master's Service."
            ));
        }
        for (path, value) in table.literals {
            set(path, Value::String((*value).into()), "redis", diags);
        }
        set(table.addr, Value::String(conn.address.clone()), "redis", diags);
        if let Some(master) = &conn.sentinel_master_set {
            set(
                table.sentinel_master_set,
                Value::String(master.clone()),
                "redis",
                diags,
            );
        }
        for (consumer, index) in &redis.databases {
            let pointer = format!("{base}/redis/databases/{consumer}");
            match table.consumers.iter().find(|(c, _)| c == consumer) {
                None => diags.push(
                    Diagnostic::error(
                        Code::UnknownRedisConsumer,
                        format!("the {} chart has no Redis consumer `{consumer}`", chart.name),
                    )
                    .at(spans.key(&pointer), "unknown consumer")
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
                Some((_, path)) => set(path, Value::String(index.to_string()), "redis.databases", diags),
            }
            if let Some((_, why)) = table.index_zero.iter().find(|(c, _)| c == consumer)
                && *index != 0
            {
                diags.push(
                    Diagnostic::error(
                        Code::RedisDatabaseNotZero,
                        format!("`{consumer}` must use Redis database 0, not {index}"),
                    )
                    .at(spans.value(&pointer), "must be 0")
                    .help(format!("{why}; set `{consumer}: 0`")),
                );
            }
        }
        if let Some(secret) = &conn.secret {
            w.values_from.push(ValuesFrom {
                kind: "Secret",
                name: secret.clone(),
                values_key: Some(conn.password_key.clone()),
                target_path: Some(table.password.to_string()),
                literal: true,
                optional: false,
            });
            if conn.secret_from_spec {
                w.watched.insert(secret.clone());
            }
            let old = app
                .helm
                .as_ref()
                .and_then(|h| version_of(&h.version))
                .zip(table.password_quoted_since)
                .is_some_and(|(v, since)| v < since);
            if old {
                let version = app.helm.as_ref().map(|h| h.version.as_str()).unwrap_or_default();
                diags.push(
                    Diagnostic::warning(Code::RedisPasswordUnquoted, format!(
                        "{} chart {version} writes the Redis password unquoted into the registry's YAML config",
                        chart.name
                    ))
                    .at(spans.key(&format!("{base}/redis")), "")
                    .help("generate the Redis password without `: `, ` #` or a leading `*&!@'\"[{`, or use chart 1.19 or later"),
                );
                w.caveats.push(format!(
                    "Chart {version} writes the Redis password unquoted into the registry's YAML config \
                     (quoted from 1.19.0): a password containing `: ` or ` #`, or starting with one of \
                     `*&!@'\"[{{`, breaks the registry. Generate it without those characters."
                ));
            }
            w.caveats.push(
                "The Redis password reaches the release through `valuesFrom` (key → `redis.external.password`, \
                 literal); every chart version also copies it into ConfigMaps (core, jobservice, exporter)."
                    .to_string(),
            );
        }
    }
    if let Some(redis) = &app.redis {
        // Two consumers on one index collide, except where the chart itself shares one.
        let shared: &[&str] = chart.redis.as_ref().map_or(&[], |t| t.shared);
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
                diags.push(
                    Diagnostic::error(
                        Code::RedisIndexClash,
                        format!("Redis database {index} is used by {names}"),
                    )
                    .at(
                        spans.value(&format!("{base}/redis/databases/{last}")),
                        "index already used",
                    )
                    .help("give each consumer its own database index"),
                );
            }
        }
    }

    if app.secrets.iter().any(|s| s.used_for.is_some())
        && let Some(note) = chart.secrets_note
    {
        w.caveats.push(note.to_string());
    }
    for (s, secret) in app.secrets.iter().enumerate() {
        let Some(used_for) = &secret.used_for else {
            continue;
        };
        let pointer = format!("{base}/secrets/{s}/for");
        let Some(knob) = chart.secrets.iter().find(|k| k.used_for == used_for) else {
            diags.push(
                Diagnostic::error(
                    Code::UnknownSecretUse,
                    format!("the {} chart has no secret use `{used_for}`", chart.name),
                )
                .at(spans.value(&pointer), "unknown use")
                .help(format!(
                    "its uses are: {}",
                    chart
                        .secrets
                        .iter()
                        .map(|k| format!("`{}`", k.used_for))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
            continue;
        };
        set(
            knob.path,
            Value::String(secret.name.to_string()),
            "secrets",
            diags,
        );
        if secret.data_from.is_empty() {
            let keys: BTreeSet<&str> = secret
                .data
                .iter()
                .map(|d| d.key.as_str())
                .chain(secret.template.keys().map(String::as_str))
                .collect();
            for key in knob.keys {
                if !keys.contains(key) {
                    diags.push(
                        Diagnostic::error(
                            Code::SecretMissingKey,
                            format!(
                                "`{}` must have the key `{key}`: the chart reads it from `{}`",
                                secret.name, knob.path
                            ),
                        )
                        .at(spans.key(&format!("{base}/secrets/{s}")), "missing key")
                        .help(format!(
                            "add `{{key: {key}, remoteKey: ..., property: ...}}` to its `data`"
                        )),
                    );
                }
            }
        }
    }

    if app.monitoring.as_ref().is_some_and(|m| m.enabled) {
        for (path, value) in chart.metrics {
            set(path, Value::Bool(*value), "monitoring", diags);
        }
        if let Some(path) = chart.monitor_labels
            && !input.monitor_labels.is_empty()
        {
            let labels: Map<String, Value> = input
                .monitor_labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            set(path, Value::Object(labels), "defaults.monitoring.labels", diags);
        }
    }
    w
}

/// The value at a dotted path.
pub fn get_path<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut node = map.get(parts.next()?)?;
    for part in parts {
        node = node.as_object()?.get(part)?;
    }
    Some(node)
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
