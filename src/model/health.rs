//! CEL health checks for the custom resources the tree applies.
//!
//! Flux's kstatus counts a custom resource with no status yet as ready, so a Kustomization
//! that just created a HelmRelease would report ready before helm-controller looked at it.
//! These expressions keep such objects in progress until their controller has observed the
//! current generation and reported `Ready`. Optional field access (`.?x.orValue(d)`) keeps
//! a missing status from erroring: it simply is not ready yet.

use super::HealthCheckExpr;

/// Ready once the controller has observed this generation and set `Ready=True`.
const FLUX_CURRENT: &str = "status.?observedGeneration.orValue(-1) == metadata.generation && status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')";
/// Failed once the controller has observed this generation and declared it `Stalled`.
const FLUX_FAILED: &str = "status.?observedGeneration.orValue(-1) == metadata.generation && status.?conditions.orValue([]).exists(c, c.type == 'Stalled' && c.status == 'True')";

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
