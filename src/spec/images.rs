//! Flux image automation (`imageAutomation`): ImageRepositories and ImagePolicies for the
//! images the team wants updated, and one ImageUpdateAutomation that commits new tags to the
//! **spec** — the lines marked `# {"$imagepolicy": "<flux-namespace>:<name>"}` — never to the
//! generated tree, which `gitopsc check` would then refuse. A CI job runs `gitopsc build` on
//! the automation's commits (docs/image-automation.md). And the checks of those settings.

use super::path::{Field, SpecPath};
use super::places::Places;
use super::{ClusterSpec, Duration, Name, SourceKind};
use crate::diagnostic::{Code, Diagnostic};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Image automation of the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageAutomation {
    /// The folder of this spec in the Git repository (e.g. `specs/registry`): the automation
    /// rewrites the marked lines of the files below it, and only those.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"))]
    pub spec_path: String,
    /// The branch checked out and pushed to.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// Push to this branch instead (for a pull request), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_branch: Option<String>,
    /// How often the automation runs.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// The commits' author.
    #[serde(default)]
    pub author: Author,
    /// The images to follow.
    #[schemars(length(min = 1))]
    pub images: Vec<ImageSpec>,
}

/// A commit author.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Author {
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

impl Default for Author {
    fn default() -> Self {
        Author {
            name: "fluxcdbot".into(),
            email: "fluxcdbot@users.noreply.github.com".into(),
        }
    }
}

/// An image whose tags Flux follows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageSpec {
    /// The ImageRepository's and ImagePolicy's name: the marker in the spec reads
    /// `# {"$imagepolicy": "<flux-namespace>:<name>"}`.
    pub name: Name,
    /// The image without tag, e.g. `ghcr.io/example/event-gateway`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9]$"))]
    pub image: String,
    /// How often the registry is scanned.
    #[serde(default = "default_scan_interval")]
    pub interval: Duration,
    /// A docker-registry Secret in the Flux namespace, for a private registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Name>,
    /// Which tag is the latest.
    pub policy: TagPolicy,
    /// Only tags matching this regular expression, e.g. `^main-[a-f0-9]+-(?P<ts>[0-9]+)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_pattern: Option<String>,
    /// What of a matching tag the policy orders, e.g. `$ts` (needs `tagPattern`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

/// How the latest tag is chosen.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub enum TagPolicy {
    /// The highest version in a semver range, e.g. `>=1.4.0 <2.0.0`.
    Semver(String),
    /// The last tag in alphabetical order (`asc`) or the first (`desc`).
    Alphabetical(Order),
    /// The highest number (`asc`) or the lowest (`desc`).
    Numerical(Order),
}

/// A sort order.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Ascending: the last is the latest.
    Asc,
    /// Descending: the first is the latest.
    Desc,
}

fn default_branch() -> String {
    "main".into()
}
fn default_interval() -> Duration {
    Duration("30m".into())
}
fn default_scan_interval() -> Duration {
    Duration("6h".into())
}

/// The first Flux minor that serves `image.toolkit.fluxcd.io/v1` (image-reflector and
/// image-automation controllers 1.0).
pub const IMAGE_V1_SINCE: u32 = 7;

/// The image automation's settings.
pub fn check(spec: &ClusterSpec, spans: &Places) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let Some(automation) = &spec.image_automation else {
        return diags;
    };
    if let Some(minor) = super::semantic::flux_minor(&spec.flux.version)
        && minor < IMAGE_V1_SINCE
    {
        diags.push(
            Diagnostic::error(Code::FluxTooOld, format!(
                "Flux 2.{minor} lacks the image automation API `image.toolkit.fluxcd.io/v1`: it needs Flux 2.7 or later"
            ))
            .at(spans.key(&SpecPath::root().field(ClusterSpec::IMAGE_AUTOMATION)), "needs Flux ≥ 2.7")
            .help("upgrade Flux and set `flux.version: \"2.7\"` or later, or drop `imageAutomation`"),
        );
    }
    if spec.flux.source_ref.kind != SourceKind::GitRepository {
        diags.push(
            Diagnostic::error(
                Code::ImageAutomation,
                "image automation commits to Git, but Flux applies this tree from no GitRepository",
            )
            .at(
                spans.key(&SpecPath::root().field(ClusterSpec::IMAGE_AUTOMATION)),
                "",
            )
            .help("set `flux.sourceRef.kind: GitRepository`, or drop `imageAutomation`"),
        );
    }
    let mut names = BTreeSet::new();
    for (i, image) in automation.images.iter().enumerate() {
        let at = |field: Field| {
            SpecPath::root()
                .field(ClusterSpec::IMAGE_AUTOMATION)
                .field(ImageAutomation::IMAGES)
                .index(i)
                .field(field)
        };
        if !names.insert(image.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    format!("image `{}` is declared twice", image.name),
                )
                .at(spans.value(&at(ImageSpec::NAME)), "second declaration")
                .help("give each image its own name"),
            );
        }
        if image.extract.is_some() && image.tag_pattern.is_none() {
            diags.push(
                Diagnostic::error(Code::ImageAutomation, "`extract` needs `tagPattern`")
                    .at(spans.key(&at(ImageSpec::EXTRACT)), "")
                    .help("set `tagPattern` to a regular expression with the named group `extract` uses"),
            );
        }
    }
    diags
}
