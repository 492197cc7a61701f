//! `diff --base`'s base trees, checked and not yet rendered ([`Deferred`]): the run over the
//! spec as it is now renders them once it knows its own apps ([`settle`]), each but for the
//! apps of a key it has too — those render the same files on both sides, so neither side
//! renders them — and holds them in memory ([`super::held`]). When the two runs go side by
//! side ([`expect`]), the run over the spec as it is now waits for the base's where it
//! settles its trees.

use super::held::Held;
use crate::emit::owner::Owner;
use crate::model::Model;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

/// A tree of `diff --base`'s base, checked and not yet rendered: the run over the spec as it
/// is now says which of its apps it keeps ([`settle`]), and only the others are rendered.
pub struct Deferred {
    /// The output root the tree is held over.
    root: PathBuf,
    model: Model,
    blueprints: crate::render::Blueprints,
    stamp: crate::emit::Stamp,
}

impl Deferred {
    /// The tree that `model` renders with `blueprints` into `root`, stamped `stamp`.
    pub fn new(
        root: &Path,
        model: Model,
        blueprints: crate::render::Blueprints,
        stamp: crate::emit::Stamp,
    ) -> Deferred {
        Deferred {
            root: root.to_path_buf(),
            model,
            blueprints,
            stamp,
        }
    }
}

/// The base's trees deferred over an output root, until settled.
#[derive(Default)]
struct Base {
    trees: Vec<Deferred>,
    /// Why they did not render when settled.
    failure: Option<Vec<crate::diagnostic::Diagnostic>>,
    /// The base's run is under way beside the run over the spec as it is now ([`expect`]).
    coming: bool,
}

static DEFERRED: Mutex<Base> = Mutex::new(Base {
    trees: Vec::new(),
    failure: None,
    coming: false,
});

/// Signalled when the base's run, under way beside, is done.
static CAME: Condvar = Condvar::new();

/// The base's records, once the base's run under way beside (if any) is done with them.
fn base() -> Option<MutexGuard<'static, Base>> {
    let base = DEFERRED.lock().ok()?;
    CAME.wait_while(base, |b| b.coming).ok()
}

/// The base's run over `root` is under way beside the run over the spec as it is now: that
/// run waits for it where it asks for the base's trees ([`deferred`], [`settle`]), and reads
/// nothing below `root` until they are held ([`crate::disk::promise`]). The base's run is
/// done when what this returns is dropped, whatever it left.
pub fn expect(root: &Path) -> Coming {
    if let Ok(mut base) = DEFERRED.lock() {
        crate::disk::promise(root);
        base.coming = true;
    }
    Coming
}

/// The base's run under way beside ([`expect`]); done when dropped.
pub struct Coming;

impl Drop for Coming {
    fn drop(&mut self) {
        if let Ok(mut base) = DEFERRED.lock() {
            base.coming = false;
        }
        CAME.notify_all();
    }
}

/// Takes `trees` as the base's trees over `root`, to be rendered when [`settle`]d: until then
/// nothing below `root` is read ([`crate::disk::promise`]).
pub fn defer(root: &Path, trees: Vec<Deferred>) {
    if let Ok(mut base) = DEFERRED.lock() {
        crate::disk::promise(root);
        base.trees = trees;
    }
}

/// Whether trees deferred over `root` wait to be settled.
pub fn deferred(root: &Path) -> bool {
    base().is_some_and(|b| b.trees.iter().any(|t| t.root == root))
}

/// Why the base's trees did not render when settled: their diagnostics. Taken once.
pub fn failure() -> Option<Vec<crate::diagnostic::Diagnostic>> {
    DEFERRED.lock().ok()?.failure.take()
}

/// The keys of the apps of each tree (by owner) the run over the spec as it is now made to
/// settle the base's trees: [`super::held`]'s recall takes them rather than make them again.
static NOW: Mutex<Vec<(Owner, Keys)>> = Mutex::new(Vec::new());

/// Each app's key (by a model's order), `None` for one that always renders.
pub type Keys = Vec<Option<crate::render::Key>>;

/// The keys of `model`'s apps.
pub(super) fn keys_of(model: &Model) -> Keys {
    model.apps.par_iter().map(crate::render::app_key).collect()
}

