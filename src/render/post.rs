//! The user's labels, annotations and patches of an app's objects, applied to each object as
//! it renders: the rendered YAML is read back, changed, and written again through the YAML
//! emitter ([`super::yaml`]). Only the objects of apps that have any are read back; what is
//! written, hashed and diffed is the changed object.

use super::HEADER;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::patch::{Post, add_metadata};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};

/// The bytes of a rendered object with `post` applied, or the diagnostics of the patches that
/// failed on it. `matched` records, by patch id, which patches selected some object.
pub fn apply(
    post: &Post,
    path: &str,
    bytes: Vec<u8>,
    matched: &[AtomicBool],
) -> Result<Vec<u8>, Vec<Diagnostic>> {
    if post.is_empty() {
        return Ok(bytes);
    }
    let mut object: Value = serde_yaml::from_slice(&bytes).map_err(|e| {
        vec![Diagnostic::error(
            Code::Internal,
            format!("internal: `{path}` does not read back as one object to patch: {e}"),
        )]
    })?;
    add_metadata(&mut object, "labels", &post.labels);
    add_metadata(&mut object, "annotations", &post.annotations);
    let mut diags = Vec::new();
    for patch in &post.patches {
        if !patch.matches(&object) {
            continue;
        }
        if let Some(flag) = matched.get(patch.id) {
            flag.store(true, Ordering::Relaxed);
        }
        if let Err((why, at)) = patch.apply(&mut object) {
            diags.push(
                Diagnostic::error(Code::PatchDoesNotApply, format!("the patch does not apply to `{path}`: {why}"))
                    .at(at, "fails here")
                    .help("check the path against the object as gitopsc writes it (`gitopsc build` without the patch shows it)"),
            );
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut out = String::from(HEADER);
    super::yaml::block(&object, 0, &mut out);
    out.push('\n');
    Ok(out.into_bytes())
}

/// The errors of the patches that selected no object of the tree.
pub fn unmatched(model: &crate::model::Model, matched: &[AtomicBool]) -> Vec<Diagnostic> {
    model
        .patches
        .iter()
        .zip(matched)
        .filter(|(_, m)| !m.load(Ordering::Relaxed))
        .map(|(info, _)| {
            Diagnostic::error(
                Code::PatchSelectsNothing,
                format!("this patch of {} selects no object", info.owner),
            )
            .at(info.span, "matches nothing")
            .help("check its `target` (kind, name and labels must all match one object of the app)")
        })
        .collect()
}
