//! SOPS decryption for teams that keep encrypted Secrets in Git: the `decryption` of the Flux
//! Kustomizations that apply an app (`defaults.decryption` for every app, `apps[].decryption`
//! for one).

use super::Name;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How kustomize-controller decrypts SOPS-encrypted files of an app's folders (provider
/// `sops`, the only one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Decryption {
    /// Decrypt (`false` turns a default off for one app).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The Secret in the Flux namespace holding the private keys (`*.agekey`, `*.asc`) or
    /// cloud KMS credentials; none when kustomize-controller reaches the KMS with its own
    /// workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Name>,
}

fn yes() -> bool {
    true
}

/// The Secret an app's Flux Kustomizations decrypt with: `Some(None)` decrypts with the
/// controller's identity; `None` does not decrypt.
pub fn of<'s>(default: Option<&'s Decryption>, app: Option<&'s Decryption>) -> Option<Option<&'s str>> {
    let d = app.or(default)?;
    d.enabled.then(|| d.secret.as_ref().map(Name::as_str))
}