/// The keys `owner`'s apps had when the base's trees were settled, taken.
pub(super) fn take_now(owner: &Owner) -> Option<Keys> {
    let mut now = NOW.lock().ok()?;
    let i = now.iter().position(|(o, _)| o == owner)?;
    Some(now.swap_remove(i).1)
}

/// Renders the trees deferred over `root` and holds them in memory, as a run that rendered
/// them whole would: each but for the apps whose key the same owner's apps have in `now`
/// (the keys of the apps of the run over the spec as it is now), which that run keeps (an
/// app of the same key renders the same files, so neither side renders it). Their files are
/// held by path alone: their hash in the records and the lock file is one no bytes have, and
/// the view holds no bytes of them — nothing reads them. A tree whose owner `now` does not
/// name is rendered whole. Does nothing when no tree is deferred.
pub fn settle(root: &Path, now: Vec<(Owner, Keys)>) {
    let Some(mut base) = base() else {
        return;
    };
    let trees: Vec<Deferred> = std::mem::take(&mut base.trees);
    if trees.is_empty() || trees.iter().any(|t| t.root != root) {
        base.trees = trees;
        return;
    }
    let mut view = crate::disk::View::default();
    let mut records = Vec::with_capacity(trees.len());
    for tree in trees {
        let kept = super::Rendered::of(
            (now.iter())
                .filter(|(owner, _)| *owner == tree.stamp.owner)
                .flat_map(|(_, keys)| keys.iter().flatten()),
        );
        match render_deferred(tree, &kept, &mut view) {
            Ok(held) => records.push(held),
            Err(diagnostics) => {
                base.failure = Some(diagnostics);
                return;
            }
        }
    }
    if !(super::held::hold(records) && crate::disk::set_view(view)) {
        let why = "the base's tree cannot be held in memory";
        base.failure = Some(vec![crate::diagnostic::Diagnostic::error(
            crate::diagnostic::Code::Internal,
            why,
        )]);
    }
    if let Ok(mut keys) = NOW.lock() {
        *keys = now;
    }
}

/// Renders `tree` but for the groups of its apps' files whose key is in `kept`, into `view`;
/// its records.
fn render_deferred(
    tree: Deferred,
    kept: &super::Rendered,
    view: &mut crate::disk::View,
) -> Result<Held, Vec<crate::diagnostic::Diagnostic>> {
    let Deferred {
        root,
        model,
        blueprints,
        stamp,
    } = tree;
    let keys = keys_of(&model);
    let skip = |i: usize| kept.rendered(keys[i].as_ref());
    let rendered = crate::render::render_except(&model, &blueprints, &skip)?;
    let mut files: BTreeMap<String, String> = (rendered.par_iter())
        .map(|(path, bytes)| (path.clone(), crate::emit::lock::sha256_hex(bytes)))
        .collect();
    for (i, (app, key)) in model.apps.iter().zip(&keys).enumerate() {
        let (Some(key), skip) = (key, skip(i)) else {
            continue;
        };
        // Each file not rendered stands with its own key.
        let paths = crate::render::app_files(app).into_iter().zip(&key.files);
        let left = paths.enumerate().filter(|(place, _)| skip.leaves(*place));
        files.extend(left.map(|(_, (path, key))| (path, unrendered(key))));
    }
    let lock = stamp.lock_of(files);
    let bytes = lock.to_bytes();
    let lock_path = root.join(stamp.owner.lock_path());
    let held = Held {
        lock: lock_path.clone(),
        keys: (model.apps.iter().zip(&keys))
            .filter_map(|(app, key)| Some((key.clone()?, app.name.clone())))
            .collect(),
        files: lock.files,
        digest: crate::emit::lock::sha256_hex(&bytes),
    };
    view.hold(&root, lock_path, Some(bytes));
    for (path, bytes) in rendered {
        view.hold(&root, root.join(path), Some(bytes));
    }
    rayon::spawn(move || drop(model));
    Ok(held)
}

/// The hash a file of an app not rendered stands with: the app's key, which no sha256 of
/// bytes is ever made equal to by a rendering.
fn unrendered(key: &[u8; 32]) -> String {
    format!("unrendered:{}", crate::emit::lock::hex(key))
}
