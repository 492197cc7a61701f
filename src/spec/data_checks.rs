//! Semantic checks of data services, secrets and operators: one function per domain — the
//! secret stores, the operators' declarations, and per app its secrets, its PostgreSQL
//! (CloudNative-PG or KubeBlocks), its Redis and the operators they need.

use super::data::{
    BackupSpec, DatabaseSpec, OperatorSpec, Operators, PostgresProvider, PostgresSpec, RedisProvider,
    RedisSpec, RoleSpec,
};
use super::path::{Field, SpecPath};
use super::places::Places;
use super::schema::did_you_mean;
use super::secrets::{
    SecretSpec, SecretStoreSpec, SecretType, StoreKind, VaultAuth, VaultKubernetesAuth, VaultSpec,
};
use super::{AppSpec, ClusterSpec, Defaults};
use crate::diagnostic::{Code, Diagnostic};
use crate::kinds::Operator;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Checks every app's data services, secrets and the operators they need.
pub fn check(spec: &ClusterSpec, spans: &Places, flux_minor: Option<u32>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let stores: BTreeSet<&str> = spec.secret_stores.iter().map(|s| s.name.as_str()).collect();
    check_stores(spec, spans, &stores, &mut diags);
    check_operators(spec, spans, &mut diags);
    // Each app's checks, in parallel, reported in spec order.
    let per_app: Vec<Vec<Diagnostic>> = spec
        .apps
        .par_iter()
        .enumerate()
        .map(|(i, app)| {
            let ctx = AppCtx {
                spec,
                app,
                base: SpecPath::app(i),
                spans,
                secret_names: app.secrets.iter().map(|s| s.name.as_str()).collect(),
            };
            let mut diags = Vec::new();
            check_secrets(&ctx, &stores, &mut diags);
            if let Some(pg) = &app.postgres {
                check_postgres(&ctx, pg, &mut diags);
            }
            if let Some(redis) = &app.redis {
                check_redis(&ctx, redis, flux_minor, &mut diags);
            }
            check_needed_operators(&ctx, &mut diags);
            diags
        })
        .collect();
    diags.extend(per_app.into_iter().flatten());
    diags.extend(super::postgres_checks::check(spec, spans));
    diags.extend(super::pooler_checks::check(spec, spans));
    diags.extend(super::restore_checks::check(spec, spans));
    diags.extend(super::volsync_checks::check(spec, spans));
    diags.extend(super::dragonfly_checks::check(spec, spans, flux_minor));
    diags.extend(super::timeout_checks::check(spec, spans));
    diags
}

/// A ClusterSecretStore's service account has a namespace; the default store is declared.
fn check_stores(spec: &ClusterSpec, spans: &Places, stores: &BTreeSet<&str>, diags: &mut Vec<Diagnostic>) {
    for (s, store) in spec.secret_stores.iter().enumerate() {
        if let Some(vault) = &store.vault
            && store.kind == StoreKind::ClusterSecretStore
            && vault.auth.kubernetes.service_account.namespace.is_none()
        {
            diags.push(
                Diagnostic::error(
                    Code::ClusterStoreNamespace,
                    "a ClusterSecretStore's service account needs a namespace",
                )
                .at(
                    spans.key(
                        &SpecPath::root()
                            .field(ClusterSpec::SECRET_STORES)
                            .index(s)
                            .field(SecretStoreSpec::VAULT)
                            .field(VaultSpec::AUTH)
                            .field(VaultAuth::KUBERNETES)
                            .field(VaultKubernetesAuth::SERVICE_ACCOUNT),
                    ),
                    "no namespace",
                )
                .help("add `namespace:` (where External Secrets runs, e.g. `external-secrets`)"),
            );
        }
    }
    if let Some(default) = &spec.defaults.secret_store
        && !stores.contains(default.as_str())
    {
        diags.push(unknown_store(
            default.as_str(),
            &SpecPath::root()
                .field(ClusterSpec::DEFAULTS)
                .field(Defaults::SECRET_STORE),
            stores,
            spans,
        ));
    }
}

