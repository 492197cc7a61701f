//! Volume backups of an app with VolSync: per `volumeBackups[]` entry a restic
//! `ReplicationSource` `<pvc>-backup` on the entry's schedule, and while `restore` is set a
//! `ReplicationDestination` `<pvc>-restore` that restores into the PVC once per trigger value
//! (VolSync's `copyMethod: Direct` into `destinationPVC`). The repository credentials are an
//! app secret (an ExternalSecret); the schedule is prune-protected like the volume it backs up.

use super::part::{AppCtx, Part, Parts, Topic};
use super::*;
use crate::kinds;
use crate::spec::data::{CopyMethod, VolumeBackupSpec};
use serde_json::{Map, Value, json};

/// The label gitopsc gives every VolSync mover pod of an app (`moverPodLabels`), so a
/// NetworkPolicy can let them out.
const MOVER_LABEL: (&str, &str) = ("app.kubernetes.io/component", "volsync-mover");

/// A NetworkPolicy of the mover pods (the shape `policy/networkpolicy.yaml.j2` renders).
#[derive(Debug, Serialize)]
struct MoverPolicy {
    meta: super::workload::Meta,
    pod_selector: super::StrMap,
    policy_types: Vec<&'static str>,
    ingress: Vec<Value>,
    egress: Vec<Value>,
    api_server_any: Vec<u16>,
}

/// A ReplicationSource or a ReplicationDestination (one blueprint item for both).
#[derive(Debug, Serialize)]
pub struct Replication {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels (prune protection).
    pub labels: super::StrMap,
    /// The PVC.
    pub pvc: String,
    /// `trigger`: `schedule` or `manual`.
    pub trigger: Value,
    /// `restic`.
    pub restic: Map<String, Value>,
}

/// The part of an app's volume backups.
pub struct VolumeBackups;

impl Part for VolumeBackups {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        for backup in &app.spec.volume_backups {
            source(app, backup, out);
            if backup.restore.is_some() {
                destination(app, backup, out);
            }
        }
        mover_policy(app, out);
    }
}

/// Under a default deny, the mover pods reach the repositories' S3 endpoints and DNS.
fn mover_policy(app: &AppCtx, out: &mut Parts) {
    let deny = app.spec.network_policy.as_ref().is_some_and(|p| p.default_deny);
    if !deny || app.spec.volume_backups.is_empty() {
        return;
    }
    let network = &app.cluster.defaults.network;
    let ports: std::collections::BTreeSet<u16> = app
        .spec
        .volume_backups
        .iter()
        .map(|b| b.repository_port)
        .collect();
    let ports: Vec<Value> = ports
        .into_iter()
        .map(|p| json!({"protocol": "TCP", "port": p}))
        .collect();
    let item = MoverPolicy {
        meta: super::workload::Meta {
            name: format!("{}-volsync-mover", app.name),
            namespace: app.namespace.clone(),
            labels: super::workload::app_labels(&app.name),
        },
        pod_selector: super::StrMap::from_iter([(MOVER_LABEL.0.to_string(), MOVER_LABEL.1.to_string())]),
        policy_types: vec!["Egress"],
        ingress: Vec::new(),
        egress: vec![
            json!({"ports": ports}),
            super::workload::policy::dns_rule(network),
        ],
        api_server_any: Vec::new(),
    };
    out.add(
        LayerKind::Release,
        Manifest::new(
            format!("networkpolicy-{}-volsync-mover.yaml", app.name),
            "policy/networkpolicy.yaml.j2",
            &kinds::NETWORK_POLICY,
            item,
        ),
    );
}

/// What the source and the destination share: the repository and the mover's user.
fn restic(backup: &VolumeBackupSpec) -> Map<String, Value> {
    let mut restic = Map::new();
    restic.insert("repository".into(), json!(backup.repository.as_str()));
    restic.insert("moverPodLabels".into(), json!({MOVER_LABEL.0: MOVER_LABEL.1}));
    if let Some(user) = &backup.mover_user {
        restic.insert(
            "moverSecurityContext".into(),
            json!({
                "runAsNonRoot": true,
                "runAsUser": user.uid,
                "runAsGroup": user.gid,
                "fsGroup": user.gid,
                "seccompProfile": {"type": "RuntimeDefault"},
            }),
        );
    }
    restic
}

