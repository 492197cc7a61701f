//! The plaintext-secret check: a spec never holds a secret value, because everything it holds
//! is written into the Git tree in the clear. Every user value that reaches the output is
//! looked at — chart values, workload `env`, ConfigMap data, labels, annotations, ESO
//! templates, source and store URLs — and two things are refused:
//!
//! - a non-empty scalar (string, number or bool) under a key the user chose that names a
//!   secret ([`is_secret_key`]) — a key of a free-form map ([`FREE_FORM_FIELDS`]) or the
//!   `name` of a `{name, value}` pair — unless it is made only of references
//!   (`((postgres.secret))`, an ESO or Helm `{{ … }}` template) or the app's `allowPlaintext`
//!   names it with a reason. The spec's own fields are not looked at by key: none holds a
//!   secret value (the schema refuses `password:` and the like), and those named like one
//!   (`passwordSecret`, `ownerSecret`, `credentials`) hold the name of a Secret;
//! - a URL that carries a password (`scheme://user:password@host`), anywhere.
//!
//! `docs/secrets.md` is the user's copy of these rules; keep the two in step.

use super::load::escape_pointer;
use super::path::SpecPath;
use super::places::Places;
use super::{AllowPlaintext, AppSpec, ClusterSpec};
use crate::diagnostic::{Code, Diagnostic};
use serde_json::Value;

/// Normalised endings (lowercase, without `_`, `-`, `.` and spaces) of keys whose value is a
/// secret. A key matches when its normalised form ends with one of them: `DB_PASSWORD`,
/// `adminPassword`, `client-secret`, `SECRET_KEY`, `apiToken`.
pub const SECRET_KEY_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "credential",
    "credentials",
    "encryptionkey",
    "signingkey",
    "masterkey",
    "dsn",
    "connectionstring",
    "connstring",
];

/// Normalised beginnings of keys that name a Secret or switch a feature rather than hold a
/// value: `existingSecret`, `existingSecretKey`, `useExistingSecret`, `createSecret`,
/// `automountServiceAccountToken`.
pub const REFERENCE_KEY_BEGINNINGS: &[&str] = &[
    "existing",
    "useexisting",
    "create",
    "enable",
    "use",
    "automount",
    "mount",
    "generate",
    "require",
];

/// Fields of the spec whose keys the user chooses: everything below them is user text that
/// reaches the output as it is (chart values, labels, annotations, ConfigMap data, ESO
/// templates, PostgreSQL parameters, selectors, resources).
pub const FREE_FORM_FIELDS: &[&str] = &[
    "values",
    "labels",
    "annotations",
    "data",
    "template",
    "parameters",
    "selector",
    "nodeSelector",
    "pods",
    "dnsPods",
    "resources",
];

/// True for a key whose value would be a secret (see [`SECRET_KEY_ENDINGS`]). Keys that end
/// otherwise name a secret rather than hold one (`secretName`, `secretKeyRef`,
/// `passwordKey`, `tokenTTL`) and do not match.
pub fn is_secret_key(key: &str) -> bool {
    // The last segment of an annotation or label key (`vault.hashicorp.com/token`) counts:
    // lower-cased, without separators. A short ASCII key is normalised on the stack.
    let last = key.rsplit('/').next().unwrap_or(key);
    let kept = |c: &char| !matches!(c, '_' | '-' | '.' | ' ');
    let matches = |norm: &str| {
        SECRET_KEY_ENDINGS.iter().any(|e| norm.ends_with(e))
            && !REFERENCE_KEY_BEGINNINGS.iter().any(|b| norm.starts_with(b))
    };
    let mut buffer = [0u8; 64];
    if last.is_ascii() && last.len() <= buffer.len() {
        let mut len = 0;
        for c in last.chars().filter(kept) {
            buffer[len] = c.to_ascii_lowercase() as u8;
            len += 1;
        }
        return std::str::from_utf8(&buffer[..len]).is_ok_and(matches);
    }
    let norm: String = last.chars().filter(kept).flat_map(char::to_lowercase).collect();
    matches(&norm)
}

/// True when `s` is made only of references and blanks: `((name))` references gitopsc
/// resolves to names it generates, and `{{ … }}` templates ESO or Helm fill in the cluster.
fn only_references(s: &str) -> bool {
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return true;
        }
        let close = if rest.starts_with("((") {
            "))"
        } else if rest.starts_with("{{") {
            "}}"
        } else {
            return false;
        };
        match rest[2..].find(close) {
            Some(end) => rest = &rest[2 + end + 2..],
            None => return false,
        }
    }
}

/// The password of the first URL in `s` that carries one (`scheme://user:password@host`);
/// a user alone (`ssh://git@host`) or a password made only of references is fine.
pub fn url_password(s: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(at) = s[from..].find("://") {
        let start = from + at + 3;
        let authority_len = s[start..]
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace())
            .unwrap_or(s.len() - start);
        let authority = &s[start..start + authority_len];
        if let Some((userinfo, _host)) = authority.rsplit_once('@')
            && let Some((_user, password)) = userinfo.split_once(':')
            && !password.is_empty()
            && !only_references(password)
        {
            return Some(password);
        }
        from = start;
    }
    None
}

