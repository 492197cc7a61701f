//! The `gitopsc` binary as a user runs it: exit codes, messages, diagnostics, write safety,
//! prune protection, and the rendered tree under the cluster root `flux bootstrap` creates.

mod common;

use common::{Run, copy_dir, dirs, gitopsc, gitopsc_env, gitopsc_in, read_tree, root, s, tool_runs};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A temp dir holding a copy of the infra example's spec as `cluster.yaml`; `out` is where
/// the tests build it.
struct Infra {
    dir: tempfile::TempDir,
}

impl Infra {
    fn new() -> Infra {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            root().join("examples/infra/cluster.yaml"),
            dir.path().join("cluster.yaml"),
        )
        .unwrap();
        Infra { dir }
    }

    /// Infra with `out/` already built.
    fn built() -> Infra {
        let infra = Infra::new();
        infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
        infra
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    fn spec_text(&self) -> String {
        std::fs::read_to_string(self.path().join("cluster.yaml")).unwrap()
    }

    /// Writes `text` as the spec `name` in the temp dir.
    fn write_spec(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).unwrap();
    }

    /// Runs gitopsc in the temp dir, with `--color never`.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--color", "never"];
        all.extend_from_slice(args);
        gitopsc_in(self.path(), &all)
    }
}

/// The spec text without the app `name` (its list item under `apps:`).
fn without_app(text: &str, name: &str) -> String {
    let start_line = format!("  - name: {name}");
    let mut out = String::new();
    let mut skipping = false;
    let mut found = false;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == start_line {
            skipping = true;
            found = true;
            continue;
        }
        if skipping && (line.starts_with("  - ") || (!line.starts_with(' ') && !line.trim().is_empty())) {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
        }
    }
    assert!(found, "no app `{name}` in the spec");
    out
}

/// Replaces the one occurrence of `from` by `to`.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur exactly once");
    text.replacen(from, to, 1)
}

// ------------------------------------------------------------------------------------------
// Help, schema, output/ being current

#[test]
fn help_of_every_subcommand_shows_an_example() {
    for cmd in ["build", "check", "diff", "validate", "schema", "init"] {
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
    let examples = common::examples();
    assert!(!examples.is_empty());
    for name in examples {
        let spec = format!("examples/{name}/cluster.yaml");
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
// check / diff / build after a spec change

#[test]
fn check_diff_and_build_follow_a_chart_version_change() {
    let infra = Infra::new();
    copy_dir(&root().join("output/infra"), &infra.out());
    let current = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        current.stdout.contains("is up to date (18 files)"),
        "{}",
        current.stdout
    );
    infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(0);

    let text = replace_once(&infra.spec_text(), "version: 1.16.0", "version: 1.16.1");
    infra.write_spec("cluster.yaml", &text);
    let before = read_tree(&infra.out());

    let check = infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        check.stdout.contains("is stale: 0 added, 1 changed, 0 removed"),
        "{}",
        check.stdout
    );
    let listed: Vec<&str> = check.stdout.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(
        listed,
        ["  changed  workloads/platform/registry/harbor/helmrelease.yaml"],
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains("run `gitopsc build cluster.yaml --out out`")
    );

    let diff = infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(1);
    for line in [
        "  ~ HelmRelease harbor/harbor",
        "--- a/workloads/platform/registry/harbor/helmrelease.yaml",
        "+++ b/workloads/platform/registry/harbor/helmrelease.yaml",
        "-      version: \"1.16.0\"",
        "+      version: \"1.16.1\"",
    ] {
        assert!(
            diff.stdout.lines().any(|l| l == line),
            "diff lacks `{line}`:\n{}",
            diff.stdout
        );
    }
    // One line out, one line in: nothing else of the file changes.
    let changed: Vec<&str> = diff
        .stdout
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+')) && !l.starts_with("---") && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(changed.len(), 2, "{}", diff.stdout);
    assert_eq!(
        read_tree(&infra.out()),
        before,
        "check and diff must write nothing"
    );

    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        build.stdout.contains("18 files, 1 written, 0 removed"),
        "{}",
        build.stdout
    );
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    let diff = infra.run(&["diff", "cluster.yaml", "--out", "out"]).expect(0);
    assert_eq!(diff.stdout, "");
}

// ------------------------------------------------------------------------------------------
// Unusable input: exit 2 with a message

