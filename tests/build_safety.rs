//! What `build` guarantees when runs overlap, fail or are killed, when the output root holds
//! folders that only look like gitopsc's, when two apps would render to one place, and when
//! stdout cannot be written.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `gitopsc ARGS` in the crate root with stdout sent to `/dev/full`.
fn into_full_disk(args: &[&str]) -> (i32, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = Command::new(env!("CARGO_BIN_EXE_gitopsc"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::from(full))
        .output()
        .expect("run gitopsc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_command_whose_output_cannot_be_written_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let spec = "tests/fixtures/minimal/cluster.yaml";
    let commands: [Vec<&str>; 6] = [
        vec!["init"],
        vec!["schema"],
        vec!["validate", spec],
        vec!["build", spec, "--out", s(&out)],
        vec!["check", spec, "--out", s(&out)],
        vec!["diff", spec, "--out", s(&out)],
    ];
    for args in commands {
        // `diff` prints nothing when the tree is current: remove a file so it has output.
        if args[0] == "diff" {
            std::fs::remove_file(out.join("gitopsc.lock")).unwrap();
        }
        let (code, stderr) = into_full_disk(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output"),
            "{args:?}: {stderr}"
        );
    }
}

/// Whether the tree in `out` is exactly what its lock file lists: every listed file there
/// with its hash, no other file, no temp file or journal left. `Err` says what is wrong.
fn tree_matches_lock(out: &Path) -> Result<(), String> {
    use sha2::Digest;
    let lock = std::fs::read(out.join("gitopsc.lock")).map_err(|e| format!("no lock file: {e}"))?;
    let lock: serde_json::Value = serde_json::from_slice(&lock).map_err(|e| e.to_string())?;
    let listed = lock["files"].as_object().ok_or("a lock without files")?;
    let mut tree = read_tree(out);
    tree.remove("gitopsc.lock");
    for (path, hash) in listed {
        let bytes = tree.remove(path).ok_or(format!("{path} is listed but missing"))?;
        let actual = sha256_hex(&sha2::Sha256::digest(&bytes));
        if Some(actual.as_str()) != hash.as_str() {
            return Err(format!("{path} does not have the hash the lock lists"));
        }
    }
    if let Some(extra) = tree.keys().next() {
        return Err(format!("{extra} is not listed ({} such files)", tree.len()));
    }
    if let Some(dir) = dirs(out).into_iter().find(|d| d.contains("gitopsc-tmp")) {
        return Err(format!("a temp folder is left: {dir}"));
    }
    Ok(())
}

fn sha256_hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts `gitopsc build SPEC --out OUT` in the crate root.
fn start_build(spec: &str, out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_gitopsc"))
        .args(["build", spec, "--out", s(out)])
        .current_dir(root())
        .env_remove("RAYON_NUM_THREADS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gitopsc")
}

/// Runs two builds at once into `out` and checks both succeed and the tree is whole.
fn build_pair(first: &str, second: &str, out: &Path) {
    let children = [start_build(first, out), start_build(second, out)];
    for child in children {
        let run = child.wait_with_output().unwrap();
        assert!(
            run.status.success(),
            "a build of two at once failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    if let Err(e) = tree_matches_lock(out) {
        panic!("after two builds at once into {}: {e}", out.display());
    }
}

/// How many pairs of concurrent builds a test runs: 50, or `GITOPSC_BUILD_PAIRS`.
fn pairs() -> usize {
    std::env::var("GITOPSC_BUILD_PAIRS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
}

#[test]
fn two_builds_at_once_into_an_empty_folder_leave_a_whole_tree() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..pairs() {
        let out = dir.path().join(format!("out-{i}"));
        build_pair("examples/infra/cluster.yaml", "examples/infra/cluster.yaml", &out);
    }
}

#[test]
fn two_builds_of_two_specs_at_once_into_a_tree_leave_a_whole_tree() {
    // Two versions of one cluster's spec: a spec of another cluster is refused there
    // (tests/fleet.rs).
    let dir = two_specs();
    let out = dir.path().join("out");
    let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    let (a, b) = (s(&a), s(&b));
    gitopsc(&["build", a, "--out", s(&out)]).expect(0);
    for i in 0..pairs() {
        let (first, second) = if i % 2 == 0 { (b, a) } else { (a, b) };
        build_pair(first, second, &out);
    }
}

/// Asserts that every `kustomization.yaml` in `out` lists only files and folders that are
/// there: whatever a build left, kustomize can build each folder.
#[track_caller]
fn assert_lists_are_whole(out: &Path, when: &str) {
    for (path, bytes) in read_tree(out) {
        let Some(dir) = path.strip_suffix("kustomization.yaml") else {
            continue;
        };
        let text = String::from_utf8(bytes).unwrap();
        let listed = text
            .lines()
            .skip_while(|l| *l != "resources:")
            .skip(1)
            .map_while(|l| l.strip_prefix("  - "));
        for item in listed {
            let target = out.join(dir).join(item.trim_matches('"'));
            assert!(target.exists(), "{when}: {path} lists {item}, which is not there");
        }
    }
}

/// A folder with the spec `a.yaml` (the infra example), `b.yaml` (the same with a chart
/// version changed and an app moved to another group: files change, appear in a new folder
/// and go) and the tree of each built into `a/` and `b/`.
fn two_specs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let a = std::fs::read_to_string(root().join("examples/infra/cluster.yaml")).unwrap();
    let moved = "    group: platform/operators\n    dependsOn: [cluster-infra-infrastructure]\n    helm:\n      chart: external-secrets";
    assert_eq!(a.matches(moved).count(), 1);
    assert_eq!(a.matches("version: 0.27.1").count(), 1);
    let b = a
        .replace(moved, &moved.replace("platform/operators", "platform/secrets"))
        .replace("version: 0.27.1", "version: 0.27.0");
    std::fs::write(dir.path().join("a.yaml"), a).unwrap();
    std::fs::write(dir.path().join("b.yaml"), b).unwrap();
    for spec in ["a", "b"] {
        let args = ["build", &format!("{spec}.yaml"), "--out", spec];
        gitopsc_in(dir.path(), &args).expect(0);
    }
    dir
}

/// Runs `gitopsc build SPEC --out OUT` in `dir` with the environment `env`.
fn build_with(dir: &Path, spec: &str, out: &str, env: &[(&str, &str)]) -> Run {
    let spec = format!("{spec}.yaml");
    gitopsc_env(dir, &["build", &spec, "--out", out], env)
}

#[test]
fn a_build_killed_at_any_point_is_finished_by_a_build_of_either_spec() {
    let dir = two_specs();
    let (path, tree_a, tree_b) = (
        dir.path(),
        read_tree(&dir.path().join("a")),
        read_tree(&dir.path().join("b")),
    );
    // Into a tree of A (the general way) and into an empty folder (the fresh way).
    for start in ["a", ""] {
        for k in 0.. {
            let out = format!("killed-{start}-{k}");
            if !start.is_empty() {
                copy_dir(&path.join(start), &path.join(&out));
            }
            let killed = build_with(path, "b", &out, &[("GITOPSC_TEST_KILL_AFTER", &k.to_string())]);
            if killed.code == 0 {
                assert!(k > 2, "a build of b has {k} steps");
                break;
            }
            killed.expect(137);
            let when = format!("killed after {k} steps from `{start}`");
            assert_lists_are_whole(&path.join(&out), &when);
            // Back to A, or on to B: the files the killed build put in place are gitopsc's.
            let (next, tree) = if k % 2 == 0 {
                ("a", &tree_a)
            } else {
                ("b", &tree_b)
            };
            let run = build_with(path, next, &out, &[]);
            assert_eq!(run.code, 0, "{when}, then a build of {next}: {}", run.stderr);
            assert_eq!(
                &read_tree(&path.join(&out)),
                tree,
                "{when}, then a build of {next}"
            );
        }
    }
}

#[test]
fn a_killed_build_s_files_edited_by_hand_are_still_hand_edits() {
    let dir = two_specs();
    let path = dir.path();
    copy_dir(&path.join("a"), &path.join("out"));
    // Killed at the last step, the lock file: every file of B is in place, the lock is A's.
    let steps = (0..)
        .find(|k| {
            let _ = std::fs::remove_dir_all(path.join("probe"));
            copy_dir(&path.join("a"), &path.join("probe"));
            build_with(path, "b", "probe", &[("GITOPSC_TEST_KILL_AFTER", &k.to_string())]).code == 0
        })
        .unwrap();
    build_with(
        path,
        "b",
        "out",
        &[("GITOPSC_TEST_KILL_AFTER", &(steps - 1).to_string())],
    )
    .expect(137);
    let mut in_place = read_tree(&path.join("out"));
    assert_eq!(
        in_place.remove("gitopsc.lock"),
        read_tree(&path.join("a")).remove("gitopsc.lock")
    );
    in_place.remove(".gitopsc-journal");
    let mut tree_b = read_tree(&path.join("b"));
    tree_b.remove("gitopsc.lock");
    assert_eq!(
        in_place.keys().collect::<Vec<_>>(),
        tree_b.keys().collect::<Vec<_>>()
    );
    assert!(in_place == tree_b);
    let edited = "workloads/platform/operators/cloudnative-pg/helmrelease.yaml";
    let mut text = std::fs::read_to_string(path.join("out").join(edited)).unwrap();
    text.push_str("# mine\n");
    std::fs::write(path.join("out").join(edited), &text).unwrap();
    let run = build_with(path, "a", "out", &[]).expect(1);
    assert!(run.stderr.contains(edited), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(path.join("out").join(edited)).unwrap(),
        text
    );
}

#[test]
fn a_build_that_fails_midway_leaves_each_folder_old_or_new() {
    let dir = two_specs();
    let (path, tree_a) = (dir.path(), read_tree(&dir.path().join("a")));
    for k in 0.. {
        let out = format!("failed-{k}");
        copy_dir(&path.join("a"), &path.join(&out));
        let failed = build_with(path, "b", &out, &[("GITOPSC_TEST_FAIL_AFTER", &k.to_string())]);
        if failed.code == 0 {
            assert!(k > 2, "a build of b has {k} steps");
            break;
        }
        let failed = failed.expect(2);
        assert!(
            failed.stderr.contains("the next build takes them as gitopsc's"),
            "{}",
            failed.stderr
        );
        let when = format!("failed after {k} steps");
        assert_lists_are_whole(&path.join(&out), &when);
        let temps: Vec<String> = dirs(&path.join(&out))
            .into_iter()
            .filter(|d| d.contains("gitopsc-tmp"))
            .collect();
        assert!(temps.is_empty(), "{when}: {temps:?}");
        let run = build_with(path, "a", &out, &[]);
        assert_eq!(run.code, 0, "{when}, then a build of a: {}", run.stderr);
        assert_eq!(read_tree(&path.join(&out)), tree_a, "{when}");
    }
}

#[test]
fn what_only_looks_like_gitopsc_s_is_never_removed() {
    let dir = two_specs();
    let path = dir.path();
    let out = path.join("a");
    // A folder named like the temp names: the user's.
    std::fs::create_dir_all(out.join(".gitopsc-tmp/nested")).unwrap();
    std::fs::write(out.join(".gitopsc-tmp/nested/notes.txt"), "mine").unwrap();
    build_with(path, "b", "a", &[]).expect(0);
    build_with(path, "a", "a", &[]).expect(0);
    assert_eq!(
        std::fs::read_to_string(out.join(".gitopsc-tmp/nested/notes.txt")).unwrap(),
        "mine"
    );

    // A folder, or a file that is not a journal, where the journal goes: left alone, exit 2.
    std::fs::create_dir(out.join(".gitopsc-journal")).unwrap();
    std::fs::write(out.join(".gitopsc-journal/x"), "mine").unwrap();
    for folder in [true, false] {
        for command in ["build", "check"] {
            let run = gitopsc_in(path, &[command, "b.yaml", "--out", "a"]).expect(2);
            assert!(
                run.stderr.contains("not a journal of gitopsc's"),
                "{}",
                run.stderr
            );
        }
        if folder {
            assert_eq!(
                std::fs::read_to_string(out.join(".gitopsc-journal/x")).unwrap(),
                "mine"
            );
            std::fs::remove_dir_all(out.join(".gitopsc-journal")).unwrap();
            std::fs::write(
                out.join(".gitopsc-journal"),
                "temp .gitopsc-tmp\ntemp workloads\n",
            )
            .unwrap();
        }
    }
    assert!(out.join(".gitopsc-tmp/nested/notes.txt").exists());
    assert!(out.join("workloads").exists());
}

#[test]
fn two_apps_that_would_render_into_one_folder_are_refused() {
    // An app named like a layer of another app, in that app's group: `release`, `data`.
    let infra = std::fs::read_to_string(root().join("examples/infra/cluster.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for layer in ["release", "data"] {
        let app = format!(
            "apps:\n  - name: {layer}\n    namespace: other\n    group: platform/registry/harbor\n    helm: {{ chart: harbor, version: 1.16.0, source: harbor }}\n"
        );
        std::fs::write(
            dir.path().join("cluster.yaml"),
            infra.replacen("apps:\n", &app, 1),
        )
        .unwrap();
        let folder = format!("workloads/platform/registry/harbor/{layer}");
        for command in ["validate", "build"] {
            let mut args = vec!["--color", "never", command, "cluster.yaml"];
            if command == "build" {
                args.extend(["--out", "out"]);
            }
            let run = gitopsc_in(dir.path(), &args).expect(2);
            let message = format!(
                "app `{layer}` renders into the folder `{folder}`, which app `harbor` renders into too"
            );
            assert!(run.stderr.contains(&message), "{}", run.stderr);
            assert!(
                run.stderr.contains(&format!("  - name: {layer}\n")),
                "not at the app's name: {}",
                run.stderr
            );
        }
        assert!(!dir.path().join("out").exists(), "a refused spec wrote a tree");
    }
}
