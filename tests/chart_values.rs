//! Chart values checked offline against the chart's own files, vendored beside the spec
//! (docs/chart-values.md): keys its `values.yaml` lacks are warnings, values its
//! `values.schema.json` refuses are errors, each at its line; the files are inputs of the
//! build (`check` notices a change); `gitopsc charts vendor` fills the folder from an archive.
//! Every chart here is a small one written for the tests.

mod common;

use common::{gitopsc_in, s};
use std::path::{Path, PathBuf};

/// A registry chart written for the tests: its values (with Harbor's `redis.external` keys),
/// its schema (types, an enum, a closed mapping through a `$ref`, a required value without a
/// default) and its `Chart.yaml` (a dependency under an alias).
const REGISTRY_VALUES: &str = include_str!("fixtures/chart-values/charts/registry/1.2.0/values.yaml");
const REGISTRY_SCHEMA: &str = include_str!("fixtures/chart-values/charts/registry/1.2.0/values.schema.json");
const REGISTRY_CHART: &str = include_str!("fixtures/chart-values/charts/registry/1.2.0/Chart.yaml");

/// What a user sees for each kind of mistake, rendered.
#[test]
fn the_diagnostics_read_well() {
    let run = common::gitopsc(&["validate", "tests/fixtures/chart-values/mistakes.yaml"]).expect(2);
    insta::assert_snapshot!(run.stderr);
}

/// A spec folder in a temporary directory.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    /// A lab whose spec has one app of chart `chart` `version`, with `helm` (indented YAML
    /// lines below `helm:`, after chart, version and source).
    fn new(chart: &str, version: &str, helm: &str) -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
        };
        let spec = format!(
            "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: lab\nsources:\n  helm:\n    - name: example\n      url: https://charts.example.com\napps:\n  - name: app\n    helm:\n      chart: {chart}\n      version: {version}\n      source: example\n{helm}"
        );
        std::fs::write(lab.spec(), spec).unwrap();
        lab
    }

    /// The registry chart 1.2.0 vendored in `charts/`, app values `values` (YAML lines
    /// indented for `values:`).
    fn registry(values: &str) -> Lab {
        let lab = Lab::new("registry", "1.2.0", &format!("      values:\n{values}"));
        lab.vendor(
            "charts/registry/1.2.0",
            &[
                ("values.yaml", REGISTRY_VALUES),
                ("values.schema.json", REGISTRY_SCHEMA),
                ("Chart.yaml", REGISTRY_CHART),
            ],
        );
        lab
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn spec(&self) -> PathBuf {
        self.path().join("cluster.yaml")
    }

    /// Writes chart files into `folder` (relative to the spec's).
    fn vendor(&self, folder: &str, files: &[(&str, &str)]) {
        let dir = self.path().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    /// Every diagnostic of the spec, each with the text it points at.
    fn found(&self) -> Vec<Found> {
        let (diagnostics, text) = match gitopsc::check_spec(&self.spec()) {
            Ok(c) => (c.warnings, c.source.text.to_string()),
            Err(f) => (f.diagnostics, f.source.unwrap().text.to_string()),
        };
        diagnostics
            .into_iter()
            .map(|d| {
                let span = d.span.expect("every chart-values diagnostic has a place");
                Found {
                    error: d.is_error(),
                    at: text[span.start..span.end].to_string(),
                    line: text[..span.start].lines().count()
                        + usize::from(text[..span.start].ends_with('\n')),
                    message: d.message,
                    help: d.help.unwrap_or_default(),
                }
            })
            // The chart's Pod Security note comes with every chart gitopsc does not know.
            .filter(|f| !f.message.contains("podSecurity"))
            .collect()
    }
}

/// A diagnostic, with the spec's text under its span and that span's 1-based line.
#[derive(Debug)]
struct Found {
    error: bool,
    at: String,
    line: usize,
    message: String,
    help: String,
}

/// The one diagnostic whose message contains `needle`.
#[track_caller]
fn one<'f>(found: &'f [Found], needle: &str) -> &'f Found {
    let hits: Vec<&Found> = found.iter().filter(|f| f.message.contains(needle)).collect();
    assert_eq!(
        hits.len(),
        1,
        "one diagnostic with `{needle}` expected in {found:#?}"
    );
    hits[0]
}

