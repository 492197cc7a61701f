//! The plaintext-secret check: attempts to slip a secret value into a spec (by key spelling,
//! scalar type, interpolation, or a place the check might not look) are each refused at their
//! line, while every example and fixture, and the values that only look like secrets, pass.

mod common;

use common::{gitopsc, s, specs};
use std::path::Path;

/// A spec with every place a user string reaches the output: chart values, ConfigMap data,
/// an ESO template and annotations, workload labels and env, a Vault URL and a Helm
/// repository URL. Each attempt replaces one of its lines.
const BASE: &str = r#"apiVersion: gitopsc.io/v1alpha1
kind: Cluster
metadata:
  name: leaks
sources:
  helm:
    - { name: podinfo, url: "https://stefanprodan.github.io/podinfo" }
secretStores:
  - name: vault
    vault:
      server: "https://vault.example.com:8200"
      auth:
        kubernetes:
          role: eso
          serviceAccount: { name: eso, namespace: eso }
operators:
  externalSecrets: { external: eso, deployment: external-secrets, namespace: eso }
flux:
  external: [eso]
apps:
  - name: web
    helm:
      chart: podinfo
      version: 6.7.1
      source: podinfo
      values:
        replicaCount: 1
    configMaps:
      - name: web-config
        data:
          LOG_LEVEL: info
    secrets:
      - name: web-secret
        store: vault
        data:
          - { key: user, remoteKey: web/db, property: user }
        template:
          user: "{{ .user }}"
        annotations:
          team: web
    workloads:
      - name: api
        kind: Deployment
        image: registry.example.com/api:1.0.0
        labels:
          tier: api
        env:
          - { name: LOG_LEVEL, value: info }
"#;

const VALUES: &str = "        replicaCount: 1";
const CONFIG: &str = "          LOG_LEVEL: info";
const TEMPLATE: &str = "          user: \"{{ .user }}\"";
const ANNOTATIONS: &str = "          team: web";
const LABELS: &str = "          tier: api";
const ENV: &str = "          - { name: LOG_LEVEL, value: info }";
const VAULT: &str = "      server: \"https://vault.example.com:8200\"";
const HELM_REPO: &str = "    - { name: podinfo, url: \"https://stefanprodan.github.io/podinfo\" }";

/// Every attempt: the line of [`BASE`] it replaces and what it puts there.
const ATTEMPTS: &[(&str, &str)] = &[
    // Scalar types other than strings.
    (VALUES, "        password: 12345678"),
    (VALUES, "        password: -1"),
    (VALUES, "        password: 0"),
    (VALUES, "        db: { adminPassword: 3.14 }"),
    (VALUES, "        smtp: { password: true }"),
    // Interpolation around a reference or a template.
    (VALUES, "        password: \"((name))hunter2\""),
    (VALUES, "        password: \"hunter2((name))\""),
    (VALUES, "        password: \"{{ .Values.x }}hunter2\""),
    // Key spellings.
    (VALUES, "        SECRET_KEY: abc"),
    (VALUES, "        apiToken: t0k3n"),
    (VALUES, "        client_secret: s3cr3t"),
    (VALUES, "        client-secret: s3cr3t"),
    (VALUES, "        passwd: pw"),
    (VALUES, "        pwd: pw"),
    (VALUES, "        privateKey: \"-----BEGIN PRIVATE KEY-----\""),
    (VALUES, "        private_key: abc"),
    (VALUES, "        DB_PASSWORD: x"),
    (VALUES, "        db-password: x"),
    (VALUES, "        PASSWORD: x"),
    (VALUES, "        Password: x"),
    (VALUES, "        jwtSecret: x"),
    (VALUES, "        accessKey: AKIAEXAMPLE"),
    (VALUES, "        secretAccessKey: x"),
    (VALUES, "        api_key: abc"),
    (VALUES, "        apikey: abc"),
    (VALUES, "        credentials: x"),
    (VALUES, "        credential: x"),
    (VALUES, "        connectionString: \"Server=db;Password=x\""),
    (VALUES, "        passphrase: x"),
    (VALUES, "        bearerToken: x"),
    (VALUES, "        githubToken: 1234"),
    (VALUES, "        encryptionKey: 0123456789abcdef"),
    (VALUES, "        \"cookie.secret\": abc"),
    (VALUES, "        sentryDsn: \"https://abc@sentry.io/1\""),
    (VALUES, "        DSN: \"user:pw@tcp(db)/x\""),
    // Deep, in lists, and env-style pairs inside chart values.
    (
        VALUES,
        "        nested: { deeper: { deepest: { clientSecret: x } } }",
    ),
    (VALUES, "        list: [{ token: abc }]"),
    (
        VALUES,
        "        extraEnv: [{ name: DB_PASSWORD, value: hunter2 }]",
    ),
    // URLs with a password, under any key.
    (
        VALUES,
        "        databaseUrl: \"postgres://app:hunter2@db:5432/app\"",
    ),
    (VALUES, "        redis: { url: \"redis://:pw@redis:6379\" }"),
    (VALUES, "        mongo: \"mongodb://root:example@mongo:27017\""),
    (VALUES, "        hosts: [\"amqp://guest:guest@rabbit\"]"),
    (
        VALUES,
        "        note: \"connect with mysql://root:toor@db/x please\"",
    ),
    // Workload env.
    (ENV, "          - { name: DB_PASSWORD, value: hunter2 }"),
    (ENV, "          - { name: API_TOKEN, value: \"123\" }"),
    (ENV, "          - { name: SECRET_KEY, value: \"((name))x\" }"),
    (
        ENV,
        "          - { name: DATABASE_URL, value: \"postgres://u:p@db/x\" }",
    ),
    // ConfigMap data.
    (CONFIG, "          DB_PASSWORD: hunter2"),
    (CONFIG, "          app.token: abc"),
    (CONFIG, "          url: \"https://u:p@example.com\""),
    // ESO templates.
    (TEMPLATE, "          password: hunter2"),
    (TEMPLATE, "          password: \"{{ .user }}hunter2\""),
    (TEMPLATE, "          url: \"postgres://app:hunter2@db/app\""),
    // Annotations and labels.
    (ANNOTATIONS, "          vault.hashicorp.com/token: s.abc"),
    (ANNOTATIONS, "          token: abc"),
    (LABELS, "          password: hunter2"),
    // Store and repository URLs.
    (
        VAULT,
        "      server: \"https://root:hunter2@vault.example.com:8200\"",
    ),
    (
        HELM_REPO,
        "    - { name: podinfo, url: \"https://user:pw@stefanprodan.github.io/podinfo\" }",
    ),
    (
        HELM_REPO,
        "    - { name: podinfo, url: \"oci://user:pw@ghcr.io/charts\" }",
    ),
];

