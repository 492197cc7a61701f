//! Checks of a DragonflyDB Redis (`redis.provider: dragonfly`): what the Dragonfly operator
//! or the instance would refuse or silently ignore, and the settings of the other providers
//! it does not take.

use super::data::{DragonflySnapshot, RedisProvider, RedisSpec};
use super::path::{Field, SpecPath};
use super::places::Places;
use super::workload::DisruptionBudget;
use super::{AppSpec, ClusterSpec, PodSecurityLevel};
use crate::diagnostic::{Code, Diagnostic};

/// Databases a Dragonfly instance has without `--dbnum` (Dragonfly's default, like Redis).
const DEFAULT_DBNUM: u32 = 16;

/// Checks every app's Redis settings that concern Dragonfly.
pub fn check(spec: &ClusterSpec, spans: &Places, flux_minor: Option<u32>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (i, app) in spec.apps.iter().enumerate() {
        let Some(redis) = &app.redis else { continue };
        let rp = SpecPath::app(i).field(AppSpec::REDIS);
        if redis.provider == RedisProvider::Dragonfly {
            dragonfly(app, redis, &rp, spans, flux_minor, &mut diags);
            if app.pod_security == Some(PodSecurityLevel::Restricted) && !redis.restricted_pods {
                diags.push(
                    Diagnostic::error(Code::PodSecurityRefused, format!("app `{}` runs Dragonfly pods that Pod Security `restricted` refuses", app.name))
                        .at(spans.key(&SpecPath::app(i).field(AppSpec::POD_SECURITY)), "refused by Pod Security admission")
                        .help("the Dragonfly operator sets no `runAsNonRoot`, seccomp profile or dropped capabilities: set `redis.restrictedPods: true`, or `podSecurity: baseline`"),
                );
            }
        } else {
            for field in dragonfly_only(redis) {
                diags.push(
                    Diagnostic::error(
                        Code::ProviderField,
                        format!(
                            "`{}` is a Dragonfly setting; this Redis provider does not take it",
                            field.name()
                        ),
                    )
                    .at(spans.key(&rp.field(field)), "")
                    .help("remove it, or use `provider: dragonfly`"),
                );
            }
        }
    }
    diags
}