/// The text of a scalar as it reaches the output; `None` for collections.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// A value refused, by its pointer below the walked root.
struct Finding {
    /// JSON pointer below the walked root, found by walking its data.
    pointer: String,
    /// The key that names a secret, or `None` for a URL with a password.
    key: Option<String>,
}

/// Walks `value` (at `pointer`) and collects every refused value; `free` when `value` is
/// below a free-form field, where every key is the user's.
fn walk(value: &Value, free: bool, pointer: &mut String, found: &mut Vec<Finding>) {
    match value {
        Value::Object(map) => {
            // `{name: DB_PASSWORD, value: …}` (a container's `env`, a chart's `extraEnv`):
            // the name is the key.
            if let (Some(Value::String(name)), Some(v)) = (map.get("name"), map.get("value"))
                && is_secret_value(name, v)
            {
                found.push(Finding {
                    // The `value` beside the `name`, found in the walked data: not a spec path.
                    pointer: format!("{pointer}/value"),
                    key: Some(name.clone()),
                });
            }
            // An ESO data entry (`{secretKey, remoteRef}` of an ExternalSecret or PushSecret):
            // `secretKey` names a key of the Secret, it holds no value.
            let eso_entry = map.contains_key("remoteRef");
            for (k, v) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(k));
                if free && is_secret_value(k, v) && !(eso_entry && k == "secretKey") {
                    found.push(Finding {
                        pointer: pointer.clone(),
                        key: Some(k.clone()),
                    });
                } else {
                    walk(v, free || FREE_FORM_FIELDS.contains(&k.as_str()), pointer, found);
                }
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                walk(item, free, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::String(s) => {
            if url_password(s).is_some() {
                found.push(Finding {
                    pointer: pointer.clone(),
                    key: None,
                });
            }
        }
        Value::Number(_) | Value::Bool(_) | Value::Null => {}
    }
}

/// The JSON pointers (below the app) and keys of the values the check refuses in `app` (an
/// app of a spec as JSON; its `allowPlaintext` aside), URLs with a password left out: what
/// `import` copies from a tree and must list in `allowPlaintext`.
pub fn refused_keys(app: &Value) -> Vec<(String, String)> {
    let mut value = app.clone();
    if let Value::Object(map) = &mut value {
        map.remove("allowPlaintext");
    }
    let mut found = Vec::new();
    walk(&value, false, &mut String::new(), &mut found);
    found
        .into_iter()
        .filter_map(|f| Some((f.pointer, f.key?)))
        .collect()
}

/// True for a scalar under a secret-like key that is not empty and not only references.
fn is_secret_value(key: &str, value: &Value) -> bool {
    is_secret_key(key) && scalar_text(value).is_some_and(|t| !t.trim().is_empty() && !only_references(&t))
}

/// Refuses every plaintext secret in the spec, and every `allowPlaintext` entry that is
/// malformed or allows nothing.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    use rayon::prelude::*;
    let mut diags: Vec<Diagnostic> = spec
        .apps
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, app)| check_app(app, &SpecPath::app(i), spans))
        .collect();
    // Outside the apps only URLs and keys of the cluster's own settings are user text.
    let parts = [
        (ClusterSpec::SOURCES, serde_json::to_value(&spec.sources)),
        (
            ClusterSpec::SECRET_STORES,
            serde_json::to_value(&spec.secret_stores),
        ),
        (ClusterSpec::DEFAULTS, serde_json::to_value(&spec.defaults)),
        (ClusterSpec::OPERATORS, serde_json::to_value(&spec.operators)),
        (ClusterSpec::FLUX, serde_json::to_value(&spec.flux)),
    ];
    for (field, value) in parts {
        // Spec types always serialize.
        let Ok(value) = value else { continue };
        let mut found = Vec::new();
        walk(&value, false, &mut String::new(), &mut found);
        let base = SpecPath::root().field(field);
        diags.extend(found.iter().map(|f| refuse(f, &base, spans)));
    }
    diags
}

