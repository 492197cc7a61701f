//! The incremental path (docs/performance.md): a run that takes apps from the last build's
//! cache produces the bytes, the reports and the diagnostics of a full run, and a hand edit
//! of an output file is still caught.

mod common;

use common::{Run, git, gitopsc_env, read_tree, s};
use std::path::{Path, PathBuf};

/// A fleet in a folder, one file per app: `fleet.yaml` (sources, the cluster and the apps it
/// runs) and `apps/<name>.yaml`.
struct Fleet {
    /// Per app: its number and `replicaCount`, or `None` once removed.
    apps: Vec<Option<(usize, u32)>>,
    /// A comment written into the root, to change its text and not its data.
    comment: u32,
    /// An app written with a field the schema refuses.
    broken: Option<usize>,
    /// `defaults.retryInterval` in minutes: a default of every app's Flux Kustomizations.
    retry: u32,
    /// `defaults.helmInterval` in minutes: a default of every app's HelmRelease.
    helm_interval: u32,
}

impl Fleet {
    fn write(&self, dir: &Path) {
        let apps_dir = dir.join("apps");
        let _ = std::fs::remove_dir_all(&apps_dir);
        std::fs::create_dir_all(&apps_dir).unwrap();
        let mut root = format!(
            "# comment {}\napiVersion: gitopsc.io/v1alpha1\nkind: Fleet\nmetadata: {{name: acme}}\ndefaults:\n  retryInterval: {}m\n  helmInterval: {}m\nsources:\n  helm:\n    - {{name: podinfo, url: https://stefanprodan.github.io/podinfo}}\nclusters:\n  - name: prod\n    apps:\n",
            self.comment, self.retry, self.helm_interval
        );
        let live: Vec<(usize, u32)> = self.apps.iter().flatten().copied().collect();
        for &(n, replicas) in &live {
            root.push_str(&format!("      - name: app{n}\n"));
            // Apps share namespaces and depend on one another: facts across apps.
            let depends = live
                .iter()
                .map(|(m, _)| *m)
                .rfind(|m| *m < n && m % 4 == 1)
                .map(|m| format!("    dependsOn: [app{m}]\n"))
                .unwrap_or_default();
            let broken = if self.broken == Some(n) {
                "    colour: blue\n"
            } else {
                ""
            };
            let part = format!(
                "apiVersion: gitopsc.io/v1alpha1\nkind: FleetPart\napps:\n  - name: app{n}\n    namespace: team{}\n{depends}{broken}    helm:\n      chart: podinfo\n      version: 6.7.{n}\n      source: podinfo\n      values: {{replicaCount: {replicas}}}\n",
                n % 3
            );
            std::fs::write(apps_dir.join(format!("app{n}.yaml")), part).unwrap();
        }
        std::fs::write(dir.join("fleet.yaml"), root).unwrap();
    }
}

/// A new folder, and in it the paths of a spec (named `spec`), an output root and a cache.
fn paths(spec: &str) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (spec, out, cache) = (
        dir.path().join(spec),
        dir.path().join("out"),
        dir.path().join("cache"),
    );
    (dir, spec, out, cache)
}

/// Runs gitopsc with its cache in `cache`.
fn run(cache: &Path, args: &[&str]) -> Run {
    run_in(&common::root(), cache, args)
}

/// Runs gitopsc in `dir` with its cache in `cache`.
fn run_in(dir: &Path, cache: &Path, args: &[&str]) -> Run {
    gitopsc_env(dir, args, &[("GITOPSC_CACHE_DIR", s(cache))])
}

/// A small deterministic generator (no dependency): xorshift.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn random_edits_give_the_bytes_reports_and_diagnostics_of_a_full_run() {
    let (dir, spec, out, cache) = paths("spec");
    std::fs::create_dir_all(&spec).unwrap();
    let mut fleet = Fleet {
        apps: (0..12).map(|n| Some((n, 1))).collect(),
        comment: 0,
        broken: None,
        retry: 1,
        helm_interval: 10,
    };
    fleet.write(&spec);
    run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..14 {
        let edit = match round {
            0 => 0, // a value
            1 => 4, // a comment only
            2 => 5, // an error
            3 => 6, // a default of every app's Flux Kustomizations
            4 => 7, // a default of every app's HelmRelease
            _ => rng.below(8),
        };
        fleet.broken = None;
        let live: Vec<usize> = (0..fleet.apps.len())
            .filter(|i| fleet.apps[*i].is_some())
            .collect();
        let pick = live[rng.below(live.len())];
        match edit {
            0 | 1 => fleet.apps[pick] = fleet.apps[pick].map(|(n, r)| (n, r + 1)),
            2 => fleet.apps.push(Some((fleet.apps.len(), 1))),
            3 if live.len() > 2 => fleet.apps[pick] = None,
            5 => fleet.broken = fleet.apps[pick].map(|(n, _)| n),
            6 => fleet.retry += 1,
            7 => fleet.helm_interval += 1,
            _ => fleet.comment += 1,
        }
        fleet.write(&spec);
        // `check` and `diff` with the cache say what they say without it.
        for command in ["check", "diff"] {
            let fast = run(&cache, &[command, s(&spec), "--out", s(&out)]);
            let full = run(&dir.path().join("none"), &[command, s(&spec), "--out", s(&out)]);
            assert_eq!(
                (fast.code, &fast.stdout, &fast.stderr),
                (full.code, &full.stdout, &full.stderr),
                "round {round}: {command} after edit {edit}"
            );
            if command == "check" {
                let forced = run(&cache, &["check", "--full", s(&spec), "--out", s(&out)]);
                assert_eq!(
                    (forced.code, &forced.stdout, &forced.stderr),
                    (full.code, &full.stdout, &full.stderr),
                    "round {round}: check --full"
                );
            }
        }
        // `build` with the cache writes the tree a build into an empty folder writes.
        let built = run(&cache, &["build", s(&spec), "--out", s(&out)]);
        let fresh_out = dir.path().join(format!("fresh{round}"));
        let fresh = run(
            &dir.path().join("none"),
            &["build", s(&spec), "--out", s(&fresh_out)],
        );
        assert_eq!(
            (built.code, &built.stderr),
            (fresh.code, &fresh.stderr),
            "round {round}: build after edit {edit}"
        );
        if built.code == 2 {
            assert!(built.stderr.contains("colour"), "{}", built.stderr);
            continue;
        }
        assert!(
            read_tree(&out) == read_tree(&fresh_out),
            "round {round}: the trees differ after edit {edit}"
        );
    }
}

