//! The kind table: one row per apiVersion/kind the tree can hold, with every fact gitopsc
//! acts on about it — whether deleting it loses data (the review's loud section, prune
//! protection), the spec fields the API server refuses to change, the CEL health check that
//! keeps a Flux Kustomization waiting for it, the operator whose gate it needs, what its pods
//! need through a default-deny NetworkPolicy, and the Flux version that brought it.
//!
//! Resolution (health checks, gates, prune labels, NetworkPolicies), the review of a change
//! and the check of user manifests read this table; nothing else lists kinds. A new kind is a
//! new row (see ARCHITECTURE.md, "Adding a kind").

use std::fmt;

/// An operator a kind needs: its objects wait behind that operator's gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    /// CloudNative-PG.
    Cnpg,
    /// The Barman Cloud plugin of CloudNative-PG.
    BarmanCloud,
    /// External Secrets Operator.
    ExternalSecrets,
    /// KubeBlocks.
    Kubeblocks,
    /// The Dragonfly operator.
    Dragonfly,
    /// VolSync.
    Volsync,
}

impl Operator {
    /// Its name in folders and gate names.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Cnpg => "cnpg",
            Operator::BarmanCloud => "barman-cloud",
            Operator::ExternalSecrets => "external-secrets",
            Operator::Kubeblocks => "kubeblocks",
            Operator::Dragonfly => "dragonfly",
            Operator::Volsync => "volsync",
        }
    }

    /// The key of `operators` in the spec that declares it.
    pub fn spec_key(self) -> &'static str {
        match self {
            Operator::Cnpg => "cnpg",
            Operator::BarmanCloud => "barmanCloud",
            Operator::ExternalSecrets => "externalSecrets",
            Operator::Kubeblocks => "kubeblocks",
            Operator::Dragonfly => "dragonfly",
            Operator::Volsync => "volsync",
        }
    }

    /// Its product name.
    pub fn title(self) -> &'static str {
        match self {
            Operator::Cnpg => "CloudNative-PG",
            Operator::BarmanCloud => "the Barman Cloud plugin",
            Operator::ExternalSecrets => "External Secrets Operator",
            Operator::Kubeblocks => "KubeBlocks",
            Operator::Dragonfly => "the Dragonfly operator",
            Operator::Volsync => "VolSync",
        }
    }

    /// The Flux Kustomization name of its gate.
    pub fn gate(self) -> String {
        format!("{}-gate", self.name())
    }

    /// The namespace it runs in when the spec does not say.
    pub fn default_namespace(self) -> &'static str {
        match self {
            Operator::Cnpg | Operator::BarmanCloud => "cnpg-system",
            Operator::ExternalSecrets => "external-secrets",
            Operator::Kubeblocks => "kb-system",
            Operator::Dragonfly => "dragonfly-operator-system",
            Operator::Volsync => "volsync-system",
        }
    }
}

/// What prune protection (`defaults.pruneProtection`) does to objects of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// Pruned with the app.
    Pruned,
    /// Kept when the app leaves: deleting it loses data, or stops what keeps data safe.
    Kept,
    /// Kept only when a kept object depends on it (a Secret a database reads); otherwise it is
    /// recreated from its store.
    KeptWhenDepended,
}

/// A CEL health check (Flux `healthCheckExprs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// True when the object is ready for its current spec.
    pub current: &'static str,
    /// True when the object failed for good, when the kind can tell.
    pub failed: Option<&'static str>,
}

/// What the pods of a data service need through a default-deny NetworkPolicy (beyond their
/// clients, whose ports the part that adds the service knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkNeeds {
    /// The label that selects the pods of one object, with the object's name as value; or,
    /// when `None`, KubeBlocks' pair (`app.kubernetes.io/instance: <name>`,
    /// `app.kubernetes.io/managed-by: kubeblocks`).
    pub pod_label: Option<&'static str>,
    /// Ports the operator reaches the pods on (empty: every port; `None`: it does not).
    pub from_operator: Option<&'static [u16]>,
    /// Ports the pods reach each other on (empty: every port; `None`: they do not).
    pub peers: Option<&'static [u16]>,
    /// The metrics port a PodMonitor scrapes, when one does.
    pub metrics: Option<u16>,
    /// Whether the pods talk to the Kubernetes API server.
    pub api_server: bool,
}

