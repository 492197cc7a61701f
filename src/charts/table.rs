//! What gitopsc knows about the charts it wires, as data: one table per chart saying where
//! each generated reference goes, which keys its `existingSecret`s read, and the value
//! constraints checked at compile time. Adding a chart is adding a table. Below every stage:
//! the spec checks read it (known keys, known charts) and the model wires by it.

use serde_json::{Map, Value};

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
    /// Values that turn metrics on.
    pub metrics: &'static [(&'static str, bool)],
    /// The value that turns the chart's own ServiceMonitor on (with the Prometheus flavour;
    /// off with VictoriaMetrics, whose scrape gitopsc writes from `scrape`); the labels of
    /// `defaults.monitoring` go to `monitor_labels`.
    pub service_monitor: Option<&'static str>,
    /// Where the monitor labels go.
    pub monitor_labels: Option<&'static str>,
    /// What the chart's own ServiceMonitor scrapes, for a chart that writes no
    /// VictoriaMetrics objects itself.
    pub scrape: Option<ChartScrape>,
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

/// The Services a chart's own ServiceMonitor scrapes.
pub struct ChartScrape {
    /// Constant selector labels.
    pub labels: &'static [(&'static str, &'static str)],
    /// The selector label whose value is the release name.
    pub release_label: &'static str,
    /// The name of the Services' metrics port.
    pub port: &'static str,
    /// Values under which the chart serves another port or scheme, and why gitopsc does not
    /// scrape it.
    pub unsupported: &'static [(&'static str, &'static str)],
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
    /// Where else the chart writes the password (for the runbook).
    pub password_copies: &'static str,
    /// What the runbook says when the chart talks to a KubeBlocks Redis's primary Service.
    pub primary_service_note: &'static str,
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
        password_copies: "every chart version also copies it into ConfigMaps (core, jobservice, exporter).",
        primary_service_note: "Redis: the release talks to the primary's Service, not to Sentinel: Harbor cannot \
             authenticate to Sentinel (goharbor/harbor#14757) and KubeBlocks' sentinels require a password. KubeBlocks \
             keeps that Service on the current primary.",
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
    metrics: &[("metrics.enabled", true)],
    service_monitor: Some("metrics.serviceMonitor.enabled"),
    monitor_labels: Some("metrics.serviceMonitor.additionalLabels"),
    // templates/metrics/metrics-svcmon.yaml: `harbor.serviceMonitorMatchLabels` (release and
    // app) and `harbor.metricsPortName`, `https-metrics` with internal TLS.
    scrape: Some(ChartScrape {
        labels: &[("app", "harbor")],
        release_label: "release",
        port: "http-metrics",
        unsupported: &[
            (
                "internalTLS.enabled",
                "with internal TLS Harbor serves metrics on `https-metrics` with certificates of its own CA, which the scrape cannot verify",
            ),
            (
                "nameOverride",
                "the chart's selector label `app` follows `nameOverride`",
            ),
            (
                "metrics.serviceMonitor.matchLabels",
                "the chart's own ServiceMonitor is off with VictoriaMetrics; gitopsc selects the Services by `release` and `app`",
            ),
        ],
    }),
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

/// The `major.minor` of a chart version (`v1.16.2` → `(1, 16)`).
pub fn version_of(v: &str) -> Option<(u64, u64)> {
    let mut parts = v.trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
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
