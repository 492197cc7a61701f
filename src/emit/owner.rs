//! Who owns the files of an output root. A cluster spec's tree is the cluster folder
//! `clusters/<cluster>/` and the folders it points Flux at; its lock file, at the root,
//! records them. Each cluster of a fleet owns `clusters/<cluster>/` and `fleet/<cluster>/`,
//! and records them in its own lock file, `fleet/<cluster>/gitopsc.lock` (its journal is
//! beside it): no two clusters share a path, a lock file or a journal.
//!
//! Two specs of different clusters built into one lock file would take each other's files
//! for stale ones and delete them, so a tree whose lock file records another cluster's (or
//! another fleet's) is refused before anything is compared (with `--force`, a renamed
//! cluster replaces its old tree); so is a tree with a path another lock file records.

use super::{EmitError, Tree, lock::LOCK_FILE, lock::Lock};
use crate::model::CLUSTERS_DIR;
use std::collections::BTreeSet;
use std::path::Path;

/// Who owns a tree: a cluster spec, or one cluster of a fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    /// The fleet's name; empty for a cluster spec.
    pub fleet: String,
    /// The cluster's name, for a cluster of a fleet.
    pub cluster: String,
}

impl Owner {
    /// The cluster `cluster` of the fleet `fleet`.
    pub fn fleet_cluster(fleet: &str, cluster: &str) -> Self {
        Owner {
            fleet: fleet.to_string(),
            cluster: cluster.to_string(),
        }
    }

    /// The folder (relative to the output root) of the owner's lock file and journal: the
    /// root itself for a cluster spec.
    pub fn dir(&self) -> String {
        if self.fleet.is_empty() {
            String::new()
        } else {
            fleet_dir(&self.cluster)
        }
    }

    /// The owner's lock file, relative to the output root.
    pub fn lock_path(&self) -> String {
        match self.dir().as_str() {
            "" => LOCK_FILE.to_string(),
            dir => format!("{dir}/{LOCK_FILE}"),
        }
    }

    /// The lock files (relative to the output root) of the other owners that could record a
    /// path of this owner's tree, whose cluster folders are `clusters/<c>` for each of
    /// `clusters`: the paths of two fleet clusters differ by construction; a cluster spec's
    /// meet a fleet cluster's in `clusters/<c>/` only. So a fleet's cluster has the root's
    /// lock file, and a cluster spec the lock file of each fleet cluster named as one of its
    /// clusters.
    pub fn rivals<'c>(&self, clusters: impl Iterator<Item = &'c str>) -> Vec<String> {
        let paths: Vec<String> = if self.fleet.is_empty() {
            clusters
                .map(|c| format!("{}/{LOCK_FILE}", fleet_dir(c)))
                .collect()
        } else {
            vec![LOCK_FILE.to_string()]
        };
        let own = self.lock_path();
        paths.into_iter().filter(|p| *p != own).collect()
    }

    /// The owner recorded in a lock file.
    pub fn of<Files>(lock: &super::lock::LockOf<Files>) -> Self {
        Owner {
            fleet: lock.fleet.clone(),
            cluster: lock.cluster.clone(),
        }
    }

    /// How a message names the owner of the lock file at `lock` (relative to the root).
    fn describe(&self, lock: &Lock) -> String {
        if self.fleet.is_empty() {
            let names: Vec<String> = clusters(lock.files.keys().map(String::as_str))
                .into_iter()
                .map(|c| format!("`{c}`"))
                .collect();
            format!("the cluster spec of {}", names.join(", "))
        } else {
            format!("cluster `{}` of fleet `{}`", self.cluster, self.fleet)
        }
    }
}

/// The folder of the output root that holds the folders of each cluster of a fleet.
pub const FLEET_DIR: &str = "fleet";

/// The folder of a fleet's cluster `cluster`, beside `clusters/<cluster>/`: its app,
/// operator and infrastructure folders, and its lock file.
pub fn fleet_dir(cluster: &str) -> String {
    format!("{FLEET_DIR}/{cluster}")
}

/// The clusters whose folders `paths` hold: `x` for every `clusters/x/...`.
pub fn clusters<'p>(paths: impl Iterator<Item = &'p str>) -> BTreeSet<&'p str> {
    paths
        .filter_map(|p| {
            p.strip_prefix(CLUSTERS_DIR)?
                .strip_prefix('/')?
                .split_once('/')
                .map(|(c, _)| c)
        })
        .collect()
}