/// A cluster spec of `apps` apps in one file.
fn cluster_spec(apps: usize, replicas: u32) -> String {
    let mut text = String::from(
        "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: {name: big}\nsources:\n  helm:\n    - {name: podinfo, url: https://stefanprodan.github.io/podinfo}\napps:\n",
    );
    for i in 0..apps {
        let r = if i == 0 { replicas } else { 1 };
        text.push_str(&format!(
            "  - name: app{i}\n    helm: {{chart: podinfo, version: 6.7.{i}, source: podinfo, values: {{replicaCount: {r}}}}}\n"
        ));
    }
    text
}

#[test]
fn a_hand_edit_of_an_output_file_is_caught_whatever_its_times() {
    let (_dir, spec, out, cache) = paths("cluster.yaml");
    std::fs::write(&spec, cluster_spec(5, 1)).unwrap();
    run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
    let tree = read_tree(&out);
    let (path, bytes) = tree
        .iter()
        .find(|(p, _)| p.ends_with("app3/helmrelease.yaml"))
        .unwrap();
    let file = out.join(path);
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    // Same size, same modification time: only the change time and the bytes differ.
    let mut edited = bytes.clone();
    let at = edited.iter().position(|b| *b == b'1').unwrap();
    edited[at] = b'2';
    std::fs::write(&file, &edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    for spec_text in [
        cluster_spec(5, 1),
        cluster_spec(5, 1) + "# a comment\n",
        cluster_spec(5, 2),
    ] {
        std::fs::write(&spec, spec_text).unwrap();
        let check = run(&cache, &["check", s(&spec), "--out", s(&out)]).expect(1);
        assert!(check.stdout.contains(path.as_str()), "{}", check.stdout);
    }
}

#[test]
fn an_untouched_tree_and_a_comment_are_current_and_the_cache_is_not_in_the_tree() {
    let (_dir, spec, out, cache) = paths("cluster.yaml");
    std::fs::write(&spec, cluster_spec(4, 1)).unwrap();
    run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
    let tree = read_tree(&out);
    assert!(tree.keys().all(|p| !p.contains("cache")), "{:?}", tree.keys());
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        1,
        "one cache file, outside the tree"
    );
    std::fs::write(&spec, cluster_spec(4, 1) + "# a comment\n").unwrap();
    for args in [["check", "--full"].as_slice(), &["check"]] {
        let mut all = args.to_vec();
        all.extend([s(&spec), "--out", s(&out)]);
        run(&cache, &all).expect(0);
    }
}

/// `check --full` trusts nothing recorded: not the cache, nor the lock file's stamp of the
/// spec it was built from. A hand edit whose new hash was written into the lock file too
/// passes the check that trusts the stamp, and is caught by rendering.
#[test]
fn check_full_renders_even_an_untouched_tree() {
    let (_dir, spec, out, cache) = paths("cluster.yaml");
    std::fs::write(&spec, cluster_spec(4, 1)).unwrap();
    run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
    let tree = read_tree(&out);
    let path = tree
        .keys()
        .find(|p| p.ends_with("helmrelease.yaml"))
        .unwrap()
        .clone();
    let old = gitopsc::digest::sha256_hex(&tree[&path]);
    let edited = [tree[&path].as_slice(), b"# mine\n"].concat();
    std::fs::write(out.join(&path), &edited).unwrap();
    let lock = std::fs::read_to_string(out.join("gitopsc.lock")).unwrap();
    let new = gitopsc::digest::sha256_hex(&edited);
    std::fs::write(out.join("gitopsc.lock"), lock.replace(&old, &new)).unwrap();
    run(&cache, &["check", s(&spec), "--out", s(&out)]).expect(0);
    let full = run(&cache, &["check", "--full", s(&spec), "--out", s(&out)]).expect(1);
    assert!(full.stdout.contains(path.as_str()), "{}", full.stdout);
}

