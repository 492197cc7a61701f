//! The Renovate preset `renovate/gitopsc.json`, run by the real Renovate (tests/renovate:
//! `npm install --prefix tests/renovate` brings Renovate 44 and the Node 24 it needs) in
//! local, extract-only mode on a committed temporary repository: every example spec and
//! tests/renovate/edge-cases.yaml under `clusters/` (any file name), and their trees built by
//! gitopsc under `generated/`. The repository's `renovate.json` extends the preset by URL, served
//! from this process on 127.0.0.1, as a user's extends it from their Git host.
//!
//! What must hold: every chart, image and CloudNative-PG PostgreSQL version of each spec is
//! extracted with the datasource, package name, registry URL and current value the spec gives —
//! the expected list is computed here from the spec itself; what Renovate's own Flux and
//! Kubernetes managers read from the generated tree agrees with it; `ignorePaths` keeps the tree
//! out; and no request leaves 127.0.0.1.

mod common;

use common::{root, s};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The folder of the temporary repository that holds the generated trees: the one
/// docs/renovate.md's configuration ignores.
const GENERATED: &str = "kubernetes";

/// Images gitopsc picks itself (not written in the spec, so the preset cannot find them): the
/// KubeBlocks database Job's `postgres` image (src/model/postgres.rs). docs/renovate.md names
/// them; they change with gitopsc's version.
const GITOPSC_OWN_IMAGES: &[&str] = &["docker.io/library/postgres"];

/// Log records of level warn that a correct run has: the optional RE2 module is absent, and
/// the preset comes from an internal host (127.0.0.1).
const EXPECTED_WARNINGS: &[&str] = &["RE2 not usable", "HTTP request to an internal host"];

/// The Node 24 binary and Renovate's entry point from tests/renovate/node_modules.
struct Renovate {
    node: PathBuf,
    entry: PathBuf,
    version: String,
}

/// Renovate 44 and its Node 24, or a visible skip.
fn installed() -> Option<Renovate> {
    let modules = root().join("tests/renovate/node_modules");
    let node = modules.join(".bin/node");
    let entry = modules.join("renovate/dist/renovate.js");
    let package = std::fs::read_to_string(modules.join("renovate/package.json")).ok();
    let (Some(package), true) = (package, entry.is_file()) else {
        common::skipped("Renovate not installed (npm install --prefix tests/renovate)");
        return None;
    };
    let version = serde_json::from_str::<Value>(&package).expect("renovate/package.json")["version"]
        .as_str()
        .expect("a version")
        .to_string();
    let node_version = Command::new(&node)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match node_version {
        Some(v) if v.starts_with("v24.") => Some(Renovate { node, entry, version }),
        other => {
            common::skipped(&format!(
                "Node 24 for Renovate not installed in tests/renovate (found {other:?}; npm install --prefix tests/renovate)"
            ));
            None
        }
    }
}

/// Serves `body` at `http://127.0.0.1:<port>/gitopsc.json` (404 for any other path) from a
/// thread that lives as long as the test process; returns the URL.
fn serve(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}/gitopsc.json", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let found = head.starts_with(b"GET /gitopsc.json ");
            let (status, content): (&str, &[u8]) = if found {
                ("200 OK", &body)
            } else {
                ("404 Not Found", b"")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                content.len()
            );
            let _ = stream.write_all(content);
        }
    });
    url
}

/// The specs of the repository: `clusters/<name>.yaml` → the spec's source file.
fn specs() -> BTreeMap<String, PathBuf> {
    let mut out: BTreeMap<String, PathBuf> = common::examples()
        .into_iter()
        .map(|n| {
            let path = root().join(format!("examples/{n}/cluster.yaml"));
            (n, path)
        })
        .collect();
    out.insert("edge-cases".into(), root().join("tests/renovate/edge-cases.yaml"));
    out
}