/// Refuses what would make one owner's build write or delete another's files: for a
/// cluster spec, a lock file of another cluster ([`check_cluster`]); for a cluster of a fleet,
/// its lock file recording another fleet; for both, a path of the tree that another owner's
/// lock file in the root records (of the rendered tree, or of the `kept` files).
pub fn check(
    root: &Path,
    tree: &Tree,
    kept: &super::Kept,
    owner: &Owner,
    old: Option<&Lock>,
    force: bool,
) -> Result<(), EmitError> {
    if owner.fleet.is_empty() {
        check_cluster(root, tree, old, force)?;
    } else if let Some(old) =
        old.filter(|old| !force && (old.fleet != owner.fleet || old.cluster != owner.cluster))
    {
        let was = Owner::of(old);
        return Err(EmitError(
            format!(
                "`{}` records {}, not cluster `{}` of fleet `{}`: two fleets name a cluster alike in one output root",
                root.join(owner.lock_path()).display(),
                was.describe(old),
                owner.cluster,
                owner.fleet,
            ),
            Some("build each fleet into its own `--out`, or rename one of the clusters; if the fleet was renamed, `gitopsc build` with `--force` replaces the cluster's tree".into()),
crate::diagnostic::Code::OwnedElsewhere,
));
    }
    for (path, lock) in other_locks(root, tree, owner)? {
        let theirs = Owner::of(&lock);
        let shared: Vec<&String> = tree
            .keys()
            .chain(kept.keys())
            .filter(|p| lock.files.contains_key(*p))
            .collect();
        let Some(first) = shared.first() else { continue };
        let ours = if owner.fleet.is_empty() {
            format!(
                "this cluster spec (`{}`)",
                clusters(tree.keys().map(String::as_str))
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join("`, `")
            )
        } else {
            format!("cluster `{}` of fleet `{}`", owner.cluster, owner.fleet)
        };
        return Err(EmitError(
            format!(
                "{ours} and {} (`{}`) both claim `{first}`{}",
                theirs.describe(&lock),
                root.join(&path).display(),
                match shared.len() {
                    1 => String::new(),
                    n => format!(" and {} more paths", n - 1),
                }
            ),
            Some("two specs own no path together: build one of them into another `--out`, or move the cluster into the fleet and remove the other spec's files and lock file".into()),
crate::diagnostic::Code::OwnedElsewhere,
));
    }
    Ok(())
}

/// The lock files of the root's other owners that could record a path of `tree` (relative
/// path, lock: [`Owner::rivals`]). One that cannot be read is an error: it may record files
/// this build would take.
fn other_locks(root: &Path, tree: &Tree, owner: &Owner) -> Result<Vec<(String, Lock)>, EmitError> {
    let mut locks = Vec::new();
    for path in owner.rivals(clusters(tree.keys().map(String::as_str)).into_iter()) {
        let target = root.join(&path);
        if crate::disk::kind(&target).ok() != Some(crate::disk::Kind::File) {
            continue;
        }
        let lock = crate::disk::read(&target)
            .map_err(|e| e.to_string())
            .and_then(|bytes| Lock::parse(&bytes))
            .map_err(|e| {
                EmitError(
                    format!("cannot read the lock file `{}`: {e}", target.display()),
                    Some("restore it from version control: it records files another spec owns here".into()),
                    crate::diagnostic::Code::Output,
                )
            })?;
        locks.push((path, lock));
    }
    Ok(locks)
}

