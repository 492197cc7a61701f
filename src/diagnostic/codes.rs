//! The error index: every diagnostic's stable code (`GSC0201`), its title, and its page
//! (the explanation, a minimal spec that produces it, and the fix) in `index/GSCnnnn.md`.
//!
//! Codes are stable: a code is never renumbered nor given to another kind of problem; a
//! retired code stays reserved. Ranges by domain:
//!
//! | range | domain |
//! |---|---|
//! | GSC01xx | reading the spec: the file, YAML |
//! | GSC02xx | the schema: fields, types, values |
//! | GSC03xx | names, references, dependencies, Flux, charts' values |
//! | GSC04xx | data services and their operators: PostgreSQL, Redis, KubeBlocks |
//! | GSC05xx | secrets and secret stores |
//! | GSC06xx | workloads, RBAC, network policies, monitoring, Pod Security |
//! | GSC07xx | the output tree, blueprints, git, the command line |
//! | GSC08xx | user manifests, patches, labels, `--schemas` |
//! | GSC09xx | internal errors (a bug of gitopsc) |
//! | GSC10xx | fleets: clusters, overrides, includes |

/// The domains of the code ranges, in order: (first two digits, what they cover).
pub const RANGES: &[(&str, &str)] = &[
    ("GSC01xx", "reading the spec: the file, YAML"),
    ("GSC02xx", "the schema: fields, types, values"),
    ("GSC03xx", "names, references, dependencies, Flux, charts' values"),
    (
        "GSC04xx",
        "data services and their operators: PostgreSQL, Redis, KubeBlocks",
    ),
    ("GSC05xx", "secrets and secret stores"),
    (
        "GSC06xx",
        "workloads, RBAC, network policies, monitoring, Pod Security",
    ),
    ("GSC07xx", "the output tree, blueprints, git, the command line"),
    ("GSC08xx", "user manifests, patches, labels, `--schemas`"),
    ("GSC09xx", "internal errors (a bug of gitopsc)"),
    ("GSC10xx", "fleets: clusters, overrides, includes"),
];

macro_rules! codes {
    ($( $name:ident = $code:literal, $title:literal; )*) => {
        /// A diagnostic's stable code: its kind, documented in the error index.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(
                #[doc = $title]
                $name,
            )*
        }

        impl Code {
            /// Every code, in the order of their numbers.
            pub const ALL: &[Code] = &[$(Code::$name),*];

            /// The code as printed: `GSC0201`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $code,)*
                }
            }

            /// A short title of the kind of problem.
            pub fn title(self) -> &'static str {
                match self {
                    $(Code::$name => $title,)*
                }
            }

            /// The index page: explanation, example and fix, in Markdown.
            pub fn page(self) -> &'static str {
                match self {
                    $(Code::$name => include_str!(concat!("index/", $code, ".md")),)*
                }
            }
        }
    };
}

