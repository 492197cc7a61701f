//! What rendering an app reads, file by file: each file's key ([`Key`]), and which of an
//! app's files a render leaves out because they are taken as they are ([`Skip`]).

use crate::digest::Hashing;
use crate::model::App;
use sha2::Digest;
use std::ops::Range;

/// Which of an app's files a render leaves out (they are taken as they are), by their place
/// in [`app_files`]: a bit for each of the first 63 files, and one for all the others
/// together (an app of more files keeps or renders them as one group).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skip(u64);

impl Skip {
    /// Every file of the app rendered.
    pub const NONE: Skip = Skip(0);
    /// No file of the app rendered.
    pub const ALL: Skip = Skip(u64::MAX);
    /// The place from which files share one bit.
    const REST: usize = 63;

    /// The bit of the file at place `i`.
    fn bit(i: usize) -> u64 {
        1 << i.min(Skip::REST)
    }

    /// Whether it leaves out the file at place `i`.
    pub fn leaves(self, i: usize) -> bool {
        self.0 & Skip::bit(i) != 0
    }

    /// The groups of the places of an app of `count` files, each kept or rendered whole:
    /// every one of the first 63 alone, the others together.
    pub fn groups(count: usize) -> impl Iterator<Item = Range<usize>> {
        let alone = (0..count.min(Skip::REST)).map(|i| i..i + 1);
        alone.chain((count > Skip::REST).then_some(Skip::REST..count))
    }

    /// It, and the group of places `group` ([`Skip::groups`]) left out too.
    pub fn and(self, group: &Range<usize>) -> Skip {
        Skip(self.0 | Skip::bit(group.start))
    }

    /// The groups of an app of `count` files that `keep` keeps, asked of each group in
    /// order: [`Skip::ALL`] when it keeps them all.
    pub fn keeping(count: usize, mut keep: impl FnMut(Range<usize>) -> bool) -> Skip {
        let mut all = true;
        let mut skip = Skip::NONE;
        for group in Skip::groups(count) {
            if keep(group.clone()) {
                skip = skip.and(&group);
            } else {
                all = false;
            }
        }
        if all { Skip::ALL } else { skip }
    }

    /// The whole app left out, or none of it.
    pub fn whole(all: bool) -> Skip {
        if all { Skip::ALL } else { Skip::NONE }
    }
}

/// An app's render keys ([`app_key`]): for each of its files, the sha256 of what rendering it
/// reads, its path included, so that an edit renders only the files whose inputs it changed
/// (a default interval, its HelmReleases; a Flux setting, its Flux Kustomizations).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The sha256 of the files' keys: two apps of one whole key render the same files.
    pub whole: [u8; 32],
    /// Each file's key, in [`app_files`]'s order.
    pub files: Box<[[u8; 32]]>,
}

impl Key {
    /// The key of the files whose keys are `files`.
    pub fn of_files(files: Box<[[u8; 32]]>) -> Key {
        let mut whole = sha2::Sha256::new();
        files.iter().for_each(|k| whole.update(k));
        Key {
            whole: whole.finalize().into(),
            files,
        }
    }

    /// The files' keys in hex, one after another (64 digits each).
    pub fn hex(&self) -> String {
        self.files.iter().map(|k| crate::digest::hex(k)).collect()
    }

    /// The key [`Key::hex`] wrote.
    pub fn from_hex(text: &str) -> Option<Key> {
        (!text.is_empty() && text.len().is_multiple_of(64)).then_some(())?;
        let files = (0..text.len() / 64)
            .map(|i| crate::digest::unhex(text.get(i * 64..(i + 1) * 64)?))
            .collect::<Option<_>>()?;
        Some(Key::of_files(files))
    }
}

/// The paths of the files `render_app` renders for `app`, in its order: each layer's
/// objects then its `kustomization.yaml`, the runbook, the Flux Kustomizations file.
pub fn app_files(app: &App) -> Vec<String> {
    let mut files = Vec::with_capacity(file_count(app));
    for layer in &app.layers {
        files.extend(
            layer
                .manifests
                .iter()
                .map(|m| format!("{}/{}", layer.dir, m.file)),
        );
        files.push(format!("{}/kustomization.yaml", layer.dir));
    }
    if let Some(runbook) = &app.runbook {
        files.push(format!("{}/{}", app.dir, runbook.file));
    }
    files.push(app.kustomizations_file.clone());
    files
}

