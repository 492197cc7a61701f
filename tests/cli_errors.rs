//! Unusable input and invalid specs: exit 2, and every diagnostic at its place, with its code.

mod common;

use common::cli::assert_located_as;
use common::{Run, gitopsc, gitopsc_in, root, s};
use gitopsc::diagnostic::Code;

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

    let cases: Vec<(Vec<&str>, Code, &str)> = vec![
        (
            vec!["missing.yaml"],
            Code::SpecUnreadable,
            "`missing.yaml`: no such file",
        ),
        (vec!["specdir"], Code::SpecUnreadable, "`specdir` is a directory"),
        (vec!["empty.yaml"], Code::EmptySpec, "`empty.yaml`"),
        (vec!["comments.yaml"], Code::EmptySpec, "`comments.yaml`"),
        (vec!["latin1.yaml"], Code::NotUtf8, "(byte 64, line 4, column 9)"),
        (vec!["anchors.yaml"], Code::AnchorOrAlias, ""),
        (vec!["alias.yaml"], Code::AnchorOrAlias, ""),
        (vec!["multi.yaml"], Code::MultipleDocuments, ""),
        (vec!["deep.yaml"], Code::TooDeep, ""),
    ];
    for (args, code, detail) in &cases {
        for cmd in ["validate", "build", "check", "diff"] {
            let mut all = vec!["--color", "never", cmd];
            all.extend(args.iter().copied());
            if cmd != "validate" {
                all.extend(["--out", "out"]);
            }
            let run = gitopsc_in(p, &all);
            assert_eq!(run.code, 2, "{all:?}: {}{}", run.stdout, run.stderr);
            assert!(
                run.stderr.starts_with(&format!("error[{code}]: ")) && run.stderr.contains(detail),
                "{all:?}: expected {code} `{detail}` in:\n{}",
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
                .contains("error[GSC0701]: `--out regular-file` is not a directory"),
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
                "error[GSC0307]: Flux 2.4 lacks `healthCheckExprs`, which every generated Flux Kustomization uses to wait for custom resources: it needs Flux 2.5 or later\n",
                "[tests/errors/flux-2.4.yaml:6:12]",
                "╰── needs Flux ≥ 2.5",
                "help: upgrade Flux and set `flux.version: \"2.5\"` or later\n",
            ],
        ),
        (
            "oci-flux-2.5.yaml",
            &[
                "error[GSC0307]: Flux 2.5 lacks `OCIRepository` v1, which an `oci://` chart source renders into: it needs Flux 2.6 or later\n",
                "[tests/errors/oci-flux-2.5.yaml:9:36]",
                "╰── needs Flux ≥ 2.6",
                "help: upgrade Flux and set `flux.version: \"2.6\"` or later, or drop this setting",
            ],
        ),
        (
            "unknown-dependency.yaml",
            &[
                "error[GSC0302]: `cluster-infra-infrastucture` is neither an app of this spec nor a declared external Kustomization\n",
                "[tests/errors/unknown-dependency.yaml:12:17]",
                "help: did you mean `cluster-infra-infrastructure`? Kustomizations outside this tree go in",
                "error[GSC0302]: `postgres` is neither an app of this spec nor a declared external Kustomization\n",
                "[tests/errors/unknown-dependency.yaml:12:46]",
                "help: add `postgres` to `flux.external` if it is a Flux Kustomization outside this tree",
            ],
        ),
    ];
    for (file, needles) in cases {
        assert!(LONG_MESSAGE_CASES.contains(file));
        let run = validate_error(file);
        let errors = needles.iter().filter(|n| n.starts_with("error[")).count();
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
        "error[GSC0205]: `10 minutes` is not a valid duration",
        "error[GSC0302]: `postgres` is neither an app of this spec nor a declared external Kustomization",
        "error[GSC0201]: unknown field `retires`",
        "help: did you mean `retries`?",
        "error[GSC0205]: `Redis` is not a valid name",
        "error[GSC0305]: source `bitnami` is not declared in `sources.helm`",
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

/// Fixtures that hold one mistake and are otherwise valid: (file, its code, its place).
const ONE_MISTAKE: &[(&str, Code, &str)] = &[
    (
        "plaintext-secret-value.yaml",
        Code::PlaintextSecretField,
        "[tests/errors/plaintext-secret-value.yaml:18:9]",
    ),
    (
        "plaintext-password-in-values.yaml",
        Code::PlaintextSecret,
        "[tests/errors/plaintext-password-in-values.yaml:19:23]",
    ),
    (
        "unknown-reference.yaml",
        Code::UnknownReference,
        "[tests/errors/unknown-reference.yaml:27:17]",
    ),
    (
        "redis-index-clash.yaml",
        Code::RedisIndexClash,
        "[tests/errors/redis-index-clash.yaml:13:",
    ),
    (
        "harbor-redis-index-clash.yaml",
        Code::RedisIndexClash,
        "[tests/errors/harbor-redis-index-clash.yaml:13:",
    ),
    (
        "harbor-core-index.yaml",
        Code::RedisDatabaseNotZero,
        "[tests/errors/harbor-core-index.yaml:13:26]",
    ),
    (
        "database-listed-twice.yaml",
        Code::DatabaseTwice,
        "[tests/errors/database-listed-twice.yaml:18:19]",
    ),
    (
        "databases-cnpg-1.24.yaml",
        Code::OperatorTooOld,
        "[tests/errors/databases-cnpg-1.24.yaml:17:7]",
    ),
    (
        "operator-not-declared.yaml",
        Code::OperatorNotDeclared,
        "[tests/errors/operator-not-declared.yaml:8:5]",
    ),
    (
        "backup-five-field-schedule.yaml",
        Code::BackupSchedule,
        "[tests/errors/backup-five-field-schedule.yaml:25:19]",
    ),
    (
        "backup-credentials-not-in-secrets.yaml",
        Code::UnknownSecret,
        "[tests/errors/backup-credentials-not-in-secrets.yaml:24:22]",
    ),
    (
        "dockerconfigjson-without-registry.yaml",
        Code::DockerConfigRegistry,
        "[tests/errors/dockerconfigjson-without-registry.yaml:17:",
    ),
    (
        "harbor-core-secret-missing-key.yaml",
        Code::SecretMissingKey,
        "[tests/errors/harbor-core-secret-missing-key.yaml:20:",
    ),
    (
        "cluster-store-without-namespace.yaml",
        Code::ClusterStoreNamespace,
        "[tests/errors/cluster-store-without-namespace.yaml:14:11]",
    ),
];

#[test]
fn data_and_secret_mistakes_are_refused_one_by_one() {
    // Exactly one error, at its place.
    for (file, code, place) in ONE_MISTAKE {
        let run = validate_error(file);
        assert_eq!(assert_located(file, &run.stderr), 1, "{file}:\n{}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!("error[{code}]: ")),
            "{file}: expected {code}:\n{}",
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
            assert!(
                run.stderr.contains(&format!("error[{code}]: ")),
                "{cmd} {file}: {}",
                run.stderr
            );
        }
        assert!(
            !dir.path().join("out").exists(),
            "{file}: a refused spec wrote a tree"
        );
    }
}
