//! The setter markers of image automation: the comments `# {"$imagepolicy": "<ns>:<name>"}`
//! that end the spec's lines Flux's ImageUpdateAutomation rewrites. Flux skips a marker it
//! cannot read or whose ImagePolicy does not exist, without a word, and rewrites whatever
//! value a marker ends: each marker is checked here against the ImagePolicies gitopsc writes
//! (named `<flux namespace>:<image name>`) and against the value it sits on.

use super::ClusterSpec;
use super::images::ImageSpec;
use super::path::SpecPath;
use super::places::{Places, ScalarAt};
use super::schema::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Span};
use std::collections::BTreeMap;

/// The key Flux's setters read from a marker.
const MARKER_KEY: &str = "$imagepolicy";

/// The suffixes a marker may end with, and the keys of the values each may sit on: none (a
/// whole image reference), `:tag` (a tag or a chart's version), `:name` (the image without
/// its tag).
const SUFFIXES: &[(Option<&str>, &[&str])] = &[
    (None, &["image"]),
    (Some("tag"), &["tag", "version"]),
    (Some("name"), &["image", "repository"]),
];

/// A comment of the spec: from its `#` to the end of its line's text, and the value whose
/// line it ends, if any.
struct Comment<'s> {
    span: Span,
    text: &'s str,
    after: Option<&'s ScalarAt>,
}

/// A marker's reference, read: the policy's namespace and name, and its suffix.
struct Reference<'m> {
    namespace: &'m str,
    name: &'m str,
    suffix: Option<&'m str>,
}

/// Every setter marker of the spec's text, checked. `whole_file`: the text is this spec's
/// alone (a cluster spec), so a marker on no value of it is reported too; a fleet's text holds
/// other clusters' lines, and only the markers on this cluster's values are its own. A fleet
/// writes no image automation (its markers name ImagePolicies made elsewhere): its markers'
/// form and fields are checked, not their policies.
pub fn check(spec: &ClusterSpec, source: &Source, spans: &Places, whole_file: bool) -> Vec<Diagnostic> {
    let text = source.text.as_str();
    if !text.to_ascii_lowercase().contains(MARKER_KEY) {
        return Vec::new();
    }
    let scalars = spans.scalars();
    let images: BTreeMap<String, &ImageSpec> = spec
        .image_automation
        .iter()
        .flat_map(|a| &a.images)
        .map(|i| (format!("{}:{}", spec.flux.namespace, i.name), i))
        .collect();
    comments(text, &scalars)
        .iter()
        .filter(|c| c.text.to_ascii_lowercase().contains(MARKER_KEY) && (whole_file || c.after.is_some()))
        .filter_map(|c| check_marker(spec, text, c, &images, whole_file))
        .collect()
}

/// The comments of the text: a `#` at the start of a line or after a space or tab, outside
/// every scalar, runs to the end of its line.
fn comments<'s>(text: &'s str, scalars: &'s [ScalarAt]) -> Vec<Comment<'s>> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let start = line_start;
        line_start += line.len();
        let Some(at) = line
            .match_indices('#')
            .map(|(i, _)| start + i)
            .find(|&at| (at == start || text[..at].ends_with([' ', '\t'])) && !inside(scalars, at))
        else {
            continue;
        };
        let end = start + line.trim_end().len();
        found.push(Comment {
            span: Span::new(at, end),
            text: &text[at..end],
            after: attached(text, at, scalars),
        });
    }
    found
}

/// True when the offset `at` is inside a scalar (`scalars` in the order of the text, none
/// overlapping another).
fn inside(scalars: &[ScalarAt], at: usize) -> bool {
    let i = scalars.partition_point(|s| s.span.start <= at);
    i > 0 && scalars[i - 1].span.end > at
}

/// The value a comment at `at` follows on its line, with nothing but blanks between.
fn attached<'s>(text: &str, at: usize, scalars: &'s [ScalarAt]) -> Option<&'s ScalarAt> {
    let before = &scalars[..scalars.partition_point(|s| s.span.start < at)];
    let scalar = before.last()?;
    let gap = text.get(scalar.span.end..at)?;
    (!scalar.key && gap.chars().all(|c| c == ' ' || c == '\t')).then_some(scalar)
}

