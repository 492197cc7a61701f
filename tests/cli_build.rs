//! `build`'s write safety: hand-edited and foreign files, symlinks, the lock file, a killed
//! build, and a tree that is current without rendering.

mod common;

use common::cli::{HARBOR_RELEASE, Infra, build_summary, without_app, without_apps};
use common::{dirs, read_tree, s};

// ------------------------------------------------------------------------------------------
// Write safety

#[test]
fn a_hand_edited_file_blocks_build_until_forced() {
    let infra = Infra::built();
    let file = infra.out().join(HARBOR_RELEASE);
    let mut edited = std::fs::read_to_string(&file).unwrap();
    edited.push_str("# tuned by hand\n");
    std::fs::write(&file, &edited).unwrap();

    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        build.stderr.contains(&format!(
            "  blocked  {HARBOR_RELEASE} (edited by hand since gitopsc wrote it; left alone)"
        )),
        "{}",
        build.stderr
    );
    assert!(build.stderr.contains("use --force"), "{}", build.stderr);
    assert!(
        build.stdout.contains("0 written, 0 removed, 1 blocked"),
        "{}",
        build.stdout
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);
    // It stays blocked: a second build does not take it for its own.
    infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(1);
    let check = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(check.stdout.contains("1 blocked"), "{}", check.stdout);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);

    let forced = infra
        .run(&["build", "cluster.yaml", "--out", "out", "--force"])
        .expect(0);
    assert!(forced.stdout.contains("1 written"), "{}", forced.stdout);
    let fresh = Infra::built();
    assert_eq!(read_tree(&infra.out()), read_tree(&fresh.out()));
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
}

#[test]
fn foreign_files_are_left_alone() {
    let infra = Infra::new();
    let out = infra.out();
    // (b) a file gitopsc did not write where a generated file goes.
    let at_generated = out.join(HARBOR_RELEASE);
    let full = infra.compiled();
    std::fs::create_dir_all(at_generated.parent().unwrap()).unwrap();
    std::fs::write(&at_generated, "mine\n").unwrap();
    // (c) files gitopsc never generates.
    std::fs::write(out.join("README.md"), "my notes\n").unwrap();
    std::fs::create_dir_all(out.join("workloads/platform/messaging")).unwrap();
    std::fs::write(out.join("workloads/platform/messaging/notes.txt"), "notes\n").unwrap();

    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        build.stderr.contains(&format!(
            "  blocked  {HARBOR_RELEASE} (a file gitopsc did not write is in the way; left alone)"
        )),
        "{}",
        build.stderr
    );
    assert!(
        build.stdout.contains(&format!(
            "{} files, {} written, 0 removed, 1 blocked",
            full.len(),
            full.len() - 1
        )),
        "{}",
        build.stdout
    );
    assert_eq!(std::fs::read_to_string(&at_generated).unwrap(), "mine\n");
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "my notes\n"
    );

    // (d) removing an app deletes its files and emptied folders, and nothing else.
    let text = without_app(&infra.spec_text(), "strimzi-operator");
    infra.write_spec("cluster.yaml", &text);
    let smaller = infra.compiled();
    assert_eq!(smaller[HARBOR_RELEASE], full[HARBOR_RELEASE]);
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        build
            .stdout
            .contains(&format!("{}, 1 blocked", build_summary(&full, &smaller))),
        "{}",
        build.stdout
    );
    let tree = read_tree(&out);
    assert!(!tree.keys().any(|p| p.contains("strimzi")), "{:?}", tree.keys());
    assert!(!out.join("workloads/platform/messaging/strimzi-operator").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("workloads/platform/messaging/notes.txt")).unwrap(),
        "notes\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "my notes\n"
    );
    assert_eq!(std::fs::read_to_string(&at_generated).unwrap(), "mine\n");

    // --force takes the generated path over; the other foreign files stay.
    infra
        .run(&["build", "cluster.yaml", "--out", "out", "--force"])
        .expect(0);
    assert_ne!(std::fs::read_to_string(&at_generated).unwrap(), "mine\n");
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "my notes\n"
    );
    assert!(out.join("workloads/platform/messaging/notes.txt").exists());
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
}