/// A repository with the specs under `clusters/` and their trees under `generated/`.
fn repository(dir: &Path) {
    std::fs::create_dir_all(dir.join("clusters")).unwrap();
    common::git(dir, &["init", "-q", "-b", "main"]);
    for (name, source) in specs() {
        // An example's folder goes whole (a spec may read manifest files beside it).
        let spec = if source.ends_with("cluster.yaml") {
            common::copy_dir(source.parent().unwrap(), &dir.join("clusters").join(&name));
            dir.join(format!("clusters/{name}/cluster.yaml"))
        } else {
            let spec = dir.join(format!("clusters/{name}.yaml"));
            std::fs::copy(&source, &spec).unwrap();
            spec
        };
        let out = dir.join(GENERATED).join(&name);
        common::gitopsc_in(dir, &["build", s(&spec), "--out", s(&out), "--quiet"]).expect(0);
    }
}

/// Writes `renovate.json`: `config` with Renovate's Flux and Kubernetes managers turned on for
/// the generated trees (as a repository with Flux files of its own has them); commits, runs
/// Renovate in extract mode and returns its log.
fn extract(renovate: &Renovate, dir: &Path, preset_url: &str, mut config: Value) -> String {
    let tree = format!("/^{GENERATED}/.+\\.yaml$/");
    config["flux"] = json!({ "managerFilePatterns": [tree] });
    config["kubernetes"] = json!({ "managerFilePatterns": [tree] });
    std::fs::write(
        dir.join("renovate.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    common::git(dir, &["add", "-A"]);
    common::git(dir, &["commit", "-qm", "renovate.json", "--allow-empty"]);
    let base = dir.parent().unwrap().join("renovate-base");
    let log_path = dir.parent().unwrap().join("renovate.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = Command::new(&renovate.node);
    cmd.arg(&renovate.entry)
        .args(["--platform=local", "--dry-run=extract"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RENOVATE_") {
            cmd.env_remove(&key);
        }
    }
    // Extract mode looks nothing up; a proxy that answers nothing makes any request that
    // tried to leave the machine fail instead of going out.
    let origin = preset_url.trim_end_matches("/gitopsc.json");
    cmd.env("LOG_LEVEL", "debug")
        .env("LOG_FORMAT", "json")
        .env("RENOVATE_BASE_DIR", &base)
        .env("RENOVATE_CACHE_DIR", base.join("cache"))
        .env(
            "RENOVATE_HOST_RULES",
            json!([{ "matchHost": origin, "allowInternal": true }]).to_string(),
        )
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost");
    let mut child = cmd.spawn().expect("run Renovate");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("Renovate ran longer than 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "Renovate failed ({status}):\n{text}");
    text
}

/// What one Renovate run extracted, and what else its log says.
struct Extraction {
    /// (manager, package file, dependency), in Renovate's order.
    deps: Vec<(String, String, Value)>,
    /// Hosts Renovate sent HTTP requests to.
    hosts: BTreeSet<String>,
    /// The Renovate version the log names.
    version: String,
    /// Warnings and errors other than the expected ones.
    problems: Vec<String>,
}

/// Reads Renovate's JSON log: one `packageFiles` record, the HTTP statistics, the version.
fn read_log(text: &str) -> Extraction {
    let mut found = Extraction {
        deps: Vec::new(),
        hosts: BTreeSet::new(),
        version: String::new(),
        problems: Vec::new(),
    };
    let mut records = 0;
    for line in text.lines() {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        if let Some(v) = record["renovateVersion"].as_str() {
            found.version = v.to_string();
        }
        let msg = record["msg"].as_str().unwrap_or_default();
        if record["level"].as_u64().unwrap_or(0) >= 40
            && !EXPECTED_WARNINGS.iter().any(|w| msg.starts_with(w))
        {
            found.problems.push(line.to_string());
        }
        if msg == "HTTP statistics" {
            let hosts = record["hosts"].as_object().expect("hosts");
            found.hosts.extend(hosts.keys().cloned());
        }
        let Some(files) = record["packageFiles"].as_object() else {
            continue;
        };
        records += 1;
        for (manager, files) in files {
            for file in files.as_array().expect("package files") {
                let path = file["packageFile"].as_str().expect("packageFile");
                for dep in file["deps"].as_array().expect("deps") {
                    found.deps.push((manager.clone(), path.to_string(), dep.clone()));
                }
            }
        }
    }
    assert_eq!(
        records, 1,
        "one record of extracted packageFiles expected:\n{text}"
    );
    found
}

/// The fields compared, normalized: a missing `packageName` is the `depName` (as Renovate
/// looks it up), registry URLs without a trailing slash, deduplicated.
fn canonical(dep: &Value) -> Value {
    let mut out = Map::new();
    for key in [
        "depName",
        "packageName",
        "datasource",
        "currentValue",
        "currentDigest",
        "extractVersion",
        "depType",
    ] {
        if let Some(v) = dep.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if !out.contains_key("packageName")
        && let Some(name) = out.get("depName").cloned()
    {
        out.insert("packageName".into(), name);
    }
    let urls: BTreeSet<String> = dep["registryUrls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| u.as_str().expect("a URL").trim_end_matches('/').to_string())
        .collect();
    if !urls.is_empty() {
        out.insert("registryUrls".into(), json!(urls));
    }
    Value::Object(out)
}

/// `name[:tag][@digest]` → its parts.
fn image_parts(reference: &str) -> (String, Option<String>, Option<String>) {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest.to_string())),
        None => (reference, None),
    };
    match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), Some(tag.to_string()), digest),
        _ => (rest.to_string(), None, digest),
    }
}