/// An error of the marker at `span`.
fn error(span: Span, message: impl Into<String>, label: &str, help: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::ImageMarker, message)
        .at(Some(span), label)
        .help(help)
}

/// The reference of a marker's text (`{"$imagepolicy": "ns:name"}` after its `#`), read as
/// Flux reads it: a JSON object of strings, the reference `<ns>:<name>[:tag|:name]`.
fn reference(body: &str) -> Result<String, (String, String)> {
    let map: BTreeMap<String, String> = serde_json::from_str(body.trim()).map_err(|e| {
        (
            format!("this image automation marker is not a JSON object of strings ({e}): Flux skips it"),
            format!("write it as `# {{\"{MARKER_KEY}\": \"<flux namespace>:<image name>\"}}`"),
        )
    })?;
    let Some((key, value)) = map.into_iter().find(|(k, _)| k.eq_ignore_ascii_case(MARKER_KEY)) else {
        return Err((
            format!("this image automation marker has no key `{MARKER_KEY}`: Flux skips it"),
            format!("write it as `# {{\"{MARKER_KEY}\": \"<flux namespace>:<image name>\"}}`"),
        ));
    };
    if key != MARKER_KEY {
        return Err((
            format!("Flux reads the marker key `{MARKER_KEY}`, not `{key}`: it skips this marker"),
            format!("write the key `{MARKER_KEY}`, all lowercase"),
        ));
    }
    Ok(value)
}

/// The parts of a reference, or what is wrong with them.
fn parts(value: &str) -> Result<Reference<'_>, (String, String)> {
    let fields: Vec<&str> = value.split(':').collect();
    let (namespace, name, suffix) = match fields[..] {
        [ns, name] => (ns, name, None),
        [ns, name, suffix] => (ns, name, Some(suffix)),
        _ => {
            return Err((
                format!(
                    "the marker's policy `{value}` is not `<namespace>:<name>` with an optional `:tag` or `:name`"
                ),
                "write `<flux namespace>:<image name>`, e.g. `flux-system:web`".into(),
            ));
        }
    };
    if let Some(suffix) = suffix
        && !SUFFIXES.iter().any(|(s, _)| *s == Some(suffix))
    {
        let help = if suffix == "digest" {
            "gitopsc's ImagePolicies reflect no digest (no `digestReflectionPolicy`), so Flux has none to write: mark the tag (`:tag`) or the whole image instead".to_string()
        } else {
            match did_you_mean(suffix, ["tag", "name"].into_iter()) {
                Some(s) => format!("did you mean `:{s}`?"),
                None => "end it with `:tag` (a tag field), `:name` (an image name field) or nothing (a whole image)".into(),
            }
        };
        return Err((format!("`:{suffix}` is not a suffix Flux's setters take"), help));
    }
    Ok(Reference {
        namespace,
        name,
        suffix,
    })
}