/// The lock file a cache names (its `l` line) is the one on disk, byte for byte: after a
/// build into an empty folder, after one that rewrites the lock file, and after one that
/// leaves it as it is.
#[test]
fn the_cache_names_the_lock_file_the_build_wrote() {
    let (_dir, spec, out, cache) = paths("cluster.yaml");
    let named = || {
        let entry = std::fs::read_dir(&cache).unwrap().flatten().next().unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        text.lines().find_map(|l| l.strip_prefix("l ")).map(String::from)
    };
    let on_disk = || gitopsc::digest::sha256_hex(&std::fs::read(out.join("gitopsc.lock")).unwrap());
    for (replicas, comment) in [(1, ""), (2, ""), (2, "# a comment\n")] {
        std::fs::write(&spec, cluster_spec(4, replicas) + comment).unwrap();
        run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
        assert_eq!(
            named(),
            Some(on_disk()),
            "replicas {replicas}, comment {comment:?}"
        );
    }
    // `--force` compares a current tree: the lock file stays, and is named still.
    let before = std::fs::read(out.join("gitopsc.lock")).unwrap();
    run(&cache, &["-q", "build", "--force", s(&spec), "--out", s(&out)]).expect(0);
    assert_eq!(std::fs::read(out.join("gitopsc.lock")).unwrap(), before);
    assert_eq!(named(), Some(on_disk()), "a forced build");
}

/// A build into an empty folder takes each file's stat from the handle it wrote it through:
/// the cache records, for every file the lock file lists, the stat its path shows; and each
/// app's key.
#[test]
#[cfg(unix)]
fn a_fresh_build_records_each_files_stat_as_its_path_shows_it() {
    use std::os::unix::fs::MetadataExt;
    let (_dir, spec, out, cache) = paths("cluster.yaml");
    std::fs::write(&spec, cluster_spec(12, 1)).unwrap();
    run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
    let entry = std::fs::read_dir(&cache).unwrap().flatten().next().unwrap();
    let text = std::fs::read_to_string(entry.path()).unwrap();
    let lock: serde_json::Value =
        serde_yaml::from_slice(&std::fs::read(out.join("gitopsc.lock")).unwrap()).unwrap();
    let listed: Vec<&String> = lock["files"].as_object().unwrap().keys().collect();
    let mut recorded = Vec::new();
    for line in text.lines().filter_map(|l| l.strip_prefix("f ")) {
        let fields: Vec<&str> = line.splitn(7, ' ').collect();
        let (hash, path) = (fields[0], fields[6]);
        let m = std::fs::symlink_metadata(out.join(path)).unwrap();
        let nanos = |secs: i64, nsec: i64| (i128::from(secs) * 1_000_000_000 + i128::from(nsec)).to_string();
        let shown = [
            m.size().to_string(),
            nanos(m.mtime(), m.mtime_nsec()),
            nanos(m.ctime(), m.ctime_nsec()),
            m.ino().to_string(),
            m.dev().to_string(),
        ];
        assert_eq!(fields[1..6], shown, "{path}");
        assert_eq!(
            hash,
            gitopsc::digest::sha256_hex(&std::fs::read(out.join(path)).unwrap()),
            "{path}"
        );
        recorded.push(path.to_string());
    }
    assert_eq!(
        recorded.iter().collect::<Vec<_>>(),
        listed,
        "every file the lock lists, in its order"
    );
    // Each app's key, made before its items were released as it rendered.
    let keys = text.lines().filter(|l| l.starts_with("a ")).count();
    assert_eq!(keys, 12, "{text}");
}

/// A fleet folder of six apps (`spec/`), built into `out/` with its cache in `cache/`.
fn built_fleet_folder() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let (dir, spec, out, cache) = paths("spec");
    std::fs::create_dir_all(&spec).unwrap();
    let fleet = Fleet {
        apps: (0..6).map(|n| Some((n, 1))).collect(),
        comment: 0,
        broken: None,
        retry: 1,
        helm_interval: 10,
    };
    fleet.write(&spec);
    run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
    (dir, spec, out, cache)
}

/// What a step does to a fleet folder, and the change.
type Step<'a> = (&'a str, Box<dyn Fn() + 'a>);

