//! Several clusters in one output root: no build, check or diff of one cluster writes,
//! deletes or blocks another's files.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A cluster spec named `name` with one app.
fn cluster_spec(name: &str) -> String {
    format!(
        "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: {name}\n\
         sources:\n  helm:\n    - {{ name: podinfo, url: https://stefanprodan.github.io/podinfo }}\n\
         apps:\n  - name: podinfo\n    helm: {{ chart: podinfo, version: 6.7.1, source: podinfo }}\n"
    )
}

/// `gitopsc build SPEC --out out` in `dir`, refused (exit 2): what it says.
fn refused_build(dir: &Path, spec: &str) -> String {
    gitopsc_in(dir, &["--color", "never", "build", spec, "--out", "out"])
        .expect(2)
        .stderr
}

/// Every file below `dir` with its sha256.
fn hashes(dir: &Path) -> BTreeMap<String, String> {
    read_tree(dir)
        .into_iter()
        .map(|(path, bytes)| (path, gitopsc::emit::lock::sha256_hex(&bytes)))
        .collect()
}

#[test]
fn a_second_cluster_spec_never_deletes_the_first_ones_tree() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alpha.yaml"), cluster_spec("alpha")).unwrap();
    std::fs::write(dir.path().join("beta.yaml"), cluster_spec("beta")).unwrap();
    let out = dir.path().join("out");
    gitopsc_in(dir.path(), &["build", "alpha.yaml", "--out", "out"]).expect(0);
    let before = hashes(&out);
    assert!(
        before.keys().any(|p| p.starts_with("clusters/alpha/")),
        "{before:?}"
    );

    // Before, this build said "removed" and `clusters/alpha/` was gone, exit 0.
    for command in ["build", "check", "diff"] {
        let run = gitopsc_in(
            dir.path(),
            &["--color", "never", command, "beta.yaml", "--out", "out"],
        )
        .expect(2);
        assert!(
            run.stderr.contains("holds the tree of cluster `alpha`")
                && run.stderr.contains("this spec is cluster `beta`")
                && run.stderr.contains("its own `--out`"),
            "{command}: {}",
            run.stderr
        );
        assert_eq!(hashes(&out), before, "{command} touched cluster alpha's files");
    }

    // Its own output root is fine; a renamed cluster replaces its tree with --force.
    gitopsc_in(dir.path(), &["build", "beta.yaml", "--out", "other"]).expect(0);
    let forced = gitopsc_in(dir.path(), &["build", "beta.yaml", "--out", "out", "--force"]).expect(0);
    assert!(forced.stdout.contains("removed"), "{}", forced.stdout);
    let after = hashes(&out);
    assert!(
        !after.keys().any(|p| p.starts_with("clusters/alpha/")),
        "{after:?}"
    );
    assert_eq!(after, hashes(&dir.path().join("other")));
}

#[test]
fn fleet_schema_and_reference_are_current() {
    for (file, args) in [
        ("schemas/fleet.schema.json", vec!["schema", "--fleet"]),
        ("docs/fleet-reference.md", vec!["schema", "--fleet", "--markdown"]),
        ("schemas/fleet-part.schema.json", vec!["schema", "--fleet-part"]),
    ] {
        let printed = gitopsc(&args).expect(0).stdout;
        let text = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        assert!(
            text == printed,
            "{file} is stale; regenerate it with `cargo run -- {} > {file}`",
            args.join(" ")
        );
    }
    assert_eq!(
        std::fs::read_to_string(root().join("schemas/fleet.schema.json")).unwrap(),
        gitopsc::fleet::types::schema_text()
    );
}

#[test]
fn the_docs_list_exactly_the_lists_that_merge_by_name() {
    let docs = std::fs::read_to_string(root().join("docs/fleet.md")).unwrap();
    let start = docs
        .find("<!-- named lists -->")
        .expect("docs/fleet.md marks its list of named lists");
    let end = docs[start..].find("<!-- end -->").unwrap() + start;
    let listed: Vec<&str> = docs[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("- `")?.strip_suffix('`'))
        .collect();
    let named = gitopsc::fleet::merge::named_lists(gitopsc::spec::schema::schema());
    assert_eq!(listed, named, "docs/fleet.md: the lists that merge by name");
}

