//! Checks of a PostgreSQL cluster against what its operator and image accept at runtime:
//! names PostgreSQL or CloudNative-PG reserve, extensions the image does not ship, and the
//! deprecated in-tree backup. Each finding here would otherwise pass validation and fail (or
//! silently do less) in the cluster.

use super::data::{BackupSpec, DatabaseSpec, PostgresProvider, PostgresSpec, RoleSpec};
use super::path::SpecPath;
use super::places::Places;
use super::{AppSpec, ClusterSpec};
use crate::diagnostic::{Code, Diagnostic};

/// Databases every PostgreSQL cluster has from `initdb` on.
const SYSTEM_DATABASES: &[&str] = &["postgres", "template0", "template1"];

/// Extensions of PostgreSQL's contrib modules, which the `postgresql-MM` Debian package every
/// CloudNative-PG image is built from ships (`minimal` and up; PostgreSQL 13–18). `plpgsql`
/// is there from `initdb` on.
const CONTRIB_EXTENSIONS: &[&str] = &[
    "adminpack",
    "amcheck",
    "autoinc",
    "bloom",
    "btree_gin",
    "btree_gist",
    "citext",
    "cube",
    "dblink",
    "dict_int",
    "dict_xsyn",
    "earthdistance",
    "file_fdw",
    "fuzzystrmatch",
    "hstore",
    "insert_username",
    "intagg",
    "intarray",
    "isn",
    "lo",
    "ltree",
    "moddatetime",
    "old_snapshot",
    "pageinspect",
    "pg_buffercache",
    "pg_freespacemap",
    "pg_logicalinspect",
    "pg_prewarm",
    "pg_stat_statements",
    "pg_surgery",
    "pg_trgm",
    "pg_visibility",
    "pg_walinspect",
    "pgcrypto",
    "pgrowlocks",
    "pgstattuple",
    "plpgsql",
    "postgres_fdw",
    "refint",
    "seg",
    "sslinfo",
    "tablefunc",
    "tcn",
    "tsm_system_rows",
    "tsm_system_time",
    "unaccent",
    "uuid-ossp",
    "xml2",
];

/// What the `standard` (and the deprecated `system`) images add to `minimal`: the
/// `postgresql-MM-pgaudit` and `postgresql-MM-pgvector` packages (cloudnative-pg/
/// postgres-containers `docker-bake.hcl`; `pg-failover-slots` is a library, not an extension).
const STANDARD_EXTENSIONS: &[&str] = &["pgaudit", "vector"];

/// The flavour of a CloudNative-PG image, which decides the extensions it ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageFamily {
    Minimal,
    Standard,
    /// The deprecated `system` images: `standard` plus Barman Cloud.
    System,
}

impl ImageFamily {
    fn as_str(self) -> &'static str {
        match self {
            ImageFamily::Minimal => "minimal",
            ImageFamily::Standard => "standard",
            ImageFamily::System => "system",
        }
    }

    fn provides(self, extension: &str) -> bool {
        CONTRIB_EXTENSIONS.contains(&extension)
            || (self != ImageFamily::Minimal && STANDARD_EXTENSIONS.contains(&extension))
    }
}

/// The family of the cluster's image: for `version`, the one gitopsc picks (`standard`,
/// `system` for the in-tree backup); read from the tag of a `ghcr.io/cloudnative-pg/postgresql` image; `None` for
/// another image (its extensions are unknown).
fn image_family(pg: &PostgresSpec) -> Option<ImageFamily> {
    let Some(image) = &pg.image else {
        return Some(if pg.backup.as_ref().is_some_and(|b| b.legacy) {
            ImageFamily::System
        } else {
            ImageFamily::Standard
        });
    };
    let (repository, tag) = image.split('@').next()?.rsplit_once(':')?;
    if repository != "ghcr.io/cloudnative-pg/postgresql" {
        return None;
    }
    Some(if tag.contains("-minimal") {
        ImageFamily::Minimal
    } else if tag.contains("-standard") {
        ImageFamily::Standard
    } else {
        // `-system-` tags and the older tags without a flavour (`16.4`) are system images.
        ImageFamily::System
    })
}

/// True for a role name CloudNative-PG's Cluster webhook refuses (`pkg/postgres/roles.go`
/// `IsRoleReserved`).
fn reserved_role(name: &str) -> bool {
    name == "postgres" || name == "streaming_replica" || name.starts_with("cnpg_") || name.starts_with("pg_")
}

/// Checks every app's PostgreSQL cluster.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (i, app) in spec.apps.iter().enumerate() {
        if let Some(pg) = &app.postgres {
            let pp = SpecPath::app(i).field(AppSpec::POSTGRES);
            reserved_names(pg, &pp, spans, &mut diags);
            if pg.provider == PostgresProvider::Cnpg {
                extensions(pg, &pp, spans, &mut diags);
                legacy_backup(pg, &pp, spans, &mut diags);
            }
        }
    }
    diags
}