/// Each operator is declared where it comes from: an app of the spec that installs a chart,
/// or a declared external Kustomization with the Deployment to health-check.
fn check_operators(spec: &ClusterSpec, spans: &Places, diags: &mut Vec<Diagnostic>) {
    let apps: BTreeSet<&str> = spec.apps.iter().map(|a| a.name.as_str()).collect();
    let externals: BTreeSet<&str> = spec.flux.external.iter().map(|e| e.as_str()).collect();
    let decls = [
        (Operators::CNPG, spec.operators.cnpg.as_ref()),
        (Operators::BARMAN_CLOUD, spec.operators.barman_cloud.as_ref()),
        (
            Operators::EXTERNAL_SECRETS,
            spec.operators.external_secrets.as_ref(),
        ),
        (Operators::KUBEBLOCKS, spec.operators.kubeblocks.as_ref()),
        (Operators::DRAGONFLY, spec.operators.dragonfly.as_ref()),
        (Operators::VOLSYNC, spec.operators.volsync.as_ref()),
    ];
    for (field, decl) in decls {
        let Some(decl) = decl else { continue };
        let key = field.name();
        let base = SpecPath::root().field(ClusterSpec::OPERATORS).field(field);
        match (&decl.app, &decl.external) {
            (Some(_), Some(_)) | (None, None) => diags.push(
                Diagnostic::error(Code::OperatorSource, format!("operator `{key}` needs exactly one of `app` and `external`"))
                    .at(spans.key(&base), "")
                    .help("name the app of this spec that installs it, or the external Flux Kustomization that does"),
            ),
            (Some(app), None) => match spec.apps.iter().find(|a| &a.name == app) {
                None => diags.push(
                    Diagnostic::error(Code::UnknownOperatorSource, format!("`{app}` is not an app of this spec"))
                        .at(spans.value(&base.field(OperatorSpec::APP)), "unknown app")
                        .help(match did_you_mean(app.as_str(), apps.iter().copied()) {
                            Some(best) => format!("did you mean `{best}`?"),
                            None => "name the app that installs the operator".into(),
                        }),
                ),
                Some(a) if a.helm.is_none() => diags.push(
                    Diagnostic::error(Code::OperatorSource, format!("app `{app}` installs no Helm chart, so its operator cannot be health-checked"))
                        .at(spans.value(&base.field(OperatorSpec::APP)), "")
                        .help("use `external:` with `deployment:` and `namespace:` instead"),
                ),
                Some(_) => {}
            },
            (None, Some(ext)) => {
                if !externals.contains(ext.as_str()) {
                    diags.push(
                        Diagnostic::error(Code::UnknownOperatorSource, format!("`{ext}` is not declared in `flux.external`"))
                            .at(spans.value(&base.field(OperatorSpec::EXTERNAL)), "undeclared")
                            .help(format!("add `{ext}` to `flux.external`")),
                    );
                }
                if decl.deployment.is_none() || decl.namespace.is_none() {
                    diags.push(
                        Diagnostic::error(Code::OperatorSource, format!("operator `{key}` from an external Kustomization needs `deployment` and `namespace`"))
                            .at(spans.key(&base), "")
                            .help("name the operator's Deployment and its namespace, so the gate can health-check it"),
                    );
                }
            }
        }
    }
}

/// What the checks of one app read.
struct AppCtx<'a> {
    spec: &'a ClusterSpec,
    app: &'a AppSpec,
    /// `/apps/<i>`.
    base: SpecPath,
    spans: &'a Places,
    /// The names of the app's secrets.
    secret_names: BTreeSet<&'a str>,
}