#[test]
fn a_fleet_folder_untouched_is_not_read_again_and_any_change_to_it_is() {
    use gitopsc::incremental::spec::recall_in;
    let (dir, spec, out, cache) = built_fleet_folder();
    // Each step changes the folder, then a check (which records the expansion once the
    // files are older than it) must say what a run without any cache says.
    let part = spec.join("apps/app3.yaml");
    let steps: Vec<Step> = vec![
        ("nothing", Box::new(|| {})),
        (
            "a part edited, its size kept",
            Box::new(|| {
                let text = std::fs::read_to_string(&part).unwrap();
                std::fs::write(&part, text.replace("replicaCount: 1", "replicaCount: 2")).unwrap();
            }),
        ),
        (
            "a part added",
            Box::new(|| {
                let text = std::fs::read_to_string(&part).unwrap();
                std::fs::write(spec.join("apps/extra.yaml"), text.replace("app3", "app99")).unwrap();
            }),
        ),
        (
            "a part removed",
            Box::new(|| std::fs::remove_file(spec.join("apps/extra.yaml")).unwrap()),
        ),
        (
            "an output file edited by hand",
            Box::new(|| {
                let tree = read_tree(&out);
                let file = tree
                    .keys()
                    .find(|p| p.ends_with(".yaml") && p.contains("app1"))
                    .unwrap();
                std::fs::write(out.join(file), "hand: edit\n").unwrap();
            }),
        ),
    ];
    for (what, step) in steps {
        step();
        // The part removed is the one added, whose run (an app no cluster runs: a warning)
        // recorded nothing: the folder then holds the recorded parts again, the record stands.
        if !matches!(what, "an output file edited by hand" | "a part removed") {
            assert_eq!(recall_in(&cache, &spec, &out), None, "{what}: recorded already");
        }
        // Files must be older than the run that records them: a clock tick between.
        std::thread::sleep(std::time::Duration::from_millis(30));
        for round in ["records", "recalls"] {
            let fast = run(&cache, &["check", s(&spec), "--out", s(&out)]);
            let full = run(&dir.path().join("none"), &["check", s(&spec), "--out", s(&out)]);
            assert_eq!(
                (fast.code, &fast.stdout, &fast.stderr),
                (full.code, &full.stdout, &full.stderr),
                "{what}: the check that {round}"
            );
            let json = run(&cache, &["check", "--format", "json", s(&spec), "--out", s(&out)]);
            let full = run(
                &dir.path().join("none"),
                &["check", "--format", "json", s(&spec), "--out", s(&out)],
            );
            assert_eq!(json.stdout, full.stdout, "{what}: JSON, the check that {round}");
            // A fleet with warnings of its own (an app no cluster runs) is not recorded; nor
            // is one a check compiled over its changed apps (crate::incremental::apps).
            let clean = serde_json::from_str::<serde_json::Value>(&full.stdout).unwrap()["diagnostics"]
                .as_array()
                .is_some_and(Vec::is_empty);
            assert_eq!(
                recall_in(&cache, &spec, &out).is_some(),
                clean && what != "a part edited, its size kept",
                "{what}: whether the check recorded the expansion"
            );
        }
        run(&cache, &["-q", "build", "--force", s(&spec), "--out", s(&out)]).expect(0);
    }
    // A build that changes nothing takes the recorded expansion too, and says so as a full one.
    let fast = run(&cache, &["build", s(&spec), "--out", s(&out)]);
    let full = run(&dir.path().join("none"), &["build", s(&spec), "--out", s(&out)]);
    assert_eq!((fast.code, &fast.stdout), (full.code, &full.stdout));
}

#[test]
fn a_fleet_folder_named_relative_to_here_is_recorded_and_its_files_named_as_given() {
    use gitopsc::incremental::spec::recall_in;
    let (dir, spec, out, cache) = built_fleet_folder();
    let part = spec.join("apps/app3.yaml");
    // Named relative to the folder a run starts in, the spec is recorded all the same.
    let here = |args: &[&str]| gitopsc_env(dir.path(), args, &[("GITOPSC_CACHE_DIR", s(&cache))]);
    std::fs::write(spec.join("apps/note.yaml.txt"), "not a part").unwrap();
    assert_eq!(recall_in(&cache, &spec, &out), None, "a file added to the folder");
    std::thread::sleep(std::time::Duration::from_millis(30));
    here(&["-q", "check", "spec", "--out", "out"]).expect(0);
    assert!(
        recall_in(&cache, &spec, &out).is_some(),
        "a relative spec is not recorded"
    );
    // A warning recorded at a part's line names the part as the command line does.
    let text = std::fs::read_to_string(&part).unwrap();
    let budget = "    disruptionBudget: {maxUnavailable: 0}\n    helm:";
    std::fs::write(&part, text.replace("    helm:", budget)).unwrap();
    here(&["-q", "build", "spec", "--out", "out"]).expect(0);
    std::thread::sleep(std::time::Duration::from_millis(30));
    here(&["check", "spec", "--out", "out"]).expect(0);
    let fast = here(&["check", "spec", "--out", "out"]);
    assert!(recall_in(&cache, &spec, &out).is_some());
    let none = dir.path().join("none");
    let full = gitopsc_env(
        dir.path(),
        &["check", "spec", "--out", "out"],
        &[("GITOPSC_CACHE_DIR", s(&none))],
    );
    assert!(full.stderr.contains("spec/apps/app3.yaml:"), "{}", full.stderr);
    assert_eq!((fast.code, &fast.stderr), (full.code, &full.stderr));
}