#[test]
fn removing_an_app_deletes_its_files_and_empty_folders() {
    let infra = Infra::built();
    let full = infra.compiled();
    let text = without_app(&infra.spec_text(), "strimzi-operator");
    infra.write_spec("cluster.yaml", &text);
    let smaller = infra.compiled();
    // What leaves is the app's own files, and only they.
    let gone: Vec<&String> = full.keys().filter(|p| !smaller.contains_key(*p)).collect();
    assert!(gone.len() >= 4, "{gone:?}");
    assert!(gone.iter().all(|p| p.contains("strimzi")), "{gone:?}");
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        build.stdout.contains(&build_summary(&full, &smaller)),
        "{}",
        build.stdout
    );
    let out = infra.out();
    for gone in [
        "workloads/platform/messaging",
        "clusters/infra/gitopsc/strimzi-operator.yaml",
        "infrastructure/sources/helm/strimzi",
    ] {
        assert!(!out.join(gone).exists(), "{gone} is still there");
    }
    assert!(out.join("workloads/platform/registry/harbor").is_dir());
    let mut tree = read_tree(&out);
    assert!(tree.remove("gitopsc.lock").is_some());
    assert_eq!(tree, smaller);
    // No empty folder is left behind.
    for dir in dirs(&out) {
        assert!(
            std::fs::read_dir(out.join(&dir)).unwrap().next().is_some(),
            "`{dir}` is empty"
        );
    }
}

#[test]
fn a_symlink_in_the_output_root_is_never_followed() {
    // (e) out/workloads -> a folder outside the output root.
    let infra = Infra::new();
    let below_link = infra
        .compiled()
        .keys()
        .filter(|p| p.starts_with("workloads/"))
        .count();
    let elsewhere = infra.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::create_dir(infra.out()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, infra.out().join("workloads")).unwrap();
    for force in [false, true] {
        let mut args = vec!["build", "cluster.yaml", "--out", "out"];
        if force {
            args.push("--force");
        }
        let build = infra.run(&args).expect(1);
        assert!(
            build.stderr.contains(&format!(
                "  blocked  {HARBOR_RELEASE} (`workloads` is a symlink; left alone)"
            )),
            "{}",
            build.stderr
        );
        assert!(
            build.stdout.contains(&format!(", {below_link} blocked")),
            "{}",
            build.stdout
        );
        let blocked = build
            .stderr
            .lines()
            .filter(|l| l.starts_with("  blocked  "))
            .count();
        assert_eq!(blocked, below_link, "{}", build.stderr);
        assert_eq!(
            std::fs::read_dir(&elsewhere).unwrap().count(),
            0,
            "something was written through the symlink"
        );
    }

    // A tree whose `workloads` was replaced by a symlink after gitopsc wrote it: the lock
    // file still lists (with their true hashes) files that now lie outside the root. Removing
    // an app must not delete them through the link.
    let infra = Infra::built();
    let moved = infra.path().join("moved-workloads");
    std::fs::rename(infra.out().join("workloads"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, infra.out().join("workloads")).unwrap();
    let before = read_tree(&moved);
    let text = without_app(&infra.spec_text(), "strimzi-operator");
    infra.write_spec("cluster.yaml", &text);
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        build.stderr.contains(
            "workloads/platform/messaging/strimzi-operator/namespace.yaml (below a symlink; left alone)"
        ),
        "{}",
        build.stderr
    );
    assert_eq!(
        read_tree(&moved),
        before,
        "a file was changed through the symlink"
    );
    infra
        .run(&["build", "cluster.yaml", "--out", "out", "--force"])
        .expect(1);
    assert_eq!(
        read_tree(&moved),
        before,
        "a file was changed through the symlink"
    );
}