impl AppCtx<'_> {
    /// An error unless `name` is one of the app's secrets.
    fn need_secret(&self, name: &str, pointer: &SpecPath, what: &str, diags: &mut Vec<Diagnostic>) {
        if self.secret_names.contains(name) {
            return;
        }
        diags.push(
            Diagnostic::error(Code::UnknownSecret, format!("{what} `{name}` is not one of the app's `secrets`"))
                .at(self.spans.value(pointer), "unknown secret")
                .help(match did_you_mean(name, self.secret_names.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("add `{{name: {name}, data: [...]}}` to the app's `secrets`; gitopsc never takes secret values"),
                }),
        );
    }

    /// An error when the app's secret `name` is not of type `basic-auth`.
    fn need_basic_auth(&self, name: &str, pointer: &SpecPath, diags: &mut Vec<Diagnostic>) {
        if let Some(s) = self.app.secrets.iter().find(|s| s.name.as_str() == name)
            && s.kind != SecretType::BasicAuth
        {
            diags.push(
                Diagnostic::error(Code::SecretType, format!(
                    "`{name}` must be a `basic-auth` secret: CloudNative-PG reads `username` and `password` from a `kubernetes.io/basic-auth` Secret"
                ))
                .at(self.spans.value(pointer), "")
                .help(format!("set `type: basic-auth` on the secret `{name}`")),
            );
        }
    }
}

/// The app's secrets: unique names, a declared store, something read, the keys their type needs.
fn check_secrets(ctx: &AppCtx, stores: &BTreeSet<&str>, diags: &mut Vec<Diagnostic>) {
    let spans = ctx.spans;
    let mut seen = BTreeSet::new();
    for (s, secret) in ctx.app.secrets.iter().enumerate() {
        let sp = ctx.base.field(AppSpec::SECRETS).index(s);
        if !seen.insert(secret.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    format!("duplicate secret name `{}`", secret.name),
                )
                .at(spans.value(&sp.field(SecretSpec::NAME)), "")
                .help("give each secret a unique name"),
            );
        }
        match secret.store.as_ref().or(ctx.spec.defaults.secret_store.as_ref()) {
            None => diags.push(
                Diagnostic::error(
                    Code::SecretWithoutStore,
                    format!("secret `{}` names no store", secret.name),
                )
                .at(spans.key(&sp), "")
                .help("set `store:` or `defaults.secretStore`"),
            ),
            Some(store) if secret.store.is_some() && !stores.contains(store.as_str()) => {
                diags.push(unknown_store(
                    store.as_str(),
                    &sp.field(SecretSpec::STORE),
                    stores,
                    spans,
                ));
            }
            Some(_) => {}
        }
        if secret.data.is_empty() && secret.data_from.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::SecretReadsNothing,
                    format!("secret `{}` reads nothing", secret.name),
                )
                .at(spans.key(&sp), "")
                .help("add `data: [{key, remoteKey, property}]` or `dataFrom: [remoteKey]`"),
            );
        }
        if secret.kind == SecretType::Dockerconfigjson && secret.registry.as_deref().is_none_or(str::is_empty)
        {
            diags.push(
                Diagnostic::error(
                    Code::DockerConfigRegistry,
                    format!("the dockerconfigjson secret `{}` needs a `registry`", secret.name),
                )
                .at(spans.key(&sp), "")
                .help("set `registry:` to the registry host, e.g. `harbor.example.com`"),
            );
        }
        let typed = matches!(secret.kind, SecretType::Dockerconfigjson | SecretType::BasicAuth);
        if typed && secret.data_from.is_empty() {
            let keys: BTreeSet<&str> = secret.data.iter().map(|d| d.key.as_str()).collect();
            for k in ["username", "password"].into_iter().filter(|k| !keys.contains(k)) {
                diags.push(missing_key(secret.name.as_str(), k, &sp, spans));
            }
        }
    }
}

