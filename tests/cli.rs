//! The `gitopsc` binary as a user runs it: exit codes, messages, diagnostics, write safety,
//! prune protection, and the rendered tree under the cluster root `flux bootstrap` creates.

mod common;

use common::{Run, copy_dir, dirs, gitopsc, gitopsc_env, gitopsc_in, read_tree, root, s, tool_runs};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

type Tree = BTreeMap<String, Vec<u8>>;

/// The harbor HelmRelease of the infra example.
const HARBOR_RELEASE: &str = "workloads/platform/registry/harbor/release/helmrelease.yaml";

/// The tree the library compiles from `spec`: what a build leaves on disk besides the lock
/// file. The binary's counts and listings are checked against it, so the tests follow the
/// example as it grows while still catching a wrong count.
fn compiled(spec: &Path) -> Tree {
    match gitopsc::compile(spec, None) {
        Ok(c) => c.tree,
        Err(f) => panic!(
            "{} does not compile:\n{}",
            spec.display(),
            gitopsc::diagnostic::render(&f.diagnostics, f.source.as_ref(), false)
        ),
    }
}

/// What `build` reports when the tree on disk goes from `old` to `new` (no conflicts):
/// `N files, W written, R removed`.
fn build_summary(old: &Tree, new: &Tree) -> String {
    let written = new.iter().filter(|(p, b)| old.get(*p) != Some(*b)).count();
    let removed = old.keys().filter(|p| !new.contains_key(*p)).count();
    format!("{} files, {written} written, {removed} removed", new.len())
}