#[test]
fn unusable_input_exits_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let header = "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\n";
    std::fs::write(p.join("empty.yaml"), "").unwrap();
    std::fs::write(p.join("comments.yaml"), "# nothing but a comment\n---\n").unwrap();
    let mut bad = format!("{header}metadata:\n  name: ").into_bytes();
    bad.extend_from_slice(b"\xff\xfe\n");
    std::fs::write(p.join("latin1.yaml"), bad).unwrap();
    std::fs::write(
        p.join("anchors.yaml"),
        format!("{header}metadata: &m\n  name: a\napps: *m\n"),
    )
    .unwrap();
    std::fs::write(p.join("alias.yaml"), format!("{header}metadata: *m\n")).unwrap();
    std::fs::write(
        p.join("multi.yaml"),
        format!("{header}metadata: {{name: a}}\n---\n{header}metadata: {{name: b}}\n"),
    )
    .unwrap();
    std::fs::write(
        p.join("deep.yaml"),
        format!(
            "{header}metadata: {{name: a}}\nx: {}{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        ),
    )
    .unwrap();
    std::fs::create_dir(p.join("specdir")).unwrap();
    std::fs::write(p.join("regular-file"), "not a folder\n").unwrap();
    let spec = root().join("examples/infra/cluster.yaml");

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["missing.yaml"],
            "cannot read the spec `missing.yaml`: no such file",
        ),
        (vec!["specdir"], "the spec `specdir` is a directory"),
        (vec!["empty.yaml"], "the spec `empty.yaml` is empty"),
        (vec!["comments.yaml"], "the spec `comments.yaml` is empty"),
        (
            vec!["latin1.yaml"],
            "the spec `latin1.yaml` is not valid UTF-8 (byte 64, line 4, column 9)",
        ),
        (
            vec!["anchors.yaml"],
            "YAML anchors and aliases are not allowed in a spec",
        ),
        (vec!["alias.yaml"], "aliases are not allowed in a spec"),
        (vec!["multi.yaml"], "the spec holds more than one YAML document"),
        (vec!["deep.yaml"], "the spec is nested too deeply"),
    ];
    for (args, message) in &cases {
        for cmd in ["validate", "build", "check", "diff"] {
            let mut all = vec!["--color", "never", cmd];
            all.extend(args.iter().copied());
            if cmd != "validate" {
                all.extend(["--out", "out"]);
            }
            let run = gitopsc_in(p, &all);
            assert_eq!(run.code, 2, "{all:?}: {}{}", run.stdout, run.stderr);
            assert!(
                run.stderr.starts_with("error: ") && run.stderr.contains(message),
                "{all:?}: expected `{message}` in:\n{}",
                run.stderr
            );
            assert_eq!(run.stdout, "", "{all:?}");
        }
    }
    assert!(
        !p.join("out").exists(),
        "a failed command created the output root"
    );

    for cmd in ["build", "check", "diff"] {
        let run = gitopsc_in(p, &["--color", "never", cmd, s(&spec), "--out", "regular-file"]);
        assert_eq!(run.code, 2, "{cmd}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .contains("error: `--out regular-file` is not a directory"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        std::fs::read_to_string(p.join("regular-file")).unwrap(),
        "not a folder\n"
    );
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

// ------------------------------------------------------------------------------------------
// Diagnostics of invalid specs

/// Error fixtures whose rendered text is not snapshotted because of a known rendering bug:
/// a message longer than the renderer's width leaks its wrapped tail as a `│ ...` line under
/// the header (src/diagnostic.rs skips only the first line of miette's report). They are
/// checked below without a snapshot.
const LONG_MESSAGE_CASES: &[&str] = &["flux-2.4.yaml", "oci-flux-2.5.yaml", "unknown-dependency.yaml"];

/// Runs `validate` on an error fixture the way a user in the crate root does.
fn validate_error(file: &str) -> Run {
    let rel = format!("tests/errors/{file}");
    let run = gitopsc(&["--color", "never", "validate", &rel]);
    assert_eq!(run.code, 2, "{rel}: {}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "", "{rel}");
    run
}

/// Asserts that every diagnostic of `stderr` points into `file` with `file:line:col`, and
/// returns their count.
fn assert_located(file: &str, stderr: &str) -> usize {
    let rel = format!("tests/errors/{file}");
    let blocks: Vec<&str> = stderr
        .split("\nerror: ")
        .filter(|b| !b.trim().is_empty())
        .collect();
    assert!(stderr.starts_with("error: "), "{stderr}");
    for block in &blocks {
        let at = block
            .find(&format!("[{rel}:"))
            .unwrap_or_else(|| panic!("a diagnostic without a location in {rel}:\n{block}"));
        let rest = &block[at + rel.len() + 2..];
        let loc = &rest[..rest.find(']').unwrap()];
        let parts: Vec<&str> = loc.split(':').collect();
        assert!(
            parts.len() == 2 && parts.iter().all(|p| p.parse::<u32>().is_ok_and(|n| n > 0)),
            "`{loc}` is not line:col in {rel}"
        );
    }
    blocks.len()
}

#[test]
fn error_fixture_snapshots() {
    insta::glob!("errors/*.yaml", |path| {
        let file = path.file_name().unwrap().to_str().unwrap();
        let run = validate_error(file);
        let count = assert_located(file, &run.stderr);
        assert!(count >= 1);
        if LONG_MESSAGE_CASES.contains(&file) {
            return;
        }
        insta::assert_snapshot!(run.stderr);
    });
}

#[test]
fn errors_with_long_messages_are_reported_at_their_place() {
    let cases: &[(&str, &[&str])] = &[
        (
            "flux-2.4.yaml",
            &[
                "error: Flux 2.4 lacks `healthCheckExprs`, which every generated Flux Kustomization uses to wait for custom resources: it needs Flux 2.5 or later\n",
                "[tests/errors/flux-2.4.yaml:6:12]",
                "╰── needs Flux ≥ 2.5",
                "help: upgrade Flux and set `flux.version: \"2.5\"` or later\n",
            ],
        ),
        (
            "oci-flux-2.5.yaml",
            &[
                "error: Flux 2.5 lacks `OCIRepository` v1, which an `oci://` chart source renders into: it needs Flux 2.6 or later\n",
                "[tests/errors/oci-flux-2.5.yaml:9:36]",
                "╰── needs Flux ≥ 2.6",
                "help: upgrade Flux and set `flux.version: \"2.6\"` or later, or drop this setting",
            ],
        ),
        (
            "unknown-dependency.yaml",
            &[
                "error: `cluster-infra-infrastucture` is neither an app of this spec nor a declared external Kustomization\n",
                "[tests/errors/unknown-dependency.yaml:12:17]",
                "help: did you mean `cluster-infra-infrastructure`? Kustomizations outside this tree go in",
                "error: `postgres` is neither an app of this spec nor a declared external Kustomization\n",
                "[tests/errors/unknown-dependency.yaml:12:46]",
                "help: add `postgres` to `flux.external` if it is a Flux Kustomization outside this tree",
            ],
        ),
    ];
    for (file, needles) in cases {
        assert!(LONG_MESSAGE_CASES.contains(file));
        let run = validate_error(file);
        let errors = needles.iter().filter(|n| n.starts_with("error: ")).count();
        assert_eq!(assert_located(file, &run.stderr), errors, "{}", run.stderr);
        for needle in *needles {
            assert!(
                run.stderr.contains(needle),
                "{file}: `{needle}` missing from:\n{}",
                run.stderr
            );
        }
    }
}

#[test]
fn five_mistakes_are_reported_in_one_run() {
    let run = validate_error("five-mistakes.yaml");
    assert_eq!(
        assert_located("five-mistakes.yaml", &run.stderr),
        5,
        "{}",
        run.stderr
    );
    for needle in [
        "error: `10 minutes` is not a valid duration",
        "error: `postgres` is neither an app of this spec nor a declared external Kustomization",
        "error: unknown field `retires`",
        "help: did you mean `retries`?",
        "error: `Redis` is not a valid name",
        "error: source `bitnami` is not declared in `sources.helm`",
    ] {
        assert!(run.stderr.contains(needle), "`{needle}` missing:\n{}", run.stderr);
    }
    // The same diagnostics through the library, in file order.
    let failure = match gitopsc::check_spec(&root().join("tests/errors/five-mistakes.yaml")) {
        Ok(_) => panic!("five-mistakes.yaml is valid"),
        Err(f) => f,
    };
    let errors: Vec<usize> = failure
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.span.expect("every mistake has a place").start)
        .collect();
    assert_eq!(errors.len(), 5);
    assert!(errors.windows(2).all(|w| w[0] < w[1]), "not in file order");
    let stderr_again = gitopsc::diagnostic::render(&failure.diagnostics, failure.source.as_ref(), false);
    assert!(stderr_again.contains("five-mistakes.yaml:7:13"), "{stderr_again}");
}

// ------------------------------------------------------------------------------------------
// Write safety

#[test]
fn a_hand_edited_file_blocks_build_until_forced() {
    let infra = Infra::built();
    let file = infra
        .out()
        .join("workloads/platform/registry/harbor/helmrelease.yaml");
    let mut edited = std::fs::read_to_string(&file).unwrap();
    edited.push_str("# tuned by hand\n");
    std::fs::write(&file, &edited).unwrap();

    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        build.stderr.contains(
            "  blocked  workloads/platform/registry/harbor/helmrelease.yaml (edited by hand since gitopsc wrote it; left alone)"
        ),
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
    let at_generated = out.join("workloads/platform/registry/harbor/helmrelease.yaml");
    std::fs::create_dir_all(at_generated.parent().unwrap()).unwrap();
    std::fs::write(&at_generated, "mine\n").unwrap();
    // (c) files gitopsc never generates.
    std::fs::write(out.join("README.md"), "my notes\n").unwrap();
    std::fs::create_dir_all(out.join("workloads/platform/messaging")).unwrap();
    std::fs::write(out.join("workloads/platform/messaging/notes.txt"), "notes\n").unwrap();

    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        build.stderr.contains(
            "  blocked  workloads/platform/registry/harbor/helmrelease.yaml (a file gitopsc did not write is in the way; left alone)"
        ),
        "{}",
        build.stderr
    );
    assert!(
        build.stdout.contains("17 written, 0 removed, 1 blocked"),
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
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(1);
    assert!(
        build.stdout.contains("13 files, 2 written, 5 removed, 1 blocked"),
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
    let text = without_app(&infra.spec_text(), "strimzi-operator");
    infra.write_spec("cluster.yaml", &text);
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(
        build.stdout.contains("13 files, 2 written, 5 removed"),
        "{}",
        build.stdout
    );
    let out = infra.out();
    for gone in [
        "workloads/platform/messaging",
        "clusters/infra/gitopsc/strimzi-operator.yaml",
        "infrastructure/sources/helm/strimzi.yaml",
    ] {
        assert!(!out.join(gone).exists(), "{gone} is still there");
    }
    assert!(out.join("workloads/platform/registry/harbor").is_dir());
    let compiled = gitopsc::compile(&infra.path().join("cluster.yaml"), None)
        .ok()
        .unwrap();
    let mut tree = read_tree(&out);
    assert!(tree.remove("gitopsc.lock").is_some());
    assert_eq!(tree, compiled.tree);
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
            build.stderr.contains(
                "  blocked  workloads/platform/registry/harbor/helmrelease.yaml (`workloads` is a symlink; left alone)"
            ),
            "{}",
            build.stderr
        );
        assert!(build.stdout.contains("10 blocked"), "{}", build.stdout);
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
    let text = without_app(&infra.spec_text(), "harbor");
    infra.write_spec("cluster.yaml", &text);
    let build = infra
        .run(&["build", "cluster.yaml", "--out", "out", "--force"])
        .expect(0);
    assert!(build.stdout.contains("removed"), "{}", build.stdout);
    assert_eq!(std::fs::read_to_string(&escape).unwrap(), "precious\n");
}

#[test]
fn a_killed_build_leaves_nothing_that_the_next_build_does_not_fix() {
    // (g) the staging folder of a killed build, with a half-written tree.
    let infra = Infra::built();
    let out = infra.out();
    let staging = out.join(".gitopsc-tmp");
    std::fs::create_dir_all(staging.join("nested")).unwrap();
    std::fs::write(staging.join("0"), "half a file").unwrap();
    std::fs::write(staging.join("nested/lock"), "{").unwrap();
    // Unchanged tree: nothing to write, the leftovers still go.
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(build.stdout.contains("0 written, 0 removed"), "{}", build.stdout);
    assert!(!staging.exists(), "the staging folder survived a build");

    // Half the files of a build missing and the staging folder left behind.
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("3"), "partial").unwrap();
    std::fs::remove_file(out.join("workloads/platform/registry/harbor/helmrelease.yaml")).unwrap();
    std::fs::remove_dir_all(out.join("workloads/platform/operators")).unwrap();
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(1);
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(build.stdout.contains("5 written, 0 removed"), "{}", build.stdout);
    assert!(!staging.exists());
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    assert_eq!(read_tree(&out), read_tree(&Infra::built().out()));
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
    assert_eq!(build.stdout, "out: 18 files, 0 written, 0 removed\n");
    assert_eq!(read_tree(&out), tree);
    assert_eq!(mtimes(&tree), before, "a file was rewritten");
    // Quiet builds print nothing at all.
    let quiet = infra
        .run(&["--quiet", "build", "cluster.yaml", "--out", "out"])
        .expect(0);
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));
}

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
        assert!(out.contains("`defaults.pruneProtection: true`"), "{out}");
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