// ------------------------------------------------------------------------------------------
// Two clusters of a fleet in one output root

/// A folder holding `fleet.yaml` (tests/fleets/two-clusters.yaml); `out/` is its output root.
fn fleet_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/fleets/two-clusters.yaml"),
        dir.path().join("fleet.yaml"),
    )
    .unwrap();
    dir
}

/// Edits `fleet.yaml` in `dir`: `from` (found once) becomes `to`.
fn edit_fleet(dir: &Path, from: &str, to: &str) {
    let path = dir.join("fleet.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from:?}");
    std::fs::write(path, text.replace(from, to)).unwrap();
}

/// Every file of cluster `cluster` in `out` (its `clusters/` and `fleet/` folders, its lock
/// file included) with its hash.
fn cluster_files(out: &Path, cluster: &str) -> BTreeMap<String, String> {
    let (entry, own) = (format!("clusters/{cluster}/"), format!("fleet/{cluster}/"));
    hashes(out)
        .into_iter()
        .filter(|(p, _)| p.starts_with(&entry) || p.starts_with(&own))
        .collect()
}

#[test]
fn a_fleets_clusters_share_an_output_root_and_no_path() {
    let dir = fleet_dir();
    let run = gitopsc_in(dir.path(), &["build", "fleet.yaml", "--out", "out"]).expect(0);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("cluster `staging`: out: "),
        "{}",
        run.stdout
    );
    let out = dir.path().join("out");
    let all = hashes(&out);
    let (staging, production) = (cluster_files(&out, "staging"), cluster_files(&out, "production"));
    assert_eq!(
        staging.len() + production.len(),
        all.len(),
        "a file of no cluster: {all:?}"
    );
    for (cluster, files) in [("staging", &staging), ("production", &production)] {
        for path in [
            format!("clusters/{cluster}/gitopsc/kustomization.yaml"),
            format!("fleet/{cluster}/gitopsc.lock"),
            format!("fleet/{cluster}/workloads/web/helmrelease.yaml"),
            format!("fleet/{cluster}/workloads/api/helmrelease.yaml"),
        ] {
            assert!(files.contains_key(&path), "{path}: {files:?}");
        }
        // The lock file names its fleet and cluster, and lists exactly the cluster's files.
        let lock: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("fleet/{cluster}/gitopsc.lock"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (lock["fleet"].as_str(), lock["cluster"].as_str()),
            (Some("acme"), Some(cluster))
        );
        let listed: Vec<&String> = lock["files"].as_object().unwrap().keys().collect();
        let on_disk: Vec<&String> = files.keys().filter(|p| !p.ends_with("gitopsc.lock")).collect();
        assert_eq!(listed, on_disk);
    }
    // Flux applies each cluster's folders from its own place in the repository.
    let release = std::fs::read_to_string(out.join("clusters/production/gitopsc/web.yaml")).unwrap();
    assert!(
        release.contains("path: ./kubernetes/fleet/production/workloads/web"),
        "{release}"
    );
    // The override is there, the shared value too.
    let production_web =
        std::fs::read_to_string(out.join("fleet/production/workloads/web/helmrelease.yaml")).unwrap();
    assert!(production_web.contains("replicaCount: 3") && production_web.contains("message: hello"));
    assert!(production_web.contains("version: \"6.7.1\""), "{production_web}");
    let staging_web =
        std::fs::read_to_string(out.join("fleet/staging/workloads/web/helmrelease.yaml")).unwrap();
    assert!(staging_web.contains("version: \"6.7.2\"") && staging_web.contains("replicaCount: 1"));
    gitopsc_in(dir.path(), &["check", "fleet.yaml", "--out", "out"]).expect(0);
}

