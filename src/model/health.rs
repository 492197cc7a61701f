//! CEL health checks for the custom resources the tree applies.
//!
//! Flux's kstatus counts a custom resource with no status yet as ready, so a Kustomization
//! that just created a HelmRelease would report ready before helm-controller looked at it.
//! These expressions keep such objects in progress until their controller reports `Ready`.
//! kustomize-controller itself first treats an object whose `status.observedGeneration`
//! differs from `metadata.generation` as in progress, then evaluates `failed` before
//! `current`, and anything else is in progress (fluxcd/pkg `runtime/cel` StatusEvaluator).
//! Optional field access (`.?x.orValue(d)`) keeps a status without conditions from erroring.

use super::HealthCheckExpr;

/// Ready once the controller sets `Ready=True`.
const FLUX_CURRENT: &str =
    "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')";
/// Failed once the controller declares the object `Stalled` (it will not retry by itself).
const FLUX_FAILED: &str =
    "status.?conditions.orValue([]).exists(c, c.type == 'Stalled' && c.status == 'True')";

/// The health check for a kind of custom resource, if the tree emits that kind.
pub fn expr_for(kind: &str) -> Option<HealthCheckExpr> {
    let api_version = match kind {
        "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
        "HelmRepository" | "OCIRepository" => "source.toolkit.fluxcd.io/v1",
        _ => return None,
    };
    let kind = match kind {
        "HelmRelease" => "HelmRelease",
        "HelmRepository" => "HelmRepository",
        _ => "OCIRepository",
    };
    Some(HealthCheckExpr {
        api_version,
        kind,
        current: FLUX_CURRENT,
        failed: FLUX_FAILED,
    })
}
