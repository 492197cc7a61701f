//! Operator gates: one Flux Kustomization per operator the apps use. It applies nothing
//! (`wait: false`) and health-checks the operator's HelmRelease or Deployment and the objects
//! the operator must have created (KubeBlocks' ClusterDefinitions, which its addons install
//! asynchronously), so data layers that depend on it start only once the operator works.

use super::part::Ctx;
use super::*;
use crate::kinds::{self, Operator};
use crate::spec::ClusterSpec;
use crate::spec::data::{PostgresProvider, RedisProvider};
use crate::spec::secrets::StoreKind;
use std::collections::BTreeSet;

/// The ClusterDefinitions KubeBlocks must have installed for the apps.
fn cluster_definitions(spec: &ClusterSpec) -> BTreeSet<&'static str> {
    let mut defs = BTreeSet::new();
    for app in &spec.apps {
        if app
            .postgres
            .as_ref()
            .is_some_and(|p| p.provider == PostgresProvider::Kubeblocks)
        {
            defs.insert("postgresql");
        }
        if app
            .redis
            .as_ref()
            .is_some_and(|r| r.provider == RedisProvider::Kubeblocks)
        {
            defs.insert("redis");
        }
    }
    defs
}

/// One gate per operator some app needs. Validation has checked each is declared.
/// `user` are the apps' own manifests: their kinds may need operators too.
pub fn gates(spec: &ClusterSpec, ctx: &Ctx, user: &[Vec<crate::spec::manifests::UserObject>]) -> Vec<Gate> {
    let mut needed: BTreeSet<Operator> = spec.apps.iter().flat_map(|a| a.operators()).collect();
    needed.extend(user.iter().flatten().filter_map(|o| {
        let text = |k: &str| {
            o.value
                .get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
        };
        kinds::lookup(text("apiVersion"), text("kind")).and_then(|k| k.operator)
    }));
    // Declared ClusterSecretStores are rendered even when no app reads from them: they wait
    // for External Secrets as well.
    if spec
        .secret_stores
        .iter()
        .any(|s| s.kind == StoreKind::ClusterSecretStore && s.rendered())
    {
        needed.insert(Operator::ExternalSecrets);
    }
    let mut gates = Vec::new();
    for op in needed {
        let Some(decl) = op.declared(spec) else { continue };
        let mut deps = BTreeSet::new();
        let mut checks = Vec::new();
        if let Some(app_name) = &decl.app {
            let app = spec.apps.iter().find(|a| &a.name == app_name);
            deps.insert(app.map_or_else(|| app_name.to_string(), |a| a.flux_name().to_string()));
            if let Some(app) = app {
                let namespace = app.namespace().to_string();
                checks.push(ObjectRef {
                    api_version: kinds::HELM_RELEASE.api_version.into(),
                    kind: kinds::HELM_RELEASE.kind.into(),
                    name: app
                        .helm
                        .as_ref()
                        .map_or(app.name.as_str(), |h| h.object_name(app.name.as_str()))
                        .to_string(),
                    namespace: Some(namespace),
                });
            }
        }
        if let Some(external) = &decl.external {
            deps.insert(external.to_string());
            if let (Some(deployment), Some(namespace)) = (&decl.deployment, &decl.namespace) {
                checks.push(ObjectRef {
                    api_version: kinds::DEPLOYMENT.api_version.into(),
                    kind: kinds::DEPLOYMENT.kind.into(),
                    name: deployment.to_string(),
                    namespace: Some(namespace.to_string()),
                });
            }
        }
        if op == Operator::Kubeblocks {
            for def in cluster_definitions(spec) {
                checks.push(ObjectRef {
                    api_version: kinds::KUBEBLOCKS_CLUSTER_DEFINITION.api_version.into(),
                    kind: kinds::KUBEBLOCKS_CLUSTER_DEFINITION.kind.into(),
                    name: def.into(),
                    namespace: None,
                });
            }
        }
        checks.sort();
        let kinds: Vec<&'static kinds::Kind> = checks
            .iter()
            .filter_map(|c| kinds::lookup(&c.api_version, &c.kind))
            .collect();
        let dir = format!("{}operators/{}", ctx.flux.tree_root, op.name());
        let timeout = decl
            .timeout
            .as_ref()
            .unwrap_or(&spec.defaults.timeout)
            .to_string();
        let mut kustomization = ctx.kustomization(
            op.gate(),
            &dir,
            &timeout,
            &spec.defaults.retry_interval.to_string(),
            &kinds,
            deps,
        );
        kustomization.wait = false;
        kustomization.health_checks = checks;
        gates.push(Gate {
            operator: op.name(),
            dir,
            kustomization,
        });
    }
    gates
}
