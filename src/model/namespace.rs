//! The part of an app's namespace: the Namespace object (written by the first app of the
//! namespace, first in its first layer) with its Pod Security labels, and what the runbook
//! says about the level the namespace enforces.

use super::part::{AppCtx, Part, Parts, Topic};
use super::{Manifest, NamespaceObject};
use crate::kinds;
use crate::spec::pod_security;

/// The part of an app's namespace.
pub struct Namespace;

impl Part for Namespace {
    fn build(&self, app: &AppCtx, out: &mut Parts) {
        caveats(app, out);
        let Some(levels) = app.pod_security.filter(|_| app.owns_namespace) else {
            return;
        };
        let mut labels = app.spec.namespace_labels.clone();
        labels.extend(kinds::NAMESPACE.prune_labels(app.protect, false));
        for (mode, level) in [
            ("enforce", levels.enforce),
            ("audit", levels.report),
            ("warn", levels.report),
        ] {
            labels.insert(
                format!("pod-security.kubernetes.io/{mode}"),
                level.as_str().to_string(),
            );
        }
        let object = NamespaceObject {
            name: app.namespace.clone(),
            labels: super::StrMap::from(labels),
        };
        // The Namespace goes first into the app's first layer.
        let first = out.first_layer();
        out.add_first(
            first,
            Manifest::new(
                "namespace.yaml",
                "core/namespace.yaml.j2",
                &kinds::NAMESPACE,
                object,
            ),
        );
    }
}

/// Why the namespace enforces less than `defaults.podSecurity`, and KubeBlocks' root pods.
fn caveats(app: &AppCtx, out: &mut Parts) {
    if let Some(levels) = app.pod_security
        && !levels.lowered_because.is_empty()
    {
        let mut caveat = format!(
            "Namespace `{}` enforces Pod Security `{}` (audit and warn: `{}`), not the `{}` of \
             `defaults.podSecurity`: {}.",
            app.namespace,
            levels.enforce.as_str(),
            levels.report.as_str(),
            app.cluster.defaults.pod_security.as_str(),
            levels.lowered_because.join("; ")
        );
        if levels.report != levels.enforce {
            caveat.push_str(
                " A chart gitopsc cannot vouch for is enforced at `baseline` and audited at the level asked: the \
                 API server's warnings and audit log show what would be refused.",
            );
        }
        caveat.push_str(" See docs/pod-security.md.");
        out.caveat(Topic::PodSecurity, caveat);
    }
    if pod_security::runs_kubeblocks(app.spec) {
        out.caveat(
            Topic::PodSecurity,
            "Pod Security: KubeBlocks' PostgreSQL and Redis addons run the database as root (`runAsUser: 0`), which \
             `restricted` refuses and `baseline` allows (they need no privileged container or hostPath): the \
             namespace enforces `baseline` at most, and an explicit `podSecurity: restricted` is refused.",
        );
    }
}
