//! The CEL health checks gitopsc emits, evaluated by a CEL implementation with optional
//! types (tests/cel: `npm install --prefix tests/cel`), against the states a custom resource
//! goes through: just created (no status), status without conditions, not ready, ready, stalled.

mod common;

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Every `healthCheckExprs` entry of every Flux Kustomization in `output/` and in the trees
/// of the test fixtures.
fn emitted_exprs() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs: Vec<(String, String)> = Vec::new();
    for entry in walkdir::WalkDir::new(root.join("output")).sort_by_file_name() {
        let entry = entry.expect("readable output/");
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(entry.path()).expect("utf-8 manifest");
            docs.push((entry.path().display().to_string(), text));
        }
    }
    for entry in std::fs::read_dir(root.join("tests/fixtures"))
        .expect("fixtures")
        .flatten()
    {
        let spec = entry.path().join("cluster.yaml");
        let Ok(compiled) = gitopsc::compile(&spec, None) else {
            continue;
        };
        for (path, bytes) in compiled.tree {
            if path.ends_with(".yaml") {
                docs.push((
                    format!("{}:{path}", spec.display()),
                    String::from_utf8(bytes).expect("utf-8"),
                ));
            }
        }
    }
    let mut found = Vec::new();
    for (path, text) in docs {
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let doc: Value = serde::Deserialize::deserialize(doc).expect("valid YAML");
            if doc["kind"] != "Kustomization" || doc["apiVersion"] != "kustomize.toolkit.fluxcd.io/v1" {
                continue;
            }
            for e in doc["spec"]["healthCheckExprs"].as_array().into_iter().flatten() {
                found.push((path.clone(), e.clone()));
            }
        }
    }
    found
}