/// Database and role names PostgreSQL or CloudNative-PG reserve.
fn reserved_names(pg: &PostgresSpec, pp: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    let cnpg = pg.provider == PostgresProvider::Cnpg;
    match pg.database.as_str() {
        name @ ("template0" | "template1") => diags.push(
            Diagnostic::error(Code::ReservedPostgresName, format!("`{name}` is a template database of PostgreSQL, not an application database"))
                .at(spans.value(&pp.field(PostgresSpec::DATABASE)), "reserved name")
                .help(if cnpg {
                    "every cluster has it from `initdb` on, as the template new databases are copied from: the app would own and write into a template; name the application database after the app"
                } else {
                    "every cluster has it from `initdb` on: the init Job would find it existing, create nothing, and the app would write into a template; name the application database after the app"
                }),
        ),
        "postgres" if cnpg => diags.push(
            Diagnostic::warning(Code::PostgresDatabaseExists, "the application database `postgres` exists before bootstrap: CloudNative-PG skips its owner and `postInitSQL`")
                .at(spans.value(&pp.field(PostgresSpec::DATABASE)), "exists after initdb")
                .help("CloudNative-PG finds `postgres` existing, so it neither gives it the owner nor runs `postInitSQL` in it; name the application database after the app"),
        ),
        _ => {}
    }
    for (d, db) in pg.databases.iter().enumerate() {
        if SYSTEM_DATABASES.contains(&db.name.as_str()) {
            diags.push(
                Diagnostic::error(Code::ReservedPostgresName, format!("the database name `{}` is reserved", db.name))
                    .at(spans.value(&pp.field(PostgresSpec::DATABASES).index(d).field(DatabaseSpec::NAME)), "reserved name")
                    .help("the `Database` CRD refuses `postgres`, `template0` and `template1` (a rule of its own), and the whole data layer would wait on it: choose another name"),
            );
        }
    }
    if cnpg {
        for (r, role) in pg.roles.iter().enumerate() {
            if reserved_role(role.name.as_str()) {
                diags.push(
                    Diagnostic::error(Code::ReservedPostgresName, format!("the role name `{}` is reserved by CloudNative-PG", role.name))
                        .at(spans.value(&pp.field(PostgresSpec::ROLES).index(r).field(RoleSpec::NAME)), "reserved name")
                        .help("the Cluster webhook refuses managed roles named `postgres` or `streaming_replica` and any `cnpg_*` or `pg_*`, so the Cluster would not be applied: choose another name"),
                );
            }
        }
    }
}

/// Extensions the cluster's image does not ship.
fn extensions(pg: &PostgresSpec, pp: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    let Some(family) = image_family(pg) else { return };
    for (d, db) in pg.databases.iter().enumerate() {
        for (e, extension) in db.extensions.iter().enumerate() {
            if !family.provides(extension) {
                diags.push(
                    Diagnostic::warning(Code::ExtensionNotInImage, format!(
                        "the CloudNative-PG `{}` image does not ship the extension `{extension}`",
                        family.as_str()
                    ))
                    .at(
                        spans.value(&pp.field(PostgresSpec::DATABASES).index(d).field(DatabaseSpec::EXTENSIONS).index(e)),
                        "not in the image",
                    )
                    .help(format!(
                        "CREATE EXTENSION fails and the `Database` never reports applied; the `{}` image has PostgreSQL's contrib modules{}: set `image:` to one that ships `{extension}`",
                        family.as_str(),
                        if family == ImageFamily::Minimal {
                            " only (`standard` adds `pgaudit` and `vector`)"
                        } else {
                            ", `pgaudit` and `vector`"
                        }
                    )),
                );
            }
        }
    }
}

/// The deprecated in-tree `barmanObjectStore`.
fn legacy_backup(pg: &PostgresSpec, pp: &SpecPath, spans: &Places, diags: &mut Vec<Diagnostic>) {
    if !pg.backup.as_ref().is_some_and(|b| b.legacy) {
        return;
    }
    if let Some(family @ (ImageFamily::Minimal | ImageFamily::Standard)) = image_family(pg) {
        diags.push(
            Diagnostic::warning(Code::BarmanNotInImage, format!(
                "the in-tree backup runs `barman-cloud` from the image, which a `{}` image does not have",
                family.as_str()
            ))
            .at(spans.value(&pp.field(PostgresSpec::IMAGE)), "no barman-cloud")
            .help("WAL archiving and backups fail: drop `legacy: true` and use the Barman Cloud plugin, or use a `system` image"),
        );
    }
    diags.push(
        Diagnostic::warning(Code::LegacyBackup, "`legacy: true` uses CloudNative-PG's in-tree `barmanObjectStore`, deprecated since 1.26")
            .at(spans.value(&pp.field(PostgresSpec::BACKUP).field(BackupSpec::LEGACY)), "deprecated")
            .help("CloudNative-PG is removing in-tree Barman Cloud, and the `system` images that carry it. Migrate (Barman Cloud plugin docs, \"Migrating from Built-in CloudNativePG Backup\"): install the plugin (`operators.barmanCloud`) and drop `legacy: true`; gitopsc then renders an `ObjectStore` with the same destination and retention, switches the Cluster and the ScheduledBackup to the plugin in one change, and a `standard` image instead of the `system` one"),
    );
}

#[cfg(test)]
mod tests {
    use super::{ImageFamily, reserved_role};

    #[test]
    fn reserved_roles_are_those_the_webhook_refuses() {
        for name in [
            "postgres",
            "streaming_replica",
            "cnpg_pooler_pgbouncer",
            "pg_monitor",
        ] {
            assert!(reserved_role(name), "{name}");
        }
        for name in ["app", "postgres2", "cnpg", "pg", "my_pg_role"] {
            assert!(!reserved_role(name), "{name}");
        }
    }

    #[test]
    fn image_families_differ_by_the_extensions_beyond_contrib() {
        assert!(ImageFamily::Minimal.provides("pg_stat_statements"));
        assert!(!ImageFamily::Minimal.provides("vector"));
        assert!(ImageFamily::Standard.provides("vector"));
        assert!(ImageFamily::System.provides("pgaudit"));
        assert!(!ImageFamily::System.provides("postgis"));
    }
}