/// The diagnostic of one marker, if it has a fault.
fn check_marker(
    spec: &ClusterSpec,
    text: &str,
    comment: &Comment,
    images: &BTreeMap<String, &ImageSpec>,
    whole_file: bool,
) -> Option<Diagnostic> {
    let body = comment.text.trim_start_matches('#');
    let value = match reference(body) {
        Ok(found) => found,
        Err((message, help)) => return Some(error(comment.span, message, "marker", help)),
    };
    let parsed = match parts(&value) {
        Ok(parsed) => parsed,
        Err((message, help)) => return Some(error(comment.span, message, "marker", help)),
    };
    let policy = format!("{}:{}", parsed.namespace, parsed.name);
    let image = images.get(&policy);
    if image.is_none() && whole_file {
        return Some(unknown_policy(spec, comment.span, &policy, &parsed, images));
    }
    let Some(scalar) = comment.after else {
        return Some(error(
            comment.span,
            "this image automation marker ends no value's line: Flux rewrites only the value whose line a marker ends",
            "on no value",
            "put the marker at the end of the line it updates, e.g. `image: ghcr.io/example/web:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}`",
        ));
    };
    let keys = SUFFIXES
        .iter()
        .find(|(s, _)| *s == parsed.suffix)
        .map_or(&[][..], |(_, keys)| keys);
    let key = scalar.pointer.rsplit_once('/').map_or("", |(_, key)| key);
    let apps = SpecPath::root().field(ClusterSpec::APPS);
    let in_app = scalar
        .pointer
        .strip_prefix(apps.as_str())
        .is_some_and(|rest| rest.starts_with('/'));
    if !in_app || !keys.contains(&key) {
        return Some(error(
            comment.span,
            format!(
                "the marker `{value}` writes {} into `{}`, which is not an app's field for it",
                match parsed.suffix {
                    None => "a whole image reference",
                    Some("tag") => "a tag",
                    Some(_) => "an image name",
                },
                scalar.pointer
            ),
            "on the wrong field",
            "a marker `<ns>:<name>` goes on an app's whole image reference (`image:`), `:tag` on a `tag:` or `version:`, `:name` on an image without tag (`image:` or `repository:`): move the marker or change its suffix",
        ));
    }
    // A fleet writes no image automation: its markers name ImagePolicies made elsewhere.
    let image = image?;
    let written = text
        .get(scalar.span.start..scalar.span.end)?
        .trim_matches(['"', '\'']);
    let repository = repository(written);
    (parsed.suffix != Some("tag") && canonical(repository) != canonical(&image.image)).then(|| {
        error(
            comment.span,
            format!(
                "the marker `{value}` would replace the image `{repository}` by `{}`, the policy's image",
                image.image
            ),
            "policy of another image",
            format!("name the policy of `{repository}`, or correct the image"),
        )
    })
}

