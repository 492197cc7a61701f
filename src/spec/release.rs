//! How helm-controller installs, upgrades, rolls back and uninstalls a release, and how often
//! it checks the chart: `defaults.helm` for every release, `apps[].helm` for one (a field the
//! app sets wins, field by field); and the checks of those settings.

use super::path::SpecPath;
use super::places::Places;
use super::{AppSpec, ClusterSpec, Defaults, Duration, HelmSource, HelmSpec, Sources};
use crate::diagnostic::{Code, Diagnostic};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Release settings every HelmRelease takes unless its app sets its own.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReleaseDefaults {
    /// Revisions Helm keeps per release (helm-controller's default 5; 0 = unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<u32>,
    /// How often helm-controller checks the chart source for a new chart (default: the
    /// release's interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_interval: Option<Duration>,
    /// What happens when an install fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallPolicy>,
    /// What happens when an upgrade fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradePolicy>,
    /// How a remediation rolls back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackPolicy>,
    /// How a remediation (or the app leaving) uninstalls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<UninstallPolicy>,
}

/// What helm-controller does after a failed install or upgrade (Flux 2.7 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Lifecycle {
    /// Remediate (uninstall a failed install, roll back or uninstall a failed upgrade) and
    /// try again, `retries` times: suits stateless releases.
    RemediateOnFailure,
    /// Retry the same action every `retryInterval` without remediating: suits StatefulSets
    /// and slow rollouts, which a rollback would disturb.
    RetryOnFailure,
}

impl Lifecycle {
    /// Its name in the HelmRelease.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::RemediateOnFailure => "RemediateOnFailure",
            Lifecycle::RetryOnFailure => "RetryOnFailure",
        }
    }
}

/// Install settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstallPolicy {
    /// What happens after a failure (default: remediate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Lifecycle>,
    /// With `retryOnFailure`: how long between tries (helm-controller's default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
    /// Remediate (uninstall) after the last failed retry too, rather than leaving the failed
    /// release for inspection (helm-controller's default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
}

/// How a failed upgrade is remediated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Remediation {
    /// Roll back to the last successful release.
    Rollback,
    /// Uninstall the release.
    Uninstall,
}

impl Remediation {
    /// Its name in the HelmRelease.
    pub fn as_str(self) -> &'static str {
        match self {
            Remediation::Rollback => "rollback",
            Remediation::Uninstall => "uninstall",
        }
    }
}

/// Upgrade settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpgradePolicy {
    /// What happens after a failure (default: remediate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Lifecycle>,
    /// With `retryOnFailure`: how long between tries (helm-controller's default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
    /// How a failed upgrade is remediated (default `rollback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// Remediate after the last failed retry too (helm-controller's default: true when
    /// `retries` > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
    /// Delete the objects a failed upgrade created (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
    /// Replace objects that cannot be patched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}

/// Rollback settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RollbackPolicy {
    /// Helm's timeout for the rollback (default: the release's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Delete the objects a failed rollback created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,
    /// Replace objects that cannot be patched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Restart the release's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recreate: Option<bool>,
    /// Skip the chart's hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Do not wait for the objects to be ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
}

/// How Kubernetes deletes an uninstalled release's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeletionPropagation {
    /// Dependents deleted in the background (Helm's default).
    Background,
    /// Dependents deleted first.
    Foreground,
    /// Dependents kept.
    Orphan,
}

/// Uninstall settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UninstallPolicy {
    /// Helm's timeout for the uninstall (default: the release's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Keep the release's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_history: Option<bool>,
    /// Skip the chart's hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,
    /// Do not wait for the objects to be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,
    /// How dependents of the deleted objects go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_propagation: Option<DeletionPropagation>,
}

/// The first Flux minor whose helm-controller (1.4) has the install/upgrade `strategy`.
const STRATEGY_SINCE: u32 = 7;