/// The dependency of an image reference.
fn image_dep(reference: &str, dep_type: &str) -> Value {
    let (name, tag, digest) = image_parts(reference);
    canonical(&json!({
        "depName": name, "currentValue": tag, "currentDigest": digest,
        "datasource": "docker", "depType": dep_type,
    }))
}

/// The dependencies the preset must find in a spec, in the order of its queries (charts,
/// images, CloudNative-PG images, PostgreSQL versions) and of the spec.
fn expected(spec: &Value) -> Vec<Value> {
    let none = Vec::new();
    let list = |v: &Value| v.as_array().unwrap_or(&none).clone();
    let sources = list(&spec["sources"]["helm"]);
    let (mut charts, mut images, mut pg_images, mut pg_versions) = (vec![], vec![], vec![], vec![]);
    let (mut redis_images, mut redis_versions) = (vec![], vec![]);
    for app in list(&spec["apps"]) {
        let helm = &app["helm"];
        if let Some(chart) = helm["chart"].as_str() {
            let source = sources
                .iter()
                .find(|s| s["name"] == helm["source"])
                .expect("the app's source");
            let url = source["url"].as_str().unwrap().trim_end_matches('/');
            let version = &helm["version"];
            charts.push(canonical(&match url.strip_prefix("oci://") {
                Some(path) => json!({
                    "depName": chart, "packageName": format!("{path}/{chart}"),
                    "datasource": "docker", "currentValue": version, "depType": "chart",
                }),
                None => json!({
                    "depName": chart, "datasource": "helm", "registryUrls": [url],
                    "currentValue": version, "depType": "chart",
                }),
            }));
        }
        for workload in list(&app["workloads"]) {
            images.push(image_dep(workload["image"].as_str().unwrap(), "image"));
            for other in list(&workload["initContainers"])
                .into_iter()
                .chain(list(&workload["containers"]))
            {
                if let Some(image) = other["image"].as_str() {
                    images.push(image_dep(image, "image"));
                }
            }
        }
        let redis = &app["redis"];
        if redis["provider"] == "dragonfly" {
            if let Some(image) = redis["image"].as_str() {
                redis_images.push(image_dep(image, "redis-image"));
            } else if let Some(version) = redis["version"].as_str() {
                redis_versions.push(canonical(&json!({
                    "depName": DRAGONFLY, "currentValue": version, "datasource": "docker",
                    "depType": "redis-version", "extractVersion": "^v(?<version>.+)$",
                })));
            }
        }
        let pg = &app["postgres"];
        if pg.is_null() || !matches!(pg["provider"].as_str(), None | Some("cnpg")) {
            continue;
        }
        if let Some(image) = pg["image"].as_str() {
            pg_images.push(image_dep(image, "postgres-image"));
        } else if let Some(version) = pg["version"].as_str() {
            let flavour = if pg["backup"]["legacy"] == true {
                "system"
            } else {
                "standard"
            };
            pg_versions.push(canonical(&json!({
                "depName": "ghcr.io/cloudnative-pg/postgresql", "currentValue": version,
                "datasource": "docker", "depType": "postgres-version",
                "extractVersion": format!(r"^(?<version>\d+\.\d+)-{flavour}-trixie$"),
            })));
        }
    }
    [
        charts,
        images,
        pg_images,
        pg_versions,
        redis_images,
        redis_versions,
    ]
    .concat()
}

