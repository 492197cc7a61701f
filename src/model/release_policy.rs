//! A HelmRelease's lifecycle settings: the app's `helm` over `defaults.helm`, field by field,
//! as the HelmRelease blueprint writes them. Unset fields stay unset (helm-controller's
//! defaults), except what gitopsc has always written: upgrade `cleanupOnFail: true` and
//! remediation by rollback.

use crate::spec::release::{
    InstallPolicy, Lifecycle, Remediation, RollbackPolicy, UninstallPolicy, UpgradePolicy,
};
use crate::spec::{ClusterSpec, HelmSpec};
use serde::Serialize;

/// One action's settings (install or upgrade).
#[derive(Debug, Serialize)]
pub struct Action {
    /// `strategy.name`.
    strategy: Option<&'static str>,
    /// `strategy.retryInterval`.
    retry_interval: Option<String>,
    /// `remediation.remediateLastFailure`.
    remediate_last_failure: Option<bool>,
    /// `remediation.strategy` (upgrade only).
    remediation: Option<&'static str>,
    /// `cleanupOnFail` (upgrade only).
    cleanup_on_fail: Option<bool>,
    /// `force` (upgrade only).
    force: Option<bool>,
}

/// What the HelmRelease blueprint writes of a release's lifecycle.
#[derive(Debug, Serialize)]
pub struct Policy {
    /// `maxHistory`.
    max_history: Option<u32>,
    /// `chart.spec.interval`.
    chart_interval: Option<String>,
    /// `install`.
    install: Action,
    /// `upgrade`.
    upgrade: Action,
    /// `rollback`, as the spec writes it (same field names).
    rollback: Option<RollbackPolicy>,
    /// `uninstall`, as the spec writes it (same field names).
    uninstall: Option<UninstallPolicy>,
}

/// The install or upgrade settings of a release: the app's over the defaults'. Settings the
/// merged strategy does not read are dropped (a default `retryInterval` under an app's
/// `remediateOnFailure` would be refused by the API server; retrying never remediates).
fn action(over: Option<&UpgradePolicy>, under: Option<&UpgradePolicy>, upgrade: bool) -> Action {
    let bool_field = |f: fn(&UpgradePolicy) -> Option<bool>| over.and_then(f).or_else(|| under.and_then(f));
    let strategy = over
        .and_then(|p| p.strategy)
        .or_else(|| under.and_then(|p| p.strategy));
    let retry = strategy == Some(Lifecycle::RetryOnFailure);
    let retry_interval = over
        .and_then(|p| p.retry_interval.as_ref())
        .or_else(|| under.and_then(|p| p.retry_interval.as_ref()));
    let remediation = over
        .and_then(|p| p.remediation)
        .or_else(|| under.and_then(|p| p.remediation));
    Action {
        strategy: strategy.map(Lifecycle::as_str),
        retry_interval: retry_interval.filter(|_| retry).map(ToString::to_string),
        remediate_last_failure: bool_field(|p| p.remediate_last_failure).filter(|_| !retry),
        remediation: (upgrade && !retry).then(|| remediation.unwrap_or(Remediation::Rollback).as_str()),
        cleanup_on_fail: upgrade.then(|| bool_field(|p| p.cleanup_on_fail).unwrap_or(true)),
        force: bool_field(|p| p.force).filter(|_| upgrade),
    }
}

/// Install settings in the shape of upgrade settings (the fields install lacks unset).
fn as_upgrade(install: &InstallPolicy) -> UpgradePolicy {
    UpgradePolicy {
        strategy: install.strategy,
        retry_interval: install.retry_interval.clone(),
        remediate_last_failure: install.remediate_last_failure,
        ..UpgradePolicy::default()
    }
}

/// The policy of an app's release.
pub fn policy(spec: &ClusterSpec, helm: &HelmSpec) -> Policy {
    let d = &spec.defaults.helm;
    let (app_install, default_install) = (
        helm.install.as_ref().map(as_upgrade),
        d.install.as_ref().map(as_upgrade),
    );
    Policy {
        max_history: helm.max_history.or(d.max_history),
        chart_interval: helm
            .chart_interval
            .as_ref()
            .or(d.chart_interval.as_ref())
            .map(ToString::to_string),
        install: action(app_install.as_ref(), default_install.as_ref(), false),
        upgrade: action(helm.upgrade.as_ref(), d.upgrade.as_ref(), true),
        rollback: merge_rollback(helm.rollback.as_ref(), d.rollback.as_ref()),
        uninstall: merge_uninstall(helm.uninstall.as_ref(), d.uninstall.as_ref()),
    }
}