fn evaluate(cases: &[(String, Value)]) -> Option<Vec<Value>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cel");
    if !dir.join("node_modules/@marcbachmann/cel-js").is_dir() {
        common::skipped("CEL evaluator not installed (npm install --prefix tests/cel)");
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
            common::skipped(&format!("node not available ({e})"));
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

/// A state of a custom resource: (state, object, whether `current` holds, whether `failed`
/// holds).
type State = (&'static str, Value, bool, bool);

fn condition(t: &str, s: &str) -> Value {
    json!({"type": t, "status": s, "reason": "x", "message": "x"})
}

/// An object of generation 1 with `status`.
fn with_status(status: Value) -> Value {
    json!({"metadata": {"generation": 1}, "status": status})
}

/// The states a custom resource of `kind` goes through, each with whether `current` and
/// `failed` must hold. `failed: None` in the emitted check means the kind cannot tell, and
/// then it must never be reported failed.
fn states(api_version: &str, kind: &str) -> Vec<State> {
    let created = json!({"metadata": {"generation": 1}});
    match (api_version, kind) {
        ("postgresql.cnpg.io/v1", "Database") => vec![
            ("just created", created, false, false),
            (
                "not applied",
                with_status(json!({"applied": false, "message": "x"})),
                false,
                false,
            ),
            ("applied", with_status(json!({"applied": true})), true, false),
        ],
        ("batch/v1", "Job") => job_states(),
        ("external-secrets.io/v1", "ExternalSecret") => external_secret_states(),
        ("postgresql.cnpg.io/v1", "Cluster") => cnpg_cluster_states(),
        ("apps.kubeblocks.io/v1", "Cluster") => vec![
            ("just created", created, false, false),
            (
                "creating",
                with_status(json!({"phase": "Creating"})),
                false,
                false,
            ),
            ("running", with_status(json!({"phase": "Running"})), true, false),
            ("failed", with_status(json!({"phase": "Failed"})), false, true),
        ],
        // CloudNative-PG 1.30 writes `status.phase`; earlier ones only `instances`.
        ("postgresql.cnpg.io/v1", "Pooler") => vec![
            ("just created", created, false, false),
            (
                "status without a phase",
                with_status(json!({"instances": 2})),
                false,
                false,
            ),
            ("paused", with_status(json!({"phase": "paused"})), false, false),
            (
                "inactive",
                with_status(json!({"phase": "inactive"})),
                false,
                false,
            ),
            ("active", with_status(json!({"phase": "active"})), true, false),
            (
                "failed",
                with_status(json!({"phase": "failed", "phaseReason": "x"})),
                false,
                true,
            ),
        ],
        ("volsync.backube/v1alpha1", _) => volsync_states(kind),
        // The Dragonfly operator writes `status.phase` only.
        ("dragonflydb.io/v1alpha1", "Dragonfly") => vec![
            ("just created", created, false, false),
            ("status without a phase", with_status(json!({})), false, false),
            (
                "resources created",
                with_status(json!({"phase": "ResourcesCreated"})),
                false,
                false,
            ),
            (
                "configuring",
                with_status(json!({"phase": "Configuring"})),
                false,
                false,
            ),
            (
                "rolling update",
                with_status(json!({"phase": "RollingUpdate", "isRollingUpdate": true})),
                false,
                false,
            ),
            ("ready", with_status(json!({"phase": "Ready"})), true, false),
        ],
        ("apps.kubeblocks.io/v1", "ClusterDefinition") => vec![
            ("just created", created, false, false),
            (
                "unavailable",
                with_status(json!({"phase": "Unavailable"})),
                false,
                false,
            ),
            (
                "available",
                with_status(json!({"phase": "Available"})),
                true,
                false,
            ),
        ],
        ("gateway.networking.k8s.io/v1", "HTTPRoute") => http_route_states(),
        ("operator.victoriametrics.com/v1beta1", _) => victoria_metrics_states(),
        // Everything else reports a `Ready` condition; Flux's own kinds also `Stalled`.
        _ => ready_condition_states(api_version.contains("fluxcd.io")),
    }
}

/// The Job controller sets `Complete` or `Failed` once the Job is finished; on the way
/// (Kubernetes 1.31+) `SuccessCriteriaMet` or `FailureTarget` come first.
fn job_states() -> Vec<State> {
    let created = json!({"metadata": {"generation": 1}});
    vec![
        ("just created", created, false, false),
        (
            "running",
            with_status(json!({"active": 1, "startTime": "x"})),
            false,
            false,
        ),
        (
            "success criteria met, pods terminating",
            with_status(json!({"conditions": [condition("SuccessCriteriaMet", "True")]})),
            false,
            false,
        ),
        (
            "complete",
            with_status(
                json!({"conditions": [condition("SuccessCriteriaMet", "True"), condition("Complete", "True")], "succeeded": 1}),
            ),
            true,
            false,
        ),
        (
            "failing, pods terminating",
            with_status(json!({"conditions": [condition("FailureTarget", "True")]})),
            false,
            false,
        ),
        (
            "failed",
            with_status(
                json!({"conditions": [condition("FailureTarget", "True"), condition("Failed", "True")], "failed": 3}),
            ),
            false,
            true,
        ),
    ]
}

/// Two Gateways named; one status entry per Gateway (and controller).
fn http_route_states() -> Vec<State> {
    let route = |generation: i64, status: Value| json!({"metadata": {"generation": generation}, "spec": {"parentRefs": [{"name": "a"}, {"name": "b"}]}, "status": status});
    let parent = |accepted: &str, resolved: &str, observed: i64| {
        json!({"parentRef": {"name": "a"}, "controllerName": "x", "conditions": [
            {"type": "Accepted", "status": accepted, "reason": "x", "message": "x", "observedGeneration": observed},
            {"type": "ResolvedRefs", "status": resolved, "reason": "x", "message": "x", "observedGeneration": observed},
        ]})
    };
    vec![
        (
            "just created",
            json!({"metadata": {"generation": 1}, "spec": {"parentRefs": [{"name": "a"}]}}),
            false,
            false,
        ),
        ("status without parents", route(2, json!({})), false, false),
        (
            "accepted by one of two Gateways",
            route(2, json!({"parents": [parent("True", "True", 2)]})),
            false,
            false,
        ),
        (
            "accepted by both",
            route(
                2,
                json!({"parents": [parent("True", "True", 2), parent("True", "True", 2)]}),
            ),
            true,
            false,
        ),
        (
            "a backend missing",
            route(
                2,
                json!({"parents": [parent("True", "False", 2), parent("True", "True", 2)]}),
            ),
            false,
            false,
        ),
        (
            "refused by a listener",
            route(
                2,
                json!({"parents": [parent("False", "True", 2), parent("True", "True", 2)]}),
            ),
            false,
            false,
        ),
        (
            "accepted, for an older generation",
            route(
                2,
                json!({"parents": [parent("True", "True", 1), parent("True", "True", 2)]}),
            ),
            false,
            false,
        ),
    ]
}

/// VMServiceScrape, VMPodScrape, VMRule (operator 0.74+): `updateStatus` over the parents
/// that select the object, `observedGeneration` of the last one applied.
fn victoria_metrics_states() -> Vec<State> {
    let at =
        |generation: i64, status: Value| json!({"metadata": {"generation": generation}, "status": status});
    let applied = condition("vmagent.monitoring.vmagent.victoriametrics.com/Applied", "True");
    vec![
        (
            "just created",
            json!({"metadata": {"generation": 2}}),
            false,
            false,
        ),
        ("status without conditions", at(2, json!({})), false, false),
        (
            "operational",
            at(
                2,
                json!({"updateStatus": "operational", "observedGeneration": 2, "conditions": [applied]}),
            ),
            true,
            false,
        ),
        (
            "operational, for an older generation",
            at(2, json!({"updateStatus": "operational", "observedGeneration": 1})),
            false,
            false,
        ),
        (
            "failed to parse",
            at(
                2,
                json!({"updateStatus": "failed", "observedGeneration": 2, "reason": "x"}),
            ),
            false,
            true,
        ),
        (
            "selected by no agent any more",
            at(2, json!({"updateStatus": "ignored", "observedGeneration": 2})),
            false,
            true,
        ),
    ]
}

/// VolSync's movers, by kind.
fn volsync_states(kind: &str) -> Vec<State> {
    let created = json!({"metadata": {"generation": 1}});
    match kind {
        // VolSync: one `Synchronizing` condition; its reason says whether the mover failed.
        "ReplicationSource" => {
            let sync = |status: &str, reason: &str| {
                with_status(
                    json!({"conditions": [{"type": "Synchronizing", "status": status, "reason": reason, "message": "x"}]}),
                )
            };
            vec![
                ("just created", created, false, false),
                ("status without conditions", with_status(json!({})), false, false),
                ("syncing", sync("True", "SyncInProgress"), true, false),
                (
                    "waiting for its schedule",
                    sync("True", "WaitingForSchedule"),
                    true,
                    false,
                ),
                ("mover failed", sync("False", "Error"), false, false),
            ]
        }
        // A manual restore is done once `lastManualSync` is the trigger asked for.
        "ReplicationDestination" => {
            let restore = |status: Value| json!({"metadata": {"generation": 1}, "spec": {"trigger": {"manual": "r2"}}, "status": status});
            vec![
                (
                    "just created",
                    json!({"metadata": {"generation": 1}, "spec": {"trigger": {"manual": "r2"}}}),
                    false,
                    false,
                ),
                ("restoring", restore(json!({"conditions": []})), false, false),
                (
                    "restored for an older trigger",
                    restore(json!({"lastManualSync": "r1"})),
                    false,
                    false,
                ),
                ("restored", restore(json!({"lastManualSync": "r2"})), true, false),
            ]
        }
        // Any other VolSync kind reports a `Ready` condition, as every other kind does.
        _ => ready_condition_states(false),
    }
}

fn external_secret_states() -> Vec<State> {
    // Generation 3; `syncedResourceVersion` is `<generation>-<hash>` of the last success.
    let at =
        |generation: i64, status: Value| json!({"metadata": {"generation": generation}, "status": status});
    let synced = |version: &str, ready: &str| json!({"conditions": [condition("Ready", ready)], "syncedResourceVersion": version});
    vec![
        (
            "just created",
            json!({"metadata": {"generation": 3}}),
            false,
            false,
        ),
        ("status without conditions", at(3, json!({})), false, false),
        ("not ready", at(3, synced("2-ab", "False")), false, false),
        ("ready", at(3, synced("3-ab", "True")), true, false),
        (
            "ready, but for an older generation",
            at(3, synced("2-ab", "True")),
            false,
            false,
        ),
        (
            "ready, for generation 13 at generation 1",
            at(1, synced("13-ab", "True")),
            false,
            false,
        ),
        (
            "ready, for generation 1 at generation 13",
            at(13, synced("1-ab", "True")),
            false,
            false,
        ),
    ]
}

fn cnpg_cluster_states() -> Vec<State> {
    // Three instances of `img:17.6` asked for.
    let cluster = |status: Value| json!({"metadata": {"generation": 2}, "spec": {"instances": 3, "imageName": "img:17.6"}, "status": status});
    let healthy = |ready_instances: i64, image: &str| json!({"conditions": [condition("Ready", "True")], "phase": "Cluster in healthy state", "readyInstances": ready_instances, "image": image});
    vec![
        (
            "just created",
            json!({"metadata": {"generation": 1}, "spec": {"instances": 3, "imageName": "img:17.6"}}),
            false,
            false,
        ),
        ("status without conditions", cluster(json!({})), false, false),
        (
            "not ready",
            cluster(
                json!({"conditions": [condition("Ready", "False")], "phase": "Setting up primary", "readyInstances": 0}),
            ),
            false,
            false,
        ),
        ("ready", cluster(healthy(3, "img:17.6")), true, false),
        (
            "ready, but for an older generation (2 instances)",
            cluster(healthy(2, "img:17.6")),
            false,
            false,
        ),
        (
            "ready, but for an older generation (image)",
            cluster(healthy(3, "img:17.5")),
            false,
            false,
        ),
    ]
}

fn ready_condition_states(flux: bool) -> Vec<State> {
    let created = json!({"metadata": {"generation": 1}});
    vec![
        ("just created", created, false, false),
        ("status without conditions", with_status(json!({})), false, false),
        (
            "not ready",
            with_status(json!({"conditions": [condition("Ready", "False")]})),
            false,
            false,
        ),
        (
            "ready",
            with_status(json!({"conditions": [condition("Ready", "True")]})),
            true,
            false,
        ),
        (
            "stalled",
            with_status(json!({"conditions": [condition("Ready", "False"), condition("Stalled", "True")]})),
            false,
            flux,
        ),
    ]
}

#[test]
fn integers_reach_the_evaluator_as_cel_ints() {
    // Flux's cel-go sees `metadata.generation` as an `int`; an evaluator that held it as a
    // `double` would test other expressions than the ones Flux runs.
    let object = json!({"metadata": {"generation": 13}});
    let cases = [
        ("type(metadata.generation) == int", true),
        ("string(metadata.generation) == '13'", true),
        ("metadata.generation == 13", true),
    ]
    .map(|(e, want)| ((e.to_string(), object.clone()), want));
    let (exprs, wants): (Vec<_>, Vec<_>) = cases.into_iter().unzip();
    let Some(results) = evaluate(&exprs) else { return };
    for (((expr, _), want), got) in exprs.iter().zip(wants).zip(results) {
        assert_eq!(got, Value::Bool(want), "{expr}");
    }
}

#[test]
fn health_checks_wait_for_ready_and_fail_when_the_kind_can_tell() {
    let exprs = emitted_exprs();
    assert!(
        !exprs.is_empty(),
        "output/ holds Flux Kustomizations with healthCheckExprs"
    );
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (path, e) in &exprs {
        let api_version = e["apiVersion"].as_str().unwrap_or_default();
        let kind = e["kind"].as_str().unwrap_or_default();
        let current = e["current"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: `current` set in {e}"));
        let failed = e["failed"].as_str();
        for (state, object, want_current, want_failed) in states(api_version, kind) {
            cases.push((current.to_string(), object.clone()));
            expected.push((path.clone(), kind.to_string(), state, "current", want_current));
            if let Some(failed) = failed {
                cases.push((failed.to_string(), object));
                expected.push((path.clone(), kind.to_string(), state, "failed", want_failed));
            } else {
                assert!(
                    !want_failed,
                    "{path} {kind}: the `{state}` state must be reported failed, but no `failed` check is emitted"
                );
            }
        }
    }
    let Some(results) = evaluate(&cases) else { return };
    for ((path, kind, state, which, want), got) in expected.iter().zip(&results) {
        // Flux treats an evaluation error as not healthy yet: it keeps polling.
        let is_true = got == &Value::Bool(true);
        assert_eq!(
            is_true, *want,
            "{path} {kind}: `{which}` on a {state} object gave {got}"
        );
        if *state != "just created" {
            assert!(
                got.is_boolean(),
                "{path} {kind}: `{which}` on a {state} object evaluates without error, got {got}"
            );
        }
    }
}