/// `BASE` with `old` (a whole line) replaced by `new`, and the 1-based number of that line.
fn with_line(old: &str, new: &str) -> (String, usize) {
    let line = BASE
        .lines()
        .position(|l| l == old)
        .unwrap_or_else(|| panic!("no line {old:?}"))
        + 1;
    let text: Vec<&str> = BASE.lines().map(|l| if l == old { new } else { l }).collect();
    (text.join("\n") + "\n", line)
}

fn validate(dir: &Path, name: &str, text: &str) -> common::Run {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    gitopsc(&["validate", s(&path)])
}

#[test]
fn the_base_spec_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    validate(dir.path(), "cluster.yaml", BASE).expect(0);
}

#[test]
fn every_attempt_to_hold_a_secret_is_refused_at_its_line() {
    assert!(ATTEMPTS.len() >= 50);
    let dir = tempfile::tempdir().unwrap();
    let mut leaked = Vec::new();
    for (i, (old, new)) in ATTEMPTS.iter().enumerate() {
        let (text, line) = with_line(old, new);
        let run = validate(dir.path(), &format!("attempt{i}.yaml"), &text);
        let at_line = format!("attempt{i}.yaml:{line}:");
        let refused = run.code == 2
            && run
                .stderr
                .split("\n\n")
                .any(|block| block.starts_with("error[GSC0508]: ") && block.contains(&at_line));
        if !refused {
            leaked.push(format!("{new}\n  exit {}: {}", run.code, run.stderr));
        }
    }
    assert!(
        leaked.is_empty(),
        "{} of {} leaked:\n{}",
        leaked.len(),
        ATTEMPTS.len(),
        leaked.join("\n")
    );
}

#[test]
fn values_that_only_look_like_secrets_pass() {
    let dir = tempfile::tempdir().unwrap();
    for (old, new) in [
        (VALUES, "        existingSecret: web-secret"),
        (
            VALUES,
            "        auth: { existingSecret: web-secret, existingSecretPasswordKey: password }",
        ),
        (VALUES, "        secretName: web-secret"),
        (VALUES, "        passwordKey: password"),
        (VALUES, "        existingSecretKey: token"),
        (
            VALUES,
            "        env: [{ name: X, valueFrom: { secretKeyRef: { name: s, key: k } } }]",
        ),
        (VALUES, "        tokenTTL: 1h"),
        (VALUES, "        password: \"\""),
        (VALUES, "        password: null"),
        (VALUES, "        password: \"((name))\""),
        (VALUES, "        password: \"{{ .Values.global.password }}\""),
        (VALUES, "        automountServiceAccountToken: false"),
        (VALUES, "        git: \"ssh://git@github.com/org/repo\""),
        (VALUES, "        url: \"https://user@example.com/x\""),
        (VALUES, "        url: \"redis://:((name))@redis:6379\""),
        (TEMPLATE, "          password: \"{{ .user }}\""),
        (
            TEMPLATE,
            "          url: \"postgres://app:{{ .password }}@db/app\"",
        ),
        (
            ENV,
            "          - { name: DB_PASSWORD, secret: { name: web-secret, key: user } }",
        ),
        (ENV, "          - { name: TOKEN_TTL, value: 1h }"),
    ] {
        let (text, _) = with_line(old, new);
        let run = validate(dir.path(), "cluster.yaml", &text);
        assert_eq!(run.code, 0, "{new} was refused:\n{}", run.stderr);
    }
}