fn merge_rollback(over: Option<&RollbackPolicy>, under: Option<&RollbackPolicy>) -> Option<RollbackPolicy> {
    let (o, u) = (
        over.cloned().unwrap_or_default(),
        under.cloned().unwrap_or_default(),
    );
    let merged = RollbackPolicy {
        timeout: o.timeout.or(u.timeout),
        cleanup_on_fail: o.cleanup_on_fail.or(u.cleanup_on_fail),
        force: o.force.or(u.force),
        recreate: o.recreate.or(u.recreate),
        disable_hooks: o.disable_hooks.or(u.disable_hooks),
        disable_wait: o.disable_wait.or(u.disable_wait),
    };
    (merged != RollbackPolicy::default()).then_some(merged)
}

fn merge_uninstall(
    over: Option<&UninstallPolicy>,
    under: Option<&UninstallPolicy>,
) -> Option<UninstallPolicy> {
    let (o, u) = (
        over.cloned().unwrap_or_default(),
        under.cloned().unwrap_or_default(),
    );
    let merged = UninstallPolicy {
        timeout: o.timeout.or(u.timeout),
        keep_history: o.keep_history.or(u.keep_history),
        disable_hooks: o.disable_hooks.or(u.disable_hooks),
        disable_wait: o.disable_wait.or(u.disable_wait),
        deletion_propagation: o.deletion_propagation.or(u.deletion_propagation),
    };
    (merged != UninstallPolicy::default()).then_some(merged)
}

#[cfg(test)]
mod tests {
    use super::policy;
    use crate::spec::ClusterSpec;
    use serde_json::json;

    fn spec(defaults: serde_json::Value, helm: serde_json::Value) -> ClusterSpec {
        let mut app_helm = json!({"chart": "podinfo", "version": "6.9.2", "source": "podinfo"});
        app_helm
            .as_object_mut()
            .unwrap()
            .extend(helm.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "apiVersion": "gitopsc.io/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "c"},
            "defaults": {"helm": defaults},
            "apps": [{"name": "podinfo", "helm": app_helm}],
        }))
        .unwrap()
    }

    fn rendered(spec: &ClusterSpec) -> serde_json::Value {
        serde_json::to_value(policy(spec, spec.apps[0].helm.as_ref().unwrap())).unwrap()
    }

    #[test]
    fn the_app_wins_field_by_field() {
        let s = spec(
            json!({"maxHistory": 3, "upgrade": {"remediation": "uninstall", "force": true}, "rollback": {"timeout": "5m", "recreate": true}}),
            json!({"maxHistory": 10, "upgrade": {"cleanupOnFail": false}, "rollback": {"timeout": "9m"}}),
        );
        let p = rendered(&s);
        assert_eq!(p["max_history"], 10);
        assert_eq!(p["upgrade"]["remediation"], "uninstall");
        assert_eq!(p["upgrade"]["force"], true);
        assert_eq!(p["upgrade"]["cleanup_on_fail"], false);
        assert_eq!(p["rollback"], json!({"timeout": "9m", "recreate": true}));
        assert_eq!(p["uninstall"], serde_json::Value::Null);
    }

    #[test]
    fn settings_the_merged_strategy_does_not_read_are_dropped() {
        let s = spec(
            json!({"upgrade": {"strategy": "retryOnFailure", "retryInterval": "10m"}, "install": {"remediateLastFailure": true}}),
            json!({"upgrade": {"strategy": "remediateOnFailure"}, "install": {"strategy": "retryOnFailure"}}),
        );
        let p = rendered(&s);
        assert_eq!(p["upgrade"]["strategy"], "RemediateOnFailure");
        assert_eq!(p["upgrade"]["retry_interval"], serde_json::Value::Null);
        assert_eq!(p["upgrade"]["remediation"], "rollback");
        assert_eq!(p["install"]["strategy"], "RetryOnFailure");
        assert_eq!(p["install"]["remediate_last_failure"], serde_json::Value::Null);
        assert_eq!(p["install"]["remediation"], serde_json::Value::Null);
    }
}