#[test]
fn a_folder_moved_away_behind_a_symlink_is_not_the_tree() {
    // Its files keep their inodes, times and bytes, so only the folder itself tells: git
    // would commit a symlink, not the files.
    let infra = Infra::built();
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    let moved = infra.path().join("moved-workloads");
    std::fs::rename(infra.out().join("workloads"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, infra.out().join("workloads")).unwrap();
    for args in [&["check"][..], &["check", "--full"]] {
        let mut args = args.to_vec();
        args.extend(["cluster.yaml", "--out", "out"]);
        let check = infra.run(&args).expect(1);
        assert!(
            check.stdout.contains("(`workloads` is a symlink; left alone)"),
            "{args:?}: {}",
            check.stdout
        );
    }
}

#[test]
fn a_lock_file_never_steers_a_delete_outside_the_root() {
    // (f) the lock file lists files outside the root with their true hashes: were they
    // trusted, they would be stale files gitopsc owns, and deleted.
    let infra = Infra::built();
    let escape = infra.path().join("escape.txt");
    std::fs::write(&escape, "precious\n").unwrap();
    let hash = gitopsc::emit::lock::sha256_hex(b"precious\n");
    let lock_path = infra.out().join("gitopsc.lock");
    let mut lock: serde_json::Value = serde_json::from_slice(&std::fs::read(&lock_path).unwrap()).unwrap();
    let files = lock["files"].as_object_mut().unwrap();
    files.insert("../escape.txt".into(), hash.clone().into());
    files.insert("workloads/../../escape.txt".into(), hash.clone().into());
    files.insert(s(&escape).into(), hash.into());
    std::fs::write(&lock_path, serde_json::to_vec_pretty(&lock).unwrap()).unwrap();

    for args in [
        &["build", "cluster.yaml", "--out", "out"][..],
        &["build", "cluster.yaml", "--out", "out", "--force"][..],
    ] {
        infra.run(args).expect(0);
        assert_eq!(std::fs::read_to_string(&escape).unwrap(), "precious\n");
    }
    // Also when the spec changes and stale files are deleted.
    let text = without_apps(&infra.spec_text(), &["synergyflow", "harbor"]);
    infra.write_spec("cluster.yaml", &text);
    let build = infra
        .run(&["build", "cluster.yaml", "--out", "out", "--force"])
        .expect(0);
    assert!(build.stdout.contains("removed"), "{}", build.stdout);
    assert_eq!(std::fs::read_to_string(&escape).unwrap(), "precious\n");
}

#[test]
fn a_killed_build_leaves_nothing_that_the_next_build_does_not_fix() {
    // (g) A folder named like the staging folder of an earlier release is nothing of
    // gitopsc's: it is never removed (issue 20.11).
    let infra = Infra::built();
    let out = infra.out();
    let staging = out.join(".gitopsc-tmp");
    std::fs::create_dir_all(staging.join("nested")).unwrap();
    std::fs::write(staging.join("0"), "half a file").unwrap();
    std::fs::write(staging.join("nested/lock"), "{").unwrap();
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(build.stdout.contains("0 written, 0 removed"), "{}", build.stdout);
    assert_eq!(std::fs::read_to_string(staging.join("0")).unwrap(), "half a file");

    // Half the files of a build missing and the staging folder left behind.
    let missing = 1 + infra
        .compiled()
        .keys()
        .filter(|p| p.starts_with("workloads/platform/operators/"))
        .count();
    assert!(missing >= 4);
    std::fs::remove_file(out.join(HARBOR_RELEASE)).unwrap();
    std::fs::remove_dir_all(out.join("workloads/platform/operators")).unwrap();
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        build.stdout.contains(&format!("{missing} written, 0 removed")),
        "{}",
        build.stdout
    );
    assert_eq!(std::fs::read_to_string(staging.join("nested/lock")).unwrap(), "{");
    std::fs::remove_dir_all(&staging).unwrap();
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert_eq!(read_tree(&out), read_tree(&Infra::built().out()));
}

/// The journal of a build in progress, and its first line.
const JOURNAL: &str = ".gitopsc-journal";
const JOURNAL_HEADER: &str = "# gitopsc journal: a build in progress into this folder; the next gitopsc build reads it, finishes the job and removes it\n";

