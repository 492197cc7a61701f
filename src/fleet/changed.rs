//! A fleet whose only changed files define apps, compiled over those apps and the few whose
//! data their checks and resolution read ([`crate::incremental::apps`] says which, and what
//! is recorded for it): each cluster is checked and resolved over them, only the changed apps
//! are rendered, and every other file is taken from the tree cache. Whatever is in doubt
//! sends the run the whole way.

use crate::Compiled;
use crate::emit::lock::Warning;
use crate::emit::owner::Owner;
use crate::incremental::apps::{self, ClusterRecord, Edit, Places, Record};
use crate::incremental::stamp::Layout;
use crate::source::{Source, Span, Sparse};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A fleet compiled over its changed apps: each cluster's name, input stamp and tree.
pub struct Changed {
    /// The fleet's name.
    pub fleet: String,
    /// Each cluster (or the one asked for).
    pub clusters: Vec<ChangedCluster>,
    /// Every cluster's name.
    pub names: Vec<String>,
    /// What a build records for the next run.
    pub pending: Option<Pending>,
}

/// A cluster compiled over the changed apps.
pub struct ChangedCluster {
    /// Its name.
    pub name: String,
    /// Its input stamp.
    pub input: String,
    /// Its tree, with the lock file it was compiled against.
    pub compiled: Compiled,
    /// The fleet's text its warnings are shown in, when it has warnings: the files they are
    /// in, each standing for its place in the whole text.
    pub text: Option<Sparse>,
}

/// The records a build over the changed apps leaves for the next run.
pub struct Pending {
    recorder: crate::incremental::spec::Recorder,
    read: Vec<PathBuf>,
    /// The stat of each of `read` when known untouched since the last record.
    stats: Vec<crate::incremental::spec::Known>,
    record: Record,
}

impl Pending {
    /// Records the fleet's files and apps as this run found them, its clusters' input
    /// stamps being `stamps`: after a build.
    pub fn record(self, fleet: &str, stamps: &[(String, String)]) {
        let Pending {
            recorder,
            read,
            stats,
            mut record,
        } = self;
        record.memo = recorder.began();
        let apps = recorder.apps_path();
        if recorder.record((&read, &stats), fleet, stamps, &record.starts) {
            record.write(&apps);
        }
    }
}

/// The fleet `spec` compiled for `out` over its changed apps (the files `changed` of those
/// `memo` records), when the records allow it (the module's doc); every cluster's, or
/// `only`'s. With a `recorder`, begun before the spec's files were looked at, what a build
/// then records; with a `record` of the apps, that one instead of the one on disk (a base's
/// held in memory, [`crate::incremental::held`]); `build` says whether the run is a build (which carries the kept files'
/// records into the next tree cache).
pub fn compile_changed(
    spec: &Path,
    out: &Path,
    only: Option<&str>,
    (recorder, record): (Option<crate::incremental::spec::Recorder>, Option<Record>),
    memo: crate::incremental::spec::Memo,
    (changed, build): (&[usize], bool),
) -> Option<Changed> {
    let mut rec = match record {
        Some(record) => record,
        None => {
            let apps_path = crate::incremental::spec::apps_path(spec, out)?;
            Record::read(&apps_path, memo.began, memo.files.len())?
        }
    };
    let edit = apps::edit(&rec, &memo.files, changed)?;
    let needed = apps::neighbours(&rec, &edit);
    let wanted: BTreeSet<usize> = rec
        .shared
        .iter()
        .copied()
        .chain(
            rec.defined
                .iter()
                .filter(|(n, _)| needed.contains(n))
                .map(|(_, f)| *f),
        )
        .filter(|&f| f != 0)
        .collect();
    let whole = whole_starts(&rec.starts, &edit)?;
    let changed_files: BTreeSet<usize> = changed.iter().copied().collect();
    let parts: Vec<PathBuf> = wanted
        .iter()
        .map(|&f| memo.files.get(f).cloned())
        .collect::<Option<_>>()?;
    let read_parts: HashMap<PathBuf, crate::spec::load::Loaded> =
        edit.files.into_iter().map(|f| (f.path, f.loaded)).collect();
    let files = crate::fleet::include::Files::of(spec)?;
    let loaded = crate::fleet::include::load_some(&files, &parts, read_parts)?;
    let fleet = crate::fleet::expand::expand_some(loaded, Vec::new(), true).ok()?;
    (fleet.warnings.is_empty() && fleet.name == memo.fleet).then_some(())?;
    let index: Vec<usize> = std::iter::once(0).chain(wanted.iter().copied()).collect();
    // The apps' files read (a shared file holds overrides of apps not read, too).
    let read_files: BTreeSet<usize> = index
        .iter()
        .copied()
        .filter(|f| !rec.shared.contains(f))
        .collect();
    let starts = fleet.source.file_starts();
    (starts.len() == index.len()).then_some(())?;
    let layout = Layout::mapped(starts, index, whole.clone());
    let old_starts = rec.starts.clone();
    let ctx = Context {
        spec,
        out,
        fleet: &fleet.name,
        memo: &memo,
        places: Places {
            old_starts: &old_starts,
            whole: &whole,
            changed: &changed_files,
            layout: &layout,
            read: &read_files,
        },
        apps: &edit.apps,
        build,
    };
    let entries = cluster_entries(&fleet, &layout);
    let names: Vec<String> = fleet.clusters.iter().map(|c| c.name.clone()).collect();
    (names.len() == rec.clusters.len()).then_some(())?;
    let mut clusters = Vec::new();
    for cluster in fleet.clusters {
        if only.is_some_and(|o| o != cluster.name) {
            continue;
        }
        let c = rec.clusters.iter_mut().find(|c| c.name == cluster.name)?;
        let overrides_changed = c.overrides.iter().any(|a| edit.apps.contains(a));
        let overriding = if overrides_changed {
            Some(*entries.get(&c.name)?)
        } else {
            None
        };
        let (input, compiled, text) = ctx.cluster(cluster, c, overriding)?;
        clusters.push(ChangedCluster {
            name: c.name.clone(),
            input,
            compiled,
            text,
        });
    }
    (only.is_none() || !clusters.is_empty()).then_some(())?;
    rec.starts = whole;
    let pending = recorder.map(|recorder| Pending {
        recorder,
        read: memo.files.iter().chain(&memo.folders).cloned().collect(),
        stats: memo.stats.clone(),
        record: rec,
    });
    Some(Changed {
        fleet: fleet.name,
        clusters,
        names,
        pending,
    })
}