/// Dragonfly's image, whose tags are its versions with a `v`.
const DRAGONFLY: &str = "docker.dragonflydb.io/dragonflydb/dragonfly";

/// The spec as JSON, read by serde (YAML 1.2).
fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The deps of `manager` in package files under `prefix`, canonical.
fn deps_under(ex: &Extraction, manager: &str, prefix: &str) -> Vec<Value> {
    ex.deps
        .iter()
        .filter(|(m, f, _)| m == manager && f.starts_with(prefix))
        .map(|(_, _, d)| canonical(d))
        .collect()
}

/// The `imageName` of every CloudNative-PG Cluster in a generated tree.
fn cnpg_images(tree: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in common::read_tree(tree) {
        if !path.ends_with(".yaml") {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        for doc in common::serde_load_all(&text).expect("generated YAML parses") {
            if doc["apiVersion"] == "postgresql.cnpg.io/v1" && doc["kind"] == "Cluster" {
                out.push(doc["spec"]["imageName"].as_str().expect("imageName").to_string());
            }
        }
    }
    out.sort();
    out
}

/// Runs a node script that reads `input` as JSON on stdin and writes JSON to stdout.
fn node_json<T: serde::de::DeserializeOwned>(node: &Path, script: &str, input: &impl serde::Serialize) -> T {
    let mut child = Command::new(node)
        .args(["-e", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run node");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `version` of each `(extractVersion, tag)`, as Renovate reads it: a JavaScript RegExp.
fn extract_versions(node: &Path, cases: &[(String, String)]) -> Vec<Option<String>> {
    let script = "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{process.stdout.write(JSON.stringify(JSON.parse(s).map(([r,t])=>{const m=new RegExp(r).exec(t);return m&&m.groups?m.groups.version:null})))})";
    node_json(node, script, &cases)
}

/// One spec's preset deps agree with what Renovate's Flux and Kubernetes managers read from
/// the tree gitopsc built from it, and with the CloudNative-PG Clusters in it.
fn agrees_with_tree(renovate: &Renovate, control: &Extraction, dir: &Path, name: &str, from_spec: &[Value]) {
    let tree = format!("{GENERATED}/{name}/");
    let of_type = |t: &str| -> Vec<&Value> { from_spec.iter().filter(|d| d["depType"] == t).collect() };
    let chart_key = |d: &Value| {
        json!([
            d["datasource"],
            d["packageName"],
            d["registryUrls"],
            d["currentValue"]
        ])
    };
    let spec_charts: BTreeSet<String> = of_type("chart")
        .into_iter()
        .map(|d| chart_key(d).to_string())
        .collect();
    let flux_charts: BTreeSet<String> = deps_under(control, "flux", &tree)
        .iter()
        .map(|d| chart_key(d).to_string())
        .collect();
    assert_eq!(
        spec_charts, flux_charts,
        "{name}: charts of the spec vs Renovate's Flux manager on the tree"
    );

    let image_key = |d: &Value| json!([d["depName"], d["currentValue"], d["currentDigest"]]).to_string();
    let mut spec_images: BTreeSet<String> = of_type("image").into_iter().map(image_key).collect();
    spec_images.extend(of_type("redis-image").into_iter().map(image_key));
    // A Dragonfly `version` is the tag `v<version>` of its image in the tree.
    spec_images.extend(of_type("redis-version").into_iter().map(|d| {
        let tag = format!("v{}", d["currentValue"].as_str().unwrap());
        json!([d["depName"], tag, Value::Null]).to_string()
    }));
    let tree_images: BTreeSet<String> = deps_under(control, "kubernetes", &tree)
        .iter()
        .filter(|d| d["datasource"] == "docker")
        .filter(|d| !GITOPSC_OWN_IMAGES.contains(&d["depName"].as_str().unwrap()))
        // An image with neither tag nor digest (an ImageRepository's `image:`) pins nothing.
        .filter(|d| !d["currentValue"].is_null() || !d["currentDigest"].is_null())
        .map(image_key)
        .collect();
    assert_eq!(
        spec_images, tree_images,
        "{name}: images of the spec vs Renovate's Kubernetes manager on the tree"
    );

    postgres_agrees(renovate, &dir.join(&tree), name, from_spec);
}

/// Each CloudNative-PG Cluster of the tree runs the image of a `postgres-image` dep, or an
/// image whose tag the `extractVersion` of a `postgres-version` dep reads as its current value.
fn postgres_agrees(renovate: &Renovate, tree: &Path, name: &str, from_spec: &[Value]) {
    let reference = |d: &Value| {
        let mut image = d["depName"].as_str().unwrap().to_string();
        if let Some(tag) = d["currentValue"].as_str() {
            image = format!("{image}:{tag}");
        }
        if let Some(digest) = d["currentDigest"].as_str() {
            image = format!("{image}@{digest}");
        }
        image
    };
    let mut want = Vec::new();
    let mut images = BTreeSet::new();
    let mut patterns = BTreeSet::new();
    for d in from_spec {
        if d["depType"] == "postgres-image" {
            images.insert(reference(d));
            want.push(json!(["image", reference(d)]));
        } else if d["depType"] == "postgres-version" {
            let pattern = d["extractVersion"].as_str().unwrap().to_string();
            want.push(json!(["version", d["depName"], pattern, d["currentValue"]]));
            patterns.insert(pattern);
        }
    }
    let mut got = Vec::new();
    let mut cases = Vec::new();
    for image in cnpg_images(tree) {
        if images.contains(&image) {
            got.push(json!(["image", image]));
            continue;
        }
        let (repository, tag, _) = image_parts(&image);
        for pattern in &patterns {
            cases.push((
                repository.clone(),
                pattern.clone(),
                tag.clone().unwrap_or_default(),
            ));
        }
    }
    let pairs: Vec<(String, String)> = cases.iter().map(|(_, p, t)| (p.clone(), t.clone())).collect();
    for ((repository, pattern, _), version) in cases.iter().zip(extract_versions(&renovate.node, &pairs)) {
        if let Some(version) = version {
            got.push(json!(["version", repository, pattern, version]));
        }
    }
    let sorted = |mut v: Vec<Value>| {
        v.sort_by_key(ToString::to_string);
        v
    };
    assert_eq!(
        sorted(got),
        sorted(want),
        "{name}: CloudNative-PG images in the tree vs the spec's deps"
    );
}

/// The JSON blocks of docs/renovate.md, each named by the word after `json` in its fence:
/// `renovate.json` (a repository's configuration) or `config.json` (a self-hosted global one).
fn docs_blocks() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(root().join("docs/renovate.md")).unwrap();
    let mut out = Vec::new();
    let mut block: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some((name, body)) = &mut block {
            if line == "```" {
                let value =
                    serde_json::from_str(body).unwrap_or_else(|e| panic!("{name} block: {e}\n{body}"));
                out.push((name.clone(), value));
                block = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if let Some(name) = line.strip_prefix("```json") {
            let name = name.trim();
            assert!(
                ["renovate.json", "config.json"].contains(&name),
                "name each JSON block of docs/renovate.md (renovate.json or config.json): {line}"
            );
            block = Some((name.to_string(), String::new()));
        }
    }
    assert!(block.is_none(), "an unclosed block in docs/renovate.md");
    out
}

/// The configuration docs/renovate.md has users write, extending the preset served at `url`
/// instead of from their Git host.
fn documented_config(url: &str) -> Value {
    let (_, mut config) = docs_blocks()
        .into_iter()
        .find(|(name, c)| name == "renovate.json" && c.get("extends").is_some())
        .expect("docs/renovate.md shows a renovate.json that extends the preset");
    let mut replaced = 0;
    for entry in config["extends"].as_array_mut().unwrap() {
        if entry.as_str().is_some_and(|e| e.contains("//renovate/gitopsc")) {
            *entry = json!(url);
            replaced += 1;
        }
    }
    assert_eq!(replaced, 1, "one reference to the preset: {config}");
    config
}

/// Runs `renovate-config-validator --strict ARGS` in `dir`; panics unless it passes.
fn validate(renovate: &Renovate, dir: &Path, args: &[&str]) {
    let validator = renovate.entry.with_file_name("config-validator.js");
    let mut cmd = Command::new(&renovate.node);
    cmd.arg(validator).arg("--strict").args(args).current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RENOVATE_") {
            cmd.env_remove(&key);
        }
    }
    let out = cmd
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .output()
        .expect("run the validator");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("Config validated successfully"),
        "{}: {args:?}\n{text}",
        dir.display()
    );
}

#[test]
fn the_preset_and_every_configuration_of_the_docs_pass_renovates_validator() {
    let Some(renovate) = installed() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let preset = std::fs::read_to_string(root().join("renovate/gitopsc.json")).unwrap();
    let blocks = docs_blocks();
    let preset = (
        "renovate.json".to_string(),
        serde_json::from_str::<Value>(&preset).unwrap(),
    );
    for (i, (name, config)) in std::iter::once(&preset).chain(&blocks).enumerate() {
        let dir = tmp.path().join(i.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), serde_json::to_string_pretty(config).unwrap()).unwrap();
        // A repository's configuration is found by its name and checked as one; a global
        // configuration is named on the command line.
        let args: &[&str] = if name == "renovate.json" { &[] } else { &[name] };
        validate(&renovate, &dir, args);
    }
    // The self-hosted configuration allows the commands the repository's asks to run.
    let strings = |key: &dyn Fn(&Value) -> &Value| -> Vec<String> {
        blocks
            .iter()
            .flat_map(|(_, c)| key(c).as_array().cloned().unwrap_or_default())
            .map(|v| v.as_str().expect("a string").to_string())
            .collect()
    };
    let allowed = strings(&|c| &c["allowedCommands"]);
    let commands = strings(&|c| &c["postUpgradeTasks"]["commands"]);
    assert!(!allowed.is_empty() && !commands.is_empty());
    let script = "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const [a,c]=JSON.parse(s);process.stdout.write(JSON.stringify(c.map(x=>a.some(r=>new RegExp(r).test(x)))))})";
    let matched: Vec<bool> = node_json(&renovate.node, script, &(&allowed, &commands));
    for (command, ok) in commands.iter().zip(matched) {
        assert!(
            ok,
            "no allowedCommands pattern of docs/renovate.md allows `{command}`"
        );
    }
}