#[test]
fn a_misspelt_key_is_a_warning_at_its_line_with_the_key_it_meant() {
    let lab = Lab::registry(
        "        redis:\n          external:\n            addr: redis:6379\n            trivyAdapterDatabaseIndex: \"5\"\n        auth: {secretName: s}\n",
    );
    let found = lab.found();
    assert_eq!(found.len(), 1, "{found:#?}");
    let typo = &found[0];
    assert!(!typo.error);
    assert_eq!(typo.at, "trivyAdapterDatabaseIndex");
    assert_eq!(typo.line, 19);
    assert_eq!(
        typo.message,
        "`redis.external.trivyAdapterDatabaseIndex` is not a value of chart `registry` 1.2.0"
    );
    assert!(
        typo.help.starts_with("did you mean `trivyAdapterIndex`?"),
        "{}",
        typo.help
    );
    assert!(
        typo.help.contains("charts/registry/1.2.0/values.yaml"),
        "{}",
        typo.help
    );
    // The same on the command line: valid (a warning), at the spec's line.
    let run = gitopsc_in(lab.path(), &["validate", "cluster.yaml"]).expect(0);
    assert!(run.stderr.contains("cluster.yaml:19:13"), "{}", run.stderr);
}

#[test]
fn free_form_maps_lists_globals_and_dependencies_take_any_key() {
    let lab = Lab::registry(concat!(
        "        auth: {secretName: registry-auth}\n",
        "        global: {imageRegistry: mirror.example.com}\n",
        "        cache: {architecture: standalone}\n",
        "        podAnnotations: {team: platform}\n",
        "        nodeSelector: {disk: ssd}\n",
        "        resources: {limits: {memory: 1Gi}}\n",
        "        tolerations: [{key: dedicated, effect: NoSchedule}]\n",
        "        service:\n          annotations:\n            example.com/team: platform\n",
        "        extraEnv: [{name: A, value: b}]\n",
        "        ingress:\n          tls: [{secretName: x}]\n          hosts:\n            - host: r.example.com\n              paths: [/]\n            - host: s.example.com\n              pahts: [/]\n",
    ));
    let found = lab.found();
    assert_eq!(found.len(), 1, "{found:#?}");
    let item = one(&found, "ingress.hosts[1].pahts");
    assert_eq!((item.at.as_str(), item.line, item.error), ("pahts", 33, false));
    assert!(item.help.starts_with("did you mean `paths`?"), "{}", item.help);
}

#[test]
fn values_the_schema_refuses_are_errors_at_the_value() {
    let lab = Lab::registry(concat!(
        "        replicaCount: three\n",
        "        logLevel: debgu\n",
        "        image: {repository: example/registry, tga: v1}\n",
        "        auth: {}\n",
    ));
    let found = lab.found();
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found.iter().all(|f| f.error), "{found:#?}");
    let count = one(&found, "refuses `replicaCount`");
    assert_eq!((count.at.as_str(), count.line), ("three", 16));
    assert!(
        count.message.ends_with("\"three\" is not of type \"integer\""),
        "{}",
        count.message
    );
    let level = one(&found, "refuses `logLevel`");
    assert_eq!(level.at, "debgu");
    assert!(
        level
            .message
            .ends_with("`debgu` is not one of `debug`, `info`, `warn`, `error`")
    );
    assert!(level.help.starts_with("did you mean `debug`?"), "{}", level.help);
    // A closed mapping (through a `$ref`): an error with the key it meant, and no warning too.
    let key = one(&found, "has no value `image.tga`");
    assert_eq!((key.at.as_str(), key.line), ("tga", 18));
    assert!(key.help.starts_with("did you mean `tag`?"), "{}", key.help);
    // A required value missing below a mapping the spec writes: at that mapping.
    let required = one(&found, "requires `auth.secretName`");
    assert_eq!((required.at.as_str(), required.line), ("auth", 19));
    let run = gitopsc_in(lab.path(), &["validate", "cluster.yaml"]).expect(2);
    assert!(run.stderr.contains("cluster.yaml:16:23"), "{}", run.stderr);
}