/// Where each cluster's entry is in the fleet's text now, by name (for the warnings an override
/// may own): from its start to the next entry, or to the end of its file.
fn cluster_entries(fleet: &crate::fleet::expand::Fleet, layout: &Layout) -> HashMap<String, (usize, usize)> {
    let starts = fleet.source.file_starts();
    fleet
        .origins
        .iter()
        .filter_map(|(span, what)| {
            let name = what.strip_prefix("cluster `")?.strip_suffix('`')?;
            let file_end = starts
                .iter()
                .copied()
                .find(|&s| s > span.start)
                .unwrap_or(span.end);
            let end = span.end.min(file_end).max(span.start + 1);
            let at = (layout.whole_offset(span.start), layout.whole_offset(end - 1) + 1);
            Some((name.to_string(), at))
        })
        .collect()
}

/// Where each file starts in the fleet's text now: the recorded starts, moved by the changed
/// files' new lengths (each ends with a line break, so none is added after it).
fn whole_starts(starts: &[usize], edit: &Edit) -> Option<Vec<usize>> {
    let lengths: HashMap<usize, usize> = edit
        .files
        .iter()
        .map(|f| (f.number, f.loaded.source.text.len()))
        .collect();
    let mut whole = Vec::with_capacity(starts.len());
    let mut shift: isize = 0;
    for (i, &start) in starts.iter().enumerate() {
        whole.push(usize::try_from(isize::try_from(start).ok()? + shift).ok()?);
        if let (Some(&new), Some(&next)) = (lengths.get(&i), starts.get(i + 1)) {
            shift += isize::try_from(new).ok()? - isize::try_from(next - start).ok()?;
        }
    }
    Some(whole)
}

