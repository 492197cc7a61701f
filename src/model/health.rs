//! CEL health checks for the custom resources the tree applies, by kind (`Kind.group` where
//! two groups share a kind name).
//!
//! Flux's kstatus counts a custom resource with no status yet as ready, so a Kustomization
//! that just created a HelmRelease or a database cluster would report ready before its
//! controller looked at it. These expressions keep such objects in progress until their
//! controller reports them ready. kustomize-controller itself first treats an object whose
//! `status.observedGeneration` differs from `metadata.generation` as in progress, then
//! evaluates `failed` before `current`, and anything else is in progress (fluxcd/pkg
//! `runtime/cel` StatusEvaluator). Optional field access (`.?x.orValue(d)`) keeps a status
//! without the field from erroring. Kinds without a status (monitors, rules, ObjectStore,
//! ScheduledBackup) get no expression: they would never become ready.

use super::HealthCheckExpr;

/// Ready once the controller sets `Ready=True`.
const READY: &str = "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')";
/// An ExternalSecret is ready for its current spec once `Ready=True` and the last successful
/// sync was of this generation: External Secrets writes no `observedGeneration`, but sets
/// `syncedResourceVersion` to `<generation>-<hash of labels and annotations>` on every
/// successful sync only (external-secrets `markAsDone`). The `-` keeps generation 1 from
/// matching `13-…`.
const EXTERNAL_SECRET: &str = "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True') \
     && status.?syncedResourceVersion.orValue('').startsWith(string(metadata.generation) + '-')";
/// A CloudNative-PG Cluster writes no `observedGeneration`, neither in its status nor in its
/// conditions (`SetClusterReadyCondition` derives `Ready` from the phase alone), so
/// `Ready=True` from before a spec change reads as current until the operator reacts. What
/// can be compared with the spec is: every asked-for instance ready (`readyInstances` ==
/// `spec.instances`, so a scale-up waits) and the image the operator runs (`status.image`,
/// set from `spec.imageName` once the operator took the change, so an image update waits).
/// A change of any other field (parameters, resources) still passes until the operator
/// leaves the healthy phase; docs/data.md says so.
const CNPG_CLUSTER: &str = "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True') \
     && status.?phase.orValue('') == 'Cluster in healthy state' \
     && status.?readyInstances.orValue(0) == spec.instances \
     && status.?image.orValue('') == spec.?imageName.orValue(status.?image.orValue(''))";
/// Failed once a Flux controller declares the object `Stalled` (it will not retry by itself).
const STALLED: &str = "status.?conditions.orValue([]).exists(c, c.type == 'Stalled' && c.status == 'True')";

/// The health check for a kind of custom resource, if it has one.
pub fn expr_for(kind: &str) -> Option<HealthCheckExpr> {
    let (api_version, kind, current, failed): (&str, &str, &str, Option<&str>) = match kind {
        "HelmRelease" => ("helm.toolkit.fluxcd.io/v2", "HelmRelease", READY, Some(STALLED)),
        "HelmRepository" => (
            "source.toolkit.fluxcd.io/v1",
            "HelmRepository",
            READY,
            Some(STALLED),
        ),
        "OCIRepository" => (
            "source.toolkit.fluxcd.io/v1",
            "OCIRepository",
            READY,
            Some(STALLED),
        ),
        "ExternalSecret" => ("external-secrets.io/v1", "ExternalSecret", EXTERNAL_SECRET, None),
        "SecretStore" => ("external-secrets.io/v1", "SecretStore", READY, None),
        "ClusterSecretStore" => ("external-secrets.io/v1", "ClusterSecretStore", READY, None),
        "Cluster.postgresql.cnpg.io" => ("postgresql.cnpg.io/v1", "Cluster", CNPG_CLUSTER, None),
        "Database" => (
            "postgresql.cnpg.io/v1",
            "Database",
            "status.?applied.orValue(false) == true",
            None,
        ),
        "Cluster.apps.kubeblocks.io" => (
            "apps.kubeblocks.io/v1",
            "Cluster",
            "status.?phase.orValue('') == 'Running'",
            Some("status.?phase.orValue('') == 'Failed'"),
        ),
        "ClusterDefinition" => (
            "apps.kubeblocks.io/v1",
            "ClusterDefinition",
            "status.?phase.orValue('') == 'Available'",
            None,
        ),
        _ => return None,
    };
    Some(HealthCheckExpr {
        api_version,
        kind,
        current,
        failed,
    })
}
