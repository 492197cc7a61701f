//! The spec side of the seam: what a fleet spec's files expanded to, so that a run over
//! untouched files need not read, parse or expand them again.
//!
//! A run that expands a fleet without errors or warnings records, beside the tree cache, the
//! stat of every file it read and every folder it walked for parts, and each cluster's input
//! stamp ([`super::stamp::input_of_cluster`]). The next run takes the stamps from the record
//! when every recorded path still has its recorded size, times, inode and device, and changed
//! strictly before the recording run began reading (a change in that clock tick, or later,
//! is in doubt, as git's "racily clean" entries are). A file added to or removed from a
//! walked folder changes the folder's times, so the set of parts is covered too: such a
//! folder is listed again, and the record stands only when it holds the recorded parts and
//! folders (a part saved by renaming a new file over it changes the folder's times, not its
//! parts).
//!
//! The stamps only stand in for the expansion: whether a cluster's tree is current is then
//! decided as always, against its lock file and the files on disk.

use super::{Stat, cache_dir, header, write_atomically};
use crate::emit::lock::sha256_hex;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A path's stat and whether it is a folder, when known untouched since it was recorded.
pub type Known = Option<(Stat, bool)>;

/// What a fleet spec expanded to when its files were as they are now.
#[derive(Debug, PartialEq)]
pub struct Memo {
    /// The fleet's name.
    pub fleet: String,
    /// Each cluster's name and input stamp, in the fleet's order.
    pub clusters: Vec<(String, String)>,
    /// The spec's files, in the order they were read (the root first), named as a run that
    /// reads them names them (below the spec's folder as the command line gives it).
    pub files: Vec<PathBuf>,
    /// The folders walked for parts, named so too.
    pub folders: Vec<PathBuf>,
    /// Where each file starts in the fleet's text ([`crate::source::Source::composite`]).
    pub starts: Vec<usize>,
    /// The clock tick the recording run began reading in.
    pub began: super::Nanos,
    /// The stat of each of `files`, then of `folders`, when it is the recorded one (untouched
    /// since): a record made after this run takes it rather than look again.
    pub stats: Vec<Known>,
}

/// A run that may record its spec's expansion: it knows the clock tick its reading began in.
pub struct Recorder {
    path: PathBuf,
    base: PathBuf,
    began: super::Nanos,
}

/// Where the record of `spec`'s expansion for the output root `out` lives, and the folder the
/// spec's paths are relative to. `None` without a cache folder or when a path cannot be
/// resolved (an output root not made yet).
fn memo_path(cache: &Path, spec: &Path, out: &Path) -> Option<(PathBuf, PathBuf)> {
    let spec = std::fs::canonicalize(spec).ok()?;
    let out = std::fs::canonicalize(out).ok()?;
    let base = if spec.is_dir() {
        spec.clone()
    } else {
        spec.parent()?.to_path_buf()
    };
    let mut name = out.as_os_str().as_encoded_bytes().to_vec();
    name.extend_from_slice(b"\0spec\0");
    name.extend_from_slice(spec.as_os_str().as_encoded_bytes());
    let file = cache.join(format!("{}.spec", &sha256_hex(&name)[..32]));
    Some((file, base))
}

/// Starts a run that may record `spec`'s expansion for `out`: notes the clock tick now, as
/// the file system keeps it. Call before the spec is read.
pub fn begin(spec: &Path, out: &Path) -> Option<Recorder> {
    begin_in(&cache_dir()?, spec, out)
}

/// [`begin`] with the cache folder `cache`.
fn begin_in(cache: &Path, spec: &Path, out: &Path) -> Option<Recorder> {
    let (path, base) = memo_path(cache, spec, out)?;
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let probe = tempfile::NamedTempFile::new_in(dir).ok()?;
    let began = Stat::of(probe.path())?.mtime;
    Some(Recorder { path, base, began })
}