#[test]
fn build_check_diff_and_prune_of_one_cluster_leave_the_other_alone() {
    let dir = fleet_dir();
    let out = dir.path().join("out");
    gitopsc_in(dir.path(), &["build", "fleet.yaml", "--out", "out"]).expect(0);
    let staging = cluster_files(&out, "staging");
    let one = |command: &str, code: i32| {
        gitopsc_in(
            dir.path(),
            &[
                "--color",
                "never",
                command,
                "fleet.yaml",
                "--out",
                "out",
                "--cluster",
                "production",
            ],
        )
        .expect(code)
    };

    // A change of production only: its check and diff see it, and nothing of staging moves.
    edit_fleet(
        dir.path(),
        "            replicaCount: 3",
        "            replicaCount: 5",
    );
    let check = one("check", 1);
    assert!(
        check
            .stdout
            .contains("fleet/production/workloads/web/helmrelease.yaml"),
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains("gitopsc build fleet.yaml --cluster production --out out"),
        "{}",
        check.stdout
    );
    assert!(!check.stdout.contains("staging"), "{}", check.stdout);
    let diff = one("diff", 1);
    assert!(diff.stdout.contains("+    replicaCount: 5"), "{}", diff.stdout);
    assert_eq!(cluster_files(&out, "staging"), staging);
    one("build", 0);
    assert_eq!(cluster_files(&out, "staging"), staging);
    // A build of the whole fleet finds staging as it was: its lock file is not even restamped.
    let whole = gitopsc_in(dir.path(), &["build", "fleet.yaml", "--out", "out"]).expect(0);
    assert!(
        whole
            .stdout
            .contains("cluster `staging`: out: 14 files, 0 written, 0 removed"),
        "{}",
        whole.stdout
    );
    assert_eq!(cluster_files(&out, "staging"), staging);

    // Pruning: production stops running `api`; staging's `api` stays, byte for byte.
    edit_fleet(
        dir.path(),
        "            replicaCount: 5\n      - name: api\n",
        "            replicaCount: 5\n",
    );
    let built = one("build", 0);
    assert!(
        built.stdout.contains(" removed") && !built.stdout.contains(" 0 removed"),
        "{}",
        built.stdout
    );
    let production = cluster_files(&out, "production");
    assert!(!production.keys().any(|p| p.contains("/api")), "{production:?}");
    assert_eq!(cluster_files(&out, "staging"), staging);
    gitopsc_in(
        dir.path(),
        &["check", "fleet.yaml", "--out", "out", "--cluster", "staging"],
    )
    .expect(0);

    // A hand edit in staging's tree blocks staging, never production.
    let staging_web = out.join("fleet/staging/workloads/web/helmrelease.yaml");
    let mut text = std::fs::read_to_string(&staging_web).unwrap();
    text.push_str("# hand edit\n");
    std::fs::write(&staging_web, text).unwrap();
    let staging = cluster_files(&out, "staging");
    edit_fleet(dir.path(), "      timeout: 10m", "      timeout: 15m");
    let built = one("build", 0);
    assert!(!built.stderr.contains("in the way"), "{}", built.stderr);
    assert_eq!(cluster_files(&out, "staging"), staging);
    let whole = gitopsc_in(
        dir.path(),
        &["--color", "never", "check", "fleet.yaml", "--out", "out"],
    )
    .expect(1);
    assert!(
        whole.stdout.contains("cluster `staging`:\nout is stale"),
        "{}",
        whole.stdout
    );
    assert!(
        whole.stdout.contains("cluster `production`: out is up to date"),
        "{}",
        whole.stdout
    );
}

