//! What `build` guarantees when runs overlap, fail or are killed, when the output root holds
//! folders that only look like gitopsc's, when two apps would render to one place, and when
//! stdout cannot be written.

mod common;

use common::*;
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
