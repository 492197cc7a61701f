//! Long mapping keys in chart values: YAML caps a simple key at 1024 characters, so a longer
//! key must come out in a form every reader takes (PyYAML, libyaml, go-yaml and kustomize).

mod common;

use common::{gitopsc, python_has, pyyaml_load_all, read_tree, s, serde_load_all, skipped};

/// A spec whose chart values hold keys around the limit, plain and needing quotes. The spec
/// writes every key explicitly (`? key`), as a reader of the spec needs it too.
fn spec_with_keys(keys: &[String]) -> String {
    let mut values = String::new();
    for (i, k) in keys.iter().enumerate() {
        values.push_str(&format!("        ? '{k}'\n        : {i}\n"));
    }
    format!(
        "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: keys\nsources:\n  helm:\n    - {{ name: podinfo, url: https://stefanprodan.github.io/podinfo }}\napps:\n  - name: podinfo\n    helm:\n      chart: podinfo\n      version: 6.7.1\n      source: podinfo\n      values:\n{values}        nested:\n          ? '{}'\n          :\n            - a\n            - {{ ? '{}' : b }}\n",
        keys[0], keys[1]
    )
}

#[test]
fn keys_over_the_simple_key_limit_read_back_in_every_reader() {
    let keys: Vec<String> = vec![
        "k".repeat(1023),
        // Quoted (a colon and a space), so written longer than the key itself.
        format!("a: {}", "b".repeat(1020)),
        "x".repeat(1024),
        "y".repeat(1025),
        "é".repeat(600),
        "z".repeat(5000),
    ];
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(&spec, spec_with_keys(&keys)).unwrap();
    let out = dir.path().join("out");
    gitopsc(&["build", s(&spec), "--out", s(&out)]).expect(0);
    let tree = read_tree(&out);
    let (path, text, values) = tree
        .iter()
        .filter(|(p, _)| p.ends_with(".yaml"))
        .find_map(|(p, bytes)| {
            let text = String::from_utf8(bytes.clone()).unwrap();
            let docs = serde_load_all(&text).unwrap_or_else(|e| panic!("{p}: {e}\n{text}"));
            let release = docs.into_iter().find(|d| d["kind"] == "HelmRelease")?;
            Some((p.clone(), text, release["spec"]["values"].clone()))
        })
        .expect("a HelmRelease");
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(values[k.as_str()], serde_json::json!(i), "{path}: key {i}");
    }
    assert_eq!(values["nested"][keys[0].as_str()][1][keys[1].as_str()], "b");
    if !python_has(&["yaml"]) {
        assert!(
            std::env::var("GITOPSC_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "PyYAML is required (GITOPSC_REQUIRE_TOOLS=1)"
        );
        skipped("PyYAML is not installed: the long keys were read back by serde only");
        return;
    }
    let read = pyyaml_load_all(std::slice::from_ref(&text));
    let docs = read[0].as_ref().unwrap_or_else(|e| panic!("PyYAML: {e}"));
    let release = docs
        .iter()
        .find(|d| d["kind"] == "HelmRelease")
        .expect("the HelmRelease");
    assert_eq!(release["spec"]["values"], values, "{path}");
}