/// One apiVersion/kind.
#[derive(Debug, PartialEq, Eq)]
pub struct Kind {
    /// `apiVersion` (`group/version`, or `v1` for the core group).
    pub api_version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// Whether its objects live in a namespace.
    pub namespaced: bool,
    /// Whether deleting it loses data: the review's loud section when it leaves.
    pub stateful: bool,
    /// What prune protection does to it.
    pub prune: Prune,
    /// `spec` fields the API server refuses to update.
    pub immutable: &'static [&'static str],
    /// `spec.replicas` may be handed to an autoscaler (the review warns when it leaves).
    pub replicas: bool,
    /// It holds an app's data under its name: a rename moves the app to an empty one.
    pub database: bool,
    /// The CEL health check; none where kstatus suffices or the kind has no status.
    pub health: Option<Health>,
    /// The operator whose gate its objects wait for.
    pub operator: Option<Operator>,
    /// What its pods need through a default deny.
    pub network: Option<NetworkNeeds>,
    /// The Flux minor version (`2.x`) that can apply it, when later than the oldest gitopsc
    /// supports: its controller's API came then.
    pub flux_since: Option<u32>,
    /// The release of the project serving its API from which gitopsc's objects of the kind
    /// work: the API version gitopsc writes came then, or the status its health check reads.
    /// Recorded where an upstream release says so, else none.
    pub since: Option<Since>,
}

/// A release of the project that serves a kind's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since {
    /// The project.
    pub project: &'static str,
    /// Its release.
    pub version: &'static str,
    /// What came with that release.
    pub what: &'static str,
}

impl Kind {
    /// The API group (empty for the core group).
    pub fn group(&self) -> &'static str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// The version.
    pub fn version(&self) -> &'static str {
        self.api_version
            .rsplit_once('/')
            .map_or(self.api_version, |(_, v)| v)
    }

    /// The prune-protection labels its objects carry when protection is on.
    pub fn prune_labels(&self, protect: bool, depended: bool) -> std::collections::BTreeMap<String, String> {
        let keep = match self.prune {
            Prune::Pruned => false,
            Prune::Kept => protect,
            Prune::KeptWhenDepended => protect && depended,
        };
        let mut labels = std::collections::BTreeMap::new();
        if keep {
            labels.insert(PRUNE_DISABLED.0.to_string(), PRUNE_DISABLED.1.to_string());
        }
        labels
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.api_version, self.kind)
    }
}

/// The label (or annotation) that makes Flux keep an object it would otherwise prune.
pub const PRUNE_DISABLED: (&str, &str) = ("kustomize.toolkit.fluxcd.io/prune", "disabled");

/// Ready once the controller sets `Ready=True`.
const READY: &str = "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')";
/// Failed once a Flux controller declares the object `Stalled` (it will not retry by itself).
const STALLED: &str = "status.?conditions.orValue([]).exists(c, c.type == 'Stalled' && c.status == 'True')";
/// A Flux object: ready, or stalled.
const FLUX: Option<Health> = Some(Health {
    current: READY,
    failed: Some(STALLED),
});
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

/// A VictoriaMetrics scrape or rule object (operator 0.74 and later): applied by at least one
/// VMAgent or VMAlert that selects it (`updateStatus: operational`) for its current
/// generation. One that no parent selects stays in progress until the timeout (a monitor
/// nothing reads fails silently otherwise); `failed` and `ignored` (no parent selects it any
/// more) fail.
/// A Job is done once the Job controller set `Complete=True` (all its completions succeeded).
const JOB_COMPLETE: &str =
    "status.?conditions.orValue([]).exists(c, c.type == 'Complete' && c.status == 'True')";
/// A Job failed for good once `Failed=True` (its backoff limit or deadline was reached).
const JOB_FAILED: &str = "status.?conditions.orValue([]).exists(c, c.type == 'Failed' && c.status == 'True')";

const VM: Option<Health> = Some(Health {
    current: "status.?updateStatus.orValue('') == 'operational' \
              && status.?observedGeneration.orValue(0) == metadata.generation",
    failed: Some("status.?updateStatus.orValue('') in ['failed', 'ignored']"),
});

/// VictoriaMetrics operator 0.74.0 (PR #2438) writes the `updateStatus` the health check reads.
const VM_SINCE: Option<Since> = Some(Since {
    project: "VictoriaMetrics operator",
    version: "0.74.0",
    what: "`status.updateStatus: operational`, which the health check reads",
});

