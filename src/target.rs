//! What `build`, `check` and `diff` compile into an output root: a cluster spec file, or one
//! cluster of a fleet (its spec expanded from the fleet file, and perhaps checked already).

use crate::emit::owner::Owner;
use crate::incremental::stamp::input_of_cluster;
use crate::source::{Source, Span, Sparse};
use crate::spec::load::Loaded;
use crate::{Checked, Compiled, Failure, Prepared, check_loaded, emit, prepare, prepare_with};
use std::path::{Path, PathBuf};

/// A spec to compile, and whose tree it is.
pub struct Target<'a> {
    /// The spec file as the user named it.
    spec: &'a Path,
    /// For a cluster of a fleet: which, and its spec.
    cluster: Option<FleetCluster>,
}

/// One cluster of a fleet.
struct FleetCluster {
    owner: Owner,
    /// The fleet's text (all its files); for a remembered cluster, the files to read it from
    /// and where each starts in it.
    source: Result<Sparse, (Vec<PathBuf>, Vec<usize>)>,
    spec: Spec,
    /// The input stamp of the cluster's spec ([`crate::incremental::stamp::input_of_cluster`]).
    input: String,
}

/// A fleet's cluster's spec: expanded, checked already, or remembered (its input stamp taken
/// from the record of the fleet's files, [`crate::incremental::spec`]; expanded when needed).
enum Spec {
    Loaded(Box<Loaded>),
    Checked(Box<Checked>),
    /// Compiled over its changed apps only ([`crate::fleet::changed`]).
    Compiled(Box<Compiled>),
    Remembered,
    Taken,
}

impl<'a> Target<'a> {
    /// The cluster spec in the file `spec`.
    pub fn file(spec: &'a Path) -> Self {
        Target { spec, cluster: None }
    }

    /// The cluster `cluster` of the fleet `fleet` in the file `spec`, expanded; `input` is
    /// its stamp ([`crate::incremental::stamp::input_of_cluster`]).
    pub fn fleet_cluster(spec: &'a Path, fleet: &str, cluster: &str, loaded: Loaded, input: String) -> Self {
        let source = Sparse::whole(loaded.source.clone());
        let owner = Owner::fleet_cluster(fleet, cluster);
        Self::cluster(spec, owner, Ok(source), Spec::Loaded(Box::new(loaded)), input)
    }

    /// The cluster `cluster` of the fleet `fleet` in the file `spec`, whose input stamp
    /// `input` is remembered for the fleet's `files` as they are.
    pub fn remembered_cluster(
        spec: &'a Path,
        fleet: &str,
        cluster: &str,
        input: String,
        text: (Vec<PathBuf>, Vec<usize>),
    ) -> Self {
        let owner = Owner::fleet_cluster(fleet, cluster);
        Self::cluster(spec, owner, Err(text), Spec::Remembered, input)
    }

    /// The cluster `cluster` of the fleet `fleet` in the file `spec`, checked.
    pub fn checked_cluster(
        spec: &'a Path,
        fleet: &str,
        cluster: &str,
        checked: Checked,
        input: String,
    ) -> Self {
        let text = Sparse::whole(checked.source.clone());
        let owner = Owner::fleet_cluster(fleet, cluster);
        Self::cluster(spec, owner, Ok(text), Spec::Checked(Box::new(checked)), input)
    }

    /// The cluster `cluster` of the fleet `fleet` in the file `spec`, compiled over its
    /// changed apps only against the lock file its reuse holds, with the input stamp `input`.
    pub fn compiled_cluster(
        spec: &'a Path,
        (fleet, cluster): (&str, &str),
        (compiled, text): (Compiled, Option<Sparse>),
        input: String,
    ) -> Self {
        let text = text.unwrap_or_else(|| Sparse::whole(compiled.source.clone()));
        let owner = Owner::fleet_cluster(fleet, cluster);
        Self::cluster(spec, owner, Ok(text), Spec::Compiled(Box::new(compiled)), input)
    }