#[test]
fn a_cluster_spec_and_another_fleet_cannot_claim_a_fleets_cluster() {
    let dir = fleet_dir();
    gitopsc_in(dir.path(), &["build", "fleet.yaml", "--out", "out"]).expect(0);
    let before = hashes(&dir.path().join("out"));
    // A cluster spec named as one of the fleet's clusters.
    std::fs::write(dir.path().join("staging.yaml"), cluster_spec("staging")).unwrap();
    let stderr = refused_build(dir.path(), "staging.yaml");
    assert!(
        stderr.contains("this cluster spec (`staging`) and cluster `staging` of fleet `acme`")
            && stderr.contains("both claim `clusters/staging/gitopsc/"),
        "{stderr}"
    );
    // Another fleet with a cluster of the same name.
    let other = std::fs::read_to_string(dir.path().join("fleet.yaml"))
        .unwrap()
        .replace("name: acme", "name: other");
    std::fs::write(dir.path().join("other.yaml"), other).unwrap();
    let stderr = refused_build(dir.path(), "other.yaml");
    assert!(
        stderr.contains("records cluster `staging` of fleet `acme`, not cluster `staging` of fleet `other`"),
        "{stderr}"
    );
    assert_eq!(hashes(&dir.path().join("out")), before);
    // Selecting a cluster of a cluster spec, or one the fleet lacks, is an error.
    let run = gitopsc_in(
        dir.path(),
        &[
            "--color",
            "never",
            "check",
            "fleet.yaml",
            "--out",
            "out",
            "--cluster",
            "productoin",
        ],
    )
    .expect(2);
    assert!(
        run.stderr.contains("has no cluster `productoin`")
            && run.stderr.contains("did you mean `production`?"),
        "{}",
        run.stderr
    );
    let run = gitopsc_in(
        dir.path(),
        &["check", "staging.yaml", "--out", "x", "--cluster", "staging"],
    )
    .expect(2);
    assert!(run.stderr.contains("is not one"), "{}", run.stderr);
}

#[test]
fn a_cluster_spec_built_where_a_fleets_cluster_folder_was_removed_is_refused() {
    let dir = fleet_dir();
    gitopsc_in(dir.path(), &["build", "fleet.yaml", "--out", "out"]).expect(0);
    // The cluster folders are gone, the fleet's lock files still record them: a build of a
    // cluster spec named as one of its clusters is refused, not written into a fresh root.
    std::fs::remove_dir_all(dir.path().join("out/clusters")).unwrap();
    let before = hashes(&dir.path().join("out"));
    std::fs::write(dir.path().join("staging.yaml"), cluster_spec("staging")).unwrap();
    let stderr = refused_build(dir.path(), "staging.yaml");
    assert!(stderr.contains("both claim `clusters/staging/"), "{stderr}");
    assert_eq!(hashes(&dir.path().join("out")), before);
    assert!(!dir.path().join("out/clusters").exists());
    // The fleet builds its cluster folders again, each into the root as it finds it.
    gitopsc_in(dir.path(), &["build", "fleet.yaml", "--out", "out"]).expect(0);
    gitopsc_in(dir.path(), &["check", "fleet.yaml", "--out", "out", "--full"]).expect(0);
}