/// An HTTPRoute is ready once a status entry exists for each Gateway it names, each
/// `Accepted` (the listener took it) and `ResolvedRefs` (its backends exist) for the current
/// generation (conditions without `observedGeneration` count as current). A refusal can be
/// transient (the Gateway not yet there), so it is never reported failed: the route waits
/// until the timeout.
const HTTP_ROUTE_ACCEPTED: &str = "status.?parents.orValue([]).size() >= spec.?parentRefs.orValue([]).size() \
     && status.?parents.orValue([]).all(p, ['Accepted', 'ResolvedRefs'].all(t, p.?conditions.orValue([]).exists(c, \
     c.type == t && c.status == 'True' && c.?observedGeneration.orValue(metadata.generation) == metadata.generation)))";

/// A row with every fact at its most common value; rows below change what differs.
const PLAIN: Kind = Kind {
    api_version: "",
    kind: "",
    namespaced: true,
    stateful: false,
    prune: Prune::Pruned,
    immutable: &[],
    replicas: false,
    database: false,
    health: None,
    operator: None,
    network: None,
    flux_since: None,
    since: None,
};

macro_rules! kind {
    ($(#[$doc:meta])* $name:ident, $api:literal, $kind:literal $(, $field:ident: $value:expr)* $(,)?) => {
        $(#[$doc])*
        pub const $name: Kind = Kind {
            api_version: $api,
            kind: $kind,
            $($field: $value,)*
            ..PLAIN
        };
    };
}

kind!(
    /// A Namespace: deleting it deletes everything in it.
    NAMESPACE, "v1", "Namespace", namespaced: false, stateful: true, prune: Prune::Kept
);
kind!(CONFIG_MAP, "v1", "ConfigMap");
kind!(
    /// A Secret: recreated from its store when an ExternalSecret makes it.
    SECRET, "v1", "Secret", stateful: true, prune: Prune::KeptWhenDepended
);
kind!(
    /// A PersistentVolumeClaim: its volume goes with it (reclaim policy `Delete`).
    PERSISTENT_VOLUME_CLAIM, "v1", "PersistentVolumeClaim", stateful: true, prune: Prune::Kept
);
kind!(SERVICE, "v1", "Service");
kind!(SERVICE_ACCOUNT, "v1", "ServiceAccount");
kind!(RESOURCE_QUOTA, "v1", "ResourceQuota");
kind!(LIMIT_RANGE, "v1", "LimitRange");
kind!(DEPLOYMENT, "apps/v1", "Deployment", immutable: &["selector"], replicas: true);
kind!(
    STATEFUL_SET,
    "apps/v1",
    "StatefulSet",
    immutable: &["selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates"],
    replicas: true,
);
kind!(
    JOB,
    "batch/v1",
    "Job",
    immutable: &["selector", "template"],
    health: Some(Health { current: JOB_COMPLETE, failed: Some(JOB_FAILED) }),
);
// A CronJob has no status that says it is healthy (only `active`, `lastScheduleTime`,
// `lastSuccessfulTime`): kstatus takes it as current once applied, and so does Flux.
kind!(CRON_JOB, "batch/v1", "CronJob");
kind!(
    HORIZONTAL_POD_AUTOSCALER,
    "autoscaling/v2",
    "HorizontalPodAutoscaler"
);
kind!(POD_DISRUPTION_BUDGET, "policy/v1", "PodDisruptionBudget");
kind!(NETWORK_POLICY, "networking.k8s.io/v1", "NetworkPolicy");
kind!(INGRESS, "networking.k8s.io/v1", "Ingress");
kind!(PRIORITY_CLASS, "scheduling.k8s.io/v1", "PriorityClass", namespaced: false);
kind!(ROLE, "rbac.authorization.k8s.io/v1", "Role");
kind!(ROLE_BINDING, "rbac.authorization.k8s.io/v1", "RoleBinding");
kind!(CLUSTER_ROLE, "rbac.authorization.k8s.io/v1", "ClusterRole", namespaced: false);
kind!(CLUSTER_ROLE_BINDING, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", namespaced: false);
kind!(
    /// v2 since Flux 2.3.
    HELM_RELEASE, "helm.toolkit.fluxcd.io/v2", "HelmRelease", health: FLUX, flux_since: Some(3)
);
kind!(
    /// v1 since Flux 2.3.
    HELM_REPOSITORY, "source.toolkit.fluxcd.io/v1", "HelmRepository", health: FLUX, flux_since: Some(3)
);
kind!(
    /// v1 since Flux 2.6 (source-controller 1.6).
    OCI_REPOSITORY, "source.toolkit.fluxcd.io/v1", "OCIRepository", health: FLUX, flux_since: Some(6)
);
kind!(FLUX_KUSTOMIZATION, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", health: FLUX);
kind!(
    /// External Secrets v1 (0.16 and later).
    EXTERNAL_SECRET_KIND,
    "external-secrets.io/v1",
    "ExternalSecret",
    stateful: true,
    prune: Prune::KeptWhenDepended,
    health: Some(Health { current: EXTERNAL_SECRET, failed: None }),
    operator: Some(Operator::ExternalSecrets),
    since: Some(Since { project: "External Secrets Operator", version: "0.16.0", what: "`external-secrets.io/v1`" }),
);
kind!(
    SECRET_STORE,
    "external-secrets.io/v1",
    "SecretStore",
    health: Some(Health { current: READY, failed: None }),
    operator: Some(Operator::ExternalSecrets),
    since: Some(Since { project: "External Secrets Operator", version: "0.16.0", what: "`external-secrets.io/v1`" }),
);
kind!(
    CLUSTER_SECRET_STORE,
    "external-secrets.io/v1",
    "ClusterSecretStore",
    namespaced: false,
    health: Some(Health { current: READY, failed: None }),
    operator: Some(Operator::ExternalSecrets),
    since: Some(Since { project: "External Secrets Operator", version: "0.16.0", what: "`external-secrets.io/v1`" }),
);
kind!(
    /// A CloudNative-PG cluster: its PVCs are owned by it.
    CNPG_CLUSTER_KIND,
    "postgresql.cnpg.io/v1",
    "Cluster",
    stateful: true,
    prune: Prune::Kept,
    database: true,
    health: Some(Health { current: CNPG_CLUSTER, failed: None }),
    operator: Some(Operator::Cnpg),
    // CloudNative-PG docs (networking.md): the operator reaches every instance on 8000 and
    // 5432, instances reach each other, the exporter serves 9187.
    network: Some(NetworkNeeds {
        pod_label: Some("cnpg.io/cluster"),
        from_operator: Some(&[8000, 5432]),
        peers: Some(&[5432, 8000]),
        metrics: Some(9187),
        api_server: true,
    }),
);
kind!(
    CNPG_DATABASE,
    "postgresql.cnpg.io/v1",
    "Database",
    health: Some(Health { current: "status.?applied.orValue(false) == true", failed: None }),
    operator: Some(Operator::Cnpg),
    since: Some(Since { project: "CloudNative-PG", version: "1.25.0", what: "the `Database` kind" }),
);
kind!(
    /// Kept with its cluster, so a kept cluster goes on being backed up.
    CNPG_SCHEDULED_BACKUP,
    "postgresql.cnpg.io/v1",
    "ScheduledBackup",
    prune: Prune::Kept,
    immutable: &["cluster"],
    operator: Some(Operator::Cnpg),
);
kind!(
    /// A CloudNative-PG PgBouncer pooler: a Deployment and a Service the operator makes.
    /// CloudNative-PG writes no conditions and no `observedGeneration` for it; from 1.30 it
    /// writes `status.phase` (`active`, `paused`, `inactive`, `failed`), which the health
    /// check reads (the checks of the spec refuse poolers on an older operator).
    CNPG_POOLER,
    "postgresql.cnpg.io/v1",
    "Pooler",
    immutable: &["cluster"],
    health: Some(Health {
        current: "status.?phase.orValue('') == 'active'",
        failed: Some("status.?phase.orValue('') == 'failed'"),
    }),
    operator: Some(Operator::Cnpg),
    // connection_pooling.md: PgBouncer pods (`cnpg.io/poolerName: <pooler>`) take clients on
    // 5432 and serve metrics on 9127; the operator does not connect to them and they do not
    // connect to each other (their way to the cluster's instances is added per pooler).
    network: Some(NetworkNeeds {
        pod_label: Some("cnpg.io/poolerName"),
        from_operator: None,
        peers: None,
        metrics: Some(9127),
        // The instance manager in each PgBouncer pod watches its Pooler and Secrets.
        api_server: true,
    }),
    since: Some(Since { project: "CloudNative-PG", version: "1.30.0", what: "`status.phase`, which the health check reads" }),
);
kind!(
    /// Where the backups are: deleting it loses their configuration, not the backups.
    CNPG_OBJECT_STORE,
    "barmancloud.cnpg.io/v1",
    "ObjectStore",
    stateful: true,
    prune: Prune::Kept,
    operator: Some(Operator::BarmanCloud),
);
kind!(
    KUBEBLOCKS_CLUSTER,
    "apps.kubeblocks.io/v1",
    "Cluster",
    stateful: true,
    prune: Prune::Kept,
    database: true,
    health: Some(Health {
        current: "status.?phase.orValue('') == 'Running'",
        failed: Some("status.?phase.orValue('') == 'Failed'"),
    }),
    operator: Some(Operator::Kubeblocks),
    // KubeBlocks' pods reach each other and are reached from the operator on every port.
    network: Some(NetworkNeeds {
        pod_label: None,
        from_operator: Some(&[]),
        peers: Some(&[]),
        metrics: None,
        api_server: true,
    }),
);
kind!(
    /// Installed by KubeBlocks' addons; gates wait for it.
    KUBEBLOCKS_CLUSTER_DEFINITION,
    "apps.kubeblocks.io/v1",
    "ClusterDefinition",
    namespaced: false,
    health: Some(Health { current: "status.?phase.orValue('') == 'Available'", failed: None }),
    operator: Some(Operator::Kubeblocks),
);
kind!(
    /// A Dragonfly instance (dragonfly-operator 1.x): a StatefulSet of `replicas` pods, one the
    /// master behind the Service `<name>`; its snapshots live on the pods' volumes. The
    /// operator writes `status.phase` only (no conditions, no `observedGeneration`).
    DRAGONFLY_KIND,
    "dragonflydb.io/v1alpha1",
    "Dragonfly",
    stateful: true,
    prune: Prune::Kept,
    database: true,
    health: Some(Health {
        current: "status.?phase.orValue('') == 'Ready'",
        failed: None,
    }),
    operator: Some(Operator::Dragonfly),
    // dragonfly-operator `internal/resources`: pods labelled `app: <name>`; the operator
    // reaches them on the admin port 9999, replicas replicate from the master on 6379, and the
    // admin port serves the metrics. They never call the API server.
    network: Some(NetworkNeeds {
        pod_label: Some("app"),
        from_operator: Some(&[9999]),
        peers: Some(&[6379, 9999]),
        metrics: Some(9999),
        api_server: false,
    }),
    // dragonfly-operator serves `dragonflydb.io/v1alpha1` Dragonfly from its first release,
    // v0.0.1 (2023-04); it wrote the phase `ready` until v1.2.0 (2025-08, #314 "update go and
    // refactoring"), which writes `Ready`, the phase the health check waits for. Fields
    // written only when the spec asks: `topologySpreadConstraints` from v1.1.1, the security
    // contexts from v1.1.10, `snapshot.enableOnMasterOnly` from v1.3.0, `pdb` from v1.5.0.
    since: Some(Since { project: "the Dragonfly operator", version: "1.2.0", what: "`status.phase: Ready`, which the health check reads" }),
);
kind!(
    /// A VolSync backup schedule of a PVC: kept with the volume it backs up (deleting it loses
    /// no backup; the restic repository stays). VolSync reports one `Synchronizing` condition,
    /// whose reason is `Error` when the mover fails.
    VOLSYNC_REPLICATION_SOURCE,
    "volsync.backube/v1alpha1",
    "ReplicationSource",
    prune: Prune::Kept,
    health: Some(Health {
        current: "status.?conditions.orValue([]).exists(c, c.type == 'Synchronizing' && c.reason != 'Error')",
        failed: None,
    }),
    operator: Some(Operator::Volsync),    // VolSync serves `volsync.backube/v1alpha1` from v0.3.0 (2021-08; `scribe.backube`
    // before), with the `Synchronizing` condition; `restic.moverPodLabels`, which gitopsc
    // always writes so the app's NetworkPolicy lets the mover pods out, came in v0.9.0
    // (2024-02, "resourceReqs and podLabels for mover job/deploy").
    since: VOLSYNC_SINCE,
);
kind!(
    /// A one-off VolSync restore (a manual trigger): done once `lastManualSync` is the trigger.
    VOLSYNC_REPLICATION_DESTINATION,
    "volsync.backube/v1alpha1",
    "ReplicationDestination",
    health: Some(Health {
        current: "status.?lastManualSync.orValue('') != '' && status.?lastManualSync.orValue('') == spec.?trigger.?manual.orValue('')",
        failed: None,
    }),
    operator: Some(Operator::Volsync),    since: VOLSYNC_SINCE,
);

/// The VolSync release from which gitopsc's ReplicationSources and ReplicationDestinations
/// work: the first with `restic.moverPodLabels` (see `VOLSYNC_REPLICATION_SOURCE`).
const VOLSYNC_SINCE: Option<Since> = Some(Since {
    project: "VolSync",
    version: "0.9.0",
    what: "`restic.moverPodLabels`, which the mover pods' NetworkPolicy selects",
});
kind!(POD_MONITOR, "monitoring.coreos.com/v1", "PodMonitor");
kind!(SERVICE_MONITOR, "monitoring.coreos.com/v1", "ServiceMonitor");
kind!(PROMETHEUS_RULE, "monitoring.coreos.com/v1", "PrometheusRule");
kind!(
    /// The VictoriaMetrics ServiceMonitor.
    VM_SERVICE_SCRAPE, "operator.victoriametrics.com/v1beta1", "VMServiceScrape", health: VM, since: VM_SINCE
);
kind!(
    /// The VictoriaMetrics PodMonitor.
    VM_POD_SCRAPE, "operator.victoriametrics.com/v1beta1", "VMPodScrape", health: VM, since: VM_SINCE
);
kind!(
    /// The VictoriaMetrics PrometheusRule.
    VM_RULE, "operator.victoriametrics.com/v1beta1", "VMRule", health: VM, since: VM_SINCE
);

kind!(
    /// A Gateway API route: accepted by every Gateway it names, its backends resolved.
    HTTP_ROUTE,
    "gateway.networking.k8s.io/v1",
    "HTTPRoute",
    health: Some(Health { current: HTTP_ROUTE_ACCEPTED, failed: None }),
    since: Some(Since { project: "Gateway API", version: "1.0.0", what: "`gateway.networking.k8s.io/v1` HTTPRoute" }),
);
kind!(
    /// v1 since Flux 2.7 (image-reflector-controller 1.0).
    IMAGE_REPOSITORY, "image.toolkit.fluxcd.io/v1", "ImageRepository", health: FLUX, flux_since: Some(7)
);
kind!(
    /// v1 since Flux 2.7 (image-reflector-controller 1.0).
    IMAGE_POLICY, "image.toolkit.fluxcd.io/v1", "ImagePolicy", health: FLUX, flux_since: Some(7)
);
kind!(
    /// v1 since Flux 2.7 (image-automation-controller 1.0).
    IMAGE_UPDATE_AUTOMATION,
    "image.toolkit.fluxcd.io/v1",
    "ImageUpdateAutomation",
    health: FLUX,
    flux_since: Some(7),
);

/// Every row.
pub const ALL: &[&Kind] = &[
    &NAMESPACE,
    &CONFIG_MAP,
    &SECRET,
    &PERSISTENT_VOLUME_CLAIM,
    &SERVICE,
    &SERVICE_ACCOUNT,
    &RESOURCE_QUOTA,
    &LIMIT_RANGE,
    &DEPLOYMENT,
    &STATEFUL_SET,
    &JOB,
    &CRON_JOB,
    &HORIZONTAL_POD_AUTOSCALER,
    &POD_DISRUPTION_BUDGET,
    &NETWORK_POLICY,
    &INGRESS,
    &PRIORITY_CLASS,
    &ROLE,
    &ROLE_BINDING,
    &CLUSTER_ROLE,
    &CLUSTER_ROLE_BINDING,
    &HELM_RELEASE,
    &HELM_REPOSITORY,
    &OCI_REPOSITORY,
    &FLUX_KUSTOMIZATION,
    &EXTERNAL_SECRET_KIND,
    &SECRET_STORE,
    &CLUSTER_SECRET_STORE,
    &CNPG_CLUSTER_KIND,
    &CNPG_DATABASE,
    &CNPG_SCHEDULED_BACKUP,
    &CNPG_POOLER,
    &CNPG_OBJECT_STORE,
    &KUBEBLOCKS_CLUSTER,
    &KUBEBLOCKS_CLUSTER_DEFINITION,
    &DRAGONFLY_KIND,
    &VOLSYNC_REPLICATION_SOURCE,
    &VOLSYNC_REPLICATION_DESTINATION,
    &POD_MONITOR,
    &SERVICE_MONITOR,
    &PROMETHEUS_RULE,
    &VM_SERVICE_SCRAPE,
    &VM_POD_SCRAPE,
    &VM_RULE,
    &HTTP_ROUTE,
    &IMAGE_REPOSITORY,
    &IMAGE_POLICY,
    &IMAGE_UPDATE_AUTOMATION,
];

/// The row of an apiVersion and kind.
pub fn lookup(api_version: &str, kind: &str) -> Option<&'static Kind> {
    ALL.iter()
        .copied()
        .find(|k| k.api_version == api_version && k.kind == kind)
}

/// The row of a kind in an API group, whatever the version: what a tree written by an older
/// gitopsc held is judged by what the kind is.
pub fn in_group(group: &str, kind: &str) -> Option<&'static Kind> {
    ALL.iter().copied().find(|k| k.group() == group && k.kind == kind)
}

/// The kind table in Markdown (`docs/kinds.md`): one line per row, in the table's order.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Kinds\n\n\
         Every apiVersion/kind gitopsc writes or knows in user manifests, from its kind table \
         (`src/kinds.rs`; this page is generated from it and a test keeps it current). \
         **Stateful**: deleting it loses data (the loud section of `diff`/`check`). \
         **Prune protection**: what `defaults.pruneProtection` does to it. \
         **Health**: a CEL check in the Flux Kustomization (`healthCheckExprs`), else kstatus. \
         **Needs**: the Flux version, the operator whose gate it waits for, and the release of \
         the project serving its API from which gitopsc's objects of it work.\n\n\
         | apiVersion | kind | scope | stateful | prune protection | health | needs |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for k in ALL {
        let prune = match k.prune {
            Prune::Pruned => "pruned",
            Prune::Kept => "kept",
            Prune::KeptWhenDepended => "kept when a kept object reads it",
        };
        let mut needs = Vec::new();
        if let Some(minor) = k.flux_since {
            needs.push(format!("Flux 2.{minor}"));
        }
        let since = k
            .since
            .map(|s| format!("{} from {} ({})", s.project, s.version, s.what));
        match (k.operator, since) {
            (Some(op), Some(since)) if k.since.is_some_and(|s| s.project == op.title()) => {
                needs.push(format!("{since}, gate `{}`", op.gate()));
            }
            (op, since) => {
                needs.extend(op.map(|op| format!("{}, gate `{}`", op.title(), op.gate())));
                needs.extend(since);
            }
        }
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | {} | {} |\n",
            k.api_version,
            k.kind,
            if k.namespaced { "namespaced" } else { "cluster" },
            if k.stateful { "yes" } else { "" },
            prune,
            if k.health.is_some() { "CEL" } else { "" },
            needs.join("; "),
        ));
    }
    out
}

