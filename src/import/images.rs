//! Flux image automation (`ImageRepository`, `ImagePolicy`, and the `ImageUpdateAutomation`
//! that writes the tags into the spec), as the spec's `imageAutomation`.

use super::read::Object;
use serde_json::{Map, Value, json};

/// True for the objects of image automation.
pub fn is_image_automation(object: &Object) -> bool {
    object.group() == "image.toolkit.fluxcd.io"
}

/// The spec's `imageAutomation`, from the tree's ImageUpdateAutomation and its images.
pub fn automation(objects: &[Object]) -> Option<Value> {
    let update = objects
        .iter()
        .find(|o| o.is("image.toolkit.fluxcd.io", "ImageUpdateAutomation"))?;
    let at = |p: &str| update.value.pointer(&format!("/spec{p}"));
    let mut out = Map::new();
    let path = update.str_at("/spec/update/path");
    out.insert("specPath".into(), json!(path.strip_prefix("./").unwrap_or(path)));
    let branch = update.str_at("/spec/git/checkout/ref/branch");
    if branch != "main" {
        out.insert("branch".into(), json!(branch));
    }
    if let Some(push) = at("/git/push/branch").filter(|p| p.as_str() != Some(branch)) {
        out.insert("pushBranch".into(), push.clone());
    }
    if let Some(interval) = at("/interval").filter(|i| i.as_str() != Some("30m")) {
        out.insert("interval".into(), interval.clone());
    }
    if let Some(author) = at("/git/commit/author").filter(|a| {
        a.get("name").and_then(Value::as_str) != Some("fluxcdbot")
            || a.get("email").and_then(Value::as_str) != Some("fluxcdbot@users.noreply.github.com")
    }) {
        out.insert("author".into(), author.clone());
    }
    let images: Vec<Value> = objects
        .iter()
        .filter(|o| o.is("image.toolkit.fluxcd.io", "ImagePolicy"))
        .filter_map(|policy| image(policy, objects))
        .collect();
    out.insert("images".into(), Value::Array(images));
    Some(Value::Object(out))
}

/// One image: its ImagePolicy and the ImageRepository the policy names.
fn image(policy: &Object, objects: &[Object]) -> Option<Value> {
    let repository_name = policy.str_at("/spec/imageRepositoryRef/name");
    let repository = objects
        .iter()
        .find(|o| o.is("image.toolkit.fluxcd.io", "ImageRepository") && o.name() == repository_name)?;
    let mut out = Map::new();
    out.insert("name".into(), json!(policy.name()));
    out.insert("image".into(), json!(repository.str_at("/spec/image")));
    if let Some(interval) = repository
        .value
        .pointer("/spec/interval")
        .filter(|i| i.as_str() != Some("6h"))
    {
        out.insert("interval".into(), interval.clone());
    }
    if let Some(secret) = repository.value.pointer("/spec/secretRef/name") {
        out.insert("secret".into(), secret.clone());
    }
    let rule = policy.value.pointer("/spec/policy")?.as_object()?;
    let (kind, settings) = rule.iter().next()?;
    let value = match kind.as_str() {
        "semver" => settings.get("range")?.clone(),
        _ => settings.get("order")?.clone(),
    };
    out.insert("policy".into(), json!({ kind: value }));
    for (from, to) in [
        ("/spec/filterTags/pattern", "tagPattern"),
        ("/spec/filterTags/extract", "extract"),
    ] {
        if let Some(v) = policy.value.pointer(from) {
            out.insert(to.into(), v.clone());
        }
    }
    Some(Value::Object(out))
}