#[test]
fn two_clusters_built_at_once_into_one_root_leave_whole_trees() {
    use std::process::{Command, Stdio};
    let dir = fleet_dir();
    for i in 0..6 {
        let out = format!("out-{i}");
        let children: Vec<_> = ["staging", "production"]
            .into_iter()
            .map(|cluster| {
                Command::new(env!("CARGO_BIN_EXE_gitopsc"))
                    .args(["build", "fleet.yaml", "--out", &out, "--cluster", cluster])
                    .current_dir(dir.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let done = child.wait_with_output().unwrap();
            assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        }
        let out = dir.path().join(&out);
        for cluster in ["staging", "production"] {
            let lock: serde_json::Value = serde_json::from_slice(
                &std::fs::read(out.join(format!("fleet/{cluster}/gitopsc.lock"))).unwrap(),
            )
            .unwrap();
            let listed: BTreeMap<String, String> = lock["files"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(p, h)| (p.clone(), h.as_str().unwrap().to_string()))
                .collect();
            let mut files = cluster_files(&out, cluster);
            files.remove(&format!("fleet/{cluster}/gitopsc.lock"));
            assert_eq!(files, listed, "{cluster}");
        }
        assert!(!dirs(&out).iter().any(|d| d.contains("gitopsc-tmp")));
        gitopsc_in(dir.path(), &["check", "fleet.yaml", "--out", &format!("out-{i}")]).expect(0);
    }
}

// ------------------------------------------------------------------------------------------
// Provenance: errors, `show`, `--against`

#[test]
fn fleet_errors_name_the_cluster_and_the_line_of_the_definition_or_override() {
    insta::glob!("fleets/errors/*.yaml", |path| {
        // The path as written from the crate root, so the text (and where it wraps) does not
        // depend on where the checkout lives.
        let relative = path.strip_prefix(root()).unwrap();
        let run = gitopsc(&["--color", "never", "validate", s(relative)]).expect(2);
        insta::assert_snapshot!(run.stderr);
    });
}

#[test]
fn show_prints_the_effective_app_with_where_each_value_comes_from() {
    let spec = "tests/fleets/two-clusters.yaml";
    let run = gitopsc(&["show", spec, "production", "web"]).expect(0);
    insta::assert_snapshot!(run.stdout);
    // It is YAML, and reads back as the app the cluster runs.
    let shown: serde_json::Value = serde_yaml::from_str(&run.stdout).unwrap();
    assert_eq!(shown["helm"]["values"]["replicaCount"], 3);
    assert_eq!(shown["helm"]["chart"], "podinfo");
    for (args, needle) in [
        (
            vec!["show", spec, "productoin", "web"],
            "did you mean `production`?",
        ),
        (vec!["show", spec, "production", "wbe"], "did you mean `web`?"),
        (
            vec![
                "show",
                "tests/fixtures/minimal/cluster.yaml",
                "minimal",
                "podinfo",
            ],
            "is not a fleet spec",
        ),
    ] {
        let run = gitopsc(&args).expect(2);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn diff_against_shows_what_a_promotion_changes() {
    let spec = "tests/fleets/two-clusters.yaml";
    let run = gitopsc(&["diff", spec, "--cluster", "production", "--against", "staging"]).expect(1);
    insta::assert_snapshot!(run.stdout);
    let same = gitopsc(&["diff", spec, "--cluster", "production", "--against", "production"]).expect(2);
    assert!(
        same.stderr.contains("names the cluster itself"),
        "{}",
        same.stderr
    );
}

// ------------------------------------------------------------------------------------------
// The example

#[test]
fn the_fleet_schema_accepts_the_fleets_and_refuses_a_typo() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/fleet.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for spec in ["examples/fleet/fleet.yaml", "tests/fleets/two-clusters.yaml"] {
        let value: serde_json::Value =
            serde_yaml::from_str(&std::fs::read_to_string(root().join(spec)).unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{spec}: {errors:?}");
        let mut typo = value.clone();
        typo["clusters"][0]["apps"][0]["helm"]["verison"] = "1".into();
        assert!(!validator.is_valid(&typo), "{spec}: a typo in an override passes");
    }
}

#[test]
fn the_example_fleet_conforms_with_its_flux_paths_and_each_cluster_root_holds_its_entry_only() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let out = repo.join("kubernetes");
    gitopsc(&["build", "examples/fleet/fleet.yaml", "--out", s(&out)]).expect(0);
    // `flux bootstrap --path=kubernetes/clusters/<cluster>` reconciles that folder whole
    // (kustomize-controller generates its kustomization.yaml): only the Flux entry is there,
    // the apps' folders are beside it, under `fleet/<cluster>/`.
    for cluster in ["staging", "production"] {
        let entry = out.join("clusters").join(cluster);
        let names: Vec<String> = std::fs::read_dir(&entry)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["gitopsc"], "{}", entry.display());
    }
    let validator = root().join("../shared/conformance/validate.py");
    if !validator.is_file() {
        common::skipped(&format!(
            "fleet conformance: {} does not exist",
            validator.display()
        ));
        return;
    }
    if !python_has(&["yaml", "jsonschema"]) {
        common::skipped("fleet conformance: python3 with jsonschema and PyYAML is not available");
        return;
    }
    let run = std::process::Command::new("python3")
        .arg(&validator)
        .args(["--fail-unknown", "--repo-root", s(&repo), s(&repo)])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success() && text.contains(" passed, 0 failed"),
        "{text}"
    );
}

#[test]
fn every_folder_of_the_example_fleet_builds_with_kustomize() {
    if !tool_runs("kubectl", &["version", "--client"]) {
        common::skipped("kubectl kustomize of output/fleet: kubectl is not installed");
        return;
    }
    let output = root().join("output/fleet");
    let mut built = 0;
    for dir in dirs(&output) {
        let dir = output.join(dir);
        if !dir.join("kustomization.yaml").is_file() {
            continue;
        }
        let run = std::process::Command::new("kubectl")
            .args(["kustomize", s(&dir)])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        built += 1;
    }
    assert!(built > 10, "{built} folders");
}

#[test]
fn a_cluster_that_leaves_the_fleet_is_removed_by_a_build_of_the_whole_fleet_only() {
    let dir = fleet_dir();
    let out = dir.path().join("out");
    gitopsc_in(dir.path(), &["build", "fleet.yaml", "--out", "out"]).expect(0);
    let staging = cluster_files(&out, "staging");
    let text = std::fs::read_to_string(dir.path().join("fleet.yaml")).unwrap();
    let cut = text.find("  - name: production").unwrap();
    std::fs::write(dir.path().join("fleet.yaml"), &text[..cut]).unwrap();

    // One cluster's run leaves the other alone, even one that left the fleet.
    gitopsc_in(
        dir.path(),
        &["check", "fleet.yaml", "--out", "out", "--cluster", "staging"],
    )
    .expect(0);
    let check = gitopsc_in(
        dir.path(),
        &["--color", "never", "check", "fleet.yaml", "--out", "out"],
    )
    .expect(1);
    assert!(
        check
            .stdout
            .contains("cluster `production` is no longer in the fleet `acme`"),
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains("removed  fleet/production/workloads/web/helmrelease.yaml"),
        "{}",
        check.stdout
    );
    let diff = gitopsc_in(
        dir.path(),
        &["--color", "never", "diff", "fleet.yaml", "--out", "out"],
    )
    .expect(1);
    assert!(
        diff.stdout.contains("--- a/clusters/production/gitopsc/web.yaml"),
        "{}",
        diff.stdout
    );

    // A file edited by hand blocks the removal, and keeps the lock file.
    let edited = out.join("fleet/production/workloads/api/helmrelease.yaml");
    let mut hand = std::fs::read_to_string(&edited).unwrap();
    hand.push_str("# hand edit\n");
    std::fs::write(&edited, &hand).unwrap();
    let blocked = gitopsc_in(
        dir.path(),
        &["--color", "never", "build", "fleet.yaml", "--out", "out"],
    )
    .expect(1);
    assert!(blocked.stdout.contains("1 blocked"), "{}", blocked.stdout);
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), hand);
    assert!(out.join("fleet/production/gitopsc.lock").is_file());

    std::fs::remove_file(&edited).unwrap();
    let built = gitopsc_in(dir.path(), &["build", "fleet.yaml", "--out", "out"]).expect(0);
    assert!(
        built.stdout.contains("cluster `production` left the fleet"),
        "{}",
        built.stdout
    );
    assert!(
        cluster_files(&out, "production").is_empty(),
        "{:?}",
        cluster_files(&out, "production")
    );
    assert!(!out.join("fleet/production").exists() && !out.join("clusters/production").exists());
    assert_eq!(cluster_files(&out, "staging"), staging);
    gitopsc_in(dir.path(), &["check", "fleet.yaml", "--out", "out"]).expect(0);
}