/// The release settings of every app and of `defaults.helm`, and the timeouts of the chart
/// sources.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let minor = super::semantic::flux_minor(&spec.flux.version);
    let d = &spec.defaults.helm;
    check_policies(
        &SpecPath::root()
            .field(ClusterSpec::DEFAULTS)
            .field(Defaults::HELM),
        (d.install.as_ref(), d.upgrade.as_ref()),
        minor,
        spans,
        &mut diags,
    );
    for (a, app) in spec.apps.iter().enumerate() {
        if let Some(h) = &app.helm {
            let base = SpecPath::app(a).field(AppSpec::HELM);
            check_policies(
                &base,
                (h.install.as_ref(), h.upgrade.as_ref()),
                minor,
                spans,
                &mut diags,
            );
        }
    }
    for (s, source) in spec.sources.helm.iter().enumerate() {
        if let Some(t) = &source.timeout
            && t.as_str().contains('h')
        {
            diags.push(
                Diagnostic::error(
                    Code::InvalidFormat,
                    format!("a chart source's `timeout` is at most in minutes, not `{t}`"),
                )
                .at(
                    spans.value(
                        &SpecPath::root()
                            .field(ClusterSpec::SOURCES)
                            .field(Sources::HELM)
                            .index(s)
                            .field(HelmSource::TIMEOUT),
                    ),
                    "hours are refused",
                )
                .help(
                    "HelmRepository and OCIRepository timeouts take `ms`, `s` and `m` only: write e.g. `60m`",
                ),
            );
        }
    }
    diags
}

/// The install and upgrade settings at `base`.
fn check_policies(
    base: &SpecPath,
    (install, upgrade): (Option<&InstallPolicy>, Option<&UpgradePolicy>),
    minor: Option<u32>,
    spans: &Places,
    diags: &mut Vec<Diagnostic>,
) {
    let install = install.map(|i| {
        (
            i.strategy,
            i.retry_interval.is_some(),
            i.remediate_last_failure.is_some(),
            false,
        )
    });
    let upgrade = upgrade.map(|u| {
        (
            u.strategy,
            u.retry_interval.is_some(),
            u.remediate_last_failure.is_some(),
            u.remediation.is_some(),
        )
    });
    // `ReleaseDefaults` spells its `install` and `upgrade` as `HelmSpec` does.
    for (action_field, policy) in [(HelmSpec::INSTALL, install), (HelmSpec::UPGRADE, upgrade)] {
        let Some((strategy, retry_interval, remediate_last, remediation)) = policy else {
            continue;
        };
        let action = action_field.name();
        let at = |field| base.field(action_field).field(field);
        if let (Some(_), Some(minor)) = (strategy, minor)
            && minor < STRATEGY_SINCE
        {
            diags.push(
                Diagnostic::error(
                    Code::FluxTooOld,
                    format!("Flux 2.{minor} lacks `{action}.strategy`: it needs Flux 2.7 or later"),
                )
                .at(spans.value(&at(InstallPolicy::STRATEGY)), "needs Flux ≥ 2.7")
                .help("upgrade Flux and set `flux.version: \"2.7\"` or later, or drop this setting"),
            );
        }
        let retry = strategy == Some(Lifecycle::RetryOnFailure);
        if retry_interval && !retry {
            diags.push(
                Diagnostic::error(
                    Code::ReleasePolicy,
                    "`retryInterval` is only read with `strategy: retryOnFailure`",
                )
                .at(spans.key(&at(InstallPolicy::RETRY_INTERVAL)), "")
                .help("set `strategy: retryOnFailure`, or drop `retryInterval`"),
            );
        }
        for (set, field) in [
            (remediate_last, InstallPolicy::REMEDIATE_LAST_FAILURE),
            (remediation, UpgradePolicy::REMEDIATION),
        ] {
            if set && retry {
                let at = at(field);
                let field = field.name();
                diags.push(
                    Diagnostic::error(Code::ReleasePolicy, format!("`{field}` has no effect with `strategy: retryOnFailure`"))
                        .at(spans.key(&at), "")
                        .help(format!(
                            "`retryOnFailure` retries without remediating: drop `{field}`, or use `strategy: remediateOnFailure`"
                        )),
                );
            }
        }
    }
}