#[test]
fn a_required_value_nobody_sets_is_said_at_the_chart() {
    let lab = Lab::registry("        replicaCount: 2\n");
    let found = lab.found();
    let required = one(&found, "requires `auth`");
    assert_eq!(
        (required.at.as_str(), required.line, required.error),
        ("values", 15, true)
    );
    assert!(
        required.help.starts_with("set `helm.values.auth`"),
        "{}",
        required.help
    );
    // Without any values: at the chart's line.
    let lab = Lab::new("registry", "1.2.0", "");
    lab.vendor(
        "charts/registry/1.2.0",
        &[
            ("values.yaml", REGISTRY_VALUES),
            ("values.schema.json", REGISTRY_SCHEMA),
        ],
    );
    let found = lab.found();
    let required = one(&found, "requires `auth`");
    assert_eq!((required.at.as_str(), required.line), ("registry", 12));
}

#[test]
fn what_values_from_may_supply_is_not_reported_missing() {
    let from = |target: &str| {
        format!(
            "      values:\n        replicaCount: 2\n      valuesFrom:\n        - kind: Secret\n          name: registry-values\n          external: true\n{target}"
        )
    };
    let with = |helm: String| {
        let lab = Lab::new("registry", "1.2.0", &helm);
        lab.vendor(
            "charts/registry/1.2.0",
            &[
                ("values.yaml", REGISTRY_VALUES),
                ("values.schema.json", REGISTRY_SCHEMA),
            ],
        );
        lab.found()
    };
    // A whole values document may hold anything: nothing is missing.
    let found = with(from(""));
    assert!(
        found.iter().all(|f| !f.message.contains("requires")),
        "{found:#?}"
    );
    // A `targetPath` supplies what is at or below it.
    let found = with(from("          targetPath: auth.secretName\n"));
    assert!(
        found.iter().all(|f| !f.message.contains("requires")),
        "{found:#?}"
    );
    let found = with(from("          targetPath: auth\n"));
    assert!(
        found.iter().all(|f| !f.message.contains("requires")),
        "{found:#?}"
    );
    // Elsewhere, it does not.
    let found = with(from("          targetPath: image.tag\n"));
    one(&found, "requires `auth`");
}

#[test]
fn a_value_holding_a_reference_is_left_to_resolution() {
    let lab = Lab::registry("        auth: {secretName: registry}\n        logLevel: \"((namespace))\"\n");
    assert!(lab.found().is_empty(), "{:#?}", lab.found());
}

