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