/// Declares the Kustomizations that the apps of a partial cluster spec depend on and that it
/// does not hold external: the apps it was read without. Their names are all the checks
/// need; an app whose Flux name is not its name is found out by its dependents' keys.
fn declare_external(loaded: &mut crate::spec::load::Loaded) {
    use crate::spec::load::SpanNode;
    let root = loaded.spans.root();
    let apps = root.get("apps").and_then(SpanNode::as_seq).unwrap_or_default();
    let held: HashSet<&str> = apps.iter().filter_map(|a| a.get("name")?.as_str()).collect();
    let external = root.get("flux").and_then(|f| f.get("external"));
    let declared: HashSet<&str> = (external.and_then(SpanNode::as_seq).unwrap_or_default())
        .iter()
        .filter_map(SpanNode::as_str)
        .collect();
    let missing: BTreeSet<String> = apps
        .iter()
        .filter_map(|a| a.get("dependsOn")?.as_seq())
        .flatten()
        .filter_map(SpanNode::as_str)
        .filter(|d| !held.contains(d) && !declared.contains(d))
        .map(String::from)
        .collect();
    if missing.is_empty() {
        return;
    }
    let nowhere = Span::new(0, 0);
    let root = loaded.spans.root_mut();
    if root.entry("flux").is_none() {
        root.put_entry("flux", nowhere, SpanNode::map(nowhere, Vec::new()));
    }
    if let Some((_, flux)) = root.entry_mut("flux") {
        if flux.entry("external").is_none() {
            flux.put_entry("external", nowhere, SpanNode::seq(nowhere, Vec::new()));
        }
        if let Some((_, items)) = flux.entry_mut("external") {
            let names = missing
                .into_iter()
                .map(|m| SpanNode::of_value(nowhere, Value::String(m)));
            items.extend_items(names.collect());
        }
    }
}

/// What each cluster's run over the changed apps shares.
struct Context<'a> {
    spec: &'a Path,
    out: &'a Path,
    fleet: &'a str,
    memo: &'a crate::incremental::spec::Memo,
    /// Where the files were and are.
    places: Places<'a>,
    /// The changed apps.
    apps: &'a BTreeSet<String>,
    /// Whether the run is a build (which records the kept files' stats for the next).
    build: bool,
}

impl Context<'_> {
    /// The cluster's input stamp and its tree compiled over its changed apps (with the lock
    /// file it was compiled against); updates its record to what this run found.
    /// `overriding`: where its entry is, when it overrides a changed app.
    fn cluster(
        &self,
        cluster: crate::fleet::expand::Cluster,
        rec: &mut ClusterRecord,
        overriding: Option<(usize, usize)>,
    ) -> Option<(String, Compiled, Option<Sparse>)> {
        let owner = Owner::fleet_cluster(self.fleet, &rec.name);
        // The tree is what the recorded run built.
        let (_, recorded) = self.memo.clusters.iter().find(|(n, _)| *n == rec.name)?;
        let spec_dir = crate::fleet::spec_dir(self.spec);
        // The lock file and the tree's cache are read while the part of the fleet read is
        // checked.
        let mut loaded = cluster.loaded;
        let ((lock, cache), compiled) = rayon::join(
            || {
                rayon::join(
                    || crate::emit::recorded_for(self.out, &owner, recorded, &spec_dir),
                    || apps::tree_cache(self.out, &owner),
                )
            },
            || {
                let stamps = apps::cluster_stamps(&loaded, &mut *rec, self.places.layout, self.apps)?;
                declare_external(&mut loaded);
                Some((stamps, crate::check_loaded(loaded, &spec_dir).ok()?))
            },
        );
        let (lock, cache) = (lock?, cache?);
        let ((input, spec_hash), checked) = compiled?;
        (checked.model.patches.is_empty() && checked.charts == lock.head.charts).then_some(())?;
        let warned = lock.head.warnings.clone();
        let (tree, reuse) =
            apps::tree_of_changed(self.out, &checked.model, (lock, cache), self.apps, self.build)?;
        let whole_text = |spans: &[Span]| self.whole_text(spans);
        let (warnings, text) = apps::warnings(
            &self.places,
            overriding,
            &checked.warnings,
            &warned,
            &rec.name,
            &whole_text,
        )?;
        let stamp = crate::emit::Stamp {
            input: input.clone(),
            spec: spec_hash,
            charts: checked.charts,
            warnings: Warning::record(&warnings),
            owner,
        };
        // Recorded at their places in the whole text, shown in the files read.
        let (source, warnings) = match &text {
            Some(text) => {
                let shown = warnings
                    .into_iter()
                    .map(|d| text.show(d))
                    .collect::<Option<_>>()?;
                (text.source.clone(), shown)
            }
            None => (Source::new(self.spec.display().to_string(), ""), warnings),
        };
        let compiled = Compiled {
            source,
            model: Some(checked.model),
            tree,
            reuse,
            stamp,
            warnings,
        };
        Some((input, compiled, text))
    }

    /// The fleet's whole text as a run over all of it lays it out, but for the files that
    /// hold none of `spans`: those are not read ([`crate::spec::load::read_in_part`]).
    fn whole_text(&self, spans: &[Span]) -> Option<Sparse> {
        let needed = Sparse::files_holding(self.places.whole, spans);
        crate::spec::load::read_in_part(&self.memo.files, self.places.whole, |i| needed.contains(&i))
    }
}
