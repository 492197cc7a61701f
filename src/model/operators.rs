//! Operator gates: one Flux Kustomization per operator the apps use. It applies nothing
//! (`wait: false`) and health-checks the operator's HelmRelease or Deployment and the objects
//! the operator must have created (KubeBlocks' ClusterDefinitions, which its addons install
//! asynchronously), so data layers that depend on it start only once the operator works.

use super::resolve::Ctx;
use super::*;
use crate::spec::data::{OperatorSpec, PostgresProvider, RedisProvider};
use crate::spec::secrets::StoreKind;
use crate::spec::{AppSpec, ClusterSpec};
use std::collections::BTreeSet;

/// An operator the tree can gate on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    /// CloudNative-PG.
    Cnpg,
    /// The Barman Cloud plugin.
    BarmanCloud,
    /// External Secrets Operator.
    ExternalSecrets,
    /// KubeBlocks.
    Kubeblocks,
}

impl Operator {
    /// Its name in folders and gate names.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Cnpg => "cnpg",
            Operator::BarmanCloud => "barman-cloud",
            Operator::ExternalSecrets => "external-secrets",
            Operator::Kubeblocks => "kubeblocks",
        }
    }

    /// The spec key that declares it.
    pub fn spec_key(self) -> &'static str {
        match self {
            Operator::Cnpg => "cnpg",
            Operator::BarmanCloud => "barmanCloud",
            Operator::ExternalSecrets => "externalSecrets",
            Operator::Kubeblocks => "kubeblocks",
        }
    }

    /// Its product name.
    pub fn title(self) -> &'static str {
        match self {
            Operator::Cnpg => "CloudNative-PG",
            Operator::BarmanCloud => "the Barman Cloud plugin",
            Operator::ExternalSecrets => "External Secrets Operator",
            Operator::Kubeblocks => "KubeBlocks",
        }
    }

    /// The Flux Kustomization name of its gate.
    pub fn gate(self) -> String {
        format!("{}-gate", self.name())
    }

    /// Its declaration in the spec.
    pub fn declared(self, spec: &ClusterSpec) -> Option<&OperatorSpec> {
        let ops = &spec.operators;
        match self {
            Operator::Cnpg => ops.cnpg.as_ref(),
            Operator::BarmanCloud => ops.barman_cloud.as_ref(),
            Operator::ExternalSecrets => ops.external_secrets.as_ref(),
            Operator::Kubeblocks => ops.kubeblocks.as_ref(),
        }
    }
}

/// The operators an app's data services and secrets need.
pub fn needed_by(app: &AppSpec) -> BTreeSet<Operator> {
    let mut ops = BTreeSet::new();
    if let Some(pg) = &app.postgres {
        match pg.provider {
            PostgresProvider::Cnpg => {
                ops.insert(Operator::Cnpg);
                if pg.backup.as_ref().is_some_and(|b| !b.legacy) {
                    ops.insert(Operator::BarmanCloud);
                }
            }
            PostgresProvider::Kubeblocks => {
                ops.insert(Operator::Kubeblocks);
            }
        }
    }
    if app
        .redis
        .as_ref()
        .is_some_and(|r| r.provider == RedisProvider::Kubeblocks)
    {
        ops.insert(Operator::Kubeblocks);
    }
    if !app.secrets.is_empty() {
        ops.insert(Operator::ExternalSecrets);
    }
    ops
}

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
pub fn gates(spec: &ClusterSpec, ctx: &Ctx) -> Vec<Gate> {
    let mut needed: BTreeSet<Operator> = spec.apps.iter().flat_map(needed_by).collect();
    // Declared ClusterSecretStores are rendered even when no app reads from them: they wait
    // for External Secrets as well.
    if spec
        .secret_stores
        .iter()
        .any(|s| s.kind == StoreKind::ClusterSecretStore && s.vault.is_some())
    {
        needed.insert(Operator::ExternalSecrets);
    }
    let mut gates = Vec::new();
    for op in needed {
        let Some(decl) = op.declared(spec) else { continue };
        let mut deps = BTreeSet::new();
        let mut checks = Vec::new();
        if let Some(app_name) = &decl.app {
            deps.insert(app_name.to_string());
            if let Some(app) = spec.apps.iter().find(|a| &a.name == app_name) {
                let namespace = app.namespace().to_string();
                checks.push(ObjectRef {
                    api_version: "helm.toolkit.fluxcd.io/v2".into(),
                    kind: "HelmRelease".into(),
                    name: app.name.to_string(),
                    namespace: Some(namespace),
                });
            }
        }
        if let Some(external) = &decl.external {
            deps.insert(external.to_string());
            if let (Some(deployment), Some(namespace)) = (&decl.deployment, &decl.namespace) {
                checks.push(ObjectRef {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    name: deployment.to_string(),
                    namespace: Some(namespace.to_string()),
                });
            }
        }
        if op == Operator::Kubeblocks {
            for def in cluster_definitions(spec) {
                checks.push(ObjectRef {
                    api_version: "apps.kubeblocks.io/v1".into(),
                    kind: "ClusterDefinition".into(),
                    name: def.into(),
                    namespace: None,
                });
            }
        }
        checks.sort();
        let kinds: Vec<&str> = checks.iter().map(|c| c.kind.as_str()).collect();
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