/// The error of a marker whose policy gitopsc does not write, with the nearest one.
fn unknown_policy(
    spec: &ClusterSpec,
    span: Span,
    policy: &str,
    parsed: &Reference,
    images: &BTreeMap<String, &ImageSpec>,
) -> Diagnostic {
    let flux = spec.flux.namespace.as_str();
    let help = if images.is_empty() {
        format!(
            "declare the image under `imageAutomation.images` (`name: {}`): gitopsc writes its ImagePolicy `{flux}:{}`",
            parsed.name, parsed.name
        )
    } else if parsed.namespace != flux && images.contains_key(&format!("{flux}:{}", parsed.name)) {
        format!(
            "gitopsc writes the ImagePolicies in the Flux namespace: write `{flux}:{}`",
            parsed.name
        )
    } else if let Some(near) = did_you_mean(policy, images.keys().map(String::as_str)) {
        format!("did you mean `{near}`?")
    } else {
        format!(
            "the spec's ImagePolicies are {}",
            images
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    error(
        span,
        format!("the marker names the ImagePolicy `{policy}`, which the spec does not define: Flux skips it"),
        "unknown policy",
        help,
    )
}

/// A repository as a registry names it: Docker Hub's implied (`nginx` is
/// `docker.io/library/nginx`, `index.docker.io/x` is `docker.io/x`).
fn canonical(repository: &str) -> String {
    let repository = repository
        .strip_prefix("index.docker.io/")
        .map_or_else(|| repository.to_string(), |rest| format!("docker.io/{rest}"));
    match repository.split_once('/') {
        None => format!("docker.io/library/{repository}"),
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => repository,
        Some(_) => format!("docker.io/{repository}"),
    }
}

/// The repository of an image reference: without its digest and its tag.
fn repository(reference: &str) -> &str {
    let name = reference.split('@').next().unwrap_or(reference);
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load::parse;

    const HEAD: &str = "apiVersion: gitopsc.io/v1alpha1\nkind: Cluster\nmetadata: { name: demo }\nimageAutomation:\n  specPath: specs/demo\n  images:\n    - { name: web, image: ghcr.io/example/web, policy: { semver: \">=1.0.0\" } }\napps:\n  - name: web\n    workloads:\n      - name: web\n        kind: Deployment\n";

    /// The messages of the markers of `HEAD` + `tail`, read as a cluster spec (`whole_file`) or
    /// as a fleet's.
    fn messages(tail: &str, whole_file: bool) -> Vec<String> {
        let loaded = parse(Source::new("t.yaml", format!("{HEAD}{tail}")))
            .map_err(|(_, d)| d)
            .unwrap();
        let spec = crate::spec::typing::validate_and_type(&loaded, None)
            .spec
            .unwrap();
        check(&spec, &loaded.source, &Places::of(loaded.spans), whole_file)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_sound_marker_passes_and_hashes_inside_values_are_no_comments() {
        let tail = "        image: ghcr.io/example/web:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}\n        args: [\"a # {\\\"$imagepolicy\\\": \\\"x:y\\\"}\"]\n        command:\n          - |\n            # {\"$imagepolicy\": \"x:y\"}\n";
        assert_eq!(messages(tail, true), Vec::<String>::new());
    }

    #[test]
    fn a_marker_on_no_value_counts_in_a_cluster_spec_only() {
        let tail =
            "        # {\"$imagepolicy\": \"flux-system:web\"}\n        image: ghcr.io/example/web:1.0.0\n";
        let found = messages(tail, true);
        assert!(found[0].contains("ends no value's line"), "{found:?}");
        assert_eq!(messages(tail, false), Vec::<String>::new());
        // A fleet's markers name policies made elsewhere; their fields are still checked.
        let unknown =
            "        image: ghcr.io/example/web:1.0.0 # {\"$imagepolicy\": \"flux-system:elsewhere\"}\n";
        assert!(messages(unknown, true)[0].contains("does not define"));
        assert_eq!(messages(unknown, false), Vec::<String>::new());
        let tag =
            "        image: ghcr.io/example/web:1.0.0 # {\"$imagepolicy\": \"flux-system:elsewhere:tag\"}\n";
        assert!(messages(tag, false)[0].contains("writes a tag into"));
    }

    #[test]
    fn a_marker_on_a_key_or_outside_apps_is_refused() {
        let tail = "        image: ghcr.io/example/web:1.0.0\n        env: # {\"$imagepolicy\": \"flux-system:web\"}\n          - { name: A, value: b }\n";
        assert!(messages(tail, true)[0].contains("ends no value's line"));
        let loaded = parse(Source::new(
            "t.yaml",
            HEAD.replace(
                "specPath: specs/demo",
                "specPath: specs/demo # {\"$imagepolicy\": \"flux-system:web\"}",
            ) + "        image: ghcr.io/example/web:1.0.0\n",
        ))
        .map_err(|(_, d)| d)
        .unwrap();
        let spec = crate::spec::typing::validate_and_type(&loaded, None)
            .spec
            .unwrap();
        let found = check(&spec, &loaded.source, &Places::of(loaded.spans), true);
        assert!(
            found[0].message.contains("`/imageAutomation/specPath`"),
            "{found:?}"
        );
    }

    #[test]
    fn docker_hub_repositories_compare_by_their_full_name() {
        assert_eq!(canonical("nginx"), canonical("docker.io/library/nginx"));
        assert_eq!(
            canonical("bitnami/redis"),
            canonical("index.docker.io/bitnami/redis")
        );
        assert_ne!(canonical("ghcr.io/a/b"), canonical("a/b"));
        assert_eq!(canonical("localhost:5000/a"), "localhost:5000/a");
    }

    #[test]
    fn the_repository_of_a_reference_drops_tag_and_digest() {
        assert_eq!(repository("ghcr.io/a/b:1.0"), "ghcr.io/a/b");
        assert_eq!(repository("localhost:5000/a/b"), "localhost:5000/a/b");
        assert_eq!(repository("a/b@sha256:00"), "a/b");
        assert_eq!(repository("localhost:5000/a:1@sha256:00"), "localhost:5000/a");
    }
}