#[test]
fn every_example_and_fixture_still_validates() {
    for spec in specs() {
        gitopsc(&["validate", &spec]).expect(0);
    }
}

#[test]
fn allow_plaintext_lets_a_named_value_through_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = with_line(VALUES, "        session: { token: 30m }");
    // Without the entry the value is refused.
    validate(dir.path(), "cluster.yaml", &text).expect(2);
    let allowed = text.replace(
        "    configMaps:\n",
        "    allowPlaintext:\n      - { path: /helm/values/session/token, reason: \"a lifetime, not a token\" }\n    configMaps:\n",
    );
    validate(dir.path(), "cluster.yaml", &allowed).expect(0);
    // An entry must give a reason and name a refused value.
    let stale = allowed.replace(
        "/helm/values/session/token, reason: \"a lifetime, not a token\"",
        "/helm/values/session/ttl, reason: \" \"",
    );
    let run = validate(dir.path(), "cluster.yaml", &stale).expect(2);
    // Two entries refused (no reason; nothing to allow), and the value they no longer allow.
    assert_eq!(
        run.stderr.matches("error[GSC0509]: ").count(),
        2,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error[GSC0508]: `token` holds a secret in plain text"),
        "{}",
        run.stderr
    );
    // A URL's password is never allowed.
    let (text, _) = with_line(VALUES, "        url: \"https://u:p@example.com\"");
    let url = text.replace(
        "    configMaps:\n",
        "    allowPlaintext:\n      - { path: /helm/values/url, reason: \"a test password\" }\n    configMaps:\n",
    );
    let run = validate(dir.path(), "cluster.yaml", &url).expect(2);
    assert!(
        run.stderr.contains("error[GSC0508]: this URL carries a password"),
        "{}",
        run.stderr
    );
}

/// The `vault kv put` lines of a runbook's shell blocks.
fn vault_lines(runbook: &str) -> Vec<String> {
    runbook
        .lines()
        .filter(|l| l.starts_with("vault kv put "))
        .map(String::from)
        .collect()
}

#[test]
fn hostile_remote_keys_properties_and_paths_stay_literal_in_the_runbook() {
    let mount = "secret$(touch pwned-mount)";
    let key = "web/db; touch pwned-key `touch pwned-tick` $HOME";
    let property = "pass' ; touch pwned-prop ; echo '";
    let text = BASE
        .replace(
            "      server: \"https://vault.example.com:8200\"\n",
            &format!(
                "      server: \"https://vault.example.com:8200\"\n      path: '{}'\n",
                mount
            ),
        )
        .replace(
            "          - { key: user, remoteKey: web/db, property: user }",
            &format!("          - {{ key: user, remoteKey: '{key}', property: \"{property}\" }}"),
        );
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(&spec, &text).unwrap();
    let out = dir.path().join("out");
    gitopsc(&["build", s(&spec), "--out", s(&out)]).expect(0);
    let runbook = std::fs::read_to_string(out.join("workloads/web/README.md")).unwrap();
    let lines = vault_lines(&runbook);
    assert_eq!(lines.len(), 1, "{runbook}");
    // Every command line of the runbook parses as shell, and `vault` receives each value as one
    // word, unchanged; nothing it holds runs.
    let work = tempfile::tempdir().unwrap();
    for line in runbook
        .lines()
        .filter(|l| l.starts_with("vault ") || l.starts_with("kubectl ") || l.starts_with("flux "))
    {
        let check = std::process::Command::new("bash")
            .args(["-n", "-c", line])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "`bash -n` refuses {line:?}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let script = format!("vault() {{ printf '%s\\n' \"$@\"; }}\n{}\n", lines[0]);
    let run = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let words: Vec<String> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        words,
        [
            "kv".to_string(),
            "put".into(),
            format!("-mount={mount}"),
            key.into(),
            format!("{property}=<{property}>")
        ],
        "{}",
        lines[0]
    );
    let made: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    assert!(made.is_empty(), "a command ran: {made:?}");
}

#[test]
fn control_characters_in_secret_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (old, new) in [
        (
            "          - { key: user, remoteKey: web/db, property: user }",
            "          - { key: user, remoteKey: \"web/db\\n```\\nrm -rf /\", property: user }",
        ),
        (
            "          - { key: user, remoteKey: web/db, property: user }",
            "          - { key: user, remoteKey: web/db, property: \"us\\ter\" }",
        ),
        (
            VAULT,
            "      server: \"https://vault.example.com:8200\"\n      path: \"secret\\r\"",
        ),
    ] {
        let (text, line) = with_line(old, new);
        let run = validate(dir.path(), "cluster.yaml", &text).expect(2);
        assert!(run.stderr.contains("error[GSC0510]: "), "{new}:\n{}", run.stderr);
        let at = if old == VAULT { line + 1 } else { line };
        assert!(
            run.stderr.contains(&format!("cluster.yaml:{at}:")),
            "{new}:\n{}",
            run.stderr
        );
    }
}