    /// The cluster's tree, when it was compiled already against the lock file that `out`
    /// holds now (call it with the output root locked). A tree compiled against another lock
    /// file (another run wrote the root meanwhile) is dropped: the spec is expanded again.
    pub fn take_compiled(&mut self, out: &Path) -> Option<Compiled> {
        let cluster = self.cluster.as_mut()?;
        match std::mem::replace(&mut cluster.spec, Spec::Taken) {
            Spec::Compiled(compiled) => {
                let read = compiled.reuse.read.as_ref().map(|read| read.digest.as_str());
                let now = crate::disk::read(&out.join(cluster.owner.lock_path()))
                    .ok()
                    .map(|bytes| crate::emit::lock::sha256_hex(&bytes));
                if read.is_some() && read == now.as_deref() {
                    return Some(*compiled);
                }
                cluster.spec = Spec::Remembered;
                None
            }
            other => {
                cluster.spec = other;
                None
            }
        }
    }

    fn cluster(
        spec: &'a Path,
        owner: Owner,
        source: Result<Sparse, (Vec<PathBuf>, Vec<usize>)>,
        loaded: Spec,
        input: String,
    ) -> Self {
        Target {
            spec,
            cluster: Some(FleetCluster {
                owner,
                source,
                spec: loaded,
                input,
            }),
        }
    }

    /// The spec file (a fleet's, for a fleet's cluster).
    pub fn spec(&self) -> &'a Path {
        self.spec
    }

    /// The folder the spec's vendored charts and manifest files are read from.
    pub fn spec_dir(&self) -> std::path::PathBuf {
        match &self.cluster {
            None => self.spec.parent().unwrap_or(Path::new("")).to_path_buf(),
            Some(_) => crate::fleet::spec_dir(self.spec),
        }
    }

    /// The spec's text, which the positions of its recorded warnings are in: the file's, or
    /// the fleet's (all its files). `None` when the file cannot be read.
    pub fn text(&self) -> Option<Source> {
        match &self.cluster {
            Some(FleetCluster { source: Ok(s), .. }) => Some(s.source.clone()),
            Some(FleetCluster {
                source: Err((files, starts)),
                ..
            }) => Some(crate::spec::load::read_in_part(files, starts, |_| true)?.source),
            None => {
                let text = crate::disk::read_to_string(self.spec).ok()?;
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                Some(Source::new(self.spec.display().to_string(), text))
            }
        }
    }

    /// [`Target::text`] where `spans` (of the whole text) are: the files of a remembered fleet
    /// that hold none of them are not read ([`crate::spec::load::read_in_part`]); a cluster
    /// compiled over its changed apps has the files its own warnings are in.
    pub fn text_at(&self, spans: &[Span]) -> Option<Sparse> {
        let (files, starts) = match &self.cluster {
            Some(FleetCluster { source: Ok(text), .. }) => return Some(text.clone()),
            Some(FleetCluster {
                source: Err(unread), ..
            }) => unread,
            None => return self.text().map(Sparse::whole),
        };
        let wanted = Sparse::files_holding(starts, spans);
        crate::spec::load::read_in_part(files, starts, |i| wanted.contains(&i))
    }

    /// The input stamp of the spec whose file holds `text`: the text's for a cluster spec, the
    /// cluster's own for a fleet's.
    pub fn input_of(&self, text: &str) -> String {
        match &self.cluster {
            None => emit::Stamp::input_of(text),
            Some(c) => c.input.clone(),
        }
    }

    /// A fleet's cluster's input stamp; `None` for a cluster spec (its text's is its stamp).
    pub fn cluster_input(&self) -> Option<&str> {
        self.cluster.as_ref().map(|c| c.input.as_str())
    }

    /// The resolved model of a fleet's cluster checked already.
    pub fn model(&self) -> Option<&crate::model::Model> {
        match &self.cluster.as_ref()?.spec {
            Spec::Checked(checked) => Some(&checked.model),
            _ => None,
        }
    }

    /// Whose tree it is.
    pub fn owner(&self) -> Owner {
        self.cluster.as_ref().map(|c| c.owner.clone()).unwrap_or_default()
    }

    /// How a command line names it: `SPEC`, or `FLEET --cluster NAME`.
    pub fn args(&self) -> String {
        match &self.cluster {
            None => self.spec.display().to_string(),
            Some(c) => format!("{} --cluster {}", self.spec.display(), c.owner.cluster),
        }
    }

    /// Checks the spec (unless it was) and compiles the blueprints.
    pub fn prepare(&mut self, blueprints: Option<&Path>) -> Result<Prepared, Failure> {
        let Some(cluster) = &mut self.cluster else {
            return prepare(self.spec, blueprints);
        };
        let spec_path = self.spec;
        let owner = cluster.owner.clone();
        let mut spec = std::mem::replace(&mut cluster.spec, Spec::Taken);
        if let Spec::Remembered = spec {
            let loaded = expanded(spec_path, &owner.cluster)?;
            cluster.input = input_of_cluster(&loaded);
            spec = Spec::Loaded(Box::new(loaded));
        }
        let mut prepared = prepare_with(
            || match spec {
                Spec::Loaded(loaded) => check_cluster(*loaded, &owner.cluster, spec_path),
                Spec::Checked(checked) => Ok(*checked),
                Spec::Compiled(..) | Spec::Remembered | Spec::Taken => Err(Failure {
                    source: None,
                    diagnostics: vec![crate::diagnostic::Diagnostic::error(
                        crate::diagnostic::Code::Internal,
                        "the cluster's spec was compiled twice",
                    )],
                }),
            },
            blueprints,
        )?;
        prepared.stamp.owner = owner;
        if !prepared.stamp.input.is_empty() {
            prepared.stamp.input.clone_from(&cluster.input);
        }
        Ok(prepared)
    }

    /// Makes the folder of the tree's lock file, for a build: a fleet's cluster's own (a
    /// cluster spec's is the output root; an output root that is not a folder is the
    /// comparison's to report).
    pub fn make_lock_folder(&self, out: &Path) -> Result<(), emit::EmitError> {
        let owner = self.owner();
        if owner.dir().is_empty() || std::fs::metadata(out).is_ok_and(|m| !m.is_dir()) {
            return Ok(());
        }
        let dir = out.join(owner.dir());
        std::fs::create_dir_all(&dir).map_err(|e| {
            emit::EmitError(
                format!("cannot create `{}`: {e}", dir.display()),
                None,
                crate::diagnostic::Code::Output,
            )
        })
    }
}