/// The app's PostgreSQL: the provider's own checks, then databases listed once.
fn check_postgres(ctx: &AppCtx, pg: &PostgresSpec, diags: &mut Vec<Diagnostic>) {
    let pp = ctx.base.field(AppSpec::POSTGRES);
    match pg.provider {
        PostgresProvider::Cnpg => {
            check_cnpg_version(ctx, pg, &pp, diags);
            check_cnpg_secrets(ctx, pg, &pp, diags);
        }
        PostgresProvider::Kubeblocks => check_kubeblocks_postgres(ctx, pg, &pp, diags),
    }
    let mut dbs = BTreeSet::from([pg.database.as_str()]);
    for (d, db) in pg.databases.iter().enumerate() {
        if !dbs.insert(db.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::DatabaseTwice,
                    format!("database `{}` is listed twice", db.name),
                )
                .at(
                    ctx.spans.value(
                        &pp.field(PostgresSpec::DATABASES)
                            .index(d)
                            .field(DatabaseSpec::NAME),
                    ),
                    "already created",
                )
                .help("each database is created once: remove this entry"),
            );
        }
    }
}

/// A CloudNative-PG cluster's version or image, and the features its operator version has.
fn check_cnpg_version(ctx: &AppCtx, pg: &PostgresSpec, pp: &SpecPath, diags: &mut Vec<Diagnostic>) {
    let spans = ctx.spans;
    let cnpg_minor: Option<u32> = pg
        .operator_version
        .strip_prefix("1.")
        .and_then(|m| m.parse().ok());
    if pg.image.is_some() == pg.version.is_some() {
        diags.push(
            Diagnostic::error(
                Code::DataServiceVersion,
                "a CloudNative-PG cluster needs exactly one of `version` and `image`",
            )
            .at(spans.key(pp), "")
            .help("set `version: \"16.9\"` (a `standard` image is used) or a full `image:`"),
        );
    }
    if let Some(v) = &pg.version
        && !v
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        diags.push(
            Diagnostic::error(
                Code::DataServiceVersion,
                format!("`{v}` is not a PostgreSQL version"),
            )
            .at(spans.value(&pp.field(PostgresSpec::VERSION)), "")
            .help("write `major.minor`, e.g. `16.9`"),
        );
    }
    let too_old = |what: &str, since: u32, at: Field, help: &str| {
        Diagnostic::error(
            Code::OperatorTooOld,
            format!(
                "{what} need{} CloudNative-PG 1.{since} or later; `operatorVersion` is {}",
                if what.starts_with("the ") { "s" } else { "" },
                pg.operator_version
            ),
        )
        .at(
            spans.key(&pp.field(at)),
            format!("needs CloudNative-PG ≥ 1.{since}"),
        )
        .help(help)
    };
    if !pg.databases.is_empty() && cnpg_minor.is_some_and(|m| m < 25) {
        diags.push(too_old(
            "declarative `Database` objects",
            25,
            PostgresSpec::DATABASES,
            "upgrade the operator and set `operatorVersion`, or create the databases another way",
        ));
    }
    if pg.databases.iter().any(|d| !d.extensions.is_empty())
        && cnpg_minor.is_some_and(|m| (25..26).contains(&m))
    {
        diags.push(too_old(
            "`Database` extensions",
            26,
            PostgresSpec::DATABASES,
            "upgrade the operator and set `operatorVersion`, or create the extensions in `postInitSQL`",
        ));
    }
    if let Some(b) = &pg.backup
        && !b.legacy
        && cnpg_minor.is_some_and(|m| m < 26)
    {
        let mut d = too_old(
            "the Barman Cloud plugin",
            26,
            PostgresSpec::BACKUP,
            "upgrade the operator, or set `legacy: true` for the deprecated in-tree backup",
        );
        d.label = None;
        diags.push(d);
    }
}

