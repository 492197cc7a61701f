//! The one interface of the model's parts. A part is one domain of an app (its Helm release,
//! secrets, database, Redis, workloads, namespace, the user's manifests): it receives the
//! app ([`AppCtx`]: its spec, names, connections, references, the spec's spans) and returns
//! into [`Parts`] the manifests it adds to the app's layers, the Flux Kustomizations those
//! layers wait for, its diagnostics, and what the runbook says about it. What it offers to
//! `((...))` references it returns from [`Part::refs`]. Its checks live beside it.

use super::refs::{Refs, Scope, UnknownRef};
use super::secrets::ExternalSecret;
use super::{FluxKustomization, FluxModel, LayerKind, Manifest, SourceRef};
use crate::diagnostic::Diagnostic;
use crate::kinds::{self, Kind};
use crate::spec::path::{Field, SpecPath};
use crate::spec::places::Places;
use crate::spec::{AppSpec, ClusterSpec, HelmSpec};
use std::collections::{BTreeMap, BTreeSet};

/// One domain of an app.
pub trait Part: Sync {
    /// Adds what the part makes of the app to `out`.
    fn build(&self, app: &AppCtx, out: &mut Parts);

    /// What the part offers to `((...))` references; `public`: as other namespaces see it
    /// (Service hosts fully qualified).
    fn refs(&self, _app: &AppSpec, _public: bool, _refs: &mut Refs) {}
}

/// Cluster-wide settings every part needs.
pub struct Ctx {
    /// Flux settings.
    pub flux: FluxModel,
    /// The Flux source of the repository.
    pub source_ref: SourceRef,
    /// How often Flux reconciles.
    pub interval: String,
}

impl Ctx {
    /// A Flux Kustomization applying `dir`, waiting for what it applies, with CEL health
    /// checks for the kinds among `kinds` the kind table gives one.
    pub fn kustomization(
        &self,
        name: String,
        dir: &str,
        timeout: &str,
        retry: &str,
        kinds: &[&'static Kind],
        depends_on: BTreeSet<String>,
    ) -> FluxKustomization {
        let health_check_exprs = kinds::health_checks(kinds.iter().copied())
            .into_iter()
            .map(|(kind, health)| super::HealthCheckExpr {
                api_version: kind.api_version,
                kind: kind.kind,
                current: health.current,
                failed: health.failed,
            })
            .collect();
        FluxKustomization {
            name,
            namespace: self.flux.namespace.clone(),
            path: format!("{}/{dir}", self.flux.path_prefix),
            interval: self.interval.clone(),
            retry_interval: retry.to_string(),
            timeout: timeout.to_string(),
            wait: true,
            source_ref: self.source_ref.clone(),
            depends_on: depends_on.into_iter().collect(),
            health_checks: Vec::new(),
            health_check_exprs,
            decryption: None,
        }
    }
}

/// What every part of one app receives.
pub struct AppCtx<'a> {
    /// The whole spec.
    pub cluster: &'a ClusterSpec,
    /// The app's spec.
    pub spec: &'a AppSpec,
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The Flux namespace.
    pub flux_namespace: String,
    /// The app's place in the spec (`/apps/<i>`).
    pub base: SpecPath,
    /// Where each node of the spec is.
    pub spans: &'a Places,
    /// Whether stateful objects are kept when the app leaves.
    pub protect: bool,
    /// What the app's strings may reference.
    pub scope: Scope<'a>,
    /// How clients reach its database.
    pub postgres: Option<super::postgres::Connection>,
    /// How clients reach its Redis.
    pub redis: Option<super::redis::RedisConnection>,
    /// Whether the app writes its namespace's Namespace object.
    pub owns_namespace: bool,
    /// The Pod Security levels of its namespace, when gitopsc labels it.
    pub pod_security: Option<&'a crate::spec::pod_security::Levels>,
    /// The objects of its `manifests`, as read.
    pub user_objects: &'a [crate::spec::manifests::UserObject],
    /// The labels, annotations and patches its objects get when they render.
    pub post: &'a super::patch::Post,
}

impl AppCtx<'_> {
    /// The place of a field of the app.
    pub fn at(&self, field: Field) -> SpecPath {
        self.base.field(field)
    }

    /// The place of the app's `helm.values`.
    pub fn helm_values(&self) -> SpecPath {
        self.at(AppSpec::HELM).field(HelmSpec::VALUES)
    }
}

/// What the runbook says about something, in the order the runbook lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Topic {
    /// The release and its chart.
    Release,
    /// The namespace's Pod Security.
    PodSecurity,
    /// NetworkPolicies.
    Network,
    /// The data services.
    Data,
}