/// Refuses a tree that the root's lock file says belongs to another cluster: a build would
/// delete that cluster's files, a check or diff would report them as this one's. With
/// `force` (a build) the old tree is replaced, as when the cluster was renamed.
pub fn check_cluster(root: &Path, tree: &Tree, old: Option<&Lock>, force: bool) -> Result<(), EmitError> {
    let Some(old) = old else { return Ok(()) };
    if force {
        return Ok(());
    }
    let ours = clusters(tree.keys().map(String::as_str));
    let theirs = clusters(old.files.keys().map(String::as_str));
    let others: Vec<&str> = theirs.difference(&ours).copied().collect();
    if others.is_empty() || ours.is_empty() {
        return Ok(());
    }
    let names =
        |set: &mut dyn Iterator<Item = &str>| set.map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    let lock = root.join(LOCK_FILE);
    Err(EmitError(
        format!(
            "`{}` holds the tree of cluster {} (recorded in `{}`), and this spec is cluster {}: building it there would delete the other cluster's files",
            root.display(),
            names(&mut others.iter().copied()),
            lock.display(),
            names(&mut ours.iter().copied()),
        ),
        Some(format!(
            "give each cluster its own `--out`, or put the clusters in one fleet spec (docs/fleet.md), whose clusters share an output root without touching each other's files; if this cluster is {} renamed, `gitopsc build` with `--force` replaces its tree",
            names(&mut others.iter().copied()),
        )),
        crate::diagnostic::Code::OwnedElsewhere,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::Kept;

    #[test]
    fn clusters_are_read_from_their_folders() {
        let paths = [
            "clusters/a/gitopsc/x.yaml",
            "clusters/b/y.yaml",
            "workloads/clusters/c/z.yaml",
            "clusters/top.yaml",
        ];
        assert_eq!(
            clusters(paths.into_iter()).into_iter().collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn another_clusters_lock_is_refused_unless_forced() {
        let mut lock = Lock::default();
        lock.files
            .insert("clusters/a/gitopsc/kustomization.yaml".into(), "h".into());
        lock.files.insert("workloads/app/x.yaml".into(), "h".into());
        let tree: Tree = [("clusters/b/gitopsc/kustomization.yaml".to_string(), Vec::new())].into();
        let root = Path::new("out");
        let e = check_cluster(root, &tree, Some(&lock), false).unwrap_err();
        assert!(
            e.0.contains("cluster `a`") && e.0.contains("cluster `b`"),
            "{}",
            e.0
        );
        assert!(check_cluster(root, &tree, Some(&lock), true).is_ok());
        assert!(check_cluster(root, &tree, None, false).is_ok());
        let same: Tree = [("clusters/a/gitopsc/other.yaml".to_string(), Vec::new())].into();
        assert!(check_cluster(root, &same, Some(&lock), false).is_ok());
    }

    fn write_lock(root: &Path, owner: &Owner, files: &[&str]) {
        let lock = Lock {
            fleet: owner.fleet.clone(),
            cluster: owner.cluster.clone(),
            files: files.iter().map(|f| (f.to_string(), "h".to_string())).collect(),
            ..Lock::default()
        };
        let path = root.join(owner.lock_path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, lock.to_bytes()).unwrap();
    }

    #[test]
    fn no_two_owners_claim_a_path_and_a_fleets_cluster_keeps_its_fleet() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (staging, prod) = (
            Owner::fleet_cluster("acme", "staging"),
            Owner::fleet_cluster("acme", "prod"),
        );
        assert_eq!(prod.lock_path(), "fleet/prod/gitopsc.lock");
        assert_eq!(Owner::default().lock_path(), "gitopsc.lock");
        write_lock(
            root,
            &staging,
            &[
                "clusters/staging/gitopsc/a.yaml",
                "fleet/staging/workloads/a/x.yaml",
            ],
        );
        let tree: Tree = [
            ("clusters/prod/gitopsc/a.yaml".to_string(), Vec::new()),
            ("fleet/prod/workloads/a/x.yaml".to_string(), Vec::new()),
        ]
        .into();
        check(root, &tree, &Kept::new(), &prod, None, false).unwrap();

        // A cluster spec of the same name claims `clusters/prod/`.
        write_lock(
            root,
            &Owner::default(),
            &["clusters/prod/gitopsc/a.yaml", "workloads/a/x.yaml"],
        );
        let e = check(root, &tree, &Kept::new(), &prod, None, false).unwrap_err();
        assert!(
            e.0.contains("cluster `prod` of fleet `acme` and the cluster spec of `prod`")
                && e.0.contains("both claim `clusters/prod/gitopsc/a.yaml`"),
            "{}",
            e.0
        );
        std::fs::remove_file(root.join(LOCK_FILE)).unwrap();
        // And the other way round: a cluster spec built where the fleet's cluster is.
        write_lock(root, &prod, &["clusters/prod/gitopsc/a.yaml"]);
        let spec_tree: Tree = [("clusters/prod/gitopsc/a.yaml".to_string(), Vec::new())].into();
        let e = check(root, &spec_tree, &Kept::new(), &Owner::default(), None, false).unwrap_err();
        assert!(
            e.0.contains("this cluster spec (`prod`) and cluster `prod` of fleet `acme`"),
            "{}",
            e.0
        );

        // Another fleet's lock file in the cluster's own place.
        let other = Lock {
            fleet: "other".into(),
            cluster: "prod".into(),
            ..Lock::default()
        };
        let e = check(root, &tree, &Kept::new(), &prod, Some(&other), false).unwrap_err();
        assert!(
            e.0.contains("cluster `prod` of fleet `other`, not cluster `prod` of fleet `acme`"),
            "{}",
            e.0
        );
        check(root, &tree, &Kept::new(), &prod, Some(&other), true).unwrap();
    }
}