/// The spec of the cluster `cluster` of the fleet in the file `spec`, expanded now.
fn expanded(spec: &Path, cluster: &str) -> Result<Loaded, Failure> {
    let lost = || Failure {
        source: None,
        diagnostics: vec![crate::diagnostic::Diagnostic::error(
            crate::diagnostic::Code::Internal,
            format!(
                "the cluster `{cluster}` left the fleet `{}` during the run",
                spec.display()
            ),
        )],
    };
    let fleet = crate::fleet::load_if_fleet(spec).ok_or_else(lost)??;
    fleet
        .clusters
        .into_iter()
        .find(|c| c.name == cluster)
        .map(|c| c.loaded)
        .ok_or_else(lost)
}

/// Checks a fleet's cluster's spec; every diagnostic names the cluster.
fn check_cluster(loaded: Loaded, cluster: &str, spec: &Path) -> Result<Checked, Failure> {
    let name = |diags: &mut Vec<crate::diagnostic::Diagnostic>| {
        for d in diags {
            d.message = format!("cluster `{cluster}`: {}", d.message);
        }
    };
    match check_loaded(loaded, &crate::fleet::spec_dir(spec)) {
        Ok(mut checked) => {
            name(&mut checked.warnings);
            Ok(checked)
        }
        Err(mut failure) => {
            name(&mut failure.diagnostics);
            Err(failure)
        }
    }
}