/// The findings of one app, less those its `allowPlaintext` names; and the entries that are
/// malformed or name nothing refused.
fn check_app(app: &AppSpec, base: &SpecPath, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // Spec types always serialize.
    let Ok(mut value) = serde_json::to_value(app) else {
        return diags;
    };
    if let Value::Object(map) = &mut value {
        map.remove("allowPlaintext");
    }
    let mut found = Vec::new();
    walk(&value, false, &mut String::new(), &mut found);
    let mut used = vec![false; app.allow_plaintext.len()];
    for f in &found {
        let allowed = f.key.is_some()
            && app
                .allow_plaintext
                .iter()
                .position(|a| a.path == f.pointer)
                .map(|i| used[i] = true)
                .is_some();
        if !allowed {
            diags.push(refuse(f, base, spans));
        }
    }
    for (i, entry) in app.allow_plaintext.iter().enumerate() {
        let at = base.field(AppSpec::ALLOW_PLAINTEXT).index(i);
        if entry.reason.trim().is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::AllowPlaintextEntry,
                    "an `allowPlaintext` entry needs a reason",
                )
                .at(spans.key(&at.field(AllowPlaintext::REASON)), "no reason given")
                .help("say why the value is not a secret, e.g. `reason: a duration, not a token`"),
            );
        }
        if !used[i] {
            diags.push(
                Diagnostic::error(Code::AllowPlaintextEntry, format!("`allowPlaintext` names `{}`, which holds no value the secret check refuses", entry.path))
                    .at(spans.value(&at.field(AllowPlaintext::PATH)), "allows nothing")
                    .help("give the JSON pointer of the refused value below the app, as the error about it shows (e.g. `/helm/values/auth/tokenTTL`), or drop the entry"),
            );
        }
    }
    diags
}

/// The error for one finding; `base` is the pointer of the walked root in the spec.
fn refuse(f: &Finding, base: &SpecPath, spans: &Places) -> Diagnostic {
    let at = spans.value(&base.below(&f.pointer));
    match &f.key {
        Some(key) => Diagnostic::error(Code::PlaintextSecret, format!("`{key}` holds a secret in plain text"))
        .at(at, "plaintext secret")
        .help(format!(
            "the value would be written into the Git tree, where anyone who can read the repository reads it: put it in the secret store, add the app a `secrets:` entry and pass the Secret by name (a chart's `existingSecret`, `helm.valuesFrom`, `env[].secretKeyRef`); if it is not a secret, add `allowPlaintext: [{{path: \"{}\", reason: ...}}]` to the app",
            f.pointer
        )),
        None => Diagnostic::error(Code::PlaintextSecret, "this URL carries a password in plain text")
        .at(at, "password in a URL")
        .help("the password would be written into the Git tree, where anyone who can read the repository reads it: drop it from the URL (`scheme://user@host`) and give it through a Secret (a `secrets:` entry, or the source's `secretRef`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_normalised_the_same_on_the_stack_and_in_a_string() {
        // Lower-cased whole, separators dropped, then its last segment: the plain way.
        let plain = |key: &str| {
            let norm: String = key
                .chars()
                .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
                .flat_map(char::to_lowercase)
                .collect();
            let last = norm.rsplit('/').next().unwrap_or(&norm);
            SECRET_KEY_ENDINGS.iter().any(|e| last.ends_with(e))
                && !REFERENCE_KEY_BEGINNINGS.iter().any(|b| last.starts_with(b))
        };
        let long = format!("{}_PASSWORD", "x".repeat(70));
        let keys = [
            "password",
            "DB_PASSWORD",
            "db-password",
            "vault.hashicorp.com/token",
            "token/",
            "/",
            "",
            "secretName",
            "passwordKey",
            "ADMIN.PASS WORD",
            "Ünïcode_Token",
            "tökenPassword",
            "İ_SECRET",
            "a/b/api_key",
            "apiKey",
            "x/secretKeyRef",
            long.as_str(),
        ];
        for key in keys {
            assert_eq!(is_secret_key(key), plain(key), "{key}");
        }
    }

    #[test]
    fn secret_keys_match_in_any_case_and_spelling() {
        for key in [
            "password",
            "adminPassword",
            "DB_PASSWORD",
            "TOKEN",
            "clientSecret",
            "client_secret",
            "client-secret",
            "SECRET_KEY",
            "apiToken",
            "passwd",
            "privateKey",
            "sentryDsn",
            "éPassword",
            "vault.hashicorp.com/token",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "existingSecret",
            "existingSecretKey",
            "existingSecretPasswordKey",
            "secretName",
            "secretKeyRef",
            "passwordSecretRef",
            "passwordKey",
            "tokenTTL",
            "automountServiceAccountToken",
            "createSecret",
            "é",
            "",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn references_and_templates_are_not_secrets() {
        assert!(only_references("((postgres.secret))"));
        assert!(only_references(" {{ .password }} ((a))"));
        assert!(!only_references("((name))hunter2"));
        assert!(!only_references("{{ .password"));
        assert!(!only_references("hunter2"));
    }

    #[test]
    fn urls_with_a_password_are_found() {
        assert_eq!(
            url_password("postgres://app:hunter2@db:5432/app"),
            Some("hunter2")
        );
        assert_eq!(url_password("see https://a@b then redis://:pw@r"), Some("pw"));
        assert_eq!(url_password("ssh://git@github.com/x"), None);
        assert_eq!(url_password("redis://:((redis.secret))@r"), None);
        assert_eq!(url_password("https://example.com/a:b@c"), None);
        assert_eq!(url_password("no url"), None);
    }
}
