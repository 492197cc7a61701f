//! Prune protection: what removing an app says about its namespace and its data.

mod common;

use common::cli::{HARBOR_RELEASE, Infra, replace_once, without_app, without_apps};

// ------------------------------------------------------------------------------------------
// Prune protection

#[test]
fn removing_a_protected_app_says_its_namespace_is_kept() {
    let infra = Infra::built();
    let text = without_app(&infra.spec_text(), "strimzi-operator");
    infra.write_spec("cluster.yaml", &text);
    let check = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        check
            .stdout
            .contains("!! stateful objects leave the tree — Flux prunes what leaves it:\n"),
        "{}",
        check.stdout
    );
    let kept: Vec<&str> = check
        .stdout
        .lines()
        .filter(|l| l.contains("Namespace kafka"))
        .collect();
    assert_eq!(kept.len(), 1, "{}", check.stdout);
    assert!(
        kept[0].starts_with("  kept    Namespace kafka — kept in the cluster: it carries `kustomize.toolkit.fluxcd.io/prune: disabled`"),
        "{}",
        kept[0]
    );
    assert!(!check.stdout.contains("DELETED"), "{}", check.stdout);
    let diff = infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(diff.stdout.contains("  - Namespace kafka\n"), "{}", diff.stdout);
    assert!(
        diff.stdout.contains("  kept    Namespace kafka"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("--- a/workloads/platform/messaging/strimzi-operator/namespace.yaml\n+++ /dev/null"),
        "{}",
        diff.stdout
    );
}

#[test]
fn removing_an_unprotected_app_says_its_namespace_is_deleted() {
    let infra = Infra::new();
    let text = replace_once(
        &infra.spec_text(),
        "  podSecurity: restricted\n",
        "  podSecurity: restricted\n  pruneProtection: false\n",
    );
    infra.write_spec("cluster.yaml", &text);
    infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    let ns = std::fs::read_to_string(
        infra
            .out()
            .join("workloads/platform/messaging/strimzi-operator/namespace.yaml"),
    )
    .unwrap();
    assert!(!ns.contains("kustomize.toolkit.fluxcd.io/prune"), "{ns}");

    infra.write_spec("cluster.yaml", &without_app(&text, "strimzi-operator"));
    let check = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    let diff = infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(1);
    for out in [&check.stdout, &diff.stdout] {
        assert!(
            out.contains(
                "  DELETED Namespace kafka — Flux WILL DELETE it and its data: it was not protected in the previous tree (workloads/platform/messaging/strimzi-operator/namespace.yaml)"
            ),
            "{out}"
        );
        assert!(out.contains("Do it in two commits"), "{out}");
        assert!(
            out.contains("with the `kustomize.toolkit.fluxcd.io/prune: disabled` label"),
            "{out}"
        );
        assert!(out.contains("then remove it in a second commit"), "{out}");
        assert!(!out.contains("  kept "), "{out}");
    }
    // The build says it too, and does it.
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        build.stdout.contains("DELETED Namespace kafka"),
        "{}",
        build.stdout
    );
}

#[test]
fn removing_harbor_keeps_its_database_and_what_the_database_needs() {
    let infra = Infra::built();
    // synergyflow depends on harbor, so it goes too.
    let text = without_apps(&infra.spec_text(), &["synergyflow", "harbor"]);
    infra.write_spec("cluster.yaml", &text);
    let check = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    let header = "!! stateful objects leave the tree — Flux prunes what leaves it:\n";
    let loud = check
        .stdout
        .split_once(header)
        .unwrap_or_else(|| panic!("no loud section:\n{}", check.stdout))
        .1;
    let kept = |id: &str| {
        format!(
            "  kept    {id} — kept in the cluster: it carries `kustomize.toolkit.fluxcd.io/prune: disabled`"
        )
    };
    for id in [
        "Cluster harbor/harbor-pg",
        "ObjectStore harbor/harbor-pg-backup",
        "Namespace harbor",
        // The Secrets the database reads: its owner's password and the backup credentials.
        "ExternalSecret harbor/harbor-db",
        "ExternalSecret harbor/harbor-s3",
    ] {
        let lines: Vec<&str> = loud.lines().filter(|l| l.contains(&format!(" {id} "))).collect();
        assert_eq!(lines.len(), 1, "{id}:\n{}", check.stdout);
        assert!(lines[0].starts_with(&kept(id)), "{id}: {}", lines[0]);
    }
    // The files are still reported as removed, and nothing is written.
    for file in [
        "workloads/platform/registry/harbor/data/postgres-cluster.yaml",
        "workloads/platform/registry/harbor/data/postgres-objectstore.yaml",
        "workloads/platform/registry/harbor/data/externalsecret-harbor-db.yaml",
        HARBOR_RELEASE,
    ] {
        assert!(
            check.stdout.contains(&format!("  removed  {file}\n")),
            "{file}:\n{}",
            check.stdout
        );
    }
    assert!(infra.out().join(HARBOR_RELEASE).is_file());
    // diff says the same.
    let diff = infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        diff.stdout.contains(&kept("Cluster harbor/harbor-pg")),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("  - Cluster harbor/harbor-pg\n"),
        "{}",
        diff.stdout
    );
}
