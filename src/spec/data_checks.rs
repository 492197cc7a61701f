//! Semantic checks of data services, secrets and operators.

use super::ClusterSpec;
use super::data::{PostgresProvider, RedisProvider};
use super::load::SpanIndex;
use super::schema::did_you_mean;
use super::secrets::{SecretType, StoreKind};
use crate::diagnostic::Diagnostic;
use rayon::prelude::*;
use std::collections::BTreeSet;

/// Checks every app's data services, secrets and the operators they need.
pub fn check(spec: &ClusterSpec, spans: &SpanIndex, flux_minor: Option<u32>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let stores: BTreeSet<&str> = spec.secret_stores.iter().map(|s| s.name.as_str()).collect();
    let apps: BTreeSet<&str> = spec.apps.iter().map(|a| a.name.as_str()).collect();
    let externals: BTreeSet<&str> = spec.flux.external.iter().map(|e| e.as_str()).collect();

    for (s, store) in spec.secret_stores.iter().enumerate() {
        if let Some(vault) = &store.vault
            && store.kind == StoreKind::ClusterSecretStore
            && vault.auth.kubernetes.service_account.namespace.is_none()
        {
            diags.push(
                Diagnostic::error("a ClusterSecretStore's service account needs a namespace")
                    .at(
                        spans.key(&format!("/secretStores/{s}/vault/auth/kubernetes/serviceAccount")),
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
            "/defaults/secretStore",
            &stores,
            spans,
        ));
    }

    // Operators declared where they come from.
    let decls = [
        ("cnpg", spec.operators.cnpg.as_ref()),
        ("barmanCloud", spec.operators.barman_cloud.as_ref()),
        ("externalSecrets", spec.operators.external_secrets.as_ref()),
        ("kubeblocks", spec.operators.kubeblocks.as_ref()),
        ("dragonfly", spec.operators.dragonfly.as_ref()),
        ("volsync", spec.operators.volsync.as_ref()),
    ];
    for (key, decl) in decls {
        let Some(decl) = decl else { continue };
        let base = format!("/operators/{key}");
        match (&decl.app, &decl.external) {
            (Some(_), Some(_)) | (None, None) => diags.push(
                Diagnostic::error(format!("operator `{key}` needs exactly one of `app` and `external`"))
                    .at(spans.key(&base), "")
                    .help("name the app of this spec that installs it, or the external Flux Kustomization that does"),
            ),
            (Some(app), None) => match spec.apps.iter().find(|a| &a.name == app) {
                None => diags.push(
                    Diagnostic::error(format!("`{app}` is not an app of this spec"))
                        .at(spans.value(&format!("{base}/app")), "unknown app")
                        .help(match did_you_mean(app.as_str(), apps.iter().copied()) {
                            Some(best) => format!("did you mean `{best}`?"),
                            None => "name the app that installs the operator".into(),
                        }),
                ),
                Some(a) if a.helm.is_none() => diags.push(
                    Diagnostic::error(format!("app `{app}` installs no Helm chart, so its operator cannot be health-checked"))
                        .at(spans.value(&format!("{base}/app")), "")
                        .help("use `external:` with `deployment:` and `namespace:` instead"),
                ),
                Some(_) => {}
            },
            (None, Some(ext)) => {
                if !externals.contains(ext.as_str()) {
                    diags.push(
                        Diagnostic::error(format!("`{ext}` is not declared in `flux.external`"))
                            .at(spans.value(&format!("{base}/external")), "undeclared")
                            .help(format!("add `{ext}` to `flux.external`")),
                    );
                }
                if decl.deployment.is_none() || decl.namespace.is_none() {
                    diags.push(
                        Diagnostic::error(format!("operator `{key}` from an external Kustomization needs `deployment` and `namespace`"))
                            .at(spans.key(&base), "")
                            .help("name the operator's Deployment and its namespace, so the gate can health-check it"),
                    );
                }
            }
        }
    }

    // Each app's checks, in parallel, reported in spec order.
    let per_app: Vec<Vec<Diagnostic>> = spec
        .apps
        .par_iter()
        .enumerate()
        .map(|(i, app)| {
            let mut diags = Vec::new();
            let base = format!("/apps/{i}");
            let secret_names: BTreeSet<&str> = app.secrets.iter().map(|s| s.name.as_str()).collect();
            let need_secret = |name: &str, pointer: String, what: &str, diags: &mut Vec<Diagnostic>| {
                if !secret_names.contains(name) {
                    diags.push(
                        Diagnostic::error(format!("{what} `{name}` is not one of the app's `secrets`"))
                            .at(spans.value(&pointer), "unknown secret")
                            .help(match did_you_mean(name, secret_names.iter().copied()) {
                                Some(best) => format!("did you mean `{best}`?"),
                                None => format!("add `{{name: {name}, data: [...]}}` to the app's `secrets`; gitopsc never takes secret values"),
                            }),
                    );
                }
            };

            let mut seen = BTreeSet::new();
            for (s, secret) in app.secrets.iter().enumerate() {
                let sp = format!("{base}/secrets/{s}");
                if !seen.insert(secret.name.as_str()) {
                    diags.push(
                        Diagnostic::error(format!("duplicate secret name `{}`", secret.name))
                            .at(spans.value(&format!("{sp}/name")), "")
                            .help("give each secret a unique name"),
                    );
                }
                match secret.store.as_ref().or(spec.defaults.secret_store.as_ref()) {
                    None => diags.push(
                        Diagnostic::error(format!("secret `{}` names no store", secret.name))
                            .at(spans.key(&sp), "")
                            .help("set `store:` or `defaults.secretStore`"),
                    ),
                    Some(store) if secret.store.is_some() && !stores.contains(store.as_str()) => {
                        diags.push(unknown_store(
                            store.as_str(),
                            &format!("{sp}/store"),
                            &stores,
                            spans,
                        ));
                    }
                    Some(_) => {}
                }
                if secret.data.is_empty() && secret.data_from.is_empty() {
                    diags.push(
                        Diagnostic::error(format!("secret `{}` reads nothing", secret.name))
                            .at(spans.key(&sp), "")
                            .help("add `data: [{key, remoteKey, property}]` or `dataFrom: [remoteKey]`"),
                    );
                }
                let keys: BTreeSet<&str> = secret.data.iter().map(|d| d.key.as_str()).collect();
                let needs = |required: &'static [&'static str]| {
                    required
                        .iter()
                        .filter(|k| !keys.contains(*k))
                        .copied()
                        .collect::<Vec<&'static str>>()
                };
                match secret.kind {
                    SecretType::Dockerconfigjson => {
                        if secret.registry.as_deref().is_none_or(str::is_empty) {
                            diags.push(
                                Diagnostic::error(format!(
                                    "the dockerconfigjson secret `{}` needs a `registry`",
                                    secret.name
                                ))
                                .at(spans.key(&sp), "")
                                .help("set `registry:` to the registry host, e.g. `harbor.example.com`"),
                            );
                        }
                        if secret.data_from.is_empty() {
                            for k in needs(&["username", "password"]) {
                                diags.push(missing_key(secret.name.as_str(), k, &sp, spans));
                            }
                        }
                    }
                    SecretType::BasicAuth if secret.data_from.is_empty() => {
                        for k in needs(&["username", "password"]) {
                            diags.push(missing_key(secret.name.as_str(), k, &sp, spans));
                        }
                    }
                    _ => {}
                }
            }

            if let Some(pg) = &app.postgres {
                let pp = format!("{base}/postgres");
                let cnpg_minor: Option<u32> = pg
                    .operator_version
                    .strip_prefix("1.")
                    .and_then(|m| m.parse().ok());
                match pg.provider {
                    PostgresProvider::Cnpg => {
                        if pg.image.is_some() == pg.version.is_some() {
                            diags.push(
                                Diagnostic::error(
                                    "a CloudNative-PG cluster needs exactly one of `version` and `image`",
                                )
                                .at(spans.key(&pp), "")
                                .help("set `version: \"16.9\"` (a `standard` image is used) or a full `image:`"),
                            );
                        }
                        if let Some(v) = &pg.version
                            && !v
                                .split('.')
                                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                        {
                            diags.push(
                                Diagnostic::error(format!("`{v}` is not a PostgreSQL version"))
                                    .at(spans.value(&format!("{pp}/version")), "")
                                    .help("write `major.minor`, e.g. `16.9`"),
                            );
                        }
                        if !pg.databases.is_empty() && cnpg_minor.is_some_and(|m| m < 25) {
                            diags.push(
                                Diagnostic::error(format!(
                                    "declarative `Database` objects need CloudNative-PG 1.25 or later; `operatorVersion` is {}",
                                    pg.operator_version
                                ))
                                .at(spans.key(&format!("{pp}/databases")), "needs CloudNative-PG ≥ 1.25")
                                .help("upgrade the operator and set `operatorVersion`, or create the databases another way"),
                            );
                        }
                        if pg.databases.iter().any(|d| !d.extensions.is_empty())
                            && cnpg_minor.is_some_and(|m| (25..26).contains(&m))
                        {
                            diags.push(
                                Diagnostic::error(format!(
                                    "`Database` extensions need CloudNative-PG 1.26 or later; `operatorVersion` is {}",
                                    pg.operator_version
                                ))
                                .at(spans.key(&format!("{pp}/databases")), "needs CloudNative-PG ≥ 1.26")
                                .help("upgrade the operator and set `operatorVersion`, or create the extensions in `postInitSQL`"),
                            );
                        }
                        if let Some(b) = &pg.backup {
                            if !b.legacy && cnpg_minor.is_some_and(|m| m < 26) {
                                diags.push(
                                    Diagnostic::error(format!(
                                        "the Barman Cloud plugin needs CloudNative-PG 1.26 or later; `operatorVersion` is {}",
                                        pg.operator_version
                                    ))
                                    .at(spans.key(&format!("{pp}/backup")), "")
                                    .help("upgrade the operator, or set `legacy: true` for the deprecated in-tree backup"),
                                );
                            }
                            if b.schedule.split_whitespace().count() != 6 {
                                diags.push(
                                    Diagnostic::error(format!(
                                        "`{}` is not a six-field cron schedule",
                                        b.schedule
                                    ))
                                    .at(
                                        spans.value(&format!("{pp}/backup/schedule")),
                                        "CloudNative-PG counts seconds first",
                                    )
                                    .help("write six fields, seconds first: `0 0 2 * * *` is daily at 02:00"),
                                );
                            }
                            need_secret(
                                b.credentials.as_str(),
                                format!("{pp}/backup/credentials"),
                                "the backup credentials",
                                &mut diags,
                            );
                        }
                        let need_basic_auth = |name: &str, pointer: String, diags: &mut Vec<Diagnostic>| {
                            if let Some(s) = app.secrets.iter().find(|s| s.name.as_str() == name)
                                && s.kind != SecretType::BasicAuth
                            {
                                diags.push(
                                    Diagnostic::error(format!(
                                        "`{name}` must be a `basic-auth` secret: CloudNative-PG reads `username` and `password` from a `kubernetes.io/basic-auth` Secret"
                                    ))
                                    .at(spans.value(&pointer), "")
                                    .help(format!("set `type: basic-auth` on the secret `{name}`")),
                                );
                            }
                        };
                        if let Some(owner) = &pg.owner_secret {
                            let at = format!("{pp}/ownerSecret");
                            need_secret(owner.as_str(), at.clone(), "the owner secret", &mut diags);
                            need_basic_auth(owner.as_str(), at, &mut diags);
                        }
                        for (r, role) in pg.roles.iter().enumerate() {
                            if let Some(s) = &role.password_secret {
                                let at = format!("{pp}/roles/{r}/passwordSecret");
                                need_secret(s.as_str(), at.clone(), "the password secret", &mut diags);
                                need_basic_auth(s.as_str(), at, &mut diags);
                            }
                        }
                    }
                    PostgresProvider::Kubeblocks => {
                        if pg.version.is_none() {
                            diags.push(
                                Diagnostic::error("a KubeBlocks PostgreSQL cluster needs `version` (the addon's service version)")
                                    .at(spans.key(&pp), "")
                                    .help("set e.g. `version: 16.4.0`: it must be a version the installed addon offers"),
                            );
                        }
                        for (field, present) in [
                            ("image", pg.image.is_some()),
                            ("backup", pg.backup.is_some()),
                            ("databases", !pg.databases.is_empty()),
                            ("roles", !pg.roles.is_empty()),
                            ("ownerSecret", pg.owner_secret.is_some()),
                            ("walStorage", pg.wal_storage.is_some()),
                        ] {
                            if present {
                                diags.push(
                                    Diagnostic::error(format!(
                                        "`{field}` is a CloudNative-PG setting; KubeBlocks does not take it"
                                    ))
                                    .at(spans.key(&format!("{pp}/{field}")), "")
                                    .help("remove it, or use `provider: cnpg`"),
                                );
                            }
                        }
                    }
                }
                let mut dbs = BTreeSet::from([pg.database.as_str()]);
                for (d, db) in pg.databases.iter().enumerate() {
                    if !dbs.insert(db.name.as_str()) {
                        diags.push(
                            Diagnostic::error(format!("database `{}` is listed twice", db.name))
                                .at(
                                    spans.value(&format!("{pp}/databases/{d}/name")),
                                    "already created",
                                )
                                .help("each database is created once: remove this entry"),
                        );
                    }
                }
            }

            if let Some(redis) = &app.redis {
                let rp = format!("{base}/redis");
                match redis.provider {
                    RedisProvider::External => {
                        if redis.address.as_deref().is_none_or(str::is_empty) {
                            diags.push(
                                Diagnostic::error("an external Redis needs `address`")
                                    .at(spans.key(&rp), "")
                                    .help("e.g. `address: dragonfly.dragonfly.svc.cluster.local:6379`"),
                            );
                        }
                        if let Some(s) = &redis.password_secret {
                            need_secret(
                                s.as_str(),
                                format!("{rp}/passwordSecret"),
                                "the Redis password secret",
                                &mut diags,
                            );
                            if flux_minor.is_some_and(|m| m < 9) && app.helm.is_some() {
                                diags.push(
                                    Diagnostic::error("the Redis password reaches the release through `valuesFrom[].literal`, which needs Flux 2.9")
                                        .at(spans.key(&format!("{rp}/passwordSecret")), "needs Flux ≥ 2.9")
                                        .help("upgrade Flux and set `flux.version: \"2.9\"`"),
                                );
                            }
                        }
                    }
                    // Checked beside its part (dragonfly_checks).
                    RedisProvider::Dragonfly => {}
                    RedisProvider::Kubeblocks => {
                        if redis.version.is_none() {
                            diags.push(
                                Diagnostic::error(
                                    "a KubeBlocks Redis needs `version` (the addon's service version)",
                                )
                                .at(spans.key(&rp), "")
                                .help("set e.g. `version: 7.2.4`"),
                            );
                        }
                    }
                }
                let chart_known = app
                    .helm
                    .as_ref()
                    .is_some_and(|h| crate::model::charts::lookup(&h.chart).is_some());
                if !chart_known {
                    let mut by_index: std::collections::BTreeMap<u32, Vec<&str>> = Default::default();
                    for (consumer, index) in &redis.databases {
                        by_index.entry(*index).or_default().push(consumer);
                    }
                    for (index, consumers) in by_index.into_iter().filter(|(_, c)| c.len() > 1) {
                        diags.push(
                            Diagnostic::error(format!(
                                "Redis database {index} is used by {}",
                                consumers
                                    .iter()
                                    .map(|c| format!("`{c}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                            .at(
                                spans.value(&format!("{rp}/databases/{}", consumers[consumers.len() - 1])),
                                "index already used",
                            )
                            .help("give each consumer its own database index"),
                        );
                    }
                }
            }

            // Every operator the app needs is declared.
            for op in app.operators() {
                if op.declared(spec).is_none() {
                    let at = match op {
                        crate::kinds::Operator::ExternalSecrets => format!("{base}/secrets"),
                        crate::kinds::Operator::BarmanCloud => format!("{base}/postgres/backup"),
                        crate::kinds::Operator::Dragonfly => format!("{base}/redis"),
                        crate::kinds::Operator::Volsync => format!("{base}/volumeBackups"),
                        crate::kinds::Operator::Kubeblocks if app.postgres.is_none() => {
                            format!("{base}/redis")
                        }
                        _ => format!("{base}/postgres"),
                    };
                    diags.push(
                        Diagnostic::error(format!("app `{}` needs {}, which `operators` does not declare", app.name, op.title()))
                            .at(spans.key(&at), "")
                            .help(format!(
                                "add `operators: {{{}: {{app: <the app that installs it>}}}}`, or `{{external: <Kustomization>, deployment: <name>, namespace: <ns>}}`",
                                op.spec_key()
                            )),
                    );
                }
            }
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

fn unknown_store(name: &str, pointer: &str, stores: &BTreeSet<&str>, spans: &SpanIndex) -> Diagnostic {
    Diagnostic::error(format!("secret store `{name}` is not declared in `secretStores`"))
        .at(spans.value(pointer), "unknown store")
        .help(match did_you_mean(name, stores.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("declare it: `secretStores: [{{name: {name}, vault: {{...}}}}]`, or without `vault:` when it exists already"),
        })
}

fn missing_key(secret: &str, key: &str, pointer: &str, spans: &SpanIndex) -> Diagnostic {
    Diagnostic::error(format!("secret `{secret}` needs the key `{key}`"))
        .at(spans.key(pointer), "")
        .help(format!(
            "add `{{key: {key}, remoteKey: ..., property: ...}}` to its `data`"
        ))
}
