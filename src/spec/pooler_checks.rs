//! Checks of CloudNative-PG poolers and of the cluster settings real clusters set
//! (`pgHba`, `synchronous`, the superuser): what CloudNative-PG's webhooks refuse or what
//! would leave a Flux layer waiting, found before anything is applied.

use super::data::{PoolerSpec, PostgresProvider, PostgresSpec, SynchronousSpec};
use super::path::SpecPath;
use super::places::Places;
use super::schema::did_you_mean;
use super::secrets::SecretType;
use super::{AppSpec, ClusterSpec};
use crate::diagnostic::{Code, Diagnostic};
use std::collections::{BTreeSet, HashMap, HashSet};

/// PgBouncer settings CloudNative-PG 1.30 lets through (`AllowedPgbouncerGenericConfigurationParameters`,
/// `internal/webhook/v1/pooler_webhook.go`); the rest are the operator's own.
const PGBOUNCER_PARAMETERS: &[&str] = &[
    "application_name_add_host",
    "auth_type",
    "autodb_idle_timeout",
    "cancel_wait_timeout",
    "client_idle_timeout",
    "client_login_timeout",
    "client_tls13_ciphers",
    "client_tls_ciphers",
    "client_tls_sslmode",
    "default_pool_size",
    "disable_pqexec",
    "dns_max_ttl",
    "dns_nxdomain_ttl",
    "idle_transaction_timeout",
    "ignore_startup_parameters",
    "listen_backlog",
    "log_connections",
    "log_disconnections",
    "log_pooler_errors",
    "log_stats",
    "max_client_conn",
    "max_db_connections",
    "max_packet_size",
    "max_prepared_statements",
    "max_user_connections",
    "min_pool_size",
    "pkt_buf",
    "query_timeout",
    "query_wait_timeout",
    "reserve_pool_size",
    "reserve_pool_timeout",
    "sbuf_loopcnt",
    "server_check_delay",
    "server_check_query",
    "server_connect_timeout",
    "server_fast_close",
    "server_idle_timeout",
    "server_lifetime",
    "server_login_retry",
    "server_reset_query",
    "server_reset_query_always",
    "server_round_robin",
    "server_tls13_ciphers",
    "server_tls_ciphers",
    "server_tls_protocols",
    "server_tls_sslmode",
    "stats_period",
    "suspend_timeout",
    "tcp_defer_accept",
    "tcp_keepalive",
    "tcp_keepcnt",
    "tcp_keepidle",
    "tcp_keepintvl",
    "tcp_socket_buffer",
    "tcp_user_timeout",
    "track_extra_parameters",
    "verbose",
];

/// The CloudNative-PG version whose Pooler status the health check reads (`status.phase`).
const POOLER_PHASE_SINCE: u32 = 30;

/// Checks every app's poolers and cluster settings.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let clusters = namespace_clusters(spec);
    for (i, app) in spec.apps.iter().enumerate() {
        let Some(pg) = &app.postgres else { continue };
        let pp = SpecPath::app(i).field(AppSpec::POSTGRES);
        if pg.provider == PostgresProvider::Kubeblocks {
            cnpg_only(pg, &pp, spans, &mut diags);
            continue;
        }
        let theirs = clusters.get(app.namespace());
        poolers(theirs, app, pg, &pp, spans, &mut diags);
        cluster_settings(app, pg, &pp, spans, &mut diags);
    }
    diags
}

/// The new settings are CloudNative-PG's: KubeBlocks takes none of them.
fn cnpg_only(pg: &PostgresSpec, pp: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    for (field, present) in [
        (PostgresSpec::POOLERS, !pg.poolers.is_empty()),
        (PostgresSpec::CONNECT_VIA, pg.connect_via.is_some()),
        (PostgresSpec::PG_HBA, !pg.pg_hba.is_empty()),
        (PostgresSpec::SYNCHRONOUS, pg.synchronous.is_some()),
        (PostgresSpec::ENABLE_SUPERUSER_ACCESS, pg.enable_superuser_access),
        (PostgresSpec::SUPERUSER_SECRET, pg.superuser_secret.is_some()),
    ] {
        if present {
            diags.push(
                Diagnostic::error(
                    Code::ProviderField,
                    format!(
                        "`{}` is a CloudNative-PG setting; KubeBlocks does not take it",
                        field.name()
                    ),
                )
                .at(spans.key(&pp.field(field)), "")
                .help("remove it, or use `provider: cnpg`"),
            );
        }
    }
}

