//! Hostile and unusual spec texts: output that must not depend on the machine, characters
//! YAML forbids, nesting too deep for later readers, plain scalars YAML 1.1 reads otherwise,
//! and control characters kustomize cannot read back.

mod common;

use common::{gitopsc_env, read_tree, s};
use gitopsc::source::Source;
use gitopsc::spec::load;

const HEADER: &str = "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: big}\n";
const SOURCES: &str =
    "sources:\n  helm:\n    - {name: podinfo, url: https://stefanprodan.github.io/podinfo}\n";

/// A spec of `apps` apps, each ending in an empty block scalar (`notes: |`), so that every
/// place a spec could be cut between apps has one right before it.
fn spec_of_empty_block_scalars(apps: usize) -> String {
    let mut text = format!("{HEADER}apps:\n");
    for i in 0..apps {
        text.push_str(&format!(
            "  - name: app{i}\n    helm:\n      chart: podinfo\n      version: 6.7.0\n      source: podinfo\n      values:\n        notes: |\n"
        ));
    }
    text.push_str(SOURCES);
    text
}

/// The loader's JSON of a text, or its diagnostics' messages.
fn load_text(text: &str) -> Result<serde_json::Value, Vec<String>> {
    load::parse(Source::new("t.yaml", text))
        .map(|l| l.spans.root().to_value())
        .map_err(|(_, d)| d.into_iter().map(|d| d.message).collect())
}

#[test]
fn the_tree_of_a_large_spec_does_not_depend_on_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(&spec, spec_of_empty_block_scalars(300)).unwrap();
    let mut trees = Vec::new();
    for threads in ["1", "2", "4", "16"] {
        let out = dir.path().join(format!("out-{threads}"));
        gitopsc_env(
            dir.path(),
            &["build", s(&spec), "--out", s(&out)],
            &[("RAYON_NUM_THREADS", threads)],
        )
        .expect(0);
        trees.push((threads, read_tree(&out)));
    }
    let (_, first) = &trees[0];
    for (threads, tree) in &trees[1..] {
        assert!(
            tree == first,
            "the tree built with {threads} threads differs from 1 thread's"
        );
    }
    let release = first
        .iter()
        .find(|(path, _)| path.contains("app299") && path.ends_with("release.yaml"))
        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .expect("app299's HelmRelease");
    let docs = common::serde_load_all(&release).unwrap();
    assert_eq!(docs[0]["spec"]["values"]["notes"], "", "{release}");
}

#[test]
fn an_empty_block_scalar_reads_empty_wherever_it_is() {
    let value = load_text(&spec_of_empty_block_scalars(200)).unwrap();
    for (i, app) in value["apps"].as_array().unwrap().iter().enumerate() {
        assert_eq!(app["helm"]["values"]["notes"], "", "app {i}");
    }
    // Text at the end of the file without a line break has no final line break to keep.
    for (text, want) in [
        ("a: |\n  x", "x"),
        ("a: >\n  x", "x"),
        ("a: |+\n  x", "x"),
        ("a: |\n  x\n", "x\n"),
        ("a: |\n  x\n ", "x\n"),
        ("a: |\n  x\n    ", "x\n  "),
    ] {
        assert_eq!(load_text(text).unwrap()["a"], want, "{text:?}");
    }
    // A keep-chomped block scalar of empty lines only: YAML parsers disagree on it.
    for text in ["a:\n  - |+\n\n  - x\n", "a: |+\n", "a: >+\n\n\nb: 1\n"] {
        assert!(
            load_text(text).unwrap_err()[0].contains("`|+` block scalar"),
            "{text:?}"
        );
    }
    for text in [
        "a: |",
        "a: |\n",
        "a: |\n\n\n",
        "a: >\n",
        "a: |-\n",
        "a: |\nb: 1\n",
        "a:\n  b: |\n  c: 1\n",
        "a:\n  - |\n  - x\n",
    ] {
        let value = load_text(text).unwrap();
        assert_eq!(
            value["a"]
                .as_str()
                .or(value["a"]["b"].as_str())
                .or(value["a"][0].as_str()),
            Some(""),
            "{text:?}"
        );
    }
}