// ------------------------------------------------------------------------------------------
// kustomize: the cluster root `flux bootstrap` creates, and every kustomization of output/

fn kubectl_present() -> bool {
    tool_runs("kubectl", &["version", "--client"])
}

fn kustomize(dir: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("kubectl")
        .args(["kustomize", s(dir)])
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    common::serde_load_all(&String::from_utf8(out.stdout).unwrap()).unwrap()
}

fn ids(docs: &[serde_json::Value]) -> Vec<(String, String, String)> {
    docs.iter()
        .map(|d| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            (
                text(&d["apiVersion"]),
                text(&d["kind"]),
                text(&d["metadata"]["name"]),
            )
        })
        .collect()
}

/// What kustomize-controller generates for a folder without a kustomization file: every
/// sub-folder that holds a kustomization file (not descended into), and every YAML file of
/// the folders that do not.
fn flux_generated_kustomization(dir: &Path) -> String {
    fn has_kustomization(dir: &Path) -> bool {
        ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .any(|f| dir.join(f).is_file())
    }
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(base).unwrap().to_str().unwrap().to_string();
            if path.is_dir() {
                if has_kustomization(&path) {
                    out.push(rel);
                } else {
                    walk(base, &path, out);
                }
            } else if rel.ends_with(".yaml") || rel.ends_with(".yml") {
                out.push(rel);
            }
        }
    }
    let mut resources = Vec::new();
    walk(dir, dir, &mut resources);
    let mut text =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n".to_string();
    for r in resources {
        text.push_str(&format!("  - {r}\n"));
    }
    text
}

