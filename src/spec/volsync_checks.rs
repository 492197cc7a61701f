//! Checks of an app's volume backups (VolSync): what the mover would fail on at its first run,
//! long after the tree was applied.

use super::data::VolumeBackupSpec;
use super::path::SpecPath;
use super::places::Places;
use super::{AppSpec, ClusterSpec, PodSecurityLevel};
use crate::diagnostic::{Code, Diagnostic};
use std::collections::BTreeSet;

/// Checks every app's `volumeBackups`.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (i, app) in spec.apps.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for (b, backup) in app.volume_backups.iter().enumerate() {
            let at = SpecPath::app(i).field(AppSpec::VOLUME_BACKUPS).index(b);
            if !seen.insert(backup.pvc.as_str()) {
                diags.push(
                    Diagnostic::error(
                        Code::VolumeBackupInvalid,
                        format!("the volume `{}` is backed up twice", backup.pvc),
                    )
                    .at(spans.value(&at.field(VolumeBackupSpec::PVC)), "")
                    .help("VolSync supports one restic repository per volume: keep one entry"),
                );
            }
            if backup.schedule.split_whitespace().count() != 5 {
                diags.push(
                    Diagnostic::error(
                        Code::BackupSchedule,
                        format!("`{}` is not a five-field cron schedule", backup.schedule),
                    )
                    .at(spans.value(&at.field(VolumeBackupSpec::SCHEDULE)), "")
                    .help(
                        "VolSync's `trigger.schedule` takes minute hour day month weekday, e.g. `0 3 * * *`",
                    ),
                );
            }
            if backup.retain == super::data::RetainSpec::default() {
                diags.push(
                    Diagnostic::error(Code::VolumeBackupInvalid, "a volume backup keeps no snapshot")
                        .at(spans.key(&at.field(VolumeBackupSpec::RETAIN)), "")
                        .help("without a retention restic never forgets a snapshot and the repository only grows: set e.g. `retain: {daily: 7, weekly: 4}`"),
                );
            }
            if !app.secrets.iter().any(|s| s.name == backup.repository) {
                diags.push(
                    Diagnostic::error(Code::UnknownSecret, format!("the restic repository secret `{}` is not one of the app's `secrets`", backup.repository))
                        .at(spans.value(&at.field(VolumeBackupSpec::REPOSITORY)), "unknown secret")
                        .help(format!(
                            "add `{{name: {}, data: [...]}}` with `RESTIC_REPOSITORY`, `RESTIC_PASSWORD`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`",
                            backup.repository
                        )),
                );
            }
            let level = app.pod_security.unwrap_or(spec.defaults.pod_security);
            if level == PodSecurityLevel::Restricted && backup.mover_user.is_none() {
                diags.push(
                    Diagnostic::warning(Code::VolumeBackupInvalid, format!("the VolSync mover of `{}` sets no non-root user, which Pod Security `restricted` requires", backup.pvc))
                        .at(spans.key(&at), "no `moverUser`")
                        .help("VolSync drops the mover's capabilities but leaves its user to the cluster (often uid 0): set `moverUser: {uid, gid}` to a user that can read the volume (the app's own), so the mover pod is admitted"),
                );
            }
        }
    }
    diags
}