impl Recorder {
    /// Records that the spec, read from `read` (files, then folders, the files starting at
    /// `starts` in the fleet's text; each one's stat `known` when this run found it untouched,
    /// else looked at now), expanded to `clusters` (name, input stamp) of the fleet `fleet`.
    /// Nothing is recorded for a path outside the spec's folder or a name that would not
    /// survive the record's lines; a record that cannot be written is no error (the next run
    /// expands the spec).
    /// Returns whether it was written.
    pub fn record(
        self,
        (read, known): (&[PathBuf], &[Known]),
        fleet: &str,
        clusters: &[(String, String)],
        starts: &[usize],
    ) -> bool {
        let line_safe = |s: &str| !s.is_empty() && !s.contains(['\n', '\r', ' ']);
        if !line_safe(fleet) || clusters.iter().any(|(n, i)| !line_safe(n) || !line_safe(i)) {
            return false;
        }
        // The folder of a path named relative to here may be empty: here. Each folder is
        // resolved once (the parts of a fleet share a few).
        let mut folders: HashMap<&Path, Option<PathBuf>> = HashMap::new();
        for path in read {
            folders
                .entry(folder(path))
                .or_insert_with_key(|f| std::fs::canonicalize(f).ok());
        }
        let lines: Option<Vec<String>> = (read.par_iter().enumerate())
            .map(|(i, path)| {
                let abs = folders.get(folder(path))?.as_ref()?.join(path.file_name()?);
                let rel = abs.strip_prefix(&self.base).ok()?.to_str()?;
                // Known untouched since it was recorded, or looked at now.
                let (stat, dir) = match known.get(i).copied().flatten() {
                    Some(known) => known,
                    None => Stat::of_entry(&abs)?,
                };
                let kind = if dir { 'd' } else { 'f' };
                (!rel.contains(['\n', '\r'])).then(|| format!("{kind} {} {rel}\n", stat.fields()))
            })
            .collect();
        let Some(lines) = lines else { return false };
        let mut text = format!("{}\nb {}\nn {fleet}\n", header(), self.began);
        for (name, input) in clusters {
            text.push_str(&format!("c {input} {name}\n"));
        }
        text.push('s');
        for start in starts {
            text.push_str(&format!(" {start}"));
        }
        text.push('\n');
        text.extend(lines);
        write_atomically(&self.path, text.as_bytes()).is_ok()
    }

    /// The clock tick the run began reading in.
    pub fn began(&self) -> super::Nanos {
        self.began
    }

    /// Where the record of the fleet's apps goes ([`super::apps`]).
    pub fn apps_path(&self) -> PathBuf {
        self.path.with_extension("apps")
    }
}

/// Where the record of `spec`'s apps for `out` lives ([`super::apps`]).
pub fn apps_path(spec: &Path, out: &Path) -> Option<PathBuf> {
    Some(memo_path(&cache_dir()?, spec, out)?.0.with_extension("apps"))
}

/// What the last recording run over `spec` for `out` recorded, as a base's run holds it
/// ([`super::held::SpecRecords`]), with the files changed on disk since (by their stat): for
/// a run over the spec as staged, whose other files are the work tree's. `None` without a
/// record.
pub fn records_of(spec: &Path, out: &Path) -> Option<super::held::SpecRecords> {
    let (memo, stale) = read_memo(&cache_dir()?, spec, out)?;
    let record = super::apps::Record::read(&apps_path(spec, out)?, memo.began, memo.files.len())?;
    Some(super::held::SpecRecords {
        fleet: memo.fleet,
        clusters: memo.clusters,
        files: memo.files,
        spec_dir: folder_of(spec).to_path_buf(),
        record,
        stale,
    })
}

/// The folder a fleet spec's files are named below: the spec's, or the root file's.
fn folder_of(spec: &Path) -> &Path {
    if spec.is_dir() {
        spec
    } else {
        spec.parent().unwrap_or(Path::new(""))
    }
}