// ------------------------------------------------------------------------------------------
// A fleet in several files

/// The tree in `out` without the lock files' input stamps (which differ with the places of
/// the values in the files).
fn tree_without_stamps(out: &Path) -> BTreeMap<String, String> {
    read_tree(out)
        .into_iter()
        .map(|(path, bytes)| {
            let text = String::from_utf8(bytes).unwrap();
            let text: String = text
                .lines()
                .filter(|l| !l.contains("\"input\":"))
                .collect::<Vec<_>>()
                .join("\n");
            (path, text)
        })
        .collect()
}

#[test]
fn a_fleet_in_several_files_renders_what_it_does_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name);
    gitopsc(&["build", "tests/fleets/two-clusters.yaml", "--out", s(&out("one"))]).expect(0);
    gitopsc(&[
        "build",
        "tests/fleets/split/fleet.yaml",
        "--out",
        s(&out("split")),
    ])
    .expect(0);
    gitopsc(&["build", "tests/fleets/folder", "--out", s(&out("folder"))]).expect(0);
    let one = tree_without_stamps(&out("one"));
    assert_eq!(tree_without_stamps(&out("split")), one);
    assert_eq!(tree_without_stamps(&out("folder")), one);
    for (spec, name) in [
        ("tests/fleets/split/fleet.yaml", "split"),
        ("tests/fleets/folder", "folder"),
    ] {
        let check = gitopsc(&["check", spec, "--out", s(&out(name))]).expect(0);
        assert!(
            check.stdout.contains("cluster `production`: "),
            "{}",
            check.stdout
        );
    }
    // Each value keeps its file and line.
    let shown = gitopsc(&["show", "tests/fleets/split/fleet.yaml", "production", "web"]).expect(0);
    assert!(
        shown
            .stdout
            .contains("chart: podinfo  # tests/fleets/split/apps/web.yaml:8:14 (app `web`)"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains(
            "replicaCount: 3  # tests/fleets/split/clusters/production.yaml:12:27 (cluster `production`)"
        ),
        "{}",
        shown.stdout
    );
    // And the parts pass their schema.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/fleet-part.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for part in [
        "split/apps/web.yaml",
        "split/apps/api.yaml",
        "split/clusters/staging.yaml",
        "folder/teams/frontend.yaml",
        "folder/clusters.yaml",
    ] {
        let value: serde_json::Value =
            serde_yaml::from_str(&std::fs::read_to_string(root().join("tests/fleets").join(part)).unwrap())
                .unwrap();
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{part}: {errors:?}");
    }
}

