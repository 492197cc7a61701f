//! The rendered trees: whole-tree snapshots of every example and fixture, determinism, YAML
//! round trips through a YAML 1.2 (serde) and a YAML 1.1 (PyYAML) reader, and conformance of
//! every emitted object with the controllers' schemas.

mod common;

use common::{gitopsc_env, pyyaml_load_all, read_tree, render_tree, root, s, serde_load_all, specs};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

fn compile(spec: &Path) -> BTreeMap<String, Vec<u8>> {
    match gitopsc::compile(spec, None) {
        Ok(c) => c.tree,
        Err(f) => panic!(
            "{} does not compile:\n{}",
            spec.display(),
            gitopsc::diagnostic::render(&f.diagnostics, f.source.as_ref(), false)
        ),
    }
}

/// Builds `spec` with the binary into `out`.
fn build(spec: &Path, out: &Path, env: &[(&str, &str)]) {
    let run = gitopsc_env(
        &root(),
        &["--color", "never", "build", s(spec), "--out", s(out)],
        env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

// ------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn whole_tree_snapshots() {
    insta::glob!("..", "{examples,tests/fixtures}/*/cluster.yaml", |path| {
        insta::assert_snapshot!(render_tree(&compile(path)));
    });
}

// ------------------------------------------------------------------------------------------
// Determinism

#[test]
fn compiling_twice_gives_the_same_bytes() {
    for spec in specs() {
        let path = root().join(&spec);
        assert_eq!(compile(&path), compile(&path), "{spec}");
    }
}

#[test]
fn builds_are_identical_whatever_the_folder_and_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for (i, spec) in specs().iter().enumerate() {
        let path = root().join(spec);
        let a = dir.path().join(format!("{i}-a"));
        let b = dir.path().join(format!("{i}-b/nested/deeper"));
        let one = dir.path().join(format!("{i}-one-thread"));
        build(&path, &a, &[]);
        build(&path, &b, &[]);
        build(&path, &one, &[("RAYON_NUM_THREADS", "1")]);
        // A top-level folder of the tree already there: compared and written the general
        // way, not rendered straight into a fresh root.
        let compiled = compile(&path);
        let first = compiled.keys().next().unwrap().split_once('/').unwrap().0;
        let general = dir.path().join(format!("{i}-general"));
        std::fs::create_dir_all(general.join(first)).unwrap();
        build(&path, &general, &[]);
        let tree = read_tree(&a);
        assert!(tree.contains_key("gitopsc.lock"), "{spec}");
        assert_eq!(tree, read_tree(&b), "{spec}: two folders differ");
        assert_eq!(tree, read_tree(&one), "{spec}: one thread differs from many");
        assert_eq!(
            tree,
            read_tree(&general),
            "{spec}: a fresh build differs from an update"
        );
        // The build is the compiled tree plus the lock file, which lists exactly its files.
        let mut files = tree.clone();
        let lock: Value = serde_json::from_slice(&files.remove("gitopsc.lock").unwrap()).unwrap();
        assert_eq!(files, compile(&path), "{spec}");
        let listed: Vec<&String> = lock["files"].as_object().unwrap().keys().collect();
        assert_eq!(listed, files.keys().collect::<Vec<_>>(), "{spec}");
        for (p, bytes) in &files {
            assert_eq!(
                lock["files"][p].as_str().unwrap(),
                gitopsc::emit::lock::sha256_hex(bytes),
                "{spec}: {p}"
            );
        }
    }
}

#[test]
fn the_top_level_folders_are_known_before_rendering() {
    for spec in specs() {
        let compiled = gitopsc::compile(&root().join(&spec), None).ok().unwrap();
        let tops =
            gitopsc::render::top_folders(compiled.model.as_ref().unwrap()).expect("no top-level files");
        let rendered: std::collections::BTreeSet<&str> = compiled
            .tree
            .keys()
            .map(|p| p.split_once('/').unwrap().0)
            .collect();
        assert_eq!(tops, rendered, "{spec}");
    }
}

