//! VolSync backups of an app's PVCs: a restic `ReplicationSource` `<pvc>-backup`, as the spec's
//! `volumeBackups`.

use super::read::Object;
use serde_json::{Map, Value, json};

/// The app's `volumeBackups`, one per ReplicationSource.
pub fn volume_backups(objects: &[Object]) -> Vec<Value> {
    objects
        .iter()
        .filter(|o| o.is("volsync.backube", "ReplicationSource"))
        .map(backup)
        .collect()
}

fn backup(source: &Object) -> Value {
    let spec = |p: &str| source.value.pointer(&format!("/spec{p}"));
    let mut out = Map::new();
    for (from, to) in [
        ("/sourcePVC", "pvc"),
        ("/trigger/schedule", "schedule"),
        ("/restic/repository", "repository"),
        ("/restic/retain", "retain"),
        ("/restic/volumeSnapshotClassName", "volumeSnapshotClass"),
        ("/restic/storageClassName", "storageClass"),
    ] {
        if let Some(v) = spec(from) {
            out.insert(to.into(), v.clone());
        }
    }
    if let Some(days) = spec("/restic/pruneIntervalDays").filter(|d| **d != json!(7)) {
        out.insert("pruneIntervalDays".into(), days.clone());
    }
    if let Some(method) = spec("/restic/copyMethod").filter(|m| m.as_str() != Some("Snapshot")) {
        out.insert("copyMethod".into(), method.clone());
    }
    if let Some(context) = spec("/restic/moverSecurityContext") {
        out.insert(
            "moverUser".into(),
            json!({ "uid": context.get("runAsUser"), "gid": context.get("runAsGroup") }),
        );
    }
    Value::Object(out)
}