#[test]
fn renovate_finds_every_chart_and_image_of_the_specs_and_nothing_in_the_generated_tree() {
    let Some(renovate) = installed() else { return };
    assert!(
        renovate.version.starts_with("44."),
        "Renovate 44 expected, found {}",
        renovate.version
    );
    let preset = std::fs::read(root().join("renovate/gitopsc.json")).unwrap();
    let url = serve(preset);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    repository(&dir);

    let documented = documented_config(&url);
    let ignore = json!(format!("{GENERATED}/**"));
    assert!(
        documented["ignorePaths"]
            .as_array()
            .is_some_and(|a| a.contains(&ignore)),
        "docs/renovate.md ignores the generated folder"
    );
    let mut without = documented.clone();
    without.as_object_mut().unwrap().remove("ignorePaths");
    let started = Instant::now();
    let control = read_log(&extract(&renovate, &dir, &url, without));
    let ignored = read_log(&extract(&renovate, &dir, &url, documented));
    eprintln!(
        "Renovate {} extracted twice in {:.1?}",
        control.version,
        started.elapsed()
    );

    for run in [&control, &ignored] {
        assert_eq!(run.version, renovate.version);
        assert_eq!(
            run.hosts,
            BTreeSet::from(["127.0.0.1".to_string()]),
            "requests left the machine"
        );
        assert!(
            run.problems.is_empty(),
            "warnings or errors:\n{}",
            run.problems.join("\n")
        );
    }
    // The hazard ignorePaths removes: without it, other managers would update generated files.
    assert!(
        control
            .deps
            .iter()
            .any(|(m, f, _)| m == "flux" && f.starts_with(GENERATED))
    );
    let leaked: Vec<_> = ignored
        .deps
        .iter()
        .filter(|(_, f, _)| f.starts_with(GENERATED))
        .collect();
    assert!(
        leaked.is_empty(),
        "ignorePaths did not keep the tree out: {leaked:#?}"
    );

    let mut all = Vec::new();
    for (name, source) in specs() {
        let file = if source.ends_with("cluster.yaml") {
            format!("clusters/{name}/cluster.yaml")
        } else {
            format!("clusters/{name}.yaml")
        };
        let want = expected(&load(&source));
        all.extend(want.clone());
        let lines = |deps: &[Value]| deps.iter().map(ToString::to_string).collect::<Vec<_>>();
        let got = deps_under(&ignored, "jsonata", &file);
        assert_eq!(
            lines(&got),
            lines(&want),
            "{file}: extracted (left) vs what the spec holds (right)"
        );
        assert_eq!(
            deps_under(&control, "jsonata", &file),
            got,
            "{file}: the same in both runs"
        );
        agrees_with_tree(&renovate, &control, &dir, &name, &want);
    }
    for own in GITOPSC_OWN_IMAGES {
        let used = control
            .deps
            .iter()
            .any(|(m, _, d)| m == "kubernetes" && d["depName"] == *own);
        assert!(
            used,
            "`{own}` is listed as an image gitopsc picks, but no tree has it"
        );
    }
    // The specs hold every kind of reference the preset reads, so none goes untested.
    let has = |what: &str, f: &dyn Fn(&Value) -> bool| assert!(all.iter().any(f), "no spec has {what}");
    has("an https:// chart", &|d| d["datasource"] == "helm");
    has("an oci:// chart", &|d| {
        d["depType"] == "chart" && d["datasource"] == "docker"
    });
    has("an image with a digest", &|d| {
        d["depType"] == "image" && !d["currentDigest"].is_null()
    });
    has("a digest-only image", &|d| {
        d["depType"] == "image" && d["currentValue"].is_null()
    });
    has("a CloudNative-PG image", &|d| d["depType"] == "postgres-image");
    has("a legacy PostgreSQL version", &|d| {
        d["extractVersion"]
            .as_str()
            .is_some_and(|r| r.contains("-system-"))
    });
    // Nothing but specs: the preset reads no other YAML file of the repository.
    let others: Vec<_> = ignored
        .deps
        .iter()
        .filter(|(m, f, _)| m == "jsonata" && !f.starts_with("clusters/"))
        .collect();
    assert!(others.is_empty(), "{others:#?}");
}