/// A run over changed apps takes the lock file's list from the tree cache when the cache
/// names that very lock file, and parses the lock file whole when it does not: either way an
/// edit undone leaves the tree current, and a lock file rewritten since is reported as a full
/// run reports it.
#[test]
fn an_edit_undone_is_current_and_a_lock_file_rewritten_is_read_whole() {
    let (dir, spec, out, cache) = built_edited_fleet(8, false);
    let none = dir.path().join("none");
    let same_as_full = |what: &str| check_as_full(&cache, &none, (&spec, &out), what);
    let part = spec.join("apps/app5.yaml");
    let original = std::fs::read(&part).unwrap();
    let record = spec_record(&cache);
    std::fs::write(&part, app_part(5, 77, 3)).unwrap();
    assert_eq!(same_as_full("an edit"), 1);
    std::fs::write(&part, &original).unwrap();
    assert_eq!(same_as_full("the edit undone"), 0);
    // A hand edit of one of the app's files: the lock file records the same as the new one.
    let (file, written) = read_tree(&out)
        .into_iter()
        .find(|(path, _)| path.contains("/app5/") && path.ends_with(".yaml"))
        .unwrap();
    std::fs::write(out.join(&file), [&written[..], b"# edited\n"].concat()).unwrap();
    std::fs::write(&part, &original).unwrap();
    assert_eq!(same_as_full("a hand edit of a file of the app"), 1);
    assert_eq!(spec_record(&cache), record, "the changed apps' way was taken");
    std::fs::write(out.join(&file), written).unwrap();
    // The same records in other bytes: the cache no longer names the lock file.
    let lock = out.join("fleet/prod/gitopsc.lock");
    let mut bytes = std::fs::read(&lock).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&lock, bytes).unwrap();
    std::fs::write(&part, &original).unwrap();
    assert_eq!(same_as_full("the lock file rewritten"), 0);
    std::fs::write(&part, app_part(5, 78, 2)).unwrap();
    assert_eq!(same_as_full("an edit after the lock file was rewritten"), 1);
    assert_eq!(spec_record(&cache), record, "the changed apps' way was taken");
}

/// The part file of app `n` of [`edited_fleet`]: in namespace `team<n % 3>`, depending on an
/// earlier app, every fourth with a default deny (a warning in its own file), every third
/// with a workload whose image, replicas, CPU request, command, arguments, environment and
/// probe, and a ConfigMap whose data, follow `version` and `replicas`.
fn app_part(n: usize, version: usize, replicas: usize) -> String {
    app_part_in(n, version, replicas, 0)
}

/// [`app_part`] in namespace `team<(n + shift) % 3>`.
fn app_part_in(n: usize, version: usize, replicas: usize, shift: usize) -> String {
    let depends = if n > 1 {
        format!("    dependsOn: [app{}]\n", (n - 2) / 4 * 4 + 1)
    } else {
        String::new()
    };
    let deny = if n % 4 == 3 {
        "    networkPolicy: {defaultDeny: true}\n"
    } else {
        ""
    };
    // Its ConfigMap's data, command, arguments, environment and probe follow the edit too.
    let workload = if n % 3 == 2 {
        format!(
            "    configMaps:\n      - {{name: cfg{n}, data: {{LEVEL: v{version}}}}}\n    workloads:\n      - name: web{n}\n        kind: Deployment\n        image: ghcr.io/example/app{n}:1.{version}.0\n        replicas: {replicas}\n        command: [/app, --v{version}]\n        args: [--replicas={replicas}]\n        env:\n          - {{name: MODE, value: m{version}}}\n          - {{name: LEVEL, configMap: {{name: cfg{n}, key: LEVEL}}}}\n        probes:\n          liveness: {{http: {{path: /healthz, port: http}}, periodSeconds: {}}}\n        resources: {{requests: {{cpu: {replicas}00m, memory: 64Mi}}, limits: {{memory: 128Mi}}}}\n        ports:\n          - {{name: http, port: 8080}}\n",
            replicas + 5
        )
    } else {
        String::new()
    };
    // Its ExternalSecret's data follows the edit too.
    let secret = if n.is_multiple_of(3) && n > 0 {
        format!(
            "    secrets:\n      - {{name: s{n}, data: [{{key: TOKEN, remoteKey: app{n}/token, property: v{version}}}]}}\n"
        )
    } else {
        String::new()
    };
    // Its database's instances and storage follow the edit too.
    let postgres = if n % 3 == 1 {
        format!(
            "    postgres: {{version: \"17.6\", instances: {}, storage: {{size: {}Gi}}, database: app{n}}}\n",
            1 + version / 100 % 3,
            1 + replicas
        )
    } else {
        String::new()
    };
    format!(
        "apiVersion: gitopsc.io/v1alpha1\nkind: FleetPart\napps:\n  - name: app{n}\n    namespace: team{}\n{depends}{deny}{workload}{postgres}{secret}    helm:\n      chart: podinfo\n      version: 6.7.{version}\n      source: podinfo\n      values: {{replicaCount: {replicas}}}\n",
        (n + shift) % 3
    )
}

