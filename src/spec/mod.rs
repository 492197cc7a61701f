//! Stage 0: the cluster spec as the user writes it.
//!
//! These types are the single source of the spec's JSON Schema (`gitopsc schema`,
//! `schemas/cluster.schema.json`); their doc comments become the schema's descriptions.
//! Loading with source positions lives in [`load`], schema validation in [`schema`].

mod chart_keys;
pub mod chart_policy;
pub mod chart_values;
pub mod data;
pub mod data_checks;
pub mod decryption;
mod dragonfly_checks;
pub mod image_markers;
pub mod images;
pub mod load;
pub mod manifests;
mod monitoring_checks;
mod names;
pub mod network;
mod node_json;
mod node_value;
pub mod patches;
pub mod path;
pub mod places;
mod plain;
pub mod plaintext;
pub mod pod_security;
mod pooler_checks;
mod postgres_checks;
pub mod reference;
pub mod release;
mod restore_checks;
pub mod routes;
pub mod schema;
pub mod secrets;
pub mod semantic;
mod service_checks;
pub mod stores;
mod timeout_checks;
mod types;
pub mod typing;
mod values_text;
mod volsync_checks;
pub mod workload;
mod workload_checks;

pub use types::*;
pub use values_text::ValuesText;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The sha256 of an app's compact JSON, serialized into `buffer` (reused from app to app).
pub fn app_hash(app: &impl Serialize, buffer: &mut Vec<u8>) -> [u8; 32] {
    use sha2::Digest;
    buffer.clear();
    serde_json::to_writer(&mut *buffer, app).expect("spec data always serializes");
    sha2::Sha256::digest(buffer.as_slice()).into()
}

/// The hash of the spec's data (`sha256:<hex>`, as the lock file records it) whose apps'
/// hashes are `hashes` (of the apps its `apps` holds, or of those of the whole spec when it
/// holds some of them): its JSON, with each app's [`app_hash`] in the app's place.
pub fn data_hash_from(root: &load::SpanNode, hashes: &[[u8; 32]]) -> String {
    use sha2::Digest;
    let json = |v: &load::SpanNode| serde_json::to_vec(v).expect("spec data always serializes");
    let mut hash = sha2::Sha256::new();
    if root.is_map() {
        hash.update(b"{");
        for (i, (key, v)) in root.entries().enumerate() {
            if i > 0 {
                hash.update(b",");
            }
            hash.update(serde_json::to_vec(key).expect("a string always serializes"));
            hash.update(b":");
            match v.as_seq() {
                Some(_) if key == "apps" => hash_items(&mut hash, hashes.iter()),
                _ => hash.update(json(v)),
            }
        }
        hash.update(b"}");
    } else {
        hash.update(json(root));
    }
    format!("sha256:{}", crate::digest::hex(&hash.finalize()))
}

/// Hashes the JSON array of the hex strings of `hashes`.
fn hash_items<'h>(hash: &mut sha2::Sha256, hashes: impl Iterator<Item = &'h [u8; 32]>) {
    use sha2::Digest;
    hash.update(b"[");
    for (j, item) in hashes.enumerate() {
        if j > 0 {
            hash.update(b",");
        }
        hash.update(b"\"");
        hash.update(crate::digest::hex(item));
        hash.update(b"\"");
    }
    hash.update(b"]");
}

/// One app of the loaded spec, typed from its tree.
fn typed_app_of(app: &load::SpanNode) -> Option<AppSpec> {
    let mut typed = AppSpec::deserialize(app).ok()?;
    let values = app.get("helm").and_then(|helm| helm.get("values"));
    match (values, &mut typed.helm) {
        (None, _) => {}
        (Some(values), Some(helm)) if values.is_map() => helm.values = ValuesText::of(values),
        _ => return None,
    }
    Some(typed)
}

/// One app of the spec's JSON, typed.
fn typed_app(mut app: serde_json::Value) -> Option<AppSpec> {
    let values = app
        .get_mut("helm")
        .and_then(|helm| helm.get_mut("values"))
        .map(serde_json::Value::take);
    let mut typed = AppSpec::deserialize(app).ok()?;
    match (values, &mut typed.helm) {
        (None, _) => {}
        (Some(serde_json::Value::Object(map)), Some(helm)) => helm.values = ValuesText::of(&map),
        _ => return None,
    }
    Some(typed)
}

/// Deserializes nothing for a field that typing fills (chart values, made apart).
fn moved_in_later<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<ValuesText, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer)?;
    Ok(ValuesText::default())
}

/// Pattern of a DNS-1123 label, the form of Kubernetes object and namespace names.
pub const NAME_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Pattern of a Go duration as Flux reads it (`30s`, `5m`, `1h30m`).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
/// Pattern of a folder path made of DNS-1123 labels (`platform/registry`).
pub const GROUP_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// Pattern of a Flux minor version (`2.9`).
pub const FLUX_VERSION_PATTERN: &str = r"^2\.[0-9]+$";
/// Pattern of a chart name.
pub const CHART_NAME_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]*$";
/// Pattern of a chart version (not empty, no whitespace at the ends).
pub const CHART_VERSION_PATTERN: &str = r"^\S(.*\S)?$";
/// Pattern of a Helm repository URL.
pub const HELM_URL_PATTERN: &str = r"^(https?|oci)://[^\s/]+(/\S*)?$";

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The string itself.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

string_newtype!(
    /// A DNS-1123 label: lowercase letters, digits and `-`, at most 63 characters.
    Name,
    json_schema!({
        "type": "string",
        "description": "A DNS-1123 label: lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters.",
        "pattern": NAME_PATTERN,
        "maxLength": 63
    })
);

string_newtype!(
    /// A Go duration as Flux reads it: `30s`, `5m`, `1h30m`.
    Duration,
    json_schema!({
        "type": "string",
        "description": "A duration such as `30s`, `5m` or `1h30m` (units ms, s, m, h).",
        "pattern": DURATION_PATTERN
    })
);

/// Seconds in a Go duration (`1h30m`, `90s`, `1.5h`, `500ms`).
pub fn duration_secs(text: &str) -> u64 {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().unwrap_or(0.0);
        number.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => 0.0,
        };
        total += value * unit;
    }
    total.ceil() as u64
}

string_newtype!(
    /// A folder path of DNS-1123 labels under `workloads/`, such as `platform/registry`.
    Group,
    json_schema!({
        "type": "string",
        "description": "A folder under `workloads/`: DNS-1123 labels separated by `/`, such as `platform/registry`.",
        "pattern": GROUP_PATTERN
    })
);

#[cfg(test)]
mod tests {
    use super::duration_secs;

    #[test]
    fn go_durations_in_seconds() {
        assert_eq!(duration_secs("5m"), 300);
        assert_eq!(duration_secs("1h30m"), 5400);
        assert_eq!(duration_secs("1.5h"), 5400);
        assert_eq!(duration_secs("90s"), 90);
        assert_eq!(duration_secs("500ms"), 1);
    }
}