#[test]
fn errors_of_a_fleet_in_several_files_point_into_the_right_file() {
    for case in [
        "typo/fleet.yaml",
        "include/fleet.yaml",
        "kind/fleet.yaml",
        "duplicate",
    ] {
        let spec = format!("tests/fleets/split-errors/{case}");
        let run = gitopsc(&["--color", "never", "validate", &spec]).expect(2);
        insta::assert_snapshot!(case.replace('/', "_"), run.stderr);
        // The JSON report names the same file, line and column as the text.
        let shown: Vec<String> = run
            .stderr
            .lines()
            .filter_map(|l| Some(l.split_once("─[")?.1.trim_end_matches(']').to_string()))
            .collect();
        let json = gitopsc(&["validate", "--format", "json", &spec]).expect(2);
        let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        let placed: Vec<String> = report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["file"].is_string())
            .map(|d| format!("{}:{}:{}", d["file"].as_str().unwrap(), d["line"], d["column"]))
            .collect();
        assert_eq!(placed, shown, "{case}");
    }
}

#[test]
fn of_parts_that_cannot_be_read_or_parsed_the_first_in_order_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = "apiVersion: gitopsc.io/v1alpha1\nkind: Fleet\nmetadata: {name: f}\nclusters: []\n";
    std::fs::write(dir.path().join("fleet.yaml"), root).unwrap();
    let bad_yaml = "apiVersion: gitopsc.io/v1alpha1\nkind: FleetPart\napps: [\n";
    let not_utf8: &[u8] = b"apps: [\xff]\n";
    for (first, second, named) in [
        (bad_yaml.as_bytes(), not_utf8, "a.yaml"),
        (not_utf8, bad_yaml.as_bytes(), "a.yaml"),
    ] {
        std::fs::write(dir.path().join("a.yaml"), first).unwrap();
        std::fs::write(dir.path().join("b.yaml"), second).unwrap();
        let run = gitopsc(&["--color", "never", "validate", dir.path().to_str().unwrap()]).expect(2);
        let other = if named == "a.yaml" { "b.yaml" } else { "a.yaml" };
        assert!(
            run.stderr.contains(named) && !run.stderr.contains(other),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn check_staged_and_diff_base_lay_out_the_files_a_fleet_includes_one_cluster_or_all() {
    if !tool_runs("git", &["--version"]) {
        common::skipped("check --staged of a fleet in several files: git is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    copy_dir(&root().join("tests/fleets/split"), &repo.join("spec"));
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(repo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    gitopsc_in(repo, &["build", "spec/fleet.yaml", "--out", "out"]).expect(0);
    git(&["add", "."]);
    gitopsc_in(repo, &["check", "spec/fleet.yaml", "--out", "out", "--staged"]).expect(0);
    // A change in an included file, staged without the tree, is caught.
    let part = repo.join("spec/clusters/production.yaml");
    let text = std::fs::read_to_string(&part)
        .unwrap()
        .replace("replicaCount: 3", "replicaCount: 4");
    std::fs::write(&part, text).unwrap();
    git(&["add", "spec"]);
    let run = gitopsc_in(repo, &["check", "spec/fleet.yaml", "--out", "out", "--staged"]).expect(1);
    assert!(
        run.stdout
            .contains("fleet/production/workloads/web/helmrelease.yaml"),
        "{}",
        run.stdout
    );
    // One cluster: only the production cluster is stale.
    let staged = |cluster: &str, code: i32| {
        gitopsc_in(
            repo,
            &[
                "check",
                "spec/fleet.yaml",
                "--out",
                "out",
                "--staged",
                "--cluster",
                cluster,
            ],
        )
        .expect(code)
    };
    staged("staging", 0);
    let run = staged("production", 1);
    assert!(
        run.stdout
            .contains("fleet/production/workloads/web/helmrelease.yaml")
            && !run.stdout.contains("fleet/staging/"),
        "{}",
        run.stdout
    );
    git(&["commit", "-q", "-m", "x"]);
    let diff = gitopsc_in(repo, &["diff", "spec/fleet.yaml", "--base", "HEAD~0"]).expect(0);
    assert!(diff.stdout.is_empty(), "{}", diff.stdout);
    // The change since a revision, one cluster at a time.
    let text = std::fs::read_to_string(&part)
        .unwrap()
        .replace("replicaCount: 4", "replicaCount: 5");
    std::fs::write(&part, text).unwrap();
    let based = |cluster: &str, code: i32| {
        gitopsc_in(
            repo,
            &["diff", "spec/fleet.yaml", "--base", "HEAD", "--cluster", cluster],
        )
        .expect(code)
    };
    assert!(based("staging", 0).stdout.is_empty());
    let diff = based("production", 1);
    assert!(
        diff.stdout.contains("replicaCount: 5") && !diff.stdout.contains("staging"),
        "{}",
        diff.stdout
    );
}

#[test]
fn image_markers_of_a_fleet_are_checked_once_for_the_clusters_that_share_them() {
    let dir = fleet_dir();
    // A marker on a shared definition, on the wrong field; one on staging's own chart version
    // (its policy is made outside the fleet: not checked); one on no value.
    edit_fleet(
        dir.path(),
        "        ui: { message: hello }\n",
        "        ui: { message: hello }\n        image:\n          tag: 6.7.1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n",
    );
    edit_fleet(
        dir.path(),
        "          version: 6.7.2\n",
        "          version: 6.7.2 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n        # {\"$imagepolicy\": \"flux-system:podinfo\"}\n",
    );
    let run = gitopsc_in(dir.path(), &["--color", "never", "validate", "fleet.yaml"]).expect(2);
    assert_eq!(run.stderr.matches("error[GSC0460]").count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "clusters `staging`, `production`: the marker `flux-system:podinfo` writes a whole image reference into `/apps/0/helm/values/image/tag`"
        ),
        "{}",
        run.stderr
    );
}