/// Pooler names, parameters, budgets, the operator version, and `connectVia`.
fn poolers(
    clusters: Option<&BTreeSet<String>>,
    app: &super::AppSpec,
    pg: &PostgresSpec,
    pp: &SpecPath,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    let minor: Option<u32> = pg
        .operator_version
        .strip_prefix("1.")
        .and_then(|m| m.parse().ok());
    if !pg.poolers.is_empty() && minor.is_some_and(|m| m < POOLER_PHASE_SINCE) {
        diags.push(
            Diagnostic::error(Code::OperatorTooOld, format!(
                "poolers need CloudNative-PG 1.30 or later; `operatorVersion` is {}",
                pg.operator_version
            ))
            .at(spans.key(&pp.field(PostgresSpec::POOLERS)), "needs CloudNative-PG ≥ 1.30")
            .help("before 1.30 a Pooler reports no status Flux can wait for, so its layer would time out: upgrade the operator and set `operatorVersion`"),
        );
    }
    let cluster = pg.cluster_name(app.name.as_str());
    let mut seen = BTreeSet::new();
    for (n, p) in pg.poolers.iter().enumerate() {
        let at = pp.field(PostgresSpec::POOLERS).index(n);
        let object = format!("{cluster}-pooler-{}", p.name);
        if !seen.insert(p.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    format!("pooler `{}` is listed twice", p.name),
                )
                .at(spans.value(&at.field(PoolerSpec::NAME)), "")
                .help("give each pooler a unique name"),
            );
        }
        if object.len() > 63 {
            diags.push(
                Diagnostic::error(Code::PoolerInvalid, format!("the pooler's Service name `{object}` is longer than 63 characters"))
                    .at(spans.value(&at.field(PoolerSpec::NAME)), "")
                    .help("shorten the pooler's or the cluster's name: the Service is named `<cluster>-pooler-<name>`"),
            );
        }
        if clusters.is_some_and(|c| c.contains(object.as_str())) {
            diags.push(
                Diagnostic::error(Code::PoolerInvalid, format!("the pooler `{object}` has the name of a database cluster of its namespace"))
                    .at(spans.value(&at.field(PoolerSpec::NAME)), "")
                    .help("CloudNative-PG refuses a Pooler named like a Cluster of its namespace: rename the pooler"),
            );
        }
        for key in p.parameters.keys() {
            if !PGBOUNCER_PARAMETERS.contains(&key.as_str()) {
                diags.push(
                    Diagnostic::error(Code::PoolerInvalid, format!("`{key}` is not a PgBouncer setting CloudNative-PG lets through"))
                        .at(spans.key(&at.field(PoolerSpec::PARAMETERS).key(key)), "refused by the webhook")
                        .help(match did_you_mean(key, PGBOUNCER_PARAMETERS.iter().copied()) {
                            Some(best) => format!("did you mean `{best}`?"),
                            None => "listen addresses, authentication and TLS files are the operator's; see docs/data.md for the allowed settings".into(),
                        }),
                );
            }
        }
        if let Some(b) = &p.disruption_budget
            && b.min_available.is_some() == b.max_unavailable.is_some()
        {
            diags.push(
                Diagnostic::error(
                    Code::OneOfRequired,
                    "a disruption budget needs exactly one of `minAvailable` and `maxUnavailable`",
                )
                .at(spans.key(&at.field(PoolerSpec::DISRUPTION_BUDGET)), "")
                .help("e.g. `disruptionBudget: {maxUnavailable: 1}`"),
            );
        }
    }
    if let Some(via) = &pg.connect_via
        && !seen.contains(via.as_str())
    {
        diags.push(
            Diagnostic::error(
                Code::PoolerInvalid,
                format!("`{via}` is not one of the cluster's `poolers`"),
            )
            .at(
                spans.value(&pp.field(PostgresSpec::CONNECT_VIA)),
                "unknown pooler",
            )
            .help(match did_you_mean(via.as_str(), seen.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => {
                    "name a pooler of `postgres.poolers`, or remove `connectVia` to connect to `<cluster>-rw`"
                        .into()
                }
            }),
        );
    }
}

/// The names of the database clusters of each namespace that holds an app with poolers
/// (made once: a pooler is named apart from the clusters of its namespace).
fn namespace_clusters(spec: &ClusterSpec) -> HashMap<&str, BTreeSet<String>> {
    let pooled: HashSet<&str> = spec
        .apps
        .iter()
        .filter(|a| a.postgres.as_ref().is_some_and(|pg| !pg.poolers.is_empty()))
        .map(|a| a.namespace())
        .collect();
    let mut clusters: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for app in spec.apps.iter().filter(|a| pooled.contains(a.namespace())) {
        if let Some(pg) = &app.postgres {
            clusters
                .entry(app.namespace())
                .or_default()
                .insert(pg.cluster_name(app.name.as_str()));
        }
    }
    clusters
}

/// `synchronous` and the superuser.
fn cluster_settings(
    app: &super::AppSpec,
    pg: &PostgresSpec,
    pp: &SpecPath,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(sync) = &pg.synchronous
        && sync.number >= pg.instances
    {
        diags.push(
            Diagnostic::error(Code::ClusterSettings, format!(
                "synchronous replication to {} standbys needs more than {} instances",
                sync.number, pg.instances
            ))
            .at(spans.value(&pp.field(PostgresSpec::SYNCHRONOUS).field(SynchronousSpec::NUMBER)), "not fewer than `instances`")
            .help("CloudNative-PG's webhook refuses `number` ≥ `instances` (the primary is no standby): lower `number` or add instances"),
        );
    }
    if let Some(secret) = &pg.superuser_secret {
        let at = pp.field(PostgresSpec::SUPERUSER_SECRET);
        if !pg.enable_superuser_access {
            diags.push(
                Diagnostic::error(
                    Code::ClusterSettings,
                    "`superuserSecret` is used only with `enableSuperuserAccess: true`",
                )
                .at(spans.key(&at), "ignored by CloudNative-PG")
                .help("set `enableSuperuserAccess: true`, or remove `superuserSecret`"),
            );
        }
        match app.secrets.iter().find(|s| s.name == *secret) {
            None => diags.push(
                Diagnostic::error(Code::ClusterSettings, format!("the superuser secret `{secret}` is not one of the app's `secrets`"))
                    .at(spans.value(&at), "unknown secret")
                    .help(format!("add `{{name: {secret}, type: basic-auth, data: [...]}}` to the app's `secrets`")),
            ),
            Some(s) if s.kind != SecretType::BasicAuth => diags.push(
                Diagnostic::error(Code::SecretType, format!("`{secret}` must be a `basic-auth` secret: CloudNative-PG reads `username` and `password` from a `kubernetes.io/basic-auth` Secret"))
                    .at(spans.value(&at), "")
                    .help(format!("set `type: basic-auth` on the secret `{secret}`")),
            ),
            Some(_) => {}
        }
    }
}
