//! Who owns the files of an output root. A cluster spec's tree is the cluster folder
//! `clusters/<cluster>/` and the folders it points Flux at; its lock file records them. Two
//! specs of different clusters built into one root would take each other's files for stale
//! ones and delete them, so a tree whose lock file records another cluster's is refused
//! before anything is compared (with `--force`, a renamed cluster replaces its old tree).

use super::{EmitError, Tree, lock::Lock};
use std::collections::BTreeSet;
use std::path::Path;

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
        .filter_map(|p| p.strip_prefix("clusters/")?.split_once('/').map(|(c, _)| c))
        .collect()
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
    let lock = root.join(super::lock::LOCK_FILE);
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
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