codes! {
    SpecUnreadable = "GSC0101", "the spec cannot be read";
    NotUtf8 = "GSC0102", "the spec is not UTF-8";
    EmptySpec = "GSC0103", "the spec is empty";
    ForbiddenCharacter = "GSC0104", "a character YAML forbids or reads two ways";
    YamlVersion = "GSC0105", "a `%YAML` directive for another version than 1.2";
    NotAMapping = "GSC0106", "the spec is not a mapping";
    MultipleDocuments = "GSC0107", "more than one YAML document";
    YamlSyntax = "GSC0108", "invalid YAML";
    AnchorOrAlias = "GSC0109", "a YAML anchor or alias";
    YamlTag = "GSC0110", "a YAML tag";
    EmptyKeepScalar = "GSC0111", "a `|+` block scalar of empty lines";
    ControlCharacter = "GSC0112", "a DEL or C1 control character in a string";
    ComplexKey = "GSC0113", "a mapping key that is not a plain string";
    TooDeep = "GSC0114", "the spec is nested too deeply";
    DuplicateKey = "GSC0115", "a key given twice in one mapping";
    AmbiguousScalar = "GSC0116", "a plain scalar YAML 1.1 and 1.2 read differently";
    UnknownField = "GSC0201", "unknown field";
    MissingField = "GSC0202", "missing field";
    WrongType = "GSC0203", "a value of the wrong type";
    NotAllowed = "GSC0204", "a value not among the allowed ones";
    InvalidFormat = "GSC0205", "a value not in the expected format";
    InvalidValue = "GSC0206", "a value the schema refuses";
    PlaintextSecretField = "GSC0207", "a secret value written in a secret's definition";
    SchemaMismatch = "GSC0208", "the spec passed the schema but does not fit its types";
    DuplicateName = "GSC0301", "a name declared twice";
    UnknownDependency = "GSC0302", "a dependency on an unknown app";
    SelfDependency = "GSC0303", "an app that depends on itself";
    DependencyCycle = "GSC0304", "a dependency cycle";
    UnknownSource = "GSC0305", "a Helm source not declared";
    AppIsExternal = "GSC0306", "an app that is also an external Kustomization";
    FluxTooOld = "GSC0307", "a feature the declared Flux version lacks";
    OciVersionRange = "GSC0308", "a version range for an OCI chart";
    LiteralWithoutTarget = "GSC0309", "`literal: true` without `targetPath`";
    DefaultValuesKey = "GSC0310", "`valuesKey` left at `values.yaml` for a Secret value";
    RepoPathSegment = "GSC0311", "a `.` or `..` segment in `repoPath`";
    FolderNameTooLong = "GSC0312", "a group folder name too long for a filesystem";
    UnknownReference = "GSC0313", "an unknown `((reference))`";
    ReferenceWithoutDependency = "GSC0314", "a reference to an app not depended on";
    KustomizationNameClash = "GSC0315", "two Flux Kustomizations of one name";
    ReservedAppName = "GSC0316", "a reserved app name";
    FolderClash = "GSC0317", "two apps rendering into one folder";
    HelmTimeoutTooLong = "GSC0318", "a Helm timeout longer than its layer waits";
    UnknownChartKey = "GSC0319", "a value key the chart version does not read";
    UnknownChartKeyNewChart = "GSC0320", "a value key no known chart version reads";
    ValueSetByGitopsc = "GSC0321", "a chart value that gitopsc sets";
    ChartsDirNotRelative = "GSC0322", "a `chartsDir` that is not a relative folder";
    ChartVersionNotVendored = "GSC0323", "a chart version the charts folder does not hold";
    VendoredChartUnusable = "GSC0324", "a vendored chart file that cannot be used";
    ChartSchemaViolation = "GSC0325", "a value the chart's values.schema.json refuses";
    ChartSchemaUnknownKey = "GSC0326", "a key the chart's values.schema.json does not allow";
    ChartSchemaRequired = "GSC0327", "a value the chart's values.schema.json requires";
    ChartDefaultsBreakSchema = "GSC0328", "chart defaults that break the chart's own schema";
    ChartValuesUnknownKey = "GSC0329", "a key the chart's vendored values.yaml does not have";
    ImageAutomation = "GSC0330", "an image automation that cannot work as written";
    ReleasePolicy = "GSC0331", "release settings the remediation strategy does not read";
    OperatorSource = "GSC0401", "an operator declared without a usable source";
    UnknownOperatorSource = "GSC0402", "an operator's app or external Kustomization is unknown";
    OperatorNotDeclared = "GSC0403", "a data service whose operator is not declared";
    DataServiceVersion = "GSC0404", "a data service version missing or invalid";
    OperatorTooOld = "GSC0405", "a feature the declared CloudNative-PG version lacks";
    BackupSchedule = "GSC0406", "a backup schedule that is not six-field cron";
    SecretType = "GSC0407", "a secret of the wrong type for its use";
    ProviderField = "GSC0408", "a setting the data service's provider does not take";
    DatabaseTwice = "GSC0409", "a database listed twice";
    ExternalRedisAddress = "GSC0410", "an external Redis without an address";
    RedisIndexClash = "GSC0411", "two consumers on one Redis database";
    ReservedPostgresName = "GSC0412", "a reserved PostgreSQL database or role name";
    PostgresDatabaseExists = "GSC0413", "the application database `postgres`";
    ExtensionNotInImage = "GSC0414", "an extension the image does not ship";
    LegacyBackup = "GSC0415", "the deprecated in-tree backup";
    BarmanNotInImage = "GSC0416", "the in-tree backup with an image without barman-cloud";
    TimeoutShorterThanBootstrap = "GSC0417", "a layer timeout shorter than the database bootstrap";
    ChartUnusedDatabase = "GSC0418", "a database the chart does not use";
    ChartSentinelPassword = "GSC0419", "a Sentinel with a password the chart cannot use";
    UnknownRedisConsumer = "GSC0420", "a Redis consumer the chart does not have";
    RedisDatabaseNotZero = "GSC0421", "a Redis consumer that must use database 0";
    RedisPasswordUnquoted = "GSC0422", "a chart that writes the Redis password unquoted";
    PoolerInvalid = "GSC0423", "a pooler CloudNative-PG would refuse";
    ClusterSettings = "GSC0424", "CloudNative-PG cluster settings that contradict each other";
    RestoreInvalid = "GSC0425", "a restore or migration that cannot work as written";
    VolumeBackupInvalid = "GSC0426", "a volume backup that cannot work as written";
    DragonflyInvalid = "GSC0427", "a Dragonfly setting the operator refuses or ignores";
    DatabaseNamespaceNotAllowed = "GSC0428", "a database referenced from a namespace its policy refuses";
    ImageMarker = "GSC0460", "an image automation marker Flux would skip or misapply";
    UnknownSecret = "GSC0501", "a secret not among the app's `secrets`";
    SecretWithoutStore = "GSC0502", "a secret that names no store";
    UnknownSecretStore = "GSC0503", "a secret store not declared";
    SecretReadsNothing = "GSC0504", "a secret that reads nothing";
    DockerConfigRegistry = "GSC0505", "a dockerconfigjson secret without a registry";
    SecretMissingKey = "GSC0506", "a secret without a key its use needs";
    ClusterStoreNamespace = "GSC0507", "a ClusterSecretStore's service account without a namespace";
    PlaintextSecret = "GSC0508", "a secret in plain text";
    AllowPlaintextEntry = "GSC0509", "an `allowPlaintext` entry without reason or effect";
    SecretControlCharacter = "GSC0510", "a control character in a secret's path or key";
    UnknownSecretKey = "GSC0511", "a key the app's ExternalSecret does not produce";
    UnknownValuesFromSecret = "GSC0512", "a `valuesFrom` Secret nothing produces";
    UnknownSecretUse = "GSC0513", "a secret use the chart does not have";
    StoreProviders = "GSC0514", "a secret store with other than one provider";
    ObjectTwice = "GSC0601", "an object emitted twice";
    MonitorsWithoutLabels = "GSC0602", "monitors and rules without labels";
    PortZero = "GSC0603", "port 0";
    PodSecurityRefused = "GSC0604", "something the namespace's Pod Security level refuses";
    PodSecurityNotEnforced = "GSC0605", "a Pod Security level that is not enforced";
    DefaultDenyIsolates = "GSC0606", "a default deny that isolates other pods";
    WorkloadUnknownName = "GSC0607", "a workload reference to an unknown name";
    KindMismatch = "GSC0608", "a setting that does not fit the workload's kind";
    InvalidName = "GSC0609", "an invalid Kubernetes name, label or length";
    UnpinnedImage = "GSC0610", "an image without a fixed tag";
    InvalidResources = "GSC0611", "invalid resources or sizes";
    WorkloadDuplicate = "GSC0612", "a name, port, path or variable given twice in a workload";
    OneOfRequired = "GSC0613", "an entry that needs exactly one of its options";
    InvalidProbe = "GSC0614", "an invalid probe";
    SelectorLabel = "GSC0615", "a label that is part of the selector";
    RolloutStrategy = "GSC0616", "an invalid rollout strategy";
    Autoscaling = "GSC0617", "an invalid or contradicting autoscaler";
    DisruptionBudgetBlocks = "GSC0618", "a disruption budget that allows no disruption";
    NetworkRule = "GSC0619", "a network rule that cannot work as written";
    AlertRule = "GSC0620", "an invalid alert rule group";
    QuotaRefusesPods = "GSC0621", "a quota that refuses the namespace's pods";
    RbacRule = "GSC0622", "an invalid RBAC rule";
    RbacWildcard = "GSC0623", "a wildcard in an RBAC rule";
    UnknownMetricsPort = "GSC0624", "a chart whose metrics port gitopsc does not know";
    ApiServerEgress = "GSC0625", "API-server egress allowed as egress to any address";
    PrometheusNamespace = "GSC0626", "an isolated workload that Prometheus cannot reach";
    MonitorMisses = "GSC0627", "a monitor gitopsc writes for a chart that may miss its metrics";
    RouteBackend = "GSC0628", "a route backend that does not exist or does not serve the port";
    MonitorEndpoint = "GSC0629", "a monitor endpoint setting Prometheus refuses";
    JobSchedule = "GSC0630", "a CronJob without a schedule Kubernetes accepts";
    ServiceInvalid = "GSC0631", "a Service Kubernetes refuses";
    NetworkPeer = "GSC0640", "a network peer that selects nothing or mixes its forms";
    PeerCombine = "GSC0641", "a network peer that does not say how pods and namespaces combine";
    ChartPods = "GSC0642", "a chart policy or budget with no pods to select";
    ServiceTypeField = "GSC0650", "a Service field its type does not take";
    NodePort = "GSC0651", "a node port outside the range or taken twice";
    InitContainerProbe = "GSC0652", "a probe on an init container that runs to completion";
    Output = "GSC0701", "the output root cannot be read or written";
    BlueprintsNotDirectory = "GSC0702", "`--blueprints` is not a directory";
    BlueprintIgnored = "GSC0703", "a file in `--blueprints` that is not a blueprint";
    Blueprint = "GSC0704", "a blueprint that cannot be read, compiled or rendered";
    RenderedNotYaml = "GSC0705", "a rendered file that is not valid YAML";
    Git = "GSC0706", "a git operation failed";
    UnknownCode = "GSC0707", "an unknown code given to `gitopsc explain`";
    ObjectWrittenTwice = "GSC0708", "an object two places of the spec write";
    SchemasNotDirectory = "GSC0801", "`--schemas` that is not a folder";
    RenderedObjectNotYaml = "GSC0802", "a rendered object that does not read back for `--schemas`";
    SchemaViolation = "GSC0803", "an object its JSON schema refuses";
    SchemaUnusable = "GSC0804", "a JSON schema that cannot be used";
    SchemaMissing = "GSC0805", "objects no schema under `--schemas` covers";
    ManifestSubstitution = "GSC0806", "`${...}` in a user manifest, which nothing substitutes";
    ManifestRefused = "GSC0807", "a user manifest gitopsc refuses";
    PatchDoesNotApply = "GSC0808", "a patch that fails on the object it selects";
    PatchSelectsNothing = "GSC0809", "a patch that selects no object";
    ManifestEntry = "GSC0810", "a `manifests` entry without exactly one of `object` and `path`";
    ManifestUnreadable = "GSC0811", "a manifest file that cannot be read";
    PatchTarget = "GSC0812", "a patch without a target";
    PatchForm = "GSC0813", "a patch without exactly one of `json` and `merge`";
    ReservedAnnotation = "GSC0814", "an annotation that steers Flux";
    ReservedLabel = "GSC0815", "a label gitopsc sets and relies on";
    PatchOperation = "GSC0816", "an entry of a JSON patch that is not an RFC 6902 operation";
    Internal = "GSC0901", "an internal error";
    FleetAppUndefined = "GSC1001", "a cluster runs an app the fleet does not define";
    UnknownCluster = "GSC1002", "a cluster the fleet does not have";
    ClusterRepoPath = "GSC1003", "`repoPath` set on a cluster of a fleet";
    IncludeInFolder = "GSC1004", "`include` in a folder's `fleet.yaml`";
    IncludeFile = "GSC1005", "an `include` entry that names no usable file";
    NotAFleetPart = "GSC1006", "an included file that is not a `FleetPart`";
    AppNoClusterRuns = "GSC1007", "an app no cluster of the fleet runs";
    OwnedElsewhere = "GSC1008", "a tree or path another cluster's lock file owns";
    NotAFleet = "GSC1009", "a fleet's option or command given a cluster spec";
    AppNotRun = "GSC1010", "an app the cluster does not run";
    AgainstItself = "GSC1011", "`--against` naming the cluster it compares";
}