/// The CEL health checks of a set of kinds: one per kind that has one, ordered by kind and
/// group.
pub fn health_checks<'k>(kinds: impl IntoIterator<Item = &'k Kind>) -> Vec<(&'k Kind, Health)> {
    let mut found: Vec<(&Kind, Health)> = kinds
        .into_iter()
        .filter_map(|k| k.health.map(|h| (k, h)))
        .collect();
    found.sort_by_key(|(k, _)| (k.kind, k.group()));
    found.dedup_by_key(|(k, _)| (k.kind, k.group()));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_row_is_one_api_version_and_kind() {
        let mut seen = BTreeSet::new();
        for k in ALL {
            assert!(seen.insert((k.api_version, k.kind)), "{k} twice");
            assert_eq!(lookup(k.api_version, k.kind), Some(*k));
            assert!(!k.kind.is_empty() && !k.api_version.is_empty());
        }
    }

    #[test]
    fn kinds_are_found_by_group_whatever_the_version() {
        assert_eq!(
            in_group("postgresql.cnpg.io", "Cluster"),
            Some(&CNPG_CLUSTER_KIND)
        );
        assert_eq!(
            in_group("apps.kubeblocks.io", "Cluster"),
            Some(&KUBEBLOCKS_CLUSTER)
        );
        assert_eq!(in_group("", "Secret"), Some(&SECRET));
        assert_eq!(lookup("postgresql.cnpg.io/v2", "Cluster"), None);
        assert_eq!(CNPG_CLUSTER_KIND.group(), "postgresql.cnpg.io");
        assert_eq!(NAMESPACE.group(), "");
        assert_eq!(NAMESPACE.version(), "v1");
        assert_eq!(HELM_RELEASE.version(), "v2");
    }

    #[test]
    fn health_checks_are_one_per_kind_in_kind_then_group_order() {
        let checks = health_checks([
            &HELM_RELEASE,
            &CNPG_CLUSTER_KIND,
            &DEPLOYMENT,
            &KUBEBLOCKS_CLUSTER,
            &HELM_RELEASE,
            &KUBEBLOCKS_CLUSTER_DEFINITION,
        ]);
        let names: Vec<String> = checks
            .iter()
            .map(|(k, _)| format!("{}.{}", k.kind, k.group()))
            .collect();
        assert_eq!(
            names,
            [
                "Cluster.apps.kubeblocks.io",
                "Cluster.postgresql.cnpg.io",
                "ClusterDefinition.apps.kubeblocks.io",
                "HelmRelease.helm.toolkit.fluxcd.io"
            ]
        );
        assert_eq!(checks[3].1.failed, Some(STALLED));
    }

    #[test]
    fn prune_protection_follows_the_row() {
        assert_eq!(
            CNPG_CLUSTER_KIND
                .prune_labels(true, false)
                .get(PRUNE_DISABLED.0)
                .map(String::as_str),
            Some("disabled")
        );
        assert!(CNPG_CLUSTER_KIND.prune_labels(false, true).is_empty());
        assert!(EXTERNAL_SECRET_KIND.prune_labels(true, false).is_empty());
        assert!(!EXTERNAL_SECRET_KIND.prune_labels(true, true).is_empty());
        assert!(DEPLOYMENT.prune_labels(true, true).is_empty());
    }

    #[test]
    fn data_services_say_what_their_pods_need() {
        let cnpg = CNPG_CLUSTER_KIND.network.unwrap();
        assert_eq!(cnpg.from_operator, Some(&[8000, 5432][..]));
        assert_eq!(cnpg.pod_label, Some("cnpg.io/cluster"));
        assert_eq!(KUBEBLOCKS_CLUSTER.network.unwrap().from_operator, Some(&[][..]));
        assert_eq!(CNPG_POOLER.network.unwrap().from_operator, None);
        assert_eq!(CNPG_CLUSTER_KIND.operator, Some(Operator::Cnpg));
        assert_eq!(CNPG_OBJECT_STORE.operator, Some(Operator::BarmanCloud));
        assert!(ALL.iter().filter(|k| k.database).all(|k| k.stateful));
        let dragonfly = DRAGONFLY_KIND.network.unwrap();
        assert_eq!(dragonfly.from_operator, Some(&[9999][..]));
        assert!(!dragonfly.api_server);
        assert!(CNPG_POOLER.network.unwrap().api_server);
        assert_eq!(CNPG_POOLER.network.unwrap().peers, None);
        assert_eq!(DRAGONFLY_KIND.operator, Some(Operator::Dragonfly));
        assert_eq!(VOLSYNC_REPLICATION_SOURCE.prune, Prune::Kept);
    }

    #[test]
    fn operator_kinds_say_from_which_release_they_work() {
        assert_eq!(CNPG_POOLER.since.map(|s| s.version), Some("1.30.0"));
        assert_eq!(CNPG_DATABASE.since.map(|s| s.version), Some("1.25.0"));
        assert!(
            [&VM_RULE, &VM_SERVICE_SCRAPE, &VM_POD_SCRAPE]
                .iter()
                .all(|k| k.since.map(|s| s.version) == Some("0.74.0"))
        );
        assert_eq!(HTTP_ROUTE.since.map(|s| s.project), Some("Gateway API"));
        assert_eq!(
            DRAGONFLY_KIND.since.map(|s| (s.project, s.version)),
            Some((Operator::Dragonfly.title(), "1.2.0"))
        );
        for volsync in [&VOLSYNC_REPLICATION_SOURCE, &VOLSYNC_REPLICATION_DESTINATION] {
            assert_eq!(
                volsync.since.map(|s| (s.project, s.version)),
                Some((Operator::Volsync.title(), "0.9.0"))
            );
        }
        let table = markdown();
        assert_eq!(table.lines().filter(|l| l.starts_with("| `")).count(), ALL.len());
        assert!(table.contains("CloudNative-PG from 1.30.0"));
    }
}
