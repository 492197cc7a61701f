//! The error index is true: every code is used in the source and documented, and each
//! page's example spec, validated, reports its code.

mod common;

use gitopsc::diagnostic::Code;

/// Codes no spec text produces, with why: their pages describe the situation instead.
const NO_SPEC_EXAMPLE: &[(Code, &str)] = &[
    (Code::SpecUnreadable, "about the file, not its text"),
    (Code::NotUtf8, "about the file's bytes"),
    (Code::ForbiddenCharacter, "the characters are invisible on a page"),
    (
        Code::SchemaMismatch,
        "a gap between the schema and the types: a bug",
    ),
    (Code::Output, "about the output root"),
    (Code::BlueprintsNotDirectory, "about `--blueprints`"),
    (Code::BlueprintIgnored, "about `--blueprints`"),
    (Code::Blueprint, "about `--blueprints`"),
    (Code::RenderedNotYaml, "about `--blueprints`"),
    (Code::Git, "about the git repository"),
    (Code::UnknownCode, "about `gitopsc explain`"),
    (Code::Internal, "a bug"),
    (
        Code::SchemasNotDirectory,
        "needs files beside the spec, --schemas or a rendered tree",
    ),
    (
        Code::RenderedObjectNotYaml,
        "needs files beside the spec, --schemas or a rendered tree",
    ),
    (
        Code::SchemaViolation,
        "needs files beside the spec, --schemas or a rendered tree",
    ),
    (
        Code::SchemaUnusable,
        "needs files beside the spec, --schemas or a rendered tree",
    ),
    (
        Code::SchemaMissing,
        "needs files beside the spec, --schemas or a rendered tree",
    ),
    (
        Code::PatchDoesNotApply,
        "needs files beside the spec, --schemas or a rendered tree",
    ),
    (
        Code::PatchSelectsNothing,
        "needs files beside the spec, --schemas or a rendered tree",
    ),
    (
        Code::ManifestUnreadable,
        "needs files beside the spec, --schemas or a rendered tree",
    ),
    (
        Code::ChartVersionNotVendored,
        "needs a vendored chart beside the spec",
    ),
    (
        Code::VendoredChartUnusable,
        "needs a vendored chart beside the spec",
    ),
    (
        Code::ChartSchemaViolation,
        "needs a vendored chart beside the spec",
    ),
    (
        Code::ChartSchemaUnknownKey,
        "needs a vendored chart beside the spec",
    ),
    (
        Code::ChartSchemaRequired,
        "needs a vendored chart beside the spec",
    ),
    (
        Code::ChartDefaultsBreakSchema,
        "needs a vendored chart beside the spec",
    ),
    (
        Code::ChartValuesUnknownKey,
        "needs a vendored chart beside the spec",
    ),
    (Code::UnknownCluster, "about `--cluster`, `--against` or `show`"),
    (Code::IncludeInFolder, "needs a fleet spec given as a folder"),
    (Code::NotAFleetPart, "needs a second file the fleet includes"),
    (Code::OwnedElsewhere, "about the output root"),
    (Code::NotAFleet, "about `--cluster`, `--against` or `show`"),
    (Code::AppNotRun, "about `gitopsc show`"),
    (Code::AgainstItself, "about `--against`"),
];

/// The codes `spec` reports when validated: a cluster spec's, or a fleet's (its own and
/// each cluster's).
fn codes_of(spec: &str) -> Vec<Code> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.yaml");
    std::fs::write(&path, spec).unwrap();
    if let Some(fleet) = gitopsc::fleet::load_if_fleet(&path) {
        let fleet = match fleet {
            Ok(fleet) => fleet,
            Err(failure) => return failure.diagnostics.iter().map(|d| d.code).collect(),
        };
        let mut codes: Vec<Code> = fleet.warnings.iter().map(|d| d.code).collect();
        for cluster in fleet.clusters {
            codes.extend(match gitopsc::check_loaded(cluster.loaded, dir.path()) {
                Ok(checked) => checked.warnings.iter().map(|d| d.code).collect::<Vec<_>>(),
                Err(failure) => failure.diagnostics.iter().map(|d| d.code).collect(),
            });
        }
        return codes;
    }
    let diags = match gitopsc::check_spec(&path) {
        Ok(checked) => checked.warnings,
        Err(failure) => failure.diagnostics,
    };
    diags.iter().map(|d| d.code).collect()
}

#[test]
fn every_example_reports_its_code() {
    let mut wrong = Vec::new();
    for &code in Code::ALL {
        let no_example = NO_SPEC_EXAMPLE.iter().any(|(c, _)| *c == code);
        match (code.example(), no_example) {
            (Some(example), false) => {
                let found = codes_of(example);
                if !found.contains(&code) {
                    wrong.push(format!("{code}: its example reports {found:?}"));
                }
            }
            (None, true) => {}
            (Some(_), true) => wrong.push(format!("{code}: has an example, drop it from NO_SPEC_EXAMPLE")),
            (None, false) => wrong.push(format!("{code}: its page has no ```yaml example")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every Rust source file under `src/`, but the registry itself.
fn sources() -> String {
    let mut text = String::new();
    let mut dirs = vec![common::root().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("diagnostic/codes.rs") {
                text.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    text
}

#[test]
fn every_code_is_used_in_the_source() {
    let text = sources();
    let dead: Vec<String> = Code::ALL
        .iter()
        .filter(|c| {
            let name = format!("Code::{c:?}");
            !text.match_indices(&name).any(|(at, _)| {
                !text[at + name.len()..].starts_with(|ch: char| ch.is_alphanumeric() || ch == '_')
            })
        })
        .map(|c| format!("{c} ({c:?})"))
        .collect();
    assert!(dead.is_empty(), "codes no diagnostic uses: {dead:?}");
}

#[test]
fn the_error_index_document_is_current() {
    let expected = gitopsc::diagnostic::codes::index_markdown();
    let path = common::root().join("docs/error-index.md");
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/error-index.md is stale: run `cargo run -- explain --index > docs/error-index.md`"
    );
}

#[test]
fn explain_prints_a_page_and_suggests_on_a_typo() {
    let run = common::gitopsc(&["explain", "gsc0201"]).expect(0);
    assert!(
        run.stdout.starts_with("GSC0201: unknown field\n\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("## Fix"), "{}", run.stdout);
    let run = common::gitopsc(&["explain", "GSC0021"]).expect(2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("no code `GSC0021`") && run.stderr.contains("did you mean `GSC0201`?"),
        "{}",
        run.stderr
    );
}