/// The folder of `path`: here for a bare name.
fn folder(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// What `spec` expanded to, from the record for `out` in the cache folder `cache`, when every
/// file and folder it was read from is untouched since.
pub fn recall_in(cache: &Path, spec: &Path, out: &Path) -> Option<Memo> {
    match read_memo(cache, spec, out)? {
        (memo, changed) if changed.is_empty() => Some(memo),
        _ => None,
    }
}

/// What `spec` expanded to, from the record for `out`, when only some of its files changed
/// since, not the root or a folder: with the numbers of those files, in order (none when
/// nothing changed).
pub fn recall_changed(spec: &Path, out: &Path) -> Option<(Memo, Vec<usize>)> {
    read_memo(&cache_dir()?, spec, out)
}

/// The record of `spec`'s expansion for `out` and the numbers of the files that changed
/// since it was made; `None` without one, or when the root file or a folder's parts changed.
fn read_memo(cache: &Path, spec: &Path, out: &Path) -> Option<(Memo, Vec<usize>)> {
    let (path, base) = memo_path(cache, spec, out)?;
    let shown = folder_of(spec);
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    (lines.next()? == header()).then_some(())?;
    let began: super::Nanos = lines.next()?.strip_prefix("b ")?.parse().ok()?;
    let fleet = lines.next()?.strip_prefix("n ")?.to_string();
    let mut memo = Memo {
        fleet,
        clusters: Vec::new(),
        files: Vec::new(),
        folders: Vec::new(),
        starts: Vec::new(),
        began,
        stats: Vec::new(),
    };
    let mut paths = Vec::new();
    for line in lines {
        if let Some(cluster) = line.strip_prefix("c ") {
            let (input, name) = cluster.split_once(' ')?;
            memo.clusters.push((name.to_string(), input.to_string()));
            continue;
        }
        if let Some(starts) = line.strip_prefix('s') {
            memo.starts = starts
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            continue;
        }
        let (kind, rest) = line.split_at_checked(2)?;
        let (stat, rel) = Stat::parse_fields(rest)?;
        let abs = base.join(rel);
        let dir = match kind {
            "f " => {
                memo.files.push(shown.join(rel));
                false
            }
            "d " => {
                memo.folders.push(shown.join(rel));
                true
            }
            _ => return None,
        };
        // Changed in the recording run's clock tick or later: in doubt.
        let sure = stat.mtime < began && stat.ctime < began;
        paths.push((abs, (stat, dir), sure));
    }
    let same: Vec<bool> = paths
        .par_iter()
        .map(|(path, entry, sure)| *sure && Stat::of_entry(path) == Some(*entry))
        .collect();
    let mut changed = Vec::new();
    let mut file = 0;
    let (mut file_stats, mut folder_stats) = (Vec::new(), Vec::new());
    for ((path, entry, _), same) in paths.iter().zip(same) {
        let dir = entry.1;
        if dir { &mut folder_stats } else { &mut file_stats }.push(same.then_some(*entry));
        match (dir, same) {
            // A folder whose times changed still holds the same parts when an editor saved a
            // file by renaming a new one over it, or made and removed a hidden swap file: the
            // files' own records then say which changed.
            (true, false) if holds_the_same_parts(path, &paths) => {}
            (true, false) => return None,
            (false, false) if file == 0 => return None,
            (false, false) => changed.push(file),
            _ => {}
        }
        file += usize::from(!dir);
    }
    memo.stats = file_stats.into_iter().chain(folder_stats).collect();
    Some((memo, changed))
}

/// Whether the folder `dir` holds, right below it, the parts (`*.yaml` files) and folders a
/// fleet folder's walk takes (hidden ones and symlinks skipped) that `recorded` lists there.
fn holds_the_same_parts(dir: &Path, recorded: &[(PathBuf, (Stat, bool), bool)]) -> bool {
    let Ok(entries) = crate::disk::entries(dir) else {
        return false;
    };
    let mut now: Vec<(PathBuf, bool)> = (entries.into_iter())
        .filter(|(name, _)| !name.as_encoded_bytes().starts_with(b"."))
        .filter_map(|(name, kind)| {
            let path = dir.join(name);
            match kind {
                crate::disk::Kind::Folder => Some((path, true)),
                crate::disk::Kind::File if path.extension().is_some_and(|x| x == "yaml") => {
                    Some((path, false))
                }
                _ => None,
            }
        })
        .collect();
    let mut then: Vec<(PathBuf, bool)> = (recorded.iter())
        .filter(|(path, _, _)| path.parent() == Some(dir))
        .map(|(path, (_, is_dir), _)| (path.clone(), *is_dir))
        .collect();
    now.sort();
    then.sort();
    now == then
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stands_until_a_file_or_folder_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let spec = dir.path().join("spec");
        let out = dir.path().join("out");
        std::fs::create_dir_all(spec.join("apps")).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(spec.join("fleet.yaml"), "a").unwrap();
        std::fs::write(spec.join("apps/x.yaml"), "b").unwrap();
        let read = vec![
            spec.join("fleet.yaml"),
            spec.join("apps/x.yaml"),
            spec.clone(),
            spec.join("apps"),
        ];
        let clusters = vec![("one".to_string(), "sha256:1".to_string())];
        let begin = |spec: &Path, out: &Path| begin_in(&cache, spec, out);
        let recall = |spec: &Path, out: &Path| recall_in(&cache, spec, out);
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
            begin(&spec, &out)
                .unwrap()
                .record((&read, &[]), "f", &clusters, &[0, 1]);
            let memo = recall(&spec, &out).expect("untouched");
            assert_eq!(memo.clusters, clusters);
            assert_eq!((memo.files.len(), memo.starts.as_slice()), (2, [0, 1].as_slice()));
            assert!(memo.files[1].ends_with("apps/x.yaml"));
            // A new part changes its folder.
            std::fs::write(spec.join("apps/y.yaml"), "c").unwrap();
            assert_eq!(recall(&spec, &out), None, "a part was added");
            std::thread::sleep(std::time::Duration::from_millis(20));
            let mut read = read.clone();
            read.push(spec.join("apps/y.yaml"));
            begin(&spec, &out)
                .unwrap()
                .record((&read, &[]), "f", &clusters, &[0, 2, 4]);
            assert!(recall(&spec, &out).is_some());
            // An edit that keeps the size changes the change time.
            std::fs::write(spec.join("apps/x.yaml"), "d").unwrap();
            assert_eq!(recall(&spec, &out), None, "a part was edited");
        }
    }

    /// A spec of one file in `dir` and an output root beside it: the cache, spec and root.
    fn one_file(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let cache = dir.join("cache");
        let (spec, out) = (dir.join("fleet.yaml"), dir.join("out"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(&spec, "a").unwrap();
        (cache, spec, out)
    }

    #[test]
    fn a_stat_known_untouched_is_recorded_as_it_is_known() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, spec, out) = one_file(dir.path());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let real = Stat::of_entry(&spec).unwrap();
        let record = |known: &[Known]| {
            let recorder = begin_in(&cache, &spec, &out).unwrap();
            recorder.record((std::slice::from_ref(&spec), known), "f", &[], &[0]);
            recall_in(&cache, &spec, &out)
        };
        assert!(record(&[Some(real)]).is_some(), "the stat it has");
        // Not looked at again: a stat known but not the file's stands in the record.
        let other = (Stat { size: 7, ..real.0 }, false);
        assert_eq!(record(&[Some(other)]), None);
        assert!(record(&[None]).is_some(), "looked at now");
    }

    #[test]
    fn a_file_changed_once_reading_began_is_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, spec, out) = one_file(dir.path());
        let recorder = begin_in(&cache, &spec, &out).unwrap();
        // Written in the tick reading began in, or later: it may have been read before.
        std::fs::write(&spec, "b").unwrap();
        recorder.record((std::slice::from_ref(&spec), &[]), "f", &[], &[0]);
        assert_eq!(recall_in(&cache, &spec, &out), None);
    }
}