#[test]
fn a_killed_build_s_temp_files_are_removed_by_the_next_build_and_nothing_else() {
    // (g) A build killed mid-way: its journal, temp files beside their targets (one
    // half-written), a target missing; and files that only look like temp files.
    let infra = Infra::built();
    let out = infra.out();
    let dir = HARBOR_RELEASE.rsplit_once('/').unwrap().0;
    let name = HARBOR_RELEASE.rsplit_once('/').unwrap().1;
    let listed_temp = format!("{dir}/.{name}.gitopsc-tmp");
    let lock_temp = ".gitopsc.lock.gitopsc-tmp".to_string();
    let unlisted_temp = format!("{dir}/.other.yaml.gitopsc-tmp");
    std::fs::write(
        out.join(JOURNAL),
        format!("{JOURNAL_HEADER}temp {listed_temp}\ntemp {lock_temp}\ntemp ../.escape.gitopsc-tmp\ntemp {dir}/kustomization.yaml\n"),
    )
    .unwrap();
    std::fs::write(out.join(&listed_temp), "half a fi").unwrap();
    let dir_temp = format!("{}/.new-app.gitopsc-tmp", dir.rsplit_once('/').unwrap().0);
    std::fs::create_dir_all(out.join(&dir_temp).join("release")).unwrap();
    std::fs::write(out.join(&dir_temp).join("release/half.yaml"), "kind: Hel").unwrap();
    let mut journal = std::fs::read_to_string(out.join(JOURNAL)).unwrap();
    journal.push_str(&format!("temp {dir_temp}\n"));
    std::fs::write(out.join(JOURNAL), journal).unwrap();
    std::fs::write(out.join(&lock_temp), "{").unwrap();
    std::fs::write(out.join(&unlisted_temp), "not gitopsc's").unwrap();
    std::fs::remove_file(out.join(HARBOR_RELEASE)).unwrap();
    let outside = infra.path().join(".escape.gitopsc-tmp");
    std::fs::write(&outside, "precious").unwrap();

    // A journal means a build was interrupted: check renders and compares.
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(build.stdout.contains("1 written, 0 removed"), "{}", build.stdout);
    for gone in [
        JOURNAL,
        listed_temp.as_str(),
        lock_temp.as_str(),
        dir_temp.as_str(),
    ] {
        assert!(!out.join(gone).exists(), "{gone} survived the build");
    }
    assert!(out.join(format!("{dir}/kustomization.yaml")).exists());
    assert_eq!(
        std::fs::read_to_string(out.join(&unlisted_temp)).unwrap(),
        "not gitopsc's"
    );
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
    std::fs::remove_file(out.join(&unlisted_temp)).unwrap();
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert_eq!(read_tree(&out), read_tree(&Infra::built().out()));
}

