//! The `gitopsc` binary as a user runs it, in general: every subcommand's help, the
//! committed schema and output/ being current, colour.

mod common;

use common::cli::{Infra, replace_once};
use common::{gitopsc, gitopsc_env, gitopsc_in, root, s, tool_runs};
use std::process::Command;

// ------------------------------------------------------------------------------------------
// Help, schema, output/ being current

#[test]
fn help_of_every_subcommand_shows_an_example() {
    for cmd in ["build", "check", "diff", "validate", "explain", "schema", "init"] {
        let run = gitopsc(&[cmd, "--help"]).expect(0);
        assert!(
            run.stdout.contains("Example"),
            "`gitopsc {cmd} --help` shows no example:\n{}",
            run.stdout
        );
    }
}

#[test]
fn output_dir_is_current_for_every_example() {
    let examples = common::example_specs();
    assert!(!examples.is_empty());
    for (name, spec) in examples {
        let out = format!("output/{name}");
        let run = gitopsc(&["--color", "never", "check", &spec, "--out", &out]);
        assert_eq!(
            run.code, 0,
            "`output/{name}` is not what `{spec}` renders; regenerate it with \
             `cargo run -- build {spec} --out {out}`\n{}{}",
            run.stdout, run.stderr
        );
    }
}

#[test]
fn schema_file_is_current() {
    let run = gitopsc(&["schema"]).expect(0);
    let file = std::fs::read_to_string(root().join("schemas/cluster.schema.json")).unwrap();
    assert!(
        run.stdout == file,
        "schemas/cluster.schema.json is not what `gitopsc schema` prints; regenerate it with \
         `cargo run -- schema > schemas/cluster.schema.json`"
    );
    // And it is the schema the library validates with.
    assert_eq!(file, gitopsc::spec::schema::schema_text());
}

// ------------------------------------------------------------------------------------------
// Colour

#[test]
fn color_never_and_no_color_print_no_escape_codes() {
    let infra = Infra::built();
    let text = replace_once(&infra.spec_text(), "version: 1.16.0", "version: 1.16.1");
    infra.write_spec("changed.yaml", &text);
    let bad = root().join("tests/errors/unknown-field.yaml");
    let stale = ["check", "changed.yaml", "--out", "out"];
    let diff = ["diff", "changed.yaml", "--out", "out"];
    let invalid = ["validate", s(&bad)];

    // The probe can see colour: `--color always` prints escape codes on both streams.
    for args in [&stale[..], &diff[..]] {
        let mut all = vec!["--color", "always"];
        all.extend_from_slice(args);
        let run = gitopsc_in(infra.path(), &all).expect(1);
        assert!(run.stdout.contains('\x1b'), "{args:?} --color always: no colour");
    }
    let mut all = vec!["--color", "always"];
    all.extend_from_slice(&invalid);
    assert!(gitopsc_in(infra.path(), &all).expect(2).stderr.contains('\x1b'));

    for args in [&stale[..], &diff[..], &invalid[..]] {
        let mut all = vec!["--color", "never"];
        all.extend_from_slice(args);
        let run = gitopsc_in(infra.path(), &all);
        assert!(
            !run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'),
            "{all:?} printed an escape code"
        );
        let run = gitopsc_env(infra.path(), args, &[("NO_COLOR", "1")]);
        assert!(
            !run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'),
            "NO_COLOR=1 {args:?} printed an escape code"
        );
    }

    // On a terminal `auto` colours, and NO_COLOR / --color never turn it off. `script`
    // gives the command a pseudo-terminal.
    if !tool_runs("script", &["--version"]) {
        common::skipped("the terminal part of the colour test: `script` (util-linux) is not installed");
        return;
    }
    let on_tty = |args: &[&str], no_color: bool| -> String {
        let line = std::iter::once(env!("CARGO_BIN_EXE_gitopsc"))
            .chain(args.iter().copied())
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .current_dir(infra.path())
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().expect("run script");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for args in [&stale[..], &invalid[..]] {
        let tty = on_tty(args, false);
        assert!(tty.contains("error") || tty.contains("stale"), "{tty}");
        assert!(tty.contains('\x1b'), "{args:?} on a terminal: no colour:\n{tty}");
        assert!(
            !on_tty(args, true).contains('\x1b'),
            "NO_COLOR=1 {args:?} on a terminal printed an escape code"
        );
        let mut never = vec!["--color", "never"];
        never.extend_from_slice(args);
        assert!(
            !on_tty(&never, false).contains('\x1b'),
            "{never:?} on a terminal printed an escape code"
        );
    }
}