#[test]
fn a_nul_byte_is_an_error_at_its_place_not_the_end_of_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    let text = spec_of_empty_block_scalars(3).replacen("  - name: app1\n", "  - name: app1\0\n", 1);
    std::fs::write(&spec, &text).unwrap();
    let run = gitopsc_env(dir.path(), &["--color", "never", "validate", s(&spec)], &[]).expect(2);
    assert!(
        run.stderr
            .contains("the character U+0000, which YAML does not allow (line 12, column 15)"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_character_yaml_forbids_is_refused_and_the_others_read() {
    for c in [
        '\0', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{80}', '\u{9f}', '\u{fffe}',
        '\u{ffff}',
    ] {
        for text in [
            format!("a: \"x{c}y\"\n"),
            format!("a: x{c}\n"),
            format!("# {c}\na: 1\n"),
        ] {
            let errors = load_text(&text).unwrap_err();
            let want = format!("U+{:04X}, which YAML does not allow", u32::from(c));
            assert!(errors[0].contains(&want), "{text:?}: {errors:?}");
        }
    }
    for c in [
        '\t',
        '\u{a0}',
        '\u{d7ff}',
        '\u{e000}',
        '\u{fffd}',
        '\u{10000}',
        '\u{10ffff}',
    ] {
        let value = load_text(&format!("a: \"x{c}y\"\n")).unwrap();
        assert_eq!(value["a"], format!("x{c}y"), "{c:?}");
    }
}

/// A spec of one app whose chart values nest `levels` mappings deep, the innermost holding
/// `leaf: deepest`.
fn spec_with_values_nested(levels: usize) -> String {
    let mut text = format!(
        "{HEADER}apps:\n  - name: deep\n    helm:\n      chart: podinfo\n      version: 6.7.0\n      source: podinfo\n      values:\n"
    );
    let mut indent = String::from("        ");
    for level in 1..levels {
        text.push_str(&format!("{indent}l{level}:\n"));
        indent.push_str("  ");
    }
    text.push_str(&format!("{indent}leaf: deepest\n{SOURCES}"));
    text
}

#[test]
fn chart_values_nested_too_deeply_are_refused_at_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(&spec, spec_with_values_nested(127)).unwrap();
    let run = gitopsc_env(dir.path(), &["--color", "never", "validate", s(&spec)], &[]).expect(2);
    assert!(run.stderr.starts_with("error[GSC0114]: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("cluster.yaml:107:"),
        "the error is at level 101 (key `l97`): {}",
        run.stderr
    );
    // In flow style, on one line, the same.
    let flow = format!(
        "{HEADER}apps:\n  - name: deep\n    helm: {{chart: podinfo, version: 6.7.0, source: podinfo, values: {}{{leaf: x}}{}}}\n{SOURCES}",
        "{l: ".repeat(126),
        "}".repeat(126)
    );
    std::fs::write(&spec, flow).unwrap();
    let run = gitopsc_env(dir.path(), &["--color", "never", "validate", s(&spec)], &[]).expect(2);
    assert!(run.stderr.starts_with("error[GSC0114]: "), "{}", run.stderr);
    // Up to the limit, the values reach the output whole.
    std::fs::write(&spec, spec_with_values_nested(96)).unwrap();
    let out = dir.path().join("out");
    gitopsc_env(dir.path(), &["build", s(&spec), "--out", s(&out)], &[]).expect(0);
    let release = std::fs::read_to_string(out.join("workloads/deep/helmrelease.yaml")).unwrap();
    let mut node = &common::serde_load_all(&release).unwrap()[0]["spec"]["values"];
    for level in 1..96 {
        node = &node[format!("l{level}")];
    }
    assert_eq!(node["leaf"], "deepest", "{release}");
}

#[test]
fn plain_scalars_yaml_1_1_reads_otherwise_are_refused_as_values_and_keys() {
    for s in [
        "2001-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "=",
        "<<",
        "-0x1F",
        "0x1_F",
        "1.5e3",
        "1_000",
        "1:20",
        "0o17",
        "yes",
        "0777",
    ] {
        let errors = load_text(&format!("a: {s}\n")).unwrap_err();
        assert!(
            errors[0].starts_with(&format!("`{s}` is ambiguous")),
            "{s:?}: {errors:?}"
        );
    }
    for s in ["0777", "true", "null", "~", "yes", "1.5", "<<"] {
        let errors = load_text(&format!("{s}: 1\n")).unwrap_err();
        assert!(
            errors[0].starts_with(&format!("the key `{s}` is ambiguous")),
            "{s:?}: {errors:?}"
        );
        // Quoted, each is a string key.
        assert_eq!(load_text(&format!("\"{s}\": 1\n")).unwrap()[s], 1);
    }
    let errors = load_text("%YAML 1.1\n---\na: 1\n").unwrap_err();
    assert!(
        errors[0].contains("`%YAML 1.1`; gitopsc reads YAML 1.2 only"),
        "{errors:?}"
    );
    assert_eq!(load_text("%YAML 1.2\n---\na: 1\n").unwrap()["a"], 1);
    // A number too large is refused alike in every base.
    for s in [
        "123456789012345678901234567890",
        "0x123456789012345678901234567890",
    ] {
        let errors = load_text(&format!("a: {s}\n")).unwrap_err();
        assert_eq!(errors[0], format!("`{s}` cannot be represented as a number"));
    }
}

#[test]
fn a_repo_path_out_of_the_repository_and_a_group_name_too_long_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    let apps = spec_of_empty_block_scalars(1);
    let group = "g".repeat(256);
    for (text, message) in [
        (
            apps.replace(
                "metadata: {name: big}\n",
                "metadata: {name: big}\nflux: {version: \"2.6\", repoPath: ../x}\n",
            ),
            "error[GSC0311]: `repoPath: ../x` has a `.` or `..` segment",
        ),
        (
            apps.replace(
                "  - name: app0\n",
                &format!("  - name: app0\n    group: a/{group}\n"),
            ),
            "error[GSC0312]: ",
        ),
    ] {
        std::fs::write(&spec, text).unwrap();
        let run = gitopsc_env(dir.path(), &["--color", "never", "validate", s(&spec)], &[]).expect(2);
        assert!(run.stderr.contains(message), "{}", run.stderr);
    }
}

#[test]
fn del_and_c1_controls_are_refused_in_strings_because_kustomize_cannot_read_them_back() {
    for escape in ["\\x7f", "\\u007F", "\\x80", "\\x85", "\\N", "\\u009f"] {
        for text in [format!("a: \"x{escape}y\"\n"), format!("\"k{escape}\": 1\n")] {
            let errors = load_text(&text).unwrap_err();
            assert!(
                errors[0].starts_with("this string holds the control character U+"),
                "{text:?}: {errors:?}"
            );
        }
    }
    // Written raw, NEL, LS and PS are line breaks to YAML 1.1 readers and content to YAML
    // 1.2 readers: refused wherever they stand, a comment included.
    for c in ['\u{85}', '\u{2028}', '\u{2029}'] {
        for text in [
            format!("a: x{c}y\n"),
            format!("a: \"x{c}y\"\n"),
            format!("# x{c}a: 1\nb: 2\n"),
        ] {
            let errors = load_text(&text).unwrap_err();
            assert!(
                errors[0].contains("which YAML 1.1 readers take for a line break"),
                "{text:?}: {errors:?}"
            );
        }
    }
    assert_eq!(load_text("a: \"\\L\\P\"\n").unwrap()["a"], "\u{2028}\u{2029}");
    // A byte-order mark: at the start only.
    assert_eq!(load_text("\u{feff}a: 1\n").unwrap()["a"], 1);
    for text in ["a: \r\u{feff}\u{feff}", "a: \"x\u{feff}\"\n"] {
        assert!(
            load_text(text).unwrap_err()[0].contains("byte-order mark (U+FEFF) inside"),
            "{text:?}"
        );
    }
    // The rest of Unicode and the escapes of tab and newline read.
    assert_eq!(load_text("a: \"\\t\\n\\xa0é\"\n").unwrap()["a"], "\t\n\u{a0}é");
}

/// Texts a long differential run found read otherwise than libyaml reads them (seed 7):
/// each now reads as serde_norway reads it, or is refused.
#[test]
fn texts_the_differential_run_found_read_as_libyaml_reads_them_or_are_refused() {
    for text in ["k: {?}", "k: [?a >%]", "k0: [?a: b x]\n"] {
        let refused = load_text(text).expect_err(text);
        assert!(
            refused.iter().any(|m| m.contains("is ambiguous")),
            "{text:?}: {refused:?}"
        );
    }
    for text in ["k: |\n a-0] %[%%\r ", "k0: |\n  |+line one\n\n  line two\n "] {
        let read = load_text(text).unwrap();
        let [libyaml] = common::serde_load_all(text).unwrap().try_into().unwrap();
        assert_eq!(read, libyaml, "{text:?}");
    }
}