/// A CloudNative-PG cluster's backup schedule, and the secrets it reads: backup credentials,
/// the owner's and the roles' passwords (`basic-auth`).
fn check_cnpg_secrets(ctx: &AppCtx, pg: &PostgresSpec, pp: &SpecPath, diags: &mut Vec<Diagnostic>) {
    if let Some(b) = &pg.backup {
        if b.schedule.split_whitespace().count() != 6 {
            diags.push(
                Diagnostic::error(
                    Code::BackupSchedule,
                    format!("`{}` is not a six-field cron schedule", b.schedule),
                )
                .at(
                    ctx.spans
                        .value(&pp.field(PostgresSpec::BACKUP).field(BackupSpec::SCHEDULE)),
                    "CloudNative-PG counts seconds first",
                )
                .help("write six fields, seconds first: `0 0 2 * * *` is daily at 02:00"),
            );
        }
        ctx.need_secret(
            b.credentials.as_str(),
            &pp.field(PostgresSpec::BACKUP).field(BackupSpec::CREDENTIALS),
            "the backup credentials",
            diags,
        );
    }
    if let Some(owner) = &pg.owner_secret {
        let at = pp.field(PostgresSpec::OWNER_SECRET);
        ctx.need_secret(owner.as_str(), &at, "the owner secret", diags);
        ctx.need_basic_auth(owner.as_str(), &at, diags);
    }
    for (r, role) in pg.roles.iter().enumerate() {
        if let Some(s) = &role.password_secret {
            let at = pp
                .field(PostgresSpec::ROLES)
                .index(r)
                .field(RoleSpec::PASSWORD_SECRET);
            ctx.need_secret(s.as_str(), &at, "the password secret", diags);
            ctx.need_basic_auth(s.as_str(), &at, diags);
        }
    }
}

/// A KubeBlocks PostgreSQL cluster has a version and none of CloudNative-PG's settings.
fn check_kubeblocks_postgres(ctx: &AppCtx, pg: &PostgresSpec, pp: &SpecPath, diags: &mut Vec<Diagnostic>) {
    if pg.version.is_none() {
        diags.push(
            Diagnostic::error(
                Code::DataServiceVersion,
                "a KubeBlocks PostgreSQL cluster needs `version` (the addon's service version)",
            )
            .at(ctx.spans.key(pp), "")
            .help("set e.g. `version: 16.4.0`: it must be a version the installed addon offers"),
        );
    }
    for (field, present) in [
        (PostgresSpec::IMAGE, pg.image.is_some()),
        (PostgresSpec::BACKUP, pg.backup.is_some()),
        (PostgresSpec::DATABASES, !pg.databases.is_empty()),
        (PostgresSpec::ROLES, !pg.roles.is_empty()),
        (PostgresSpec::OWNER_SECRET, pg.owner_secret.is_some()),
        (PostgresSpec::WAL_STORAGE, pg.wal_storage.is_some()),
    ] {
        if present {
            let at = pp.field(field);
            let field = field.name();
            diags.push(
                Diagnostic::error(
                    Code::ProviderField,
                    format!("`{field}` is a CloudNative-PG setting; KubeBlocks does not take it"),
                )
                .at(ctx.spans.key(&at), "")
                .help("remove it, or use `provider: cnpg`"),
            );
        }
    }
}