// ------------------------------------------------------------------------------------------
// The shape of every tree

/// The trees of every example and fixture, and of the hostile spec.
fn all_trees() -> Vec<(String, BTreeMap<String, Vec<u8>>)> {
    let mut out: Vec<_> = specs()
        .into_iter()
        .map(|sp| (sp.clone(), compile(&root().join(&sp))))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    out.push(("hostile".into(), compile(&write_hostile_spec(dir.path()))));
    out
}

#[test]
fn every_object_is_emitted_once_and_every_file_is_listed() {
    for (spec, tree) in all_trees() {
        let mut seen: BTreeMap<(String, String, String, String), String> = BTreeMap::new();
        let mut kustomizations: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut flux_kustomization_files = Vec::new();
        for (path, bytes) in &tree {
            let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
            if !path.ends_with(".yaml") {
                // The only other files are the runbooks, one per app folder, which no
                // kustomization lists.
                assert_eq!(file, "README.md", "{spec}: {path}");
                assert!(
                    std::str::from_utf8(bytes).is_ok_and(|t| t.starts_with("<!-- Generated by gitopsc")),
                    "{spec}: {path}"
                );
                continue;
            }
            let docs = serde_load_all(std::str::from_utf8(bytes).unwrap()).unwrap();
            for doc in docs {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                let api = text(&doc["apiVersion"]);
                if api.starts_with("kustomize.config.k8s.io/") {
                    assert_eq!(file, "kustomization.yaml", "{spec}: {path}");
                    let listed = doc["resources"].as_array().unwrap();
                    kustomizations.insert(dir.to_string(), listed.iter().map(text).collect());
                    continue;
                }
                if api == "kustomize.toolkit.fluxcd.io/v1" {
                    flux_kustomization_files.push(path.clone());
                }
                let group = api.rsplit_once('/').map_or("", |(g, _)| g).to_string();
                let id = (
                    group,
                    text(&doc["kind"]),
                    text(&doc["metadata"]["namespace"]),
                    text(&doc["metadata"]["name"]),
                );
                assert!(!id.3.is_empty(), "{spec}: {path}: an object without a name");
                if let Some(other) = seen.insert(id.clone(), path.clone()) {
                    panic!("{spec}: {id:?} is emitted twice, in {other} and {path}");
                }
            }
        }
        // Every folder with files has a kustomization.yaml that lists exactly its other files.
        let mut files_by_dir: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for path in tree.keys().filter(|p| p.ends_with(".yaml")) {
            let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
            if file != "kustomization.yaml" {
                files_by_dir.entry(dir).or_default().push(file);
            }
        }
        for (dir, mut files) in files_by_dir {
            let mut listed = kustomizations
                .get(dir)
                .unwrap_or_else(|| panic!("{spec}: `{dir}/` has no kustomization.yaml"))
                .clone();
            listed.sort();
            files.sort();
            assert_eq!(
                listed, files,
                "{spec}: `{dir}/kustomization.yaml` does not list exactly its files"
            );
        }
        assert!(!flux_kustomization_files.is_empty(), "{spec}");
        let cluster_dir = flux_kustomization_files[0].rsplit_once('/').unwrap().0;
        assert!(
            flux_kustomization_files
                .iter()
                .all(|f| f.rsplit_once('/').unwrap().0 == cluster_dir),
            "{spec}: Flux Kustomizations outside one folder: {flux_kustomization_files:?}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// YAML round trips

/// Prints a visible skip line and returns false when Python or PyYAML is missing.
fn have_pyyaml(what: &str) -> bool {
    if common::python_has(&["yaml"]) {
        return true;
    }
    common::skipped(&format!(
        "{what} with PyYAML: python3 with PyYAML (`pip install pyyaml`) is not available"
    ));
    false
}

#[test]
fn every_rendered_document_reads_the_same_in_yaml_1_1_and_1_2() {
    let mut files: Vec<(String, String)> = Vec::new();
    for spec in specs() {
        for (path, bytes) in compile(&root().join(&spec)) {
            if path.ends_with(".yaml") {
                files.push((format!("{spec}: {path}"), String::from_utf8(bytes).unwrap()));
            }
        }
    }
    assert!(files.len() > 100, "only {} YAML files", files.len());
    let serde: Vec<Vec<Value>> = files
        .iter()
        .map(|(name, text)| serde_load_all(text).unwrap_or_else(|e| panic!("{name}: serde_yaml: {e}")))
        .collect();
    for ((name, _), docs) in files.iter().zip(&serde) {
        assert!(!docs.is_empty(), "{name}: no document");
        for doc in docs {
            assert!(doc["kind"].is_string() && doc["apiVersion"].is_string(), "{name}");
        }
        // Only the Flux Kustomizations of one app's layers (or of the operator gates) share
        // a file.
        if docs.len() > 1 {
            assert!(
                docs.iter()
                    .all(|d| d["apiVersion"] == json!("kustomize.toolkit.fluxcd.io/v1")),
                "{name}: {} documents",
                docs.len()
            );
        }
    }
    if !have_pyyaml("the YAML 1.1 round trip of every rendered document") {
        return;
    }
    let texts: Vec<String> = files.iter().map(|(_, t)| t.clone()).collect();
    for (((name, text), docs), py) in files.iter().zip(&serde).zip(pyyaml_load_all(&texts)) {
        let py = py.unwrap_or_else(|e| panic!("{name}: PyYAML cannot read it: {e}\n{text}"));
        assert_eq!(
            &py, docs,
            "{name}: PyYAML (YAML 1.1) reads it differently from serde_yaml"
        );
    }
}

/// Strings that YAML readers fold, reject, retype or mistake for syntax.
const HOSTILE: &[&str] = &[
    "\"",
    "'",
    "a: b",
    "a #b",
    "#x",
    "line one\nline two",
    "trailing newline\n",
    "{{ .Values.x }}",
    "${VAR}",
    "$${X}",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "true",
    "null",
    "~",
    "0777",
    "0o17",
    "0x1F",
    "1_000",
    "1:20",
    "2001-12-14",
    "1e3",
    ".inf",
    "=",
    "<<",
    "-",
    "- a",
    "? x",
    "!tag",
    "&a",
    "*a",
    "%x",
    "@x",
    "`",
    "\t",
    "\r",
    "\u{0}",
    // DEL and the C1 controls (U+0085 among them) are refused in a spec: see
    // tests/hostile_input.rs.
    "\u{2028}",
    "\u{feff}",
    "😀",
    "é",
    "x ",
    " x",
    "",
    // More of the same kind.
    " lead\nx",
    "x\n\n",
    "\n",
    "\n\n",
    "x \ny",
    "a\r\nb",
    "a\u{2028}b\n",
    "\tx\ny",
    "a\n\tb",
    "#c\nd",
    "---\nx",
    "...\nx",
    "x\n---",
    "- a\n- b",
    "\u{a0}x",
    "x\u{a0}",
    "a\u{1b}b",
    "a\tb",
    "x:",
    ":x",
    "a ,b",
    "[x",
    "]",
    "{x",
    "x}",
    ",",
    "|",
    ">",
    "key: \n",
    "0",
    "-0",
    "+1",
    "1.0",
    "0.",
    ".5",
    "0b101",
    "true ",
    "TRUE",
    "Null",
    "NULL",
    "Off",
    "OFF",
    "oN",
    "=x",
    "<<x",
    "2001-12-14t21:59:43.10-05:00",
    "12:30:45",
    "1_0.5",
    "\u{200b}",
    "\u{e000}",
    "😀\n",
    "x\u{2029}y",
    "\u{fffe}",
    "\u{10ffff}",
    "\u{d7ff}",
    "...",
    "---",
    "--- x",
];

/// [`HOSTILE`], and two long strings.
fn hostile_strings() -> Vec<String> {
    let mut v: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    v.push("z".repeat(500));
    v.push(format!("{}\n{}", "w ".repeat(200), "v".repeat(300)));
    v
}

/// Strings a YAML reader mistakes for something else, but that Flux accepts as a
/// `valuesFrom` `targetPath` / `valuesKey`, and (the lowercase ones) as object names.
const LOOKALIKE_KEYS: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "true",
    "null",
    "0777",
    "0o17",
    "0x1F",
    "1_000",
    "2001-12-14",
    "1e3",
    ".inf",
    "-",
    "012",
    "1.0",
];
const LOOKALIKE_NAMES: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "null",
    "0777",
    "1e3",
    "2001-12-14",
];

/// A spec (JSON, which the YAML loader reads) whose values hold every hostile string as key
/// and value, at the top, in a list and nested.
fn hostile_spec() -> (Value, Value, Value) {
    let strings = hostile_strings();
    let mut values = serde_json::Map::new();
    for h in &strings {
        values.insert(h.clone(), Value::String(h.clone()));
    }
    values.insert("list".into(), json!(strings));
    let nested = strings.iter().map(|h| {
        let inner: serde_json::Map<String, Value> =
            [(h.clone(), Value::String(h.clone()))].into_iter().collect();
        let outer: serde_json::Map<String, Value> = [(h.clone(), json!([h, Value::Object(inner)]))]
            .into_iter()
            .collect();
        (h.clone(), Value::Object(outer))
    });
    values.insert("nested".into(), Value::Object(nested.collect()));
    values.insert("empty map".into(), json!({}));
    values.insert("empty list".into(), json!([]));
    values.insert("typed".into(), json!([1, -2, 1.5, true, false, null]));
    let values = Value::Object(values);
    let values_from: Vec<Value> = LOOKALIKE_KEYS
        .iter()
        .enumerate()
        .map(|(i, k)| {
            json!({
                "kind": if i % 2 == 0 { "ConfigMap" } else { "Secret" },
                "name": LOOKALIKE_NAMES[i % LOOKALIKE_NAMES.len()],
                "valuesKey": k,
                "targetPath": k,
            })
        })
        .collect();
    let spec = json!({
        "apiVersion": "gitopsc.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "hostile"},
        "sources": {"helm": [{"name": "charts", "url": "https://charts.example.com"}]},
        "apps": [{
            "name": "app",
            "namespace": "null",
            // Enforced as asked: no warning about a chart gitopsc does not know.
            "podSecurity": "baseline",
            "helm": {
                "chart": "app",
                "version": "1.0.0",
                "source": "charts",
                "values": values,
                // Secrets of the namespace that gitopsc does not write, said so.
                "valuesFrom": values_from.iter().map(|v| {
                    let mut v = v.clone();
                    if v["kind"] == "Secret" {
                        v["external"] = json!(true);
                    }
                    v
                }).collect::<Vec<_>>(),
            },
        }],
    });
    (spec, values, Value::Array(values_from))
}

fn write_hostile_spec(dir: &Path) -> std::path::PathBuf {
    let (spec, _, _) = hostile_spec();
    let path = dir.join("cluster.yaml");
    // JSON writes raw some characters that a spec holds only as escapes (U+FFFE, LS, PS, BOM).
    let text: String = serde_json::to_string_pretty(&spec)
        .unwrap()
        .chars()
        .map(|c| match c {
            '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}' | '\u{feff}' => {
                format!("\\u{:04x}", u32::from(c))
            }
            c => c.to_string(),
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn hostile_strings_in_values_survive_both_yaml_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_hostile_spec(dir.path());
    let (_, values, values_from) = hostile_spec();
    // The loader reads the JSON spec exactly.
    let checked = gitopsc::check_spec(&path)
        .ok()
        .expect("the hostile spec is valid");
    assert!(checked.warnings.is_empty());
    let tree = compile(&path);
    let text = String::from_utf8(tree["workloads/app/helmrelease.yaml"].clone()).unwrap();

    let check = |reader: &str, doc: &Value| {
        assert_eq!(doc["metadata"]["namespace"], json!("null"), "{reader}");
        let got = &doc["spec"]["values"];
        if got != &values {
            let (g, w) = (got.as_object().unwrap(), values.as_object().unwrap());
            for (k, v) in w {
                assert_eq!(g.get(k), Some(v), "{reader}: values[{k:?}]\n{text}");
            }
            assert_eq!(g.len(), w.len(), "{reader}: extra keys");
        }
        assert_eq!(doc["spec"]["valuesFrom"], values_from, "{reader}");
    };
    let serde = serde_load_all(&text).unwrap_or_else(|e| panic!("serde_yaml: {e}\n{text}"));
    assert_eq!(serde.len(), 1);
    check("serde_yaml", &serde[0]);

    if !have_pyyaml("the hostile-strings round trip") {
        return;
    }
    let py = pyyaml_load_all(std::slice::from_ref(&text)).remove(0);
    let py = py.unwrap_or_else(|e| panic!("PyYAML cannot read it: {e}\n{text}"));
    assert_eq!(py.len(), 1);
    check("PyYAML", &py[0]);
}

// ------------------------------------------------------------------------------------------
// Conformance with the controllers' schemas

#[test]
fn every_tree_conforms_to_the_controllers_schemas() {
    let validator = root().join("../shared/conformance/validate.py");
    if !validator.is_file() {
        common::skipped(&format!("conformance: {} does not exist", validator.display()));
        return;
    }
    if !common::python_has(&["yaml", "jsonschema"]) {
        common::skipped("conformance: python3 with jsonschema and PyYAML is not available");
        return;
    }
    let run = |args: &[&str]| {
        let out = std::process::Command::new("python3")
            .arg(&validator)
            .args(args)
            .output()
            .expect("run validate.py");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "validate.py {args:?}:\n{text}");
        text
    };
    // output/ as committed.
    let output = root().join("output");
    let text = run(&["--fail-unknown", s(&output)]);
    assert!(text.contains(" passed, 0 failed"), "{text}");

    // Every spec, and the hostile one, built at its place in a repository so the Flux
    // Kustomizations' paths can be checked too.
    let dir = tempfile::tempdir().unwrap();
    let hostile = write_hostile_spec(dir.path());
    let mut all: Vec<std::path::PathBuf> = specs().iter().map(|sp| root().join(sp)).collect();
    all.push(hostile);
    for (i, spec) in all.iter().enumerate() {
        let text = std::fs::read_to_string(spec).unwrap();
        // The hostile spec is JSON holding raw DEL and C1 characters, which a strict YAML
        // reader refuses (they are not YAML-printable).
        let data: Value = serde_json::from_str(&text)
            .or_else(|_| serde_yaml::from_str(&text))
            .unwrap();
        let repo_path = data["flux"]["repoPath"].as_str().unwrap_or("");
        let source = data["flux"]["sourceRef"]["name"]
            .as_str()
            .unwrap_or("flux-system");
        let repo = dir.path().join(format!("repo-{i}"));
        let out = if repo_path.is_empty() {
            repo.clone()
        } else {
            repo.join(repo_path)
        };
        build(spec, &out, &[]);
        let text = run(&[
            "--fail-unknown",
            "--repo-root",
            s(&repo),
            "--flux-source",
            source,
            s(&repo),
        ]);
        assert!(text.contains(" passed, 0 failed"), "{}:\n{text}", spec.display());
    }
}

// ------------------------------------------------------------------------------------------
// Data services, references and runbooks

/// The single document of a rendered YAML file.
fn doc(tree: &BTreeMap<String, Vec<u8>>, path: &str) -> Value {
    let bytes = tree
        .get(path)
        .unwrap_or_else(|| panic!("no {path} in {:?}", tree.keys().collect::<Vec<_>>()));
    let mut docs = serde_load_all(std::str::from_utf8(bytes).unwrap()).unwrap();
    assert_eq!(docs.len(), 1, "{path}");
    docs.remove(0)
}

/// Every document of every YAML file of a tree.
fn all_docs(tree: &BTreeMap<String, Vec<u8>>) -> Vec<Value> {
    tree.iter()
        .filter(|(p, _)| p.ends_with(".yaml"))
        .flat_map(|(_, b)| serde_load_all(std::str::from_utf8(b).unwrap()).unwrap())
        .collect()
}

#[test]
fn references_in_helm_values_resolve_with_their_types() {
    let tree = compile(&root().join("tests/fixtures/references/cluster.yaml"));
    let release = doc(&tree, "workloads/orders/release/helmrelease.yaml");
    let values = &release["spec"]["values"];
    let db = &values["database"];
    assert_eq!(db["host"], json!("orders-pg-rw"));
    // A whole-string reference keeps the value's type: the port is an integer.
    assert_eq!(db["port"], json!(5432));
    assert!(db["port"].is_u64(), "{}", db["port"]);
    assert_eq!(db["name"], json!("orders"));
    assert_eq!(db["user"], json!("shop"));
    assert_eq!(db["existingSecret"], json!("orders-pg-app"));
    // Embedded references are interpolated, the port as its digits.
    assert_eq!(db["url"], json!("jdbc:postgresql://orders-pg-rw:5432/orders"));
    assert_eq!(
        values["redis"]["address"],
        json!("redis.cache.svc.cluster.local:6379")
    );
    assert_eq!(values["redis"]["existingSecret"], json!("orders-redis"));
    assert_eq!(values["api"]["existingSecret"], json!("orders-api"));
    // Another app's database. (Its exact value is not asserted: see the test report —
    // the short Service name does not resolve from this app's namespace.)
    let other = values["inventory"]["databaseHost"].as_str().unwrap();
    assert!(other.starts_with("inventory-pg-rw"), "{other}");
    let url = values["inventory"]["databaseUrl"].as_str().unwrap();
    assert!(url.starts_with("postgres://inventory-pg-rw"), "{url}");
    assert!(url.ends_with(":5432/inventory"), "{url}");
    // Other template syntaxes pass untouched.
    assert_eq!(values["untouched"], json!("{{ .Values.x }} ${VAR} $(VAR)"));
    // No reference is left anywhere in the tree.
    for (path, bytes) in &tree {
        let text = std::str::from_utf8(bytes).unwrap();
        assert!(!text.contains("(("), "{path} keeps a reference:\n{text}");
    }
}

#[test]
fn two_databases_are_declarative_databases_owned_by_managed_roles() {
    let tree = compile(&root().join("tests/fixtures/two-databases/cluster.yaml"));
    let docs = all_docs(&tree);
    let of_kind = |api: &str, kind: &str| -> Vec<&Value> {
        docs.iter()
            .filter(|d| d["apiVersion"] == json!(api) && d["kind"] == json!(kind))
            .collect()
    };

    let clusters = of_kind("postgresql.cnpg.io/v1", "Cluster");
    assert_eq!(clusters.len(), 1);
    let cluster = clusters[0];
    assert_eq!(cluster["metadata"]["name"], json!("ledger-pg"));
    assert_eq!(cluster["metadata"]["namespace"], json!("ledger"));
    assert_eq!(
        cluster["spec"]["bootstrap"]["initdb"],
        json!({"database": "ledger", "owner": "ledger"})
    );
    let roles = cluster["spec"]["managed"]["roles"].as_array().unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["readers", "reporter", "auditor"]);
    assert_eq!(roles[0]["login"], json!(false));
    assert!(roles[0].get("passwordSecret").is_none());
    // `passwordSecret` is `{name}` only.
    assert_eq!(roles[1]["passwordSecret"], json!({"name": "ledger-reporter"}));
    assert_eq!(roles[1]["inRoles"], json!(["readers"]));
    assert_eq!(roles[2]["passwordSecret"], json!({"name": "ledger-auditor"}));
    assert_eq!(roles[2]["connectionLimit"], json!(5));
    // No backup was asked for.
    assert!(cluster["spec"].get("plugins").is_none() && cluster["spec"].get("backup").is_none());
    assert!(of_kind("barmancloud.cnpg.io/v1", "ObjectStore").is_empty());
    assert!(of_kind("postgresql.cnpg.io/v1", "ScheduledBackup").is_empty());

    // The bootstrap database is not declared again; the two others are, on this cluster.
    let mut databases: Vec<(String, &Value)> = of_kind("postgresql.cnpg.io/v1", "Database")
        .into_iter()
        .map(|d| (d["spec"]["name"].as_str().unwrap().to_string(), d))
        .collect();
    databases.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = databases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["audit", "reports"]);
    for (_, d) in &databases {
        assert_eq!(d["metadata"]["namespace"], json!("ledger"));
        assert_eq!(d["spec"]["cluster"], json!({"name": "ledger-pg"}));
        assert_eq!(d["spec"]["ensure"], json!("present"));
    }
    let (audit, reports) = (databases[0].1, databases[1].1);
    assert_eq!(audit["spec"]["owner"], json!("auditor"));
    assert!(audit["spec"].get("extensions").is_none());
    assert_eq!(reports["spec"]["owner"], json!("reporter"));
    // Extensions are objects, not strings.
    assert_eq!(
        reports["spec"]["extensions"],
        json!([{"name": "pg_trgm", "ensure": "present"}])
    );

    // The role passwords come from basic-auth Secrets that outlive a pruned app.
    let secrets = of_kind("external-secrets.io/v1", "ExternalSecret");
    assert_eq!(secrets.len(), 2);
    for es in secrets {
        assert_eq!(
            es["spec"]["target"]["template"]["type"],
            json!("kubernetes.io/basic-auth"),
            "{es}"
        );
        assert_eq!(
            es["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/prune"],
            json!("disabled"),
            "{es}"
        );
        assert_eq!(
            es["spec"]["secretStoreRef"],
            json!({"kind": "ClusterSecretStore", "name": "vault"})
        );
    }

    // The app's Flux Kustomization waits for the operators and the store, and for the
    // Databases to be applied.
    let layer = doc(&tree, "clusters/two-databases/gitopsc/ledger.yaml");
    let depends: Vec<&str> = layer["spec"]["dependsOn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for needed in ["cnpg-gate", "external-secrets-gate", "secret-stores"] {
        assert!(depends.contains(&needed), "{depends:?}");
    }
    assert!(
        layer["spec"]["healthCheckExprs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == json!("Database")),
        "{layer}"
    );
}

#[test]
fn every_app_has_a_runbook() {
    for spec in specs() {
        let text = std::fs::read_to_string(root().join(&spec)).unwrap();
        let data: Value = serde_yaml::from_str(&text).unwrap();
        let apps = data["apps"].as_array().unwrap().len();
        let tree = compile(&root().join(&spec));
        let runbooks = tree.keys().filter(|p| p.ends_with("/README.md")).count();
        assert_eq!(runbooks, apps, "{spec}");
    }
}

#[test]
fn harbor_runbook_names_vault_paths_with_placeholders_only() {
    let tree = compile(&root().join("examples/infra/cluster.yaml"));
    let text = String::from_utf8(tree["workloads/platform/registry/harbor/README.md"].clone()).unwrap();
    assert!(
        text.lines().any(|l| l
            == "vault kv put -mount=secret harbor/s3 'access-key-id=<access-key-id>' 'secret-access-key=<secret-access-key>'"),
        "{text}"
    );
    // Every Vault path the app's ExternalSecrets read is listed once, and every field is a
    // placeholder: the runbook holds no secret value.
    let puts: Vec<&str> = text.lines().filter(|l| l.starts_with("vault kv put ")).collect();
    let mut paths = Vec::new();
    for line in &puts {
        let mut words = line.split(' ').skip(3);
        assert_eq!(words.next(), Some("-mount=secret"), "{line}");
        paths.push(words.next().unwrap().to_string());
        for pair in words {
            // Quoted: `<` and `>` are redirections to a shell.
            let pair = pair
                .strip_prefix('\'')
                .and_then(|p| p.strip_suffix('\''))
                .unwrap_or_else(|| panic!("{line}"));
            let (key, value) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
            assert_eq!(value, format!("<{key}>"), "{line}");
        }
    }
    let mut read: Vec<String> = all_docs(&tree)
        .iter()
        .filter(|d| d["kind"] == json!("ExternalSecret") && d["metadata"]["namespace"] == json!("harbor"))
        .flat_map(|d| d["spec"]["data"].as_array().unwrap().clone())
        .map(|d| d["remoteRef"]["key"].as_str().unwrap().to_string())
        .collect();
    read.sort();
    read.dedup();
    assert_eq!(paths, read, "{text}");
}

#[test]
fn victoriametrics_flavour_scrapes_data_services_with_vmpodscrapes_only() {
    // Every spec under `flavor: victoriametrics` writes no Prometheus operator object.
    let mut seen = 0;
    for spec in specs() {
        let path = root().join(&spec);
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("flavor: victoriametrics") {
            continue;
        }
        seen += 1;
        for (file, bytes) in compile(&path) {
            let body = std::str::from_utf8(&bytes).unwrap();
            assert!(
                !body.contains("monitoring.coreos.com"),
                "{spec}: {file} is a Prometheus object"
            );
        }
    }
    assert!(seen >= 2, "expected the victoriametrics fixtures, saw {seen}");

    // The cluster's, the pooler's and Dragonfly's pod scrapes, each on its metrics port.
    let tree = compile(&root().join("tests/fixtures/victoriametrics-data/cluster.yaml"));
    let scrapes: BTreeMap<String, (Value, String)> = all_docs(&tree)
        .into_iter()
        .filter(|d| d["kind"] == json!("VMPodScrape"))
        .map(|d| {
            assert_eq!(d["apiVersion"], json!("operator.victoriametrics.com/v1beta1"));
            let port = d["spec"]["podMetricsEndpoints"][0]["port"]
                .as_str()
                .unwrap()
                .to_string();
            (
                d["metadata"]["name"].as_str().unwrap().to_string(),
                (d["spec"]["selector"].clone(), port),
            )
        })
        .collect();
    assert_eq!(
        scrapes,
        BTreeMap::from([
            (
                "orders-pg".into(),
                (
                    json!({"matchLabels": {"cnpg.io/cluster": "orders-pg"}}),
                    "metrics".into()
                )
            ),
            (
                "orders-pg-pooler-rw".into(),
                (
                    json!({"matchLabels": {"cnpg.io/poolerName": "orders-pg-pooler-rw"}}),
                    "metrics".into()
                )
            ),
            (
                "orders-dragonfly".into(),
                (
                    json!({"matchLabels": {"app": "orders-dragonfly"}}),
                    "admin".into()
                )
            ),
        ])
    );
    for file in [
        "workloads/orders/data/postgres-vmpodscrape.yaml",
        "workloads/orders/data/postgres-pooler-rw-vmpodscrape.yaml",
        "workloads/orders/data/redis-dragonfly-vmpodscrape.yaml",
    ] {
        assert!(tree.contains_key(file), "{file} missing");
    }
    // The data Kustomization waits until an agent applied them.
    let flux = std::str::from_utf8(&tree["clusters/vmdata/gitopsc/orders.yaml"]).unwrap();
    assert!(flux.contains("kind: VMPodScrape"), "{flux}");
}
