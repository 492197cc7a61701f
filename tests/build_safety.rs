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
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (a, b) = ("examples/infra/cluster.yaml", "examples/harbor-core/cluster.yaml");
    gitopsc(&["build", a, "--out", s(&out)]).expect(0);
    for i in 0..pairs() {
        let (first, second) = if i % 2 == 0 { (b, a) } else { (a, b) };
        build_pair(first, second, &out);
    }
}