#[test]
fn new_folders_appear_whole_and_files_in_the_way_of_temp_names_are_left_alone() {
    let infra = Infra::built();
    let out = infra.out();
    let tree = read_tree(&out);
    // A new build into a fresh folder writes new folders whole, then renames them in.
    let fresh = infra.run(&["build", "cluster.yaml", "--out", "fresh"]).expect(0);
    assert!(fresh.stdout.contains("0 removed"), "{}", fresh.stdout);
    assert_eq!(read_tree(&infra.path().join("fresh")), tree);
    let leftovers: Vec<String> = dirs(&infra.path().join("fresh"))
        .into_iter()
        .filter(|d| d.contains("gitopsc-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A folder gitopsc did not make where a new folder's temp name goes: exit 2, untouched.
    std::fs::remove_dir_all(out.join("workloads/platform/operators")).unwrap();
    let foreign = out.join("workloads/platform/.operators.gitopsc-tmp");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("mine.txt"), "mine").unwrap();
    for _ in 0..2 {
        let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(2);
        assert!(
            build.stderr.contains(".operators.gitopsc-tmp` is in the way"),
            "{}",
            build.stderr
        );
        assert_eq!(std::fs::read_to_string(foreign.join("mine.txt")).unwrap(), "mine");
        assert!(!out.join(JOURNAL).exists(), "a journal that lists it");
    }
    // A temp file's name taken by a file gitopsc did not write: the same.
    let taken = format!(".{}.gitopsc-tmp", HARBOR_RELEASE.rsplit_once('/').unwrap().1);
    let taken = out.join(HARBOR_RELEASE).with_file_name(taken);
    std::fs::write(&taken, "mine").unwrap();
    std::fs::write(out.join(HARBOR_RELEASE), "edited").unwrap();
    let build = infra
        .run(&["build", "cluster.yaml", "--out", "out", "--force"])
        .expect(2);
    assert!(build.stderr.contains("is in the way"), "{}", build.stderr);
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "mine");
    std::fs::remove_file(&taken).unwrap();
    std::fs::remove_dir_all(&foreign).unwrap();
    infra
        .run(&["build", "cluster.yaml", "--out", "out", "--force"])
        .expect(0);
    infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert_eq!(read_tree(&out), tree);
}

#[test]
fn an_unchanged_build_rewrites_nothing() {
    // (h)
    let infra = Infra::built();
    let out = infra.out();
    let mtimes = |tree: &std::collections::BTreeMap<String, Vec<u8>>| -> Vec<std::time::SystemTime> {
        tree.keys()
            .map(|p| std::fs::metadata(out.join(p)).unwrap().modified().unwrap())
            .collect()
    };
    let tree = read_tree(&out);
    let before = mtimes(&tree);
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert_eq!(
        build.stdout,
        format!("out: {} files, 0 written, 0 removed\n", infra.compiled().len())
    );
    assert_eq!(read_tree(&out), tree);
    assert_eq!(mtimes(&tree), before, "a file was rewritten");
    // Quiet builds print nothing at all.
    let quiet = infra
        .run(&["--quiet", "build", "cluster.yaml", "--out", "out"])
        .expect(0);
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));
}

#[test]
fn an_untouched_tree_is_current_without_rendering_and_an_edited_one_is_not() {
    let infra = Infra::built();
    let out = infra.out();
    let files = infra.compiled().len();
    let current = format!("out is up to date ({files} files)\n");
    assert_eq!(
        infra
            .run(&["check", "cluster.yaml", "--out", "out"])
            .expect(0)
            .stdout,
        current
    );
    // A hand edit of a generated file is seen, whatever the lock file says.
    let file = out.join("workloads/platform/registry/harbor/release/helmrelease.yaml");
    let original = std::fs::read(&file).unwrap();
    let mut edited = original.clone();
    edited.extend_from_slice(b"# mine\n");
    std::fs::write(&file, &edited).unwrap();
    let check = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        check
            .stdout
            .contains("workloads/platform/registry/harbor/release/helmrelease.yaml"),
        "{}",
        check.stdout
    );
    std::fs::write(&file, &original).unwrap();
    // So is a file gone missing.
    std::fs::remove_file(&file).unwrap();
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    std::fs::write(&file, &original).unwrap();
    // A comment in the spec changes nothing the tree holds: still current; a build only
    // refreshes the lock file's input stamp, and the fast path holds again after it.
    let spec = infra.spec_text();
    infra.write_spec("cluster.yaml", &format!("# a new comment\n{spec}"));
    assert_eq!(
        infra
            .run(&["check", "cluster.yaml", "--out", "out"])
            .expect(0)
            .stdout,
        current
    );
    let lock_before = std::fs::read(out.join("gitopsc.lock")).unwrap();
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        build.stdout.contains(", 0 written, 0 removed"),
        "{}",
        build.stdout
    );
    assert_ne!(std::fs::read(out.join("gitopsc.lock")).unwrap(), lock_before);
    assert_eq!(
        infra
            .run(&["check", "cluster.yaml", "--out", "out"])
            .expect(0)
            .stdout,
        current
    );
}
