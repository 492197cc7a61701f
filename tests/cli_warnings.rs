//! Valid specs with a questionable place: a warning there, and the spec still builds.

mod common;

use common::cli::{assert_located_as, replace_once};
use common::{gitopsc, gitopsc_in, root, s};

#[test]
fn warning_fixtures_are_valid_and_say_why() {
    // Specs that build, with a warning at the questionable place.
    insta::glob!("errors/warnings/*.yaml", |path| {
        let file = path.file_name().unwrap().to_str().unwrap();
        let rel = format!("tests/errors/warnings/{file}");
        let run = gitopsc(&["--color", "never", "validate", &rel]).expect(0);
        assert!(run.stdout.contains(" is valid: "), "{rel}: {}", run.stdout);
        assert!(!run.stderr.contains("error["), "{rel}: {}", run.stderr);
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
        assert!(build.stderr.contains("warning[GSC"), "{rel}: {}", build.stderr);
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
        "warning[GSC0418]: the harbor chart does not use a `notary_server` database\n",
        "[tests/errors/warnings/harbor-notary-databases.yaml:22:19]",
        "warning[GSC0418]: the harbor chart does not use a `notary_signer` database\n",
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
            "warning[GSC0422]: harbor chart 1.16.0 writes the Redis password unquoted into the registry's YAML config\n"
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