#[test]
fn the_cluster_root_with_flux_bootstrap_files_builds_with_kustomize() {
    let infra = Infra::built();
    let cluster = infra.out().join("clusters/infra");
    assert!(
        !cluster.join("kustomization.yaml").exists(),
        "gitopsc wrote clusters/infra/kustomization.yaml: it would hide flux-system/ from Flux"
    );
    // What `flux bootstrap git --path=kubernetes/clusters/infra` commits.
    let flux_system = cluster.join("flux-system");
    std::fs::create_dir(&flux_system).unwrap();
    std::fs::write(
        flux_system.join("gotk-components.yaml"),
        "---\n# This manifest was generated by flux. DO NOT EDIT.\napiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    app.kubernetes.io/instance: flux-system\n  name: flux-system\n",
    )
    .unwrap();
    std::fs::write(
        flux_system.join("gotk-sync.yaml"),
        "# This manifest was generated by flux. DO NOT EDIT.\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  secretRef:\n    name: flux-system\n  url: ssh://git@github.com/example/gitops\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./kubernetes/clusters/infra\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    )
    .unwrap();
    std::fs::write(
        flux_system.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n",
    )
    .unwrap();
    // gitopsc leaves Flux's files alone and still calls its tree current.
    infra.run(&["check", "cluster.yaml", "--out", "out"]).expect(0);
    let build = infra.run(&["build", "cluster.yaml", "--out", "out"]).expect(0);
    assert!(build.stdout.contains("0 written, 0 removed"), "{}", build.stdout);

    if !kubectl_present() {
        common::skipped("kubectl kustomize of the cluster root: kubectl is not installed");
        return;
    }
    let generated = flux_generated_kustomization(&cluster);
    assert_eq!(
        generated,
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - flux-system\n  - gitopsc\n"
    );
    std::fs::write(cluster.join("kustomization.yaml"), generated).unwrap();
    let objects = ids(&kustomize(&cluster));
    let has = |api: &str, kind: &str, name: &str| {
        objects.iter().any(|(a, k, n)| a == api && k == kind && n == name)
    };
    assert!(has("v1", "Namespace", "flux-system"), "{objects:?}");
    assert!(
        has("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system"),
        "{objects:?}"
    );
    assert!(
        has("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system"),
        "{objects:?}"
    );
    for name in ["sources", "cloudnative-pg", "harbor", "strimzi-operator"] {
        assert!(
            has("kustomize.toolkit.fluxcd.io/v1", "Kustomization", name),
            "{name}: {objects:?}"
        );
    }
    assert_eq!(objects.len(), 3 + 4, "{objects:?}");
}

#[test]
fn every_kustomization_of_output_builds_with_kustomize() {
    if !kubectl_present() {
        common::skipped("kubectl kustomize of output/: kubectl is not installed");
        return;
    }
    let output = root().join("output");
    let mut built = 0;
    for dir in dirs(&output) {
        let dir = output.join(dir);
        if !dir.join("kustomization.yaml").is_file() {
            continue;
        }
        let docs = kustomize(&dir);
        assert!(!docs.is_empty(), "{}", dir.display());
        // Every object kustomize emits is one of the folder's own files.
        let listed = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
        let files = listed.lines().filter(|l| l.starts_with("  - ")).count();
        assert_eq!(docs.len(), files, "{}", dir.display());
        built += 1;
    }
    assert!(built >= 5, "only {built} kustomizations under output/");
}
