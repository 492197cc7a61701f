//! Timeouts that cannot work: Helm's own timeout longer than the Flux timeout of the layer
//! that waits for the release, and an app timeout shorter than its CloudNative-PG cluster's
//! bootstrap takes.

use super::duration_secs;
use super::path::SpecPath;
use super::places::Places;
use super::{AppSpec, ClusterSpec, HelmSpec};
use crate::diagnostic::{Code, Diagnostic};

/// Checks every app's timeouts.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (i, app) in spec.apps.iter().enumerate() {
        let base = SpecPath::app(i);
        let flux = app.timeout.as_ref().unwrap_or(&spec.defaults.timeout);
        let flux_where = match &app.timeout {
            Some(_) => "the app's `timeout`",
            None => "`defaults.timeout`",
        };
        if let Some(helm_timeout) = app.helm.as_ref().and_then(|h| h.timeout.as_ref())
            && duration_secs(helm_timeout.as_str()) > duration_secs(flux.as_str())
        {
            diags.push(
                Diagnostic::error(Code::HelmTimeoutTooLong, format!(
                    "`helm.timeout` {helm_timeout} is longer than the Flux timeout of the app's release layer ({flux}, from {flux_where})"
                ))
                .at(spans.value(&base.field(AppSpec::HELM).field(HelmSpec::TIMEOUT)), "longer than the layer waits")
                .help(format!(
                    "the Flux Kustomization's health check gives up after {flux} and reports the layer failed while Helm is still installing, and the apps that depend on it wait for a retry: set the app's `timeout: {helm_timeout}` (or longer), or shorten `helm.timeout`"
                )),
            );
        }
        if let (Some(timeout), Some(pg)) = (&app.timeout, &app.postgres)
            && let Some(needed) = pg.bootstrap_secs()
            && duration_secs(timeout.as_str()) < needed
        {
            diags.push(
                Diagnostic::warning(Code::TimeoutShorterThanBootstrap, format!(
                    "`timeout` {timeout} is shorter than a CloudNative-PG cluster of {} instances takes to bootstrap",
                    pg.instances
                ))
                .at(spans.value(&base.field(AppSpec::TIMEOUT)), "")
                .help(format!(
                    "the operator creates the instances one after another (initdb, then a pg_basebackup per replica, each on a node that may first pull the image): the data layer reports failed before the cluster is ready and is retried; allow about five minutes per instance (`timeout: {}m`), or leave `timeout` unset for that default",
                    needed / 60
                )),
            );
        }
    }
    diags
}
