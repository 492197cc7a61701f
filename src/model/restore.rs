//! What the runbook says about a CloudNative-PG cluster that starts from a copy: a restore from
//! the app's backups (`restore`, "restore this app's database") or a migration from an
//! existing server (`migrate`, "move an existing database under gitopsc"). The objects
//! themselves are the Cluster's `bootstrap` and `externalClusters` (see [`super::postgres`]).
//!
//! The one fact every step follows from: CloudNative-PG reads `bootstrap` only when it creates
//! the Cluster, so a change of it does nothing to a cluster that exists.

use super::part::{AppCtx, Parts, Topic};
use super::postgres::Connection;
use super::*;
use crate::spec::data::{MigrateMethod, PostgresSpec};

/// The runbook's steps and checks of a restore or a migration.
pub fn notes(app: &AppCtx, pg: &PostgresSpec, conn: &Connection, out: &mut Parts) {
    let ns = app.namespace.as_str();
    let cluster = conn.cluster.as_str();
    // The data layer is the app's last (named after the app) when nothing is released after it.
    let data = if app.spec.helm.is_some() || !app.spec.workloads.is_empty() {
        format!("{}-{}", app.name, LayerKind::Data.as_str())
    } else {
        app.name.clone()
    };
    let recreate = format!(
        "CloudNative-PG reads `bootstrap` only when it creates the Cluster. Over a running cluster: `flux suspend \
         kustomization {data}`, `kubectl -n {ns} delete cluster {cluster}` (its volumes go with it: prune \
         protection does not stop `kubectl`), then `flux resume kustomization {data}`; or set `postgres.name` to \
         a new name so the copy is made beside the old cluster and the app moves to it."
    );
    if let (Some(r), Some(b)) = (&pg.restore, &pg.backup) {
        let lineage = r.server_name.as_ref().map_or(cluster, |n| n.as_str());
        let archive = b.server_name.as_ref().map_or(cluster, |n| n.as_str());
        out.caveat(
            Topic::Data,
            format!(
                "Restore: `{cluster}` starts from the backups of `{lineage}` in `{}` ({}) and archives under `{archive}` \
                 from then on. {recreate} The ScheduledBackup takes a base backup of the new lineage as soon as it is \
                 created; `restore` may stay in the spec (it is read at creation only, and restores again if the \
                 cluster is ever re-created).",
                b.destination_path,
                r.target_time
                    .as_ref()
                    .map_or_else(|| "to the end of the archived WAL".to_string(), |t| format!("up to {t}")),
            ),
        );
    }
    if let Some(m) = &pg.migrate {
        let what = match m.method {
            MigrateMethod::Import => format!(
                "imports database `{}` from `{}:{}` as `{}` (pg_dump and pg_restore, any PostgreSQL version up to the \
                 new one) into `{}`",
                m.database.as_deref().unwrap_or(conn.database.as_str()),
                m.host,
                m.port,
                m.user,
                conn.database
            ),
            MigrateMethod::Basebackup => format!(
                "copies the whole server `{}:{}` with pg_basebackup as `{}` (the same PostgreSQL major version as the \
                 cluster's image; the user needs `REPLICATION` and a `pg_hba` entry on the source)",
                m.host, m.port, m.user
            ),
        };
        out.caveat(
            Topic::Data,
            format!(
                "Migration: `{cluster}` {what} when it is created; the copy does not follow the source afterwards, so \
                 stop the writers of the old database first. {recreate} Check the copy with `kubectl -n {ns} get jobs \
                 -l cnpg.io/cluster={cluster}` and the Cluster's phase; then point the app at `((postgres.host))`, and \
                 once it works remove `migrate` and the secret `{}` (read at creation only).",
                m.password_secret
            ),
        );
        out.verify(
            LayerKind::Data,
            &[
                "kubectl",
                "-n",
                ns,
                "get",
                "jobs",
                "-l",
                &format!("cnpg.io/cluster={cluster}"),
            ],
        );
    }
}