/// The Dragonfly-only fields a Redis sets (`allowNamespaces` is a KubeBlocks Redis's too).
fn dragonfly_only(redis: &RedisSpec) -> Vec<Field> {
    let allow_list = redis.provider != RedisProvider::Kubeblocks && !redis.allow_namespaces.is_empty();
    [
        (RedisSpec::IMAGE, redis.image.is_some()),
        (RedisSpec::ARGS, !redis.args.is_empty()),
        (RedisSpec::SNAPSHOT, redis.snapshot.is_some()),
        (RedisSpec::AFFINITY, !redis.affinity.is_empty()),
        (RedisSpec::TOPOLOGY_SPREAD, !redis.topology_spread.is_empty()),
        (RedisSpec::DISRUPTION_BUDGET, redis.disruption_budget.is_some()),
        (RedisSpec::MONITORING, redis.monitoring.is_some()),
        (RedisSpec::ALLOW_NAMESPACES, allow_list),
        (RedisSpec::RESTRICTED_PODS, redis.restricted_pods),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect()
}

/// A Dragonfly's own settings.
fn dragonfly(
    app: &AppSpec,
    redis: &RedisSpec,
    rp: &SpecPath,
    spans: &Places,
    flux_minor: Option<u32>,
    diags: &mut Vec<Diagnostic>,
) {
    if redis.image.is_some() == redis.version.is_some() {
        diags.push(
            Diagnostic::error(Code::DataServiceVersion, "a Dragonfly needs exactly one of `version` and `image`")
                .at(spans.key(rp), "")
                .help("set `version: 1.39.0` (the image `docker.dragonflydb.io/dragonflydb/dragonfly:v1.39.0`) or a full `image:`; gitopsc never leaves the image to the operator, whose default moves with its upgrades"),
        );
    }
    if let Some(v) = &redis.version
        && !(v.split('.').count() == 3
            && v.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    {
        diags.push(
            Diagnostic::error(
                Code::DataServiceVersion,
                format!("`{v}` is not a Dragonfly release"),
            )
            .at(spans.value(&rp.field(RedisSpec::VERSION)), "")
            .help("write `major.minor.patch` without the `v`, e.g. `1.39.0`"),
        );
    }
    for (field, set) in [
        (RedisSpec::ADDRESS, redis.address.is_some()),
        (
            RedisSpec::SENTINEL_MASTER_SET,
            redis.sentinel_master_set.is_some(),
        ),
    ] {
        if set {
            diags.push(
                Diagnostic::error(Code::DragonflyInvalid, format!("`{}` is not a Dragonfly setting", field.name()))
                    .at(spans.key(&rp.field(field)), "")
                    .help("gitopsc runs the instance and knows its address (the Service `<name>:6379`, which follows the master): remove it"),
            );
        }
    }
    if redis.replicas == 0 {
        diags.push(
            Diagnostic::error(Code::DragonflyInvalid, "a Dragonfly needs at least one replica")
                .at(spans.value(&rp.field(RedisSpec::REPLICAS)), "no pods")
                .help("`replicas` counts every pod, the master included: set 2 for a master and one replica"),
        );
    }
    if let Some(s) = &redis.snapshot
        && s.cron.split_whitespace().count() != 5
    {
        diags.push(
            Diagnostic::error(
                Code::BackupSchedule,
                format!("`{}` is not a five-field cron schedule", s.cron),
            )
            .at(
                spans.value(&rp.field(RedisSpec::SNAPSHOT).field(DragonflySnapshot::CRON)),
                "",
            )
            .help("Dragonfly's `--snapshot_cron` takes minute hour day month weekday, e.g. `*/30 * * * *`"),
        );
    }
    if let Some(b) = &redis.disruption_budget {
        let at = rp.field(RedisSpec::DISRUPTION_BUDGET);
        if b.min_available.is_some() == b.max_unavailable.is_some() {
            diags.push(
                Diagnostic::error(
                    Code::OneOfRequired,
                    "a disruption budget needs exactly one of `minAvailable` and `maxUnavailable`",
                )
                .at(spans.key(&at), "")
                .help("e.g. `disruptionBudget: {maxUnavailable: 1}`"),
            );
        }
        if b.unhealthy_pod_eviction_policy.is_some() {
            diags.push(
                Diagnostic::error(Code::DragonflyInvalid, "the Dragonfly operator's disruption budget has no `unhealthyPodEvictionPolicy`")
                    .at(spans.key(&at.field(DisruptionBudget::UNHEALTHY_POD_EVICTION_POLICY)), "")
                    .help("remove it: the operator writes its own PodDisruptionBudget from `minAvailable` or `maxUnavailable` only"),
            );
        }
    }
    dragonfly_clients(app, redis, rp, spans, flux_minor, diags);
}

/// What a Dragonfly's clients use: its databases and its password.
fn dragonfly_clients(
    app: &AppSpec,
    redis: &RedisSpec,
    rp: &SpecPath,
    spans: &Places,
    flux_minor: Option<u32>,
    diags: &mut Vec<Diagnostic>,
) {
    let dbnum = redis
        .args
        .iter()
        .find_map(|a| a.strip_prefix("--dbnum="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_DBNUM);
    for (consumer, index) in redis.databases.iter().filter(|(_, i)| **i >= dbnum) {
        diags.push(
            Diagnostic::error(
                Code::DragonflyInvalid,
                format!("Redis database {index} does not exist on this Dragonfly ({dbnum} databases)"),
            )
            .at(spans.value(&rp.field(RedisSpec::DATABASES).key(consumer)), "")
            .help(format!(
                "use an index below {dbnum}, or add `--dbnum=<n>` to `args`"
            )),
        );
    }
    if let Some(s) = &redis.password_secret {
        let at = rp.field(RedisSpec::PASSWORD_SECRET);
        if !app.secrets.iter().any(|x| x.name == *s) {
            diags.push(
                Diagnostic::error(Code::UnknownSecret, format!("the Redis password secret `{s}` is not one of the app's `secrets`"))
                    .at(spans.value(&at), "unknown secret")
                    .help(format!("add `{{name: {s}, data: [...]}}` to the app's `secrets`: the instance and its clients read it")),
            );
        }
        if flux_minor.is_some_and(|m| m < 9) && app.helm.is_some() {
            diags.push(
                Diagnostic::error(Code::FluxTooOld, "the Redis password reaches the release through `valuesFrom[].literal`, which needs Flux 2.9")
                    .at(spans.key(&at), "needs Flux ≥ 2.9")
                    .help("upgrade Flux and set `flux.version: \"2.9\"`"),
            );
        }
    }
}