/// A fleet folder of `apps` apps, one file each, written once: the cluster `prod` runs them
/// all; with `stage`, the cluster `stage` runs three in four, and overrides some.
fn edited_fleet(dir: &Path, apps: usize, stage: bool) {
    std::fs::create_dir_all(dir.join("apps")).unwrap();
    let mut root = String::from(
        "apiVersion: gitopsc.io/v1alpha1\nkind: Fleet\nmetadata: {name: acme}\nflux: {external: [infra]}\noperators:\n  cnpg: {external: infra, deployment: cnpg-controller-manager, namespace: cnpg-system}\n  externalSecrets: {external: infra, deployment: external-secrets, namespace: external-secrets}\ndefaults: {secretStore: vault}\nsecretStores:\n  - {name: vault, kind: ClusterSecretStore, vault: {server: \"https://vault.example:8200\", path: secret, auth: {kubernetes: {mountPath: kubernetes, role: eso, serviceAccount: {name: external-secrets, namespace: external-secrets}}}}}\nsources:\n  helm:\n    - {name: podinfo, url: https://stefanprodan.github.io/podinfo}\nclusters:\n  - name: prod\n    apps:\n",
    );
    for n in 0..apps {
        root.push_str(&format!("      - name: app{n}\n"));
        std::fs::write(dir.join(format!("apps/app{n}.yaml")), app_part(n, n, 1)).unwrap();
    }
    if stage {
        root.push_str("  - name: stage\n    apps:\n");
        for n in (0..apps).filter(|n| n % 4 != 2) {
            root.push_str(&format!("      - name: app{n}\n"));
            // Overrides: of a chart value with a default deny (warnings in the cluster's
            // entry), and of a namespace.
            match n % 8 {
                4 => root.push_str(
                    "        helm: {values: {replicaCount: 9}}\n        networkPolicy: {defaultDeny: true}\n",
                ),
                5 => root.push_str(&format!("        namespace: stage{n}\n")),
                _ => {}
            }
        }
    }
    std::fs::write(dir.join("fleet.yaml"), root).unwrap();
}

/// [`edited_fleet`] of `apps` apps, built twice (the first build made the output root, the
/// second records the fleet).
fn built_edited_fleet(apps: usize, stage: bool) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let (dir, spec, out, cache) = paths("spec");
    edited_fleet(&spec, apps, stage);
    for _ in 0..2 {
        run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
    }
    (dir, spec, out, cache)
}

/// A `check` of `spec` against `out` with the cache in `cache` says what one without any cache
/// says (`none` holds no cache); its exit code.
fn check_as_full(cache: &Path, none: &Path, (spec, out): (&Path, &Path), what: &str) -> i32 {
    let check = ["check", s(spec), "--out", s(out)];
    let (fast, full) = (run(cache, &check), run(none, &check));
    assert_eq!(
        (fast.code, &fast.stdout, &fast.stderr),
        (full.code, &full.stdout, &full.stderr),
        "{what}"
    );
    fast.code
}

/// The bytes of the record of the fleet's files in `cache` (crate::incremental::spec).
fn spec_record(cache: &Path) -> Vec<u8> {
    let entry = std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "spec"))
        .expect("a record of the fleet's files");
    std::fs::read(entry.path()).unwrap()
}