/// The keys of all that `render_app` reads of `app`, file by file ([`Key`]): two
/// files of one key are rendered alike. `None` for an app whose objects get labels,
/// annotations or patches (they are applied to the rendered text, and every patch must match
/// some object: such an app always renders), or whose items do not serialize.
pub fn app_key(app: &App) -> Option<Key> {
    if !app.post.is_empty() {
        return None;
    }
    let mut files = Vec::with_capacity(file_count(app));
    // Each file's hash starts with what it is and the app's name and namespace.
    let file = |what: &[u8]| {
        let mut out = Hashing::new();
        out.0.update(what);
        text(&mut out, &app.name);
        text(&mut out, &app.namespace);
        out
    };
    let item = |out: &mut Hashing, m: &crate::model::Manifest| {
        text(out, &m.file);
        text(out, m.blueprint);
        serde_json::to_writer(&mut *out, &*m.item).ok()
    };
    for layer in &app.layers {
        for m in &layer.manifests {
            let mut out = file(b"object");
            text(&mut out, &layer.dir);
            item(&mut out, m)?;
            files.push(out.finish());
        }
        let mut out = file(b"layer");
        text(&mut out, &layer.dir);
        layer.manifests.iter().for_each(|m| text(&mut out, &m.file));
        files.push(out.finish());
    }
    if let Some(runbook) = &app.runbook {
        // The runbook reads each layer's folder, files and Flux Kustomization's name and
        // namespace (`crate::model::layer_check`).
        let mut out = file(b"runbook");
        text(&mut out, &app.dir);
        item(&mut out, runbook)?;
        for layer in &app.layers {
            text(&mut out, &layer.dir);
            text(&mut out, &layer.kustomization.name);
            text(&mut out, &layer.kustomization.namespace);
            out.0.update(layer.manifests.len().to_le_bytes());
            layer.manifests.iter().for_each(|m| text(&mut out, &m.file));
        }
        files.push(out.finish());
    }
    let mut out = file(b"flux");
    text(&mut out, &app.kustomizations_file);
    for layer in &app.layers {
        out.0.update(b"kustomization");
        serde_json::to_writer(&mut out, &layer.kustomization).ok()?;
    }
    files.push(out.finish());
    Some(Key::of_files(files.into_boxed_slice()))
}

/// How many files `render_app` renders for `app` at most: each layer's objects and
/// `kustomization.yaml`, the runbook, the Flux Kustomizations file.
fn file_count(app: &App) -> usize {
    app.layers.iter().map(|l| l.manifests.len() + 1).sum::<usize>() + 2
}

/// Writes `t` into `out`, after its length.
fn text(out: &mut Hashing, t: &str) {
    out.0.update(t.len().to_le_bytes());
    out.0.update(t.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_each_file_alone_then_the_rest_together() {
        assert_eq!(Skip::groups(2).collect::<Vec<_>>(), vec![0..1, 1..2]);
        let many: Vec<_> = Skip::groups(70).collect();
        assert_eq!(
            (many.len(), many[62].clone(), many[63].clone()),
            (64, 62..63, 63..70)
        );
        let skip = Skip::NONE.and(&(1..2)).and(&(63..70));
        let left: Vec<usize> = (0..70).filter(|i| skip.leaves(*i)).collect();
        assert_eq!(left, [1].into_iter().chain(63..70).collect::<Vec<_>>());
        assert!((0..70).all(|i| Skip::ALL.leaves(i) && !Skip::NONE.leaves(i)));
        assert_eq!(Skip::keeping(70, |g| g == (1..2) || g.start == 63), skip);
        assert_eq!(Skip::keeping(70, |_| true), Skip::ALL);
        assert_eq!(Skip::keeping(3, |_| false), Skip::NONE);
    }

    #[test]
    fn a_key_reads_back_from_its_hex_and_whole_follows_the_files() {
        let key = Key::of_files(vec![[1; 32], [2; 32]].into_boxed_slice());
        assert_eq!(Key::from_hex(&key.hex()), Some(key.clone()));
        let other = Key::of_files(vec![[2; 32], [1; 32]].into_boxed_slice());
        assert_ne!(key.whole, other.whole);
        for bad in ["", "ab", &key.hex()[1..], &format!("{}zz", &key.hex()[2..])] {
            assert_eq!(Key::from_hex(bad), None, "{bad}");
        }
    }
}