/// The app's Redis: an address (external) or a version (KubeBlocks), its password secret,
/// and one database index per consumer when no known chart wires them.
fn check_redis(ctx: &AppCtx, redis: &RedisSpec, flux_minor: Option<u32>, diags: &mut Vec<Diagnostic>) {
    let (spans, rp) = (ctx.spans, ctx.base.field(AppSpec::REDIS));
    match redis.provider {
        RedisProvider::External => {
            if redis.address.as_deref().is_none_or(str::is_empty) {
                diags.push(
                    Diagnostic::error(Code::ExternalRedisAddress, "an external Redis needs `address`")
                        .at(spans.key(&rp), "")
                        .help("e.g. `address: dragonfly.dragonfly.svc.cluster.local:6379`"),
                );
            }
            if let Some(s) = &redis.password_secret {
                let at = rp.field(RedisSpec::PASSWORD_SECRET);
                ctx.need_secret(s.as_str(), &at, "the Redis password secret", diags);
                if flux_minor.is_some_and(|m| m < 9) && ctx.app.helm.is_some() {
                    diags.push(
                        Diagnostic::error(
                            Code::FluxTooOld,
                            "the Redis password reaches the release through `valuesFrom[].literal`, which needs Flux 2.9",
                        )
                        .at(spans.key(&at), "needs Flux ≥ 2.9")
                        .help("upgrade Flux and set `flux.version: \"2.9\"`"),
                    );
                }
            }
        }
        // Checked beside its part (dragonfly_checks).
        RedisProvider::Dragonfly => {}
        RedisProvider::Kubeblocks if redis.version.is_none() => diags.push(
            Diagnostic::error(
                Code::DataServiceVersion,
                "a KubeBlocks Redis needs `version` (the addon's service version)",
            )
            .at(spans.key(&rp), "")
            .help("set e.g. `version: 7.2.4`"),
        ),
        RedisProvider::Kubeblocks => {}
    }
    let chart_known = ctx
        .app
        .helm
        .as_ref()
        .is_some_and(|h| crate::charts::table::lookup(&h.chart).is_some());
    if chart_known {
        return;
    }
    let mut by_index: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for (consumer, index) in &redis.databases {
        by_index.entry(*index).or_default().push(consumer);
    }
    for (index, consumers) in by_index.into_iter().filter(|(_, c)| c.len() > 1) {
        let names: Vec<String> = consumers.iter().map(|c| format!("`{c}`")).collect();
        diags.push(
            Diagnostic::error(
                Code::RedisIndexClash,
                format!("Redis database {index} is used by {}", names.join(", ")),
            )
            .at(
                spans.value(&rp.field(RedisSpec::DATABASES).key(consumers[consumers.len() - 1])),
                "index already used",
            )
            .help("give each consumer its own database index"),
        );
    }
}

/// Every operator the app needs is declared.
fn check_needed_operators(ctx: &AppCtx, diags: &mut Vec<Diagnostic>) {
    let base = &ctx.base;
    for op in ctx.app.operators() {
        if op.declared(ctx.spec).is_some() {
            continue;
        }
        let at = match op {
            Operator::ExternalSecrets => base.field(AppSpec::SECRETS),
            Operator::BarmanCloud => base.field(AppSpec::POSTGRES).field(PostgresSpec::BACKUP),
            Operator::Dragonfly => base.field(AppSpec::REDIS),
            Operator::Volsync => base.field(AppSpec::VOLUME_BACKUPS),
            Operator::Kubeblocks if ctx.app.postgres.is_none() => base.field(AppSpec::REDIS),
            _ => base.field(AppSpec::POSTGRES),
        };
        diags.push(
            Diagnostic::error(Code::OperatorNotDeclared, format!("app `{}` needs {}, which `operators` does not declare", ctx.app.name, op.title()))
                .at(ctx.spans.key(&at), "")
                .help(format!(
                    "add `operators: {{{}: {{app: <the app that installs it>}}}}`, or `{{external: <Kustomization>, deployment: <name>, namespace: <ns>}}`",
                    op.spec_key()
                )),
        );
    }
}

fn unknown_store(name: &str, pointer: &SpecPath, stores: &BTreeSet<&str>, spans: &Places) -> Diagnostic {
    Diagnostic::error(Code::UnknownSecretStore, format!("secret store `{name}` is not declared in `secretStores`"))
        .at(spans.value(pointer), "unknown store")
        .help(match did_you_mean(name, stores.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("declare it: `secretStores: [{{name: {name}, vault: {{...}}}}]`, or without `vault:` when it exists already"),
        })
}

fn missing_key(secret: &str, key: &str, pointer: &SpecPath, spans: &Places) -> Diagnostic {
    Diagnostic::error(
        Code::SecretMissingKey,
        format!("secret `{secret}` needs the key `{key}`"),
    )
    .at(spans.key(pointer), "")
    .help(format!(
        "add `{{key: {key}, remoteKey: ..., property: ...}}` to its `data`"
    ))
}