/// An untouched fleet of two clusters whose warnings point into several part files: a
/// `check` and a `build` that take the recorded expansion (and read only the files the
/// warnings are in) say what runs without any cache say, in text and in JSON.
#[test]
fn an_untouched_fleet_shows_its_recorded_warnings_in_their_own_files() {
    use gitopsc::incremental::spec::recall_in;
    let (dir, spec, out, cache) = paths("spec");
    edited_fleet(&spec, 12, true);
    for _ in 0..2 {
        run(&cache, &["-q", "build", s(&spec), "--out", s(&out)]).expect(0);
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    assert!(
        recall_in(&cache, &spec, &out).is_some(),
        "the build recorded the fleet"
    );
    let none = dir.path().join("none");
    for args in [
        vec!["check", s(&spec), "--out", s(&out)],
        vec!["check", "--format", "json", s(&spec), "--out", s(&out)],
        vec!["check", "--cluster", "stage", s(&spec), "--out", s(&out)],
        vec!["build", s(&spec), "--out", s(&out)],
    ] {
        let (fast, full) = (run(&cache, &args), run(&none, &args));
        assert_eq!(
            (fast.code, &fast.stdout, &fast.stderr),
            (full.code, &full.stdout, &full.stderr),
            "{args:?}"
        );
        assert_eq!(fast.code, 0, "{args:?}: {}", fast.stdout);
    }
    let shown = run(&cache, &["check", s(&spec), "--out", s(&out)]).stderr;
    for file in ["apps/app3.yaml", "apps/app7.yaml", "fleet.yaml"] {
        assert!(shown.contains(file), "a warning in {file}: {shown}");
    }
}

#[test]
fn an_edit_of_chart_values_or_version_compiles_the_changed_app_only_and_as_a_full_run() {
    edits_of_values_and_versions(false);
}

#[test]
fn so_it_does_in_a_fleet_of_two_clusters_that_run_some_apps_each() {
    edits_of_values_and_versions(true);
}

/// Random edits of chart values and versions, of ConfigMaps' data and of workloads' images,
/// replicas, resources, commands, arguments, environment and probes, each of one app's file in
/// place, and moves to another namespace: `check`, its JSON, `diff`
/// and `build` say and write what a run without any cache does, and the edits within local
/// fields of the apps whose files hold no warning decided by all apps take the changed apps'
/// way.
fn edits_of_values_and_versions(stage: bool) {
    let (dir, spec, out, cache) = built_edited_fleet(12, stage);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut taken = 0;
    // Every fourth round moves the app to another namespace (or back): not a local field.
    let mut shifted = [0; 12];
    for round in 0..12 {
        let pick = rng.below(12);
        let (version, replicas) = (pick + round * 100, 2 + rng.below(5));
        let moves = round % 4 == 3;
        if moves {
            shifted[pick] = 1 - shifted[pick];
        }
        // Written in place: only this file changes.
        std::fs::write(
            spec.join(format!("apps/app{pick}.yaml")),
            app_part_in(pick, version, replicas, shifted[pick]),
        )
        .unwrap();
        let record = spec_record(&cache);
        let fast = run(&cache, &["check", s(&spec), "--out", s(&out)]);
        // A check over the changed apps records nothing; the whole way records the files.
        // A move to another namespace, edits of app0 (where the Pod Security warning of all
        // apps points) and of the apps `stage` overrides (4 and 5: the warnings of the
        // default deny it gives app4 are in its entry) go the whole way.
        let changed_only = spec_record(&cache) == record;
        let whole_way = moves || pick == 0 || (stage && (pick == 4 || pick == 5));
        assert_eq!(changed_only, !whole_way, "round {round}: app{pick}");
        taken += usize::from(changed_only);
        let full = run(&dir.path().join("none"), &["check", s(&spec), "--out", s(&out)]);
        assert_eq!(
            (fast.code, &fast.stdout, &fast.stderr),
            (full.code, &full.stdout, &full.stderr),
            "round {round}: check after an edit of app{pick}"
        );
        assert_eq!(fast.code, 1, "{}", fast.stdout);
        assert!(fast.stderr.contains("warning[GSC0605]"), "{}", fast.stderr);
        let json = ["check", "--format", "json", s(&spec), "--out", s(&out)];
        assert_eq!(
            run(&cache, &json).stdout,
            run(&dir.path().join("none"), &json).stdout,
            "round {round}: JSON"
        );
        let diff = ["diff", s(&spec), "--out", s(&out)];
        let (fast, full) = (run(&cache, &diff), run(&dir.path().join("none"), &diff));
        assert_eq!(
            (fast.code, &fast.stdout, &fast.stderr),
            (full.code, &full.stdout, &full.stderr),
            "round {round}: diff"
        );
        assert_eq!(
            spec_record(&cache) == record,
            !whole_way,
            "round {round}: diff records"
        );
        let built = run(&cache, &["build", s(&spec), "--out", s(&out)]);
        let fresh_out = dir.path().join(format!("fresh{round}"));
        let fresh = run(
            &dir.path().join("none"),
            &["build", s(&spec), "--out", s(&fresh_out)],
        );
        assert_eq!(
            (built.code, &built.stderr),
            (fresh.code, &fresh.stderr),
            "round {round}"
        );
        assert!(
            read_tree(&out) == read_tree(&fresh_out),
            "round {round}: the trees differ after an edit of app{pick}"
        );
        run(&cache, &["check", s(&spec), "--out", s(&out)]).expect(0);
    }
    assert!(taken >= 5, "the changed apps' way was taken {taken} times of 12");
}

/// An editor that saves a part by renaming a new file over it, and leaves a hidden swap file
/// beside it, changes the folder's times but not its parts: the edit still takes the changed
/// apps' way and says what a full run says. A part renamed changes the parts: the whole way.
#[test]
fn a_part_saved_by_renaming_over_it_takes_the_changed_apps_way() {
    let (dir, spec, out, cache) = built_edited_fleet(12, false);
    let none = dir.path().join("none");
    let same_as_full = |what: &str| check_as_full(&cache, &none, (&spec, &out), what);
    let record = spec_record(&cache);
    let part = spec.join("apps/app7.yaml");
    let saved = spec.join("apps/.app7.yaml.tmp");
    std::fs::write(&saved, app_part(7, 50, 3)).unwrap();
    std::fs::rename(&saved, &part).unwrap();
    std::fs::write(spec.join("apps/.app7.yaml.swp"), "editor state").unwrap();
    same_as_full("a part saved by a rename");
    assert!(spec_record(&cache) == record, "the changed apps' way was taken");
    std::fs::rename(&part, spec.join("apps/app7-renamed.yaml")).unwrap();
    same_as_full("a part renamed");
    assert!(spec_record(&cache) != record, "a renamed part goes the whole way");
}

/// A git repository (the new folder) holding an [`edited_fleet`] of 12 apps in two clusters
/// in `spec`, nothing committed; with the spec's path and a cache folder.
fn fleet_repo() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, spec, _, cache) = paths("spec");
    edited_fleet(&spec, 12, true);
    git(dir.path(), &["init", "-q", "-b", "main"]);
    (dir, spec, cache)
}