/// What an app's parts returned: manifests by layer, what each layer must wait for besides
/// the layer before, diagnostics, runbook notes; and what one part hands the next.
#[derive(Default)]
pub struct Parts {
    pub(super) manifests: BTreeMap<LayerKind, Vec<Manifest>>,
    pub(super) deps: BTreeMap<LayerKind, BTreeSet<String>>,
    /// The least timeout (seconds) a layer needs when the app sets none.
    pub(super) min_timeout: BTreeMap<LayerKind, u64>,
    pub(super) diags: Vec<Diagnostic>,
    caveats: Vec<(Topic, String)>,
    verify: Vec<(LayerKind, Vec<super::runbook::Word>)>,
    /// References that name nothing.
    pub(super) unknown: Vec<UnknownRef>,
    external_secrets: BTreeMap<String, ExternalSecret>,
    /// The app's chart values as written, until the Helm part takes them.
    pub chart_values: Option<serde_json::Map<String, serde_json::Value>>,
    /// Secrets a HelmRelease reads through `valuesFrom` (Flux must watch them).
    pub watched: BTreeSet<String>,
    /// NetworkPolicies whose API-server egress rule allows any address on its ports.
    pub(super) open_api_server_egress: Vec<String>,
}

impl Parts {
    /// Adds a manifest to a layer.
    pub fn add(&mut self, layer: LayerKind, manifest: Manifest) {
        self.manifests.entry(layer).or_default().push(manifest);
    }

    /// Adds a manifest to the release layer.
    pub fn release(&mut self, manifest: Manifest) {
        self.add(LayerKind::Release, manifest);
    }

    /// Puts a manifest first in a layer.
    pub fn add_first(&mut self, layer: LayerKind, manifest: Manifest) {
        self.manifests.entry(layer).or_default().insert(0, manifest);
    }

    /// Makes the release layer wait for a Flux Kustomization.
    pub fn release_dep(&mut self, name: &str) {
        self.dep(LayerKind::Release, name);
    }

    /// Makes a layer wait for a Flux Kustomization.
    pub fn dep(&mut self, layer: LayerKind, name: &str) {
        self.deps.entry(layer).or_default().insert(name.to_string());
    }

    /// Asks for a layer's Flux timeout to be at least `secs` when the app sets no `timeout`.
    pub fn timeout_at_least(&mut self, layer: LayerKind, secs: u64) {
        let least = self.min_timeout.entry(layer).or_default();
        *least = (*least).max(secs);
    }

    /// Reports a diagnostic.
    pub fn diagnostic(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Adds a caveat to the runbook.
    pub fn caveat(&mut self, topic: Topic, text: impl Into<String>) {
        self.caveats.push((topic, text.into()));
    }

    /// Adds a command that verifies what `layer` applies to the runbook.
    pub fn verify(&mut self, layer: LayerKind, words: &[&str]) {
        let words = words.iter().map(|w| super::runbook::word(w)).collect();
        self.verify.push((layer, words));
    }

    /// Records a NetworkPolicy whose API-server egress rule names no address.
    pub fn open_api_server_egress(&mut self, policy: &str) {
        self.open_api_server_egress.push(policy.to_string());
    }

    /// Records an ExternalSecret of the app, so the pods that read its Secret can hash it.
    pub fn external_secret(&mut self, object: &ExternalSecret) {
        self.external_secrets.insert(object.name.clone(), object.clone());
    }

    /// The app's ExternalSecret that produces the Secret `name`.
    pub fn external_secret_for(&self, name: &str) -> Option<&ExternalSecret> {
        self.external_secrets.get(name)
    }

    /// The first layer that holds manifests so far (the release layer when none does).
    pub fn first_layer(&self) -> LayerKind {
        self.layers().first().copied().unwrap_or(LayerKind::Release)
    }

    /// Whether a layer holds manifests.
    pub fn has_layer(&self, layer: LayerKind) -> bool {
        self.manifests.contains_key(&layer)
    }

    /// The layers that hold manifests, in apply order.
    pub(super) fn layers(&self) -> Vec<LayerKind> {
        self.manifests.keys().copied().collect()
    }

    /// The runbook's caveats and verification commands, in the runbook's order: caveats by
    /// topic, commands by the layer they verify.
    pub(super) fn take_notes(&mut self) -> (Vec<String>, Vec<Vec<super::runbook::Word>>) {
        let mut caveats = std::mem::take(&mut self.caveats);
        caveats.sort_by_key(|(topic, _)| *topic);
        let mut verify = std::mem::take(&mut self.verify);
        verify.sort_by_key(|(layer, _)| *layer);
        (
            caveats.into_iter().map(|(_, c)| c).collect(),
            verify.into_iter().map(|(_, v)| v).collect(),
        )
    }

    /// Frees what served the parts only (the copies of the ExternalSecrets the pods hashed).
    pub(super) fn done(&mut self) {
        self.external_secrets = BTreeMap::new();
    }
}