#[test]
fn a_schema_that_refers_elsewhere_is_an_error_and_nothing_is_fetched() {
    let lab = Lab::new("registry", "1.2.0", "      values: {replicaCount: 2}\n");
    lab.vendor(
        "charts/registry/1.2.0",
        &[
            ("values.yaml", "replicaCount: 1\n"),
            (
                "values.schema.json",
                r#"{"properties": {"replicaCount": {"$ref": "https://schemas.example.invalid/count.json"}}}"#,
            ),
        ],
    );
    let found = lab.found();
    assert_eq!(found.len(), 1, "{found:#?}");
    let error = &found[0];
    assert!(error.error);
    assert_eq!((error.at.as_str(), error.line), ("registry", 12));
    assert!(
        error
            .message
            .starts_with("cannot use `charts/registry/1.2.0/values.schema.json`"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("gitopsc checks offline"),
        "{}",
        error.message
    );
    assert!(
        error.help.starts_with("gitopsc fetches nothing"),
        "{}",
        error.help
    );
}

#[test]
fn broken_vendored_files_are_errors_that_name_them() {
    let lab = Lab::new("registry", "1.2.0", "      values: {replicaCount: 2}\n");
    lab.vendor(
        "charts/registry/1.2.0",
        &[
            ("values.yaml", "replicaCount: [\n"),
            ("values.schema.json", "{not json"),
        ],
    );
    let found = lab.found();
    assert_eq!(found.len(), 2, "{found:#?}");
    one(&found, "cannot use `charts/registry/1.2.0/values.yaml`");
    one(
        &found,
        "cannot use `charts/registry/1.2.0/values.schema.json`: it is not JSON",
    );
}

#[test]
fn a_version_not_vendored_is_said_and_not_checked() {
    let lab = Lab::new("registry", "1.3.0", "      values: {replicaCont: 2}\n");
    lab.vendor("charts/registry/1.2.0", &[("values.yaml", REGISTRY_VALUES)]);
    let found = lab.found();
    assert_eq!(found.len(), 1, "{found:#?}");
    let note = &found[0];
    assert_eq!((note.at.as_str(), note.error), ("1.3.0", false));
    assert_eq!(
        note.message,
        "`charts/registry/` holds no version `1.3.0`: the chart values are not checked"
    );
    assert!(
        note.help.contains("gitopsc charts vendor registry-1.3.0.tgz"),
        "{}",
        note.help
    );
    assert!(note.help.ends_with("the folder holds `1.2.0`"), "{}", note.help);
    // Another chart's folder says nothing about this one.
    let lab = Lab::new("other", "1.0.0", "      values: {replicaCont: 2}\n");
    lab.vendor("charts/registry/1.2.0", &[("values.yaml", REGISTRY_VALUES)]);
    assert!(lab.found().is_empty());
}

#[test]
fn charts_dir_names_the_folder_relative_to_the_spec() {
    let lab = Lab::new("registry", "1.2.0", "      values: {replicaCont: 2}\n");
    let text = std::fs::read_to_string(lab.spec()).unwrap();
    let named = text.replace("sources:", "defaults:\n  chartsDir: ../shared/charts\nsources:");
    let spec_dir = lab.path().join("clusters/lab");
    std::fs::create_dir_all(&spec_dir).unwrap();
    std::fs::write(spec_dir.join("cluster.yaml"), &named).unwrap();
    std::fs::remove_file(lab.spec()).unwrap();
    lab.vendor(
        "clusters/shared/charts/registry/1.2.0",
        &[("values.yaml", REGISTRY_VALUES)],
    );
    // Beside the spec, the default folder is not read when the spec names another.
    lab.vendor(
        "clusters/lab/charts/registry/1.2.0",
        &[("values.yaml", "other: 1\n")],
    );
    let run = gitopsc_in(lab.path(), &["validate", "clusters/lab/cluster.yaml"]).expect(0);
    assert!(
        run.stderr
            .contains("`replicaCont` is not a value of chart `registry` 1.2.0"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `replicaCount`?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(../shared/charts/registry/1.2.0/"),
        "{}",
        run.stderr
    );
    let absolute = named.replace("../shared/charts", "/srv/charts");
    std::fs::write(spec_dir.join("cluster.yaml"), absolute).unwrap();
    let run = gitopsc_in(lab.path(), &["validate", "clusters/lab/cluster.yaml"]).expect(2);
    assert!(
        run.stderr
            .contains("`chartsDir` must be a folder relative to the spec's"),
        "{}",
        run.stderr
    );
}

#[test]
fn warnings_show_in_every_command_and_check_notices_changed_chart_files() {
    let lab = Lab::registry("        auth: {secretName: s}\n        replicaCont: 2\n");
    let warned = |stderr: &str| stderr.contains("`replicaCont` is not a value of chart `registry` 1.2.0");
    let dir = lab.path();
    let run = gitopsc_in(dir, &["validate", "cluster.yaml"]).expect(0);
    assert!(warned(&run.stderr), "validate: {}", run.stderr);
    let run = gitopsc_in(dir, &["diff", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(warned(&run.stderr), "diff: {}", run.stderr);
    let run = gitopsc_in(dir, &["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(warned(&run.stderr), "build: {}", run.stderr);
    let lock = std::fs::read_to_string(dir.join("out/gitopsc.lock")).unwrap();
    assert!(lock.contains("\"charts\": {\n    \"dir\": \"charts\""), "{lock}");
    let run = gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(warned(&run.stderr), "check: {}", run.stderr);
    let run = gitopsc_in(dir, &["diff", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(warned(&run.stderr), "diff: {}", run.stderr);

    // A schema that now refuses the values (the chart's default, which the misspelt key
    // leaves in place): `check` validates again, though the spec and the tree are unchanged.
    let schema = dir.join("charts/registry/1.2.0/values.schema.json");
    std::fs::write(
        &schema,
        REGISTRY_SCHEMA.replace("\"minimum\": 1", "\"minimum\": 3"),
    )
    .unwrap();
    let run = gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out"]).expect(2);
    assert!(
        run.stderr
            .contains("break its values.schema.json at `replicaCount`: 1 is less than the minimum of 3"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cluster.yaml:12:14"),
        "at `helm.chart`: {}",
        run.stderr
    );

    // values.yaml that now has the key: the warning goes, the tree is still current, and
    // `build` stamps the new files so the next `check` needs no rendering.
    std::fs::write(&schema, REGISTRY_SCHEMA).unwrap();
    let values = dir.join("charts/registry/1.2.0/values.yaml");
    std::fs::write(&values, format!("{REGISTRY_VALUES}replicaCont: 1\n")).unwrap();
    let run = gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(!warned(&run.stderr), "check: {}", run.stderr);
    assert!(run.stdout.contains("is up to date"), "{}", run.stdout);
    gitopsc_in(dir, &["build", "cluster.yaml", "--out", "out"]).expect(0);
    let run = gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(!warned(&run.stderr), "check: {}", run.stderr);

    // A chart version vendored later counts too: the note that it is missing goes.
    std::fs::remove_dir_all(dir.join("charts/registry/1.2.0")).unwrap();
    lab.vendor("charts/registry/1.1.0", &[("values.yaml", REGISTRY_VALUES)]);
    let run = gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(run.stderr.contains("holds no version `1.2.0`"), "{}", run.stderr);
    gitopsc_in(dir, &["build", "cluster.yaml", "--out", "out"]).expect(0);
    lab.vendor(
        "charts/registry/1.2.0",
        &[
            ("values.yaml", REGISTRY_VALUES),
            ("values.schema.json", REGISTRY_SCHEMA),
        ],
    );
    let run = gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(!run.stderr.contains("holds no version"), "{}", run.stderr);
    assert!(warned(&run.stderr), "check: {}", run.stderr);
}

/// The Harbor chart's values as far as these tests need them (its `redis.external` keys
/// as in goharbor/harbor-helm's values.yaml; `harborDatabaseIndex` is not there).
const HARBOR_VALUES: &str = r#"redis:
  type: internal
  external:
    addr: "192.168.0.2:6379"
    sentinelMasterSet: ""
    coreDatabaseIndex: "0"
    jobserviceDatabaseIndex: "1"
    registryDatabaseIndex: "2"
    trivyAdapterIndex: "5"
    username: ""
    password: ""
    existingSecret: ""
core:
  replicas: 1
"#;

#[test]
fn gitopsc_s_own_table_of_harbor_and_the_vendored_values_agree() {
    let harbor = |version: &str| {
        let lab = Lab::new(
            "harbor",
            version,
            "      values:\n        core: {replcas: 2}\n        redis:\n          external:\n            harborDatabaseIndex: \"0\"\n            trivyAdapterDatabaseIndex: \"5\"\n",
        );
        lab.vendor(
            &format!("charts/harbor/{version}"),
            &[("values.yaml", HARBOR_VALUES)],
        );
        lab.found()
    };
    // A version the table covers: the table decides below `redis.external` (an error: it
    // knows the templates), the vendored values elsewhere; nothing is said twice.
    let found = harbor("1.18.0");
    assert_eq!(found.len(), 2, "{found:#?}");
    let typo = one(&found, "trivyAdapterDatabaseIndex");
    assert!(typo.error);
    assert_eq!(
        typo.message,
        "the harbor chart 1.18.0 reads no `redis.external.trivyAdapterDatabaseIndex`"
    );
    let core = one(&found, "core.replcas");
    assert!(!core.error && core.help.starts_with("did you mean `replicas`?"));
    // A later version: the vendored values decide, and the keys only the templates read
    // (in the table) still count.
    let found = harbor("1.20.0");
    assert_eq!(found.len(), 2, "{found:#?}");
    let typo = one(&found, "trivyAdapterDatabaseIndex");
    assert!(!typo.error);
    assert!(
        typo.help.starts_with("did you mean `trivyAdapterIndex`?"),
        "{}",
        typo.help
    );
    one(&found, "core.replcas");
}

mod vendor {
    use super::*;
    use std::io::Write;

    /// A gzipped tar of `entries` (path, bytes), as `helm package` lays a chart out.
    fn archive(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, text) in entries {
            let mut header = tar::Header::new_gnu();
            // Written into the header as is: `set_path` would refuse the hostile names.
            header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            builder.append(&header, text.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    const CHART: &str = "apiVersion: v2\nname: registry\nversion: 1.2.0\n";

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        path
    }

    #[test]
    fn an_archive_s_values_files_are_vendored_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let tgz = archive(&[
            ("registry/Chart.yaml", CHART),
            ("registry/values.yaml", REGISTRY_VALUES),
            ("registry/values.schema.json", REGISTRY_SCHEMA),
            ("registry/templates/deployment.yaml", "kind: Deployment\n"),
            ("registry/charts/redis/values.yaml", "sub: 1\n"),
        ]);
        write(dir.path(), "registry-1.2.0.tgz", &tgz);
        let run = gitopsc_in(dir.path(), &["charts", "vendor", "registry-1.2.0.tgz"]).expect(0);
        assert_eq!(
            run.stdout,
            "charts/registry/1.2.0/Chart.yaml: written\ncharts/registry/1.2.0/values.schema.json: written\ncharts/registry/1.2.0/values.yaml: written\n"
        );
        let tree = common::read_tree(&dir.path().join("charts"));
        assert_eq!(
            tree.keys().collect::<Vec<_>>(),
            [
                "registry/1.2.0/Chart.yaml",
                "registry/1.2.0/values.schema.json",
                "registry/1.2.0/values.yaml"
            ]
        );
        assert_eq!(tree["registry/1.2.0/values.yaml"], REGISTRY_VALUES.as_bytes());
        let run = gitopsc_in(dir.path(), &["charts", "vendor", "registry-1.2.0.tgz"]).expect(0);
        assert!(
            run.stdout.lines().all(|l| l.ends_with(": unchanged")),
            "{}",
            run.stdout
        );

        // Another archive of the same version: refused whole, then replaced with --force.
        let other = archive(&[
            ("registry/Chart.yaml", CHART),
            ("registry/values.yaml", "replicaCount: 2\n"),
        ]);
        write(dir.path(), "other.tgz", &other);
        let run = gitopsc_in(dir.path(), &["charts", "vendor", "other.tgz"]).expect(2);
        assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
        assert!(run.stderr.contains("values.yaml`"), "{}", run.stderr);
        assert!(run.stderr.contains("values.schema.json`"), "{}", run.stderr);
        assert_eq!(common::read_tree(&dir.path().join("charts")), tree);
        let run = gitopsc_in(dir.path(), &["charts", "vendor", "other.tgz", "--force"]).expect(0);
        assert!(
            run.stdout
                .contains("values.schema.json: removed (the archive has none)"),
            "{}",
            run.stdout
        );
        let tree = common::read_tree(&dir.path().join("charts"));
        assert_eq!(tree["registry/1.2.0/values.yaml"], b"replicaCount: 2\n");
        assert!(!tree.contains_key("registry/1.2.0/values.schema.json"));
    }

    #[test]
    fn the_folder_can_be_named_and_the_spec_reads_it() {
        let lab = Lab::new("registry", "1.2.0", "      values: {replicaCont: 2}\n");
        let tgz = archive(&[
            ("registry/Chart.yaml", CHART),
            ("registry/values.yaml", REGISTRY_VALUES),
        ]);
        let path = write(lab.path(), "registry-1.2.0.tgz", &tgz);
        gitopsc_in(
            Path::new("/"),
            &[
                "charts",
                "vendor",
                s(&path),
                "--charts-dir",
                s(&lab.path().join("charts")),
            ],
        )
        .expect(0);
        one(&lab.found(), "`replicaCont` is not a value");
    }

    #[test]
    fn hostile_archives_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, Vec<u8>, &str)] = &[
            (
                "climbing names are not the chart's files",
                archive(&[("../Chart.yaml", CHART), ("registry/../values.yaml", "a: 1\n")]),
                "holds no `<chart>/Chart.yaml`",
            ),
            (
                "a version that climbs",
                archive(&[
                    ("registry/Chart.yaml", "name: registry\nversion: ../../etc\n"),
                    ("registry/values.yaml", "a: 1\n"),
                ]),
                "the chart's version `../../etc` cannot name a folder",
            ),
            (
                "two charts",
                archive(&[("registry/Chart.yaml", CHART), ("other/values.yaml", "a: 1\n")]),
                "more than one chart",
            ),
            (
                "no values",
                archive(&[("registry/Chart.yaml", CHART)]),
                "neither a `values.yaml` nor a `values.schema.json`",
            ),
            (
                "not gzip",
                b"registry/Chart.yaml".to_vec(),
                "cannot read the chart archive",
            ),
        ];
        for (what, bytes, expected) in cases {
            let path = write(dir.path(), "chart.tgz", bytes);
            let run = gitopsc_in(dir.path(), &["charts", "vendor", s(&path)]).expect(2);
            assert!(run.stderr.contains(expected), "{what}: {}", run.stderr);
            assert!(
                !dir.path().join("charts").exists(),
                "{what}: something was written"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn nothing_is_written_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("charts")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("charts/registry")).unwrap();
        let tgz = archive(&[("registry/Chart.yaml", CHART), ("registry/values.yaml", "a: 1\n")]);
        write(dir.path(), "registry.tgz", &tgz);
        let run = gitopsc_in(dir.path(), &["charts", "vendor", "registry.tgz"]).expect(2);
        assert!(
            run.stderr.contains("is not a folder (a symlink or a file)"),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}

mod staged {
    use super::*;
    use common::git;

    #[test]
    fn check_staged_and_diff_base_read_the_vendored_charts_out_of_git() {
        if !common::tool_runs("git", &["--version"]) {
            common::skipped("git is not installed");
            return;
        }
        let lab = Lab::registry("        auth: {secretName: s}\n        replicaCount: 2\n");
        let dir = lab.path();
        git(dir, &["init", "-q", "-b", "main"]);
        gitopsc_in(dir, &["build", "cluster.yaml", "--out", "out"]).expect(0);
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-qm", "first"]);
        gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out", "--staged"]).expect(0);
        // A schema change staged: the staged schema is the one checked.
        let schema = dir.join("charts/registry/1.2.0/values.schema.json");
        std::fs::write(
            &schema,
            REGISTRY_SCHEMA.replace("\"minimum\": 1", "\"minimum\": 3"),
        )
        .unwrap();
        git(dir, &["add", "-A"]);
        let run = gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out", "--staged"]).expect(2);
        assert!(
            run.stderr.contains("2 is less than the minimum of 3"),
            "{}",
            run.stderr
        );
        // Unstaged, it is named as what the commit would not hold.
        git(dir, &["reset", "-q"]);
        let run = gitopsc_in(dir, &["check", "cluster.yaml", "--out", "out", "--staged"]).expect(1);
        assert!(
            run.stdout.contains("charts/registry/1.2.0/values.schema.json"),
            "{}",
            run.stdout
        );
        // `diff --base` builds the base with the charts as they were: it passes.
        std::fs::write(&schema, REGISTRY_SCHEMA).unwrap();
        let text = std::fs::read_to_string(lab.spec()).unwrap();
        std::fs::write(lab.spec(), text.replace("replicaCount: 2", "replicaCount: 4")).unwrap();
        std::fs::write(
            &schema,
            REGISTRY_SCHEMA.replace("\"minimum\": 1", "\"minimum\": 3"),
        )
        .unwrap();
        let run = gitopsc_in(dir, &["diff", "cluster.yaml", "--base", "HEAD"]).expect(1);
        assert!(run.stdout.contains("replicaCount: 4"), "{}", run.stdout);
    }
}