/// `diff --base` of a fleet folder of two clusters, committed: after edits within apps' local
/// fields (compiled over the changed apps against the base's records held in memory) and
/// edits that are not (a move to another namespace, an app added, edits of the root: the
/// whole way), it says in text and in JSON what a diff against the base's tree built on disk
/// says.
#[test]
fn diff_base_says_what_a_diff_against_the_base_built_on_disk_says() {
    let (dir, spec, cache) = fleet_repo();
    let repo = dir.path();
    git(repo, &["add", "spec"]);
    git(repo, &["commit", "-qm", "base"]);
    let base = repo.join("base-tree");
    run(&cache, &["-q", "build", s(&spec), "--out", s(&base)]).expect(0);
    let none = repo.join("none");
    let in_repo = |args: &[&str]| run_in(repo, &cache, args);
    let json = |run: Run| {
        let mut report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        // Each report names the tree it compared with (`out`): the built one, or the base.
        report.as_object_mut().unwrap().remove("out");
        for cluster in report["clusters"].as_array_mut().unwrap() {
            cluster["report"].as_object_mut().unwrap().remove("out");
        }
        (run.code, report)
    };
    // What `diff --base` says, in text and JSON, is what a diff against the base built says.
    let same = |what: &str| {
        let held = in_repo(&["diff", "spec", "--base", "HEAD"]);
        let against = ["diff", "spec", "--out", s(&base)];
        let on_disk = run_in(repo, &none, &against);
        assert_eq!(
            (held.code, &held.stdout, &held.stderr),
            (on_disk.code, &on_disk.stdout, &on_disk.stderr),
            "{what}"
        );
        let against_json = [&against[..], &["--format", "json"]].concat();
        assert_eq!(
            json(in_repo(&["diff", "spec", "--base", "HEAD", "--format", "json"])),
            json(run_in(repo, &none, &against_json)),
            "{what}: JSON"
        );
        git(repo, &["checkout", "-q", "--", "spec"]);
        git(repo, &["clean", "-qfd", "spec"]);
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..8 {
        let pick = rng.below(12);
        let part = spec.join(format!("apps/app{pick}.yaml"));
        match round % 4 {
            3 => std::fs::write(&part, app_part_in(pick, pick, 1, 1)).unwrap(),
            2 if round == 2 => std::fs::write(spec.join("apps/extra.yaml"), app_part(12, 1, 1)).unwrap(),
            2 => {
                let root = std::fs::read_to_string(spec.join("fleet.yaml")).unwrap();
                std::fs::write(spec.join("fleet.yaml"), format!("# a note\n{root}")).unwrap();
            }
            _ => std::fs::write(&part, app_part(pick, pick + 100 * round, 2 + rng.below(5))).unwrap(),
        }
        same(&format!("round {round}: app{pick}"));
    }
    // Edits of the root: the base's trees render only the apps the spec as it is now does
    // not keep by their key (an override, an app or a cluster gone, a default of all apps).
    let root = std::fs::read_to_string(spec.join("fleet.yaml")).unwrap();
    let stage = "  - name: stage\n    apps:\n      - name: app0\n";
    let edits = [
        root.replace(
            stage,
            &format!("{stage}        helm: {{values: {{replicaCount: 3}}}}\n"),
        ),
        root.replace("      - name: app2\n      - name: app3\n", "      - name: app2\n"),
        root[..root.find("  - name: stage\n").unwrap()].to_string(),
        root.replace(
            "defaults: {secretStore: vault}",
            "defaults: {secretStore: vault, timeout: 7m}",
        ),
        root.replace(
            "defaults: {secretStore: vault}",
            "defaults: {secretStore: vault, helmInterval: 9m}",
        ),
    ];
    for (i, edited) in edits.iter().enumerate() {
        assert_ne!(edited, &root);
        std::fs::write(spec.join("fleet.yaml"), edited).unwrap();
        same(&format!("root edit {i}"));
    }
}

/// The JSON report of `check --staged` of the fleet folder `spec` against `k8s` in `repo`,
/// but for what it says of files not staged.
fn staged_verdict(repo: &Path, cache: &Path) -> serde_json::Value {
    let args = ["check", "spec", "--out", "k8s", "--staged", "--format", "json"];
    let run = run_in(repo, cache, &args);
    assert!(run.code < 2, "{}{}", run.stdout, run.stderr);
    let mut report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for field in ["staged", "exitCode", "ok"] {
        report.as_object_mut().unwrap().remove(field);
    }
    report
}

/// `check --staged` of a fleet folder with app parts edited and not staged (and, in turn,
/// others staged), its tree as the last build over the work tree left it: the staged spec is
/// compiled over the apps of the files that differ, against that build's records, and says
/// what the check says once the work tree holds what is staged.
#[test]
fn a_staged_check_with_part_edits_not_staged_says_what_the_staged_work_tree_says() {
    let (dir, spec, cache) = fleet_repo();
    let repo = dir.path();
    let build = || {
        let args = ["-q", "build", "spec", "--out", "k8s"];
        let run = run_in(repo, &cache, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    build();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "base"]);
    let part = |n: usize| spec.join(format!("apps/app{n}.yaml"));
    let mut verdicts = std::collections::BTreeSet::new();
    for (round, (staged, unstaged)) in [(None, 3), (Some(5), 7), (Some(6), 6), (None, 0)]
        .into_iter()
        .enumerate()
    {
        // The records of a build over the work tree as committed.
        build();
        if let Some(n) = staged {
            std::fs::write(part(n), app_part(n, 300 + round, 3)).unwrap();
            git(repo, &["add", "spec"]);
        }
        std::fs::write(part(unstaged), app_part(unstaged, 500 + round, 4)).unwrap();
        let viewed = staged_verdict(repo, &cache);
        git(repo, &["stash", "-q", "--keep-index"]);
        let held = staged_verdict(repo, &cache);
        assert_eq!(viewed, held, "round {round}");
        verdicts.insert(held.to_string());
        git(repo, &["reset", "-q", "--hard"]);
        git(repo, &["stash", "drop", "-q"]);
    }
    assert!(verdicts.len() > 1, "the rounds reach different verdicts");
}