/// The paths `new` adds, changes and removes relative to `old`.
fn changed_paths(old: &Tree, new: &Tree) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = new
        .iter()
        .filter(|(p, b)| old.get(*p) != Some(*b))
        .map(|(p, _)| p.clone())
        .collect();
    out.extend(old.keys().filter(|p| !new.contains_key(*p)).cloned());
    out
}

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

    /// The tree the spec `cluster.yaml` of the temp dir compiles to.
    fn compiled(&self) -> Tree {
        compiled(&self.path().join("cluster.yaml"))
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

/// The spec text without the apps `names`, removed in order.
fn without_apps(text: &str, names: &[&str]) -> String {
    names.iter().fold(text.to_string(), |t, n| without_app(&t, n))
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
    // The objects: only the HelmRelease changes (the runbook is not an object).
    let objects: Vec<&str> = diff
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("objects ("))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(objects, ["  ~ HelmRelease harbor/harbor"], "{}", diff.stdout);
    for line in [
        format!("--- a/{HARBOR_RELEASE}"),
        format!("+++ b/{HARBOR_RELEASE}"),
        "-      version: \"1.16.0\"".to_string(),
        "+      version: \"1.16.1\"".to_string(),
    ] {
        assert!(
            diff.stdout.lines().any(|l| l == line),
            "diff lacks `{line}`:\n{}",
            diff.stdout
        );
    }
    // Every changed file shows up, and in each one line goes out and the same line with the
    // new version comes in: nothing else changes.
    let headers: Vec<&str> = diff
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .collect();
    assert_eq!(
        headers,
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "{}",
        diff.stdout
    );
    let out: Vec<&str> = diff
        .stdout
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    let came: Vec<&str> = diff
        .stdout
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(out.len(), expected.len(), "{}", diff.stdout);
    assert_eq!(came.len(), expected.len(), "{}", diff.stdout);
    for (o, c) in out.iter().zip(&came) {
        assert!(o.contains("1.16.0"), "{o}");
        assert_eq!(o[1..].replace("1.16.0", "1.16.1"), c[1..], "{}", diff.stdout);
    }
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

/// Error fixtures whose message is longer than the renderer's width. miette wraps such a
/// message; the whole of it must stay on the `error:` line, with nothing of it leaking under
/// the header.
const LONG_MESSAGE_CASES: &[&str] = &["flux-2.4.yaml", "oci-flux-2.5.yaml", "unknown-dependency.yaml"];

/// Runs `validate` on an error fixture the way a user in the crate root does.
fn validate_error(file: &str) -> Run {
    let rel = format!("tests/errors/{file}");
    let run = gitopsc(&["--color", "never", "validate", &rel]);
    assert_eq!(run.code, 2, "{rel}: {}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "", "{rel}");
    run
}

/// Asserts that every diagnostic of `stderr` (all of them of `severity`, `error` or
/// `warning`) points into `file` with `file:line:col` on the line right under its message,
/// and returns their count.
fn assert_located_as(severity: &str, file: &str, stderr: &str) -> usize {
    let rel = format!("tests/errors/{file}");
    let blocks: Vec<&str> = stderr
        .split(&format!("\n{severity}: "))
        .filter(|b| !b.trim().is_empty())
        .collect();
    assert!(stderr.starts_with(&format!("{severity}: ")), "{stderr}");
    for block in &blocks {
        let second = block.lines().nth(1).unwrap_or_default();
        assert!(
            second.trim_start().starts_with(&format!("╭─[{rel}:")),
            "the line under the message of a diagnostic in {rel} is not its location:\n{block}"
        );
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

/// [`assert_located_as`] for errors.
fn assert_located(file: &str, stderr: &str) -> usize {
    assert_located_as("error", file, stderr)
}

#[test]
fn error_fixture_snapshots() {
    insta::glob!("errors/*.yaml", |path| {
        let file = path.file_name().unwrap().to_str().unwrap();
        let run = validate_error(file);
        let count = assert_located(file, &run.stderr);
        assert!(count >= 1);
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

#[test]
fn data_and_secret_mistakes_are_refused_one_by_one() {
    // Each fixture holds one mistake and is otherwise valid: exactly one error, at its place.
    let cases: &[(&str, &str, &str)] = &[
        (
            "plaintext-secret-value.yaml",
            "error: `value`: plaintext secret values are not allowed in a spec",
            "[tests/errors/plaintext-secret-value.yaml:18:9]",
        ),
        (
            "plaintext-password-in-values.yaml",
            "error: `password` holds a secret in plain text",
            "[tests/errors/plaintext-password-in-values.yaml:19:23]",
        ),
        (
            "unknown-reference.yaml",
            "error: unknown reference `((postgres.nope))`",
            "[tests/errors/unknown-reference.yaml:27:17]",
        ),
        (
            "redis-index-clash.yaml",
            "error: Redis database 3 is used by `cache`, `queue`",
            "[tests/errors/redis-index-clash.yaml:13:",
        ),
        (
            "harbor-redis-index-clash.yaml",
            "error: Redis database 1 is used by `jobservice`, `registry`",
            "[tests/errors/harbor-redis-index-clash.yaml:13:",
        ),
        (
            "harbor-core-index.yaml",
            "error: `core` must use Redis database 0, not 1",
            "[tests/errors/harbor-core-index.yaml:13:26]",
        ),
        (
            "database-listed-twice.yaml",
            "error: database `billing` is listed twice",
            "[tests/errors/database-listed-twice.yaml:18:19]",
        ),
        (
            "databases-cnpg-1.24.yaml",
            "error: declarative `Database` objects need CloudNative-PG 1.25 or later; `operatorVersion` is 1.24",
            "[tests/errors/databases-cnpg-1.24.yaml:17:7]",
        ),
        (
            "operator-not-declared.yaml",
            "error: app `billing` needs CloudNative-PG, which `operators` does not declare",
            "[tests/errors/operator-not-declared.yaml:8:5]",
        ),
        (
            "backup-five-field-schedule.yaml",
            "error: `0 2 * * *` is not a six-field cron schedule",
            "[tests/errors/backup-five-field-schedule.yaml:25:19]",
        ),
        (
            "backup-credentials-not-in-secrets.yaml",
            "error: the backup credentials `billing-s3` is not one of the app's `secrets`",
            "[tests/errors/backup-credentials-not-in-secrets.yaml:24:22]",
        ),
        (
            "dockerconfigjson-without-registry.yaml",
            "error: the dockerconfigjson secret `pull` needs a `registry`",
            "[tests/errors/dockerconfigjson-without-registry.yaml:17:",
        ),
        (
            "harbor-core-secret-missing-key.yaml",
            "error: `harbor-core` must have the key `secret`: the chart reads it from `core.existingSecret`",
            "[tests/errors/harbor-core-secret-missing-key.yaml:20:",
        ),
        (
            "cluster-store-without-namespace.yaml",
            "error: a ClusterSecretStore's service account needs a namespace",
            "[tests/errors/cluster-store-without-namespace.yaml:14:11]",
        ),
    ];
    for (file, message, place) in cases {
        let run = validate_error(file);
        assert_eq!(assert_located(file, &run.stderr), 1, "{file}:\n{}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!("{message}\n")),
            "{file}: expected `{message}`:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(place),
            "{file}: not at {place}:\n{}",
            run.stderr
        );
        // Refused by every command, which then writes nothing.
        let dir = tempfile::tempdir().unwrap();
        let spec = root().join("tests/errors").join(file);
        for cmd in ["build", "check", "diff"] {
            let run = gitopsc_in(dir.path(), &["--color", "never", cmd, s(&spec), "--out", "out"]);
            assert_eq!(run.code, 2, "{cmd} {file}: {}{}", run.stdout, run.stderr);
            assert!(run.stderr.contains(&message[7..]), "{cmd} {file}: {}", run.stderr);
        }
        assert!(
            !dir.path().join("out").exists(),
            "{file}: a refused spec wrote a tree"
        );
    }
}

#[test]
fn warning_fixtures_are_valid_and_say_why() {
    // Specs that build, with a warning at the questionable place.
    insta::glob!("errors/warnings/*.yaml", |path| {
        let file = path.file_name().unwrap().to_str().unwrap();
        let rel = format!("tests/errors/warnings/{file}");
        let run = gitopsc(&["--color", "never", "validate", &rel]).expect(0);
        assert!(run.stdout.contains(" is valid: "), "{rel}: {}", run.stdout);
        assert!(!run.stderr.contains("error: "), "{rel}: {}", run.stderr);
        let count = assert_located_as("warning", &format!("warnings/{file}"), &run.stderr);
        assert!(count >= 1, "{rel}");
        insta::assert_snapshot!(run.stderr);
        // And it builds, saying so again.
        let dir = tempfile::tempdir().unwrap();
        let build = gitopsc_in(
            dir.path(),
            &["--color", "never", "build", s(path), "--out", "out"],
        )
        .expect(0);
        assert!(build.stderr.contains("warning: "), "{rel}: {}", build.stderr);
    });
}

#[test]
fn notary_databases_for_harbor_are_a_warning() {
    let rel = "tests/errors/warnings/harbor-notary-databases.yaml";
    let run = gitopsc(&["--color", "never", "validate", rel]).expect(0);
    assert_eq!(
        assert_located_as("warning", "warnings/harbor-notary-databases.yaml", &run.stderr),
        2,
        "{}",
        run.stderr
    );
    for needle in [
        "warning: the harbor chart does not use a `notary_server` database\n",
        "[tests/errors/warnings/harbor-notary-databases.yaml:22:19]",
        "warning: the harbor chart does not use a `notary_signer` database\n",
        "[tests/errors/warnings/harbor-notary-databases.yaml:23:19]",
        "help: Notary left the Harbor chart in 1.13: Harbor uses one database, `registry`; remove it",
    ] {
        assert!(run.stderr.contains(needle), "`{needle}` missing:\n{}", run.stderr);
    }
}

#[test]
fn the_unquoted_redis_password_warning_ends_with_chart_1_19() {
    let rel = "tests/errors/warnings/harbor-1.16-redis-password.yaml";
    let run = gitopsc(&["--color", "never", "validate", rel]).expect(0);
    assert_eq!(
        assert_located_as("warning", "warnings/harbor-1.16-redis-password.yaml", &run.stderr),
        1
    );
    assert!(
        run.stderr.starts_with(
            "warning: harbor chart 1.16.0 writes the Redis password unquoted into the registry's YAML config\n"
        ),
        "{}",
        run.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    for version in ["1.19.0", "1.19.1", "2.0.0"] {
        let spec = dir.path().join(format!("{version}.yaml"));
        std::fs::write(
            &spec,
            replace_once(&text, "version: 1.16.0", &format!("version: {version}")),
        )
        .unwrap();
        let run = gitopsc(&["--color", "never", "validate", s(&spec)]).expect(0);
        assert_eq!(run.stderr, "", "{version}");
    }
}

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
    // An empty build prints nothing, which reads as one null document.
    common::serde_load_all(&String::from_utf8(out.stdout).unwrap())
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
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
    for name in [
        "source-harbor",
        "secret-stores",
        "cnpg-gate",
        "cloudnative-pg",
        "harbor-data",
        "harbor",
        "strimzi-operator",
    ] {
        assert!(
            has("kustomize.toolkit.fluxcd.io/v1", "Kustomization", name),
            "{name}: {objects:?}"
        );
    }
    // Flux's three objects and every object of gitopsc's files under the cluster folder.
    let mut expected: Vec<(String, String, String)> = vec![
        ("v1".into(), "Namespace".into(), "flux-system".into()),
        (
            "source.toolkit.fluxcd.io/v1".into(),
            "GitRepository".into(),
            "flux-system".into(),
        ),
        (
            "kustomize.toolkit.fluxcd.io/v1".into(),
            "Kustomization".into(),
            "flux-system".into(),
        ),
    ];
    for (path, bytes) in infra.compiled() {
        if path.starts_with("clusters/infra/") && !path.ends_with("/kustomization.yaml") {
            let docs = common::serde_load_all(std::str::from_utf8(&bytes).unwrap()).unwrap();
            expected.extend(ids(&docs));
        }
    }
    assert!(expected.len() > 3 + 7, "{expected:?}");
    let mut objects = objects;
    objects.sort();
    expected.sort();
    assert_eq!(objects, expected);
}

#[test]
fn every_kustomization_of_output_builds_with_kustomize() {
    if !kubectl_present() {
        common::skipped("kubectl kustomize of output/: kubectl is not installed");
        return;
    }
    /// The objects of a folder's listed resources, read file by file (a listed folder
    /// contributes its own listed resources).
    fn listed_objects(dir: &Path) -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
        let kustomization = &common::serde_load_all(&text).unwrap()[0];
        let mut out = Vec::new();
        for resource in kustomization["resources"].as_array().unwrap() {
            let path = dir.join(resource.as_str().unwrap());
            if path.is_dir() {
                out.extend(listed_objects(&path));
            } else {
                let text =
                    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.extend(ids(&common::serde_load_all(&text).unwrap()));
            }
        }
        out
    }
    let output = root().join("output");
    let (mut built, mut gates) = (0, 0);
    for dir in dirs(&output) {
        let dir = output.join(dir);
        if !dir.join("kustomization.yaml").is_file() {
            continue;
        }
        // Every object kustomize emits is one of the listed files' own objects, once.
        let mut got = ids(&kustomize(&dir));
        let mut want = listed_objects(&dir);
        got.sort();
        want.sort();
        assert_eq!(got, want, "{}", dir.display());
        if want.is_empty() {
            // Only an operator gate's folder is empty on purpose: its Flux Kustomization
            // applies nothing and health-checks the operator.
            assert!(
                dir.parent().is_some_and(|p| p.ends_with("operators")),
                "{} builds to nothing",
                dir.display()
            );
            gates += 1;
        }
        built += 1;
    }
    assert!(built >= 10, "only {built} kustomizations under output/");
    assert!(gates >= 3, "only {gates} operator gates under output/");
}
