//! Flux image automation: an ImageRepository and an ImagePolicy per followed image and one
//! ImageUpdateAutomation, all in the Flux namespace (the automation reads the ImagePolicies
//! of its own namespace), applied by one Flux Kustomization. The automation's `update.path`
//! is the spec's folder: it commits to the spec's marked lines, never to the generated tree.

use super::part::Ctx;
use super::{ImageAutomationModel, Manifest};
use crate::kinds;
use crate::spec::ClusterSpec;
use crate::spec::images::{ImageSpec, Order, TagPolicy};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The folder of the image automation's objects.
const IMAGES_DIR: &str = "infrastructure/image-automation";

/// An object of `image.toolkit.fluxcd.io/v1`: its kind's blueprint renders `spec` as given.
#[derive(Debug, Serialize)]
struct ImageItem {
    name: String,
    namespace: String,
    spec: Value,
}

/// The ImagePolicy's `policy` of an image.
fn policy(image: &ImageSpec) -> Value {
    let order = |o: Order| match o {
        Order::Asc => "asc",
        Order::Desc => "desc",
    };
    match &image.policy {
        TagPolicy::Semver(range) => json!({"semver": {"range": range}}),
        TagPolicy::Alphabetical(o) => json!({"alphabetical": {"order": order(*o)}}),
        TagPolicy::Numerical(o) => json!({"numerical": {"order": order(*o)}}),
    }
}

/// The image automation of a spec, when it has one.
pub fn automation(spec: &ClusterSpec, ctx: &Ctx) -> Option<ImageAutomationModel> {
    let auto = spec.image_automation.as_ref()?;
    let namespace = ctx.flux.namespace.clone();
    let object = |file: String, blueprint: &'static str, kind, name: String, spec: Value| {
        Manifest::new(
            file,
            blueprint,
            kind,
            ImageItem {
                name,
                namespace: namespace.clone(),
                spec,
            },
        )
    };
    let mut manifests = Vec::new();
    for image in &auto.images {
        let mut repository = json!({"image": image.image, "interval": image.interval});
        if let Some(secret) = &image.secret {
            repository["secretRef"] = json!({"name": secret});
        }
        manifests.push(object(
            format!("imagerepository-{}.yaml", image.name),
            "image/imagerepository.yaml.j2",
            &kinds::IMAGE_REPOSITORY,
            image.name.to_string(),
            repository,
        ));
        let mut policy_spec = json!({"imageRepositoryRef": {"name": image.name}, "policy": policy(image)});
        if let Some(pattern) = &image.tag_pattern {
            let mut filter = json!({"pattern": pattern});
            if let Some(extract) = &image.extract {
                filter["extract"] = json!(extract);
            }
            policy_spec["filterTags"] = filter;
        }
        manifests.push(object(
            format!("imagepolicy-{}.yaml", image.name),
            "image/imagepolicy.yaml.j2",
            &kinds::IMAGE_POLICY,
            image.name.to_string(),
            policy_spec,
        ));
    }
    let mut source_ref = json!({"kind": "GitRepository", "name": ctx.source_ref.name});
    if let Some(ns) = &ctx.source_ref.namespace {
        source_ref["namespace"] = json!(ns);
    }
    let update = json!({
        "interval": auto.interval,
        "sourceRef": source_ref,
        "git": {
            "checkout": {"ref": {"branch": auto.branch}},
            "commit": {
                "author": {"name": auto.author.name, "email": auto.author.email},
                "messageTemplate": "images: update the spec's image tags (the tree follows from gitopsc build)",
            },
            "push": {"branch": auto.push_branch.as_ref().unwrap_or(&auto.branch)},
        },
        "update": {"path": format!("./{}", auto.spec_path), "strategy": "Setters"},
    });
    manifests.push(object(
        "imageupdateautomation.yaml".into(),
        "image/imageupdateautomation.yaml.j2",
        &kinds::IMAGE_UPDATE_AUTOMATION,
        "gitopsc-spec".into(),
        update,
    ));
    // A fleet's cluster keeps its folders below its own root (`fleet/<cluster>/`).
    let dir = format!("{}{IMAGES_DIR}", ctx.flux.tree_root);
    let kustomization = ctx.kustomization(
        "image-automation".into(),
        &dir,
        &spec.defaults.timeout.to_string(),
        &spec.defaults.retry_interval.to_string(),
        &[
            &kinds::IMAGE_REPOSITORY,
            &kinds::IMAGE_POLICY,
            &kinds::IMAGE_UPDATE_AUTOMATION,
        ],
        BTreeSet::new(),
    );
    Some(ImageAutomationModel {
        dir,
        manifests,
        kustomization,
    })
}