impl Code {
    /// The code of `text` (`GSC0201`, any case, or its number alone: `0201`).
    pub fn parse(text: &str) -> Option<Code> {
        let text = text.trim();
        let upper = text.to_ascii_uppercase();
        let full = if upper.starts_with("GSC") {
            upper
        } else {
            format!("GSC{upper}")
        };
        Code::ALL.iter().copied().find(|c| c.as_str() == full)
    }

    /// The example spec of the page: its first ```` ```yaml ```` block, when it has one.
    pub fn example(self) -> Option<&'static str> {
        let page = self.page();
        let start = page.find("```yaml\n")? + "```yaml\n".len();
        let len = page[start..].find("```")?;
        Some(&page[start..start + len])
    }

    /// `gitopsc explain CODE`: the code, its title and its page.
    pub fn explain(self) -> String {
        format!("{}: {}\n\n{}", self.as_str(), self.title(), self.page())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error index in Markdown (docs/error-index.md): the ranges, the stability rule, and
/// every code's page.
pub fn index_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated by `gitopsc explain --index`; a test fails when it is stale. -->\n\
         # Error index\n\n\
         Every error and warning gitopsc reports has a stable code, printed in its first line\n\
         (`error[GSC0201]: unknown field ...`) and in `--format json` output. \
         `gitopsc explain GSC0201` prints the code's page.\n\n\
         Codes are stable: a code is never renumbered nor given to another kind of problem, and a\n\
         retired code stays reserved. Scripts and tests may match on them; messages may improve.\n\n\
         | range | domain |\n|---|---|\n",
    );
    for (range, domain) in RANGES {
        out.push_str(&format!("| {range} | {domain} |\n"));
    }
    out.push_str("\n| code | title |\n|---|---|\n");
    for code in Code::ALL {
        let anchor = code.as_str().to_lowercase();
        // A `|` would end the table's cell, even in code.
        let title = code.title().replace('|', "\\|");
        out.push_str(&format!("| [{code}](#{anchor}) | {title} |\n"));
    }
    for code in Code::ALL {
        out.push_str(&format!("\n## {code}\n\n**{}**\n\n", code.title()));
        // The page's own headings go one level down.
        for line in code.page().lines() {
            if line.starts_with('#') {
                out.push('#');
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_in_a_documented_range() {
        let mut last = "";
        for code in Code::ALL {
            let s = code.as_str();
            assert!(
                s > last,
                "{s} after {last}: keep the table in the order of the codes"
            );
            last = s;
            assert!(
                RANGES.iter().any(|(r, _)| r[..5] == s[..5]),
                "{s} is in no documented range"
            );
            assert_eq!(Code::parse(s), Some(*code));
            assert_eq!(Code::parse(&s[3..].to_lowercase()), Some(*code));
        }
    }

    #[test]
    fn every_page_explains_and_says_the_fix() {
        for code in Code::ALL {
            let page = code.page();
            assert!(page.contains("\n## Example\n"), "{code}: no example section");
            assert!(page.contains("\n## Fix\n"), "{code}: no fix section");
            assert!(
                !page.starts_with('#'),
                "{code}: the page starts with the explanation"
            );
            assert!(
                page.ends_with('\n') && !page.ends_with("\n\n"),
                "{code}: one closing newline"
            );
        }
    }
}
