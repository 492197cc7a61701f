//! The CEL health checks gitopsc emits, evaluated by a CEL implementation with optional
//! types (tests/cel: `npm install --prefix tests/cel`), against the states a custom resource
//! goes through: just created (no status), status without conditions, not ready, ready, stalled.

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Every `healthCheckExprs` entry of every Flux Kustomization in `output/`.
fn emitted_exprs() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("output");
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.expect("readable output/");
        if !entry.file_type().is_file() || entry.path().extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("utf-8 manifest");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let doc: Value = serde::Deserialize::deserialize(doc).expect("valid YAML");
            if doc["kind"] != "Kustomization" || doc["apiVersion"] != "kustomize.toolkit.fluxcd.io/v1" {
                continue;
            }
            for e in doc["spec"]["healthCheckExprs"].as_array().into_iter().flatten() {
                found.push((entry.path().display().to_string(), e.clone()));
            }
        }
    }
    found
}

fn evaluate(cases: &[(String, Value)]) -> Option<Vec<Value>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cel");
    if !dir.join("node_modules/@marcbachmann/cel-js").is_dir() {
        println!("SKIPPED: CEL evaluator not installed (npm install --prefix tests/cel)");
        return None;
    }
    let mut child = match Command::new("node")
        .arg("eval.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("SKIPPED: node not available ({e})");
            return None;
        }
    };
    let input: Vec<Value> = cases
        .iter()
        .map(|(expr, object)| json!({"expr": expr, "object": object}))
        .collect();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(&input).expect("json").as_bytes())
        .expect("write to node");
    let out = child.wait_with_output().expect("node ran");
    assert!(out.status.success(), "eval.mjs failed");
    Some(serde_json::from_slice(&out.stdout).expect("json results"))
}

#[test]
fn health_checks_wait_for_ready_and_fail_on_stalled() {
    let exprs = emitted_exprs();
    assert!(
        !exprs.is_empty(),
        "output/ holds Flux Kustomizations with healthCheckExprs"
    );
    let condition = |t: &str, s: &str| json!({"type": t, "status": s, "reason": "x", "message": "x"});
    let states = [
        ("just created", json!({"metadata": {"generation": 1}})),
        (
            "status without conditions",
            json!({"metadata": {"generation": 1}, "status": {}}),
        ),
        (
            "not ready",
            json!({"metadata": {"generation": 1}, "status": {"conditions": [condition("Ready", "False")]}}),
        ),
        (
            "ready",
            json!({"metadata": {"generation": 1}, "status": {"conditions": [condition("Ready", "True")]}}),
        ),
        (
            "stalled",
            json!({"metadata": {"generation": 1}, "status": {"conditions": [condition("Ready", "False"), condition("Stalled", "True")]}}),
        ),
    ];
    let mut cases = Vec::new();
    for (_, e) in &exprs {
        for (_, object) in &states {
            for field in ["current", "failed"] {
                let expr = e[field].as_str().unwrap_or_else(|| panic!("{field} set in {e}"));
                cases.push((expr.to_string(), object.clone()));
            }
        }
    }
    let Some(results) = evaluate(&cases) else { return };
    let mut i = 0;
    for (path, e) in &exprs {
        for (state, _) in &states {
            let (current, failed) = (&results[i], &results[i + 1]);
            i += 2;
            let kind = &e["kind"];
            // Flux treats an evaluation error as not yet healthy: it keeps polling.
            let is_true = |v: &Value| v == &Value::Bool(true);
            match *state {
                "ready" => assert!(
                    is_true(current) && !is_true(failed),
                    "{path} {kind}: ready → current"
                ),
                "stalled" => assert!(
                    !is_true(current) && is_true(failed),
                    "{path} {kind}: stalled → failed"
                ),
                _ => assert!(
                    !is_true(current) && !is_true(failed),
                    "{path} {kind}: {state} → in progress"
                ),
            }
            if *state != "just created" {
                assert!(
                    current.is_boolean() && failed.is_boolean(),
                    "{path} {kind}: {state} evaluates without error"
                );
            }
        }
    }
}