/// The schedule that backs the PVC up.
fn source(app: &AppCtx, backup: &VolumeBackupSpec, out: &mut Parts) {
    let mut restic = restic(backup);
    restic.insert(
        "copyMethod".into(),
        json!(match backup.copy_method {
            CopyMethod::Snapshot => "Snapshot",
            CopyMethod::Clone => "Clone",
            CopyMethod::Direct => "Direct",
        }),
    );
    restic.insert(
        "pruneIntervalDays".into(),
        json!(backup.prune_interval_days.unwrap_or(7)),
    );
    restic.insert("retain".into(), json!(backup.retain));
    if let Some(class) = &backup.volume_snapshot_class {
        restic.insert("volumeSnapshotClassName".into(), json!(class));
    }
    if let Some(class) = &backup.storage_class {
        restic.insert("storageClassName".into(), json!(class));
    }
    let item = Replication {
        name: format!("{}-backup", backup.pvc),
        namespace: app.namespace.clone(),
        labels: super::StrMap::from(kinds::VOLSYNC_REPLICATION_SOURCE.prune_labels(app.protect, false)),
        pvc: backup.pvc.to_string(),
        trigger: json!({"schedule": backup.schedule}),
        restic,
    };
    out.add(
        LayerKind::Release,
        Manifest::new(
            format!("volsync-{}-backup.yaml", backup.pvc),
            "volsync/replicationsource.yaml.j2",
            &kinds::VOLSYNC_REPLICATION_SOURCE,
            item,
        ),
    );
    out.verify(
        LayerKind::Release,
        &[
            "kubectl",
            "-n",
            &app.namespace,
            "get",
            "replicationsources.volsync.backube",
        ],
    );
    if app.protect {
        out.caveat(
            Topic::Data,
            format!(
                "The ReplicationSource `{}-backup` is prune-protected like the volume it backs up: when the app leaves \
                 the spec, the kept volume keeps being backed up. To stop that, delete it by hand.",
                backup.pvc
            ),
        );
    }
}

/// The one-off restore into the PVC.
fn destination(app: &AppCtx, backup: &VolumeBackupSpec, out: &mut Parts) {
    let Some(restore) = &backup.restore else { return };
    let mut restic = restic(backup);
    restic.insert("destinationPVC".into(), json!(backup.pvc.as_str()));
    restic.insert("copyMethod".into(), json!("Direct"));
    if let Some(at) = &restore.as_of {
        restic.insert("restoreAsOf".into(), json!(at));
    }
    let item = Replication {
        name: format!("{}-restore", backup.pvc),
        namespace: app.namespace.clone(),
        labels: super::StrMap::new(),
        pvc: backup.pvc.to_string(),
        trigger: json!({"manual": restore.trigger}),
        restic,
    };
    out.add(
        LayerKind::Release,
        Manifest::new(
            format!("volsync-{}-restore.yaml", backup.pvc),
            "volsync/replicationdestination.yaml.j2",
            &kinds::VOLSYNC_REPLICATION_DESTINATION,
            item,
        ),
    );
    out.caveat(
        Topic::Data,
        format!(
            "Restore of `{pvc}`: the ReplicationDestination `{pvc}-restore` writes the backup{} into the PVC in place, \
             once per `restore.trigger` value. Stop what writes to the volume first (scale the workload or the \
             chart's pods to 0; the layer waits until the restore is done), start it again after, and change \
             `trigger` to restore again. Remove `restore` when done.",
            restore
                .as_of
                .as_ref()
                .map_or_else(|| " (the latest)".to_string(), |t| format!(" taken before {t}")),
            pvc = backup.pvc
        ),
    );
}
