//! `check`, `diff` and `build` after a spec change: what each says and does.

mod common;

use common::cli::{HARBOR_RELEASE, Infra, build_summary, changed_paths, replace_once};
use common::{copy_dir, read_tree, root};
use std::collections::BTreeSet;

// ------------------------------------------------------------------------------------------
// check / diff / build after a spec change

#[test]
fn check_diff_and_build_follow_a_chart_version_change() {
    let infra = Infra::new();
    copy_dir(&root().join("output/infra"), &infra.out());
    let old = infra.compiled();
    let current = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        current
            .stdout
            .contains(&format!("is up to date ({} files)", old.len())),
        "{}",
        current.stdout
    );
    infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(0);

    let text = replace_once(&infra.spec_text(), "version: 1.16.0", "version: 1.16.1");
    infra.write_spec("cluster.yaml", &text);
    let new = infra.compiled();
    let expected = changed_paths(&old, &new);
    assert!(expected.contains(HARBOR_RELEASE), "{expected:?}");
    assert!(
        new.keys().eq(old.keys()),
        "a version change adds or removes files"
    );
    let before = read_tree(&infra.out());

    let check = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        check.stdout.contains(&format!(
            "is stale: 0 added, {} changed, 0 removed",
            expected.len()
        )),
        "{}",
        check.stdout
    );
    let listed: Vec<&str> = check.stdout.lines().filter(|l| l.starts_with("  ")).collect();
    let wanted: Vec<String> = expected.iter().map(|p| format!("  changed  {p}")).collect();
    assert_eq!(listed, wanted, "{}", check.stdout);
    assert!(
        check
            .stdout
            .contains("run `gitopsc build cluster.yaml --out out`")
    );

    let diff = infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(1);
    assert_diff_of_the_version_change(&diff.stdout, &expected);
    assert_eq!(
        read_tree(&infra.out()),
        before,
        "check and diff must write nothing"
    );

    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        build.stdout.contains(&build_summary(&old, &new)),
        "{}",
        build.stdout
    );
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    let diff = infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(0);
    assert_eq!(diff.stdout, "");
}

/// `diff`'s output for the chart version change of harbor: only the HelmRelease object
/// changes, and each file in `expected` loses the line with the old version and gains the
/// same line with the new one.
fn assert_diff_of_the_version_change(stdout: &str, expected: &BTreeSet<String>) {
    // The objects: only the HelmRelease changes (the runbook is not an object).
    let objects: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("objects ("))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(objects, ["  ~ HelmRelease harbor/harbor"], "{}", stdout);
    for line in [
        format!("--- a/{HARBOR_RELEASE}"),
        format!("+++ b/{HARBOR_RELEASE}"),
        "-      version: \"1.16.0\"".to_string(),
        "+      version: \"1.16.1\"".to_string(),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "diff lacks `{line}`:\n{}",
            stdout
        );
    }
    // Every changed file shows up, and in each one line goes out and the same line with the
    // new version comes in: nothing else changes.
    let headers: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("+++ b/")).collect();
    assert_eq!(
        headers,
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "{}",
        stdout
    );
    let out: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    let came: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(out.len(), expected.len(), "{}", stdout);
    assert_eq!(came.len(), expected.len(), "{}", stdout);
    for (o, c) in out.iter().zip(&came) {
        assert!(o.contains("1.16.0"), "{o}");
        assert_eq!(o[1..].replace("1.16.0", "1.16.1"), c[1..], "{}", stdout);
    }
}
