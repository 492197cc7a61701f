//! Checks of a CloudNative-PG cluster created from something else than an empty `initdb`:
//! a restore from the app's backups (`restore`) or a migration from an existing server
//! (`migrate`). What they catch would otherwise fail at bootstrap, where a Flux layer only
//! sees the cluster never become ready.

use super::data::{BackupSpec, MigrateMethod, MigrateSpec, PostgresProvider, PostgresSpec};
use super::path::SpecPath;
use super::places::Places;
use super::{AppSpec, ClusterSpec};
use crate::diagnostic::{Code, Diagnostic};

/// Checks every app's `restore` and `migrate`.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (i, app) in spec.apps.iter().enumerate() {
        let Some(pg) = &app.postgres else { continue };
        let pp = SpecPath::app(i).field(AppSpec::POSTGRES);
        if pg.provider == PostgresProvider::Kubeblocks {
            for (field, set) in [
                (PostgresSpec::RESTORE, pg.restore.is_some()),
                (PostgresSpec::MIGRATE, pg.migrate.is_some()),
            ] {
                let at = pp.field(field);
                let field = field.name();
                if set {
                    diags.push(
                        Diagnostic::error(
                            Code::ProviderField,
                            format!("`{field}` is a CloudNative-PG setting; KubeBlocks does not take it"),
                        )
                        .at(spans.key(&at), "")
                        .help("remove it, or use `provider: cnpg`"),
                    );
                }
            }
            continue;
        }
        if pg.restore.is_some() && pg.migrate.is_some() {
            diags.push(
                Diagnostic::error(
                    Code::RestoreInvalid,
                    "a cluster starts from a backup or from another server, not both",
                )
                .at(spans.key(&pp.field(PostgresSpec::MIGRATE)), "")
                .help("keep `restore` (the app's own backups) or `migrate` (an existing server)"),
            );
        }
        let cluster = pg.cluster_name(app.name.as_str());
        restore(pg, &cluster, &pp, spans, &mut diags);
        migrate(app, pg, &pp, spans, &mut diags);
        initdb_only(pg, &pp, spans, &mut diags);
    }
    diags
}

/// A restore reads the app's object store and must archive under a new lineage.
fn restore(pg: &PostgresSpec, cluster: &str, pp: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    let Some(r) = &pg.restore else { return };
    let at = pp.field(PostgresSpec::RESTORE);
    let Some(backup) = &pg.backup else {
        diags.push(
            Diagnostic::error(
                Code::RestoreInvalid,
                "`restore` reads the app's backups, but the cluster has no `backup`",
            )
            .at(spans.key(&at), "no object store")
            .help(
                "add `backup:` with the object store the backups are in (`destinationPath`, `credentials`)",
            ),
        );
        return;
    };
    if backup.legacy {
        diags.push(
            Diagnostic::error(Code::RestoreInvalid, "`restore` goes through the Barman Cloud plugin, not the in-tree `legacy` backup")
                .at(spans.key(&pp.field(PostgresSpec::BACKUP).field(BackupSpec::LEGACY)), "")
                .help("remove `legacy: true` and declare `operators.barmanCloud`: the plugin reads backups the in-tree backup wrote"),
        );
    }
    // Both lineages default to the cluster's name.
    let restored = r.server_name.as_ref().map_or(cluster, |n| n.as_str());
    let archived = backup.server_name.as_ref().map_or(cluster, |n| n.as_str());
    if restored == archived {
        diags.push(
            Diagnostic::error(Code::RestoreInvalid, "the restored cluster would archive into the backup lineage it restores from")
                .at(spans.key(&at), "same `serverName`")
                .help("set `backup.serverName` to a new name (e.g. the cluster's name with `-2`): Barman refuses to archive WAL where WAL already is, and the old backups must stay as they are"),
        );
    }
}

/// A migration reads a password the app fetches.
fn migrate(app: &AppSpec, pg: &PostgresSpec, pp: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    let Some(m) = &pg.migrate else { return };
    if m.host.trim().is_empty() {
        diags.push(
            Diagnostic::error(
                Code::RestoreInvalid,
                "`migrate` needs the `host` of the server to copy",
            )
            .at(
                spans.value(&pp.field(PostgresSpec::MIGRATE).field(MigrateSpec::HOST)),
                "",
            )
            .help("e.g. `host: old-db.example.com`"),
        );
    }
    if !app.secrets.iter().any(|s| s.name == m.password_secret) {
        diags.push(
            Diagnostic::error(
                Code::UnknownSecret,
                format!(
                    "the migration password secret `{}` is not one of the app's `secrets`",
                    m.password_secret
                ),
            )
            .at(
                spans.value(
                    &pp.field(PostgresSpec::MIGRATE)
                        .field(MigrateSpec::PASSWORD_SECRET),
                ),
                "unknown secret",
            )
            .help(format!(
                "add `{{name: {}, data: [...]}}` to the app's `secrets`",
                m.password_secret
            )),
        );
    }
}

/// `initdb` settings mean nothing to a cluster that starts from a copy.
fn initdb_only(pg: &PostgresSpec, pp: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    let copied = pg.restore.is_some()
        || pg
            .migrate
            .as_ref()
            .is_some_and(|m| m.method == MigrateMethod::Basebackup);
    if !copied {
        return;
    }
    for (field, set) in [
        (PostgresSpec::ENCODING, pg.encoding.is_some()),
        (PostgresSpec::LOCALE, pg.locale.is_some()),
        (PostgresSpec::POST_INIT_SQL, !pg.post_init_sql.is_empty()),
    ] {
        let at = pp.field(field);
        let field = field.name();
        if set {
            diags.push(
                Diagnostic::error(Code::RestoreInvalid, format!("`{field}` is an `initdb` setting; a cluster copied from a backup or a server keeps the original's"))
                    .at(spans.key(&at), "ignored by CloudNative-PG")
                    .help("remove it: the copy brings its own encoding, locale and data"),
            );
        }
    }
}
