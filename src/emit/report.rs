//! What `check`, `diff` and `build` print about a comparison.

use super::review::{DatabaseChange, PRUNE_DISABLED, Review, WorkloadChange};
use super::{ChangeKind, Comparison, ConflictReason, Tree};
use std::fmt::Write;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    /// Red.
    pub fn red(self, t: &str) -> String {
        self.wrap("31", t)
    }
    /// Green.
    pub fn green(self, t: &str) -> String {
        self.wrap("32", t)
    }
    /// Yellow.
    pub fn yellow(self, t: &str) -> String {
        self.wrap("33", t)
    }
    /// Cyan.
    pub fn cyan(self, t: &str) -> String {
        self.wrap("36", t)
    }
    /// Bold.
    pub fn bold(self, t: &str) -> String {
        self.wrap("1", t)
    }
    /// Bold red.
    pub fn alarm(self, t: &str) -> String {
        self.wrap("1;31", t)
    }
}

/// One line per file `build` would add, change or remove, and per file in the way.
pub fn file_list(cmp: &Comparison, paint: Paint) -> String {
    let mut out = String::new();
    for c in &cmp.changes {
        let colored = match c.kind {
            ChangeKind::Added => paint.green("added  "),
            ChangeKind::Changed => paint.yellow("changed"),
            ChangeKind::Removed => paint.red("removed"),
        };
        let _ = writeln!(out, "  {colored}  {}", c.path);
    }
    if cmp.lock_stale && cmp.changes.is_empty() {
        let _ = writeln!(
            out,
            "  {}  {} (records the spec hash and gitopsc version)",
            paint.yellow("changed"),
            cmp.owner.lock_path()
        );
    }
    out.push_str(&conflicts(cmp, paint));
    out
}

/// The files left alone because gitopsc did not write them as they are.
pub fn conflicts(cmp: &Comparison, paint: Paint) -> String {
    let mut out = String::new();
    for c in &cmp.conflicts {
        let why = match &c.reason {
            ConflictReason::Foreign => "a file gitopsc did not write is in the way".to_string(),
            ConflictReason::HandEdited => "edited by hand since gitopsc wrote it".to_string(),
            ConflictReason::HandEditedStale => {
                "no longer generated, but edited by hand since gitopsc wrote it".to_string()
            }
            ConflictReason::NotAFile(why) => why.clone(),
        };
        let _ = writeln!(
            out,
            "  {}  {} ({why}; left alone)",
            paint.alarm("blocked"),
            c.path
        );
    }
    out
}

/// The summary line of a comparison.
pub fn summary(cmp: &Comparison) -> String {
    let count = |k: ChangeKind| cmp.changes.iter().filter(|c| c.kind == k).count();
    let mut text = format!(
        "{} added, {} changed, {} removed",
        count(ChangeKind::Added),
        count(ChangeKind::Changed),
        count(ChangeKind::Removed)
    );
    if !cmp.conflicts.is_empty() {
        let _ = write!(text, ", {} blocked", cmp.conflicts.len());
    }
    text
}

/// Objects added, changed and removed.
pub fn objects(review: &Review, paint: Paint) -> String {
    let mut out = String::new();
    for id in &review.added {
        let _ = writeln!(out, "  {} {id}", paint.green("+"));
    }
    for id in &review.changed {
        let _ = writeln!(out, "  {} {id}", paint.yellow("~"));
    }
    for id in &review.removed {
        let _ = writeln!(out, "  {} {id}", paint.red("-"));
    }
    out
}

/// The loud section: stateful objects that leave the tree or their Flux Kustomization, and
/// what Flux does with them.
pub fn leaving(review: &Review, paint: Paint) -> String {
    let mut out = moving(review, paint);
    if review.leaving.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{}",
        paint.alarm("!! stateful objects leave the tree — Flux prunes what leaves it:")
    );
    let mut unprotected = false;
    for l in &review.leaving {
        if l.protected {
            let _ = writeln!(
                out,
                "  {} {} — kept in the cluster: it carries `{}: {}`; delete it by hand once its data is no longer needed",
                paint.yellow("kept   "),
                l.id,
                PRUNE_DISABLED.0,
                PRUNE_DISABLED.1
            );
        } else {
            unprotected = true;
            let _ = writeln!(
                out,
                "  {} {} — Flux WILL DELETE it and its data: it was not protected in the previous tree ({})",
                paint.alarm("DELETED"),
                l.id,
                l.path
            );
        }
    }
    if unprotected {
        let _ = writeln!(
            out,
            "  Flux reads the prune protection from the live object, so it must be applied before the object leaves.\n  \
             Do it in two commits: first restore the object with the `kustomize.toolkit.fluxcd.io/prune: disabled` label\n  \
             (gitopsc adds it unless `pruneProtection` is false), build, commit and let Flux reconcile;\n  \
             then remove it in a second commit."
        );
    }
    out
}

/// Stateful objects that move to another Flux Kustomization: the one they leave prunes them
/// as if they left the tree, racing the one that applies them now.
fn moving(review: &Review, paint: Paint) -> String {
    if review.moving.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint.alarm(
            "!! stateful objects move to another Flux Kustomization — the one they leave prunes them:"
        )
    );
    let mut unprotected = false;
    for m in &review.moving {
        if m.protected {
            let _ = writeln!(
                out,
                "  {} {} — moves from Flux Kustomization `{}` to `{}`; kept in the cluster: it carries `{}: {}`, so `{}` does not prune it",
                paint.yellow("kept   "),
                m.id,
                m.from,
                m.to,
                PRUNE_DISABLED.0,
                PRUNE_DISABLED.1,
                m.from
            );
        } else {
            unprotected = true;
            let what = if m.id.kind == "Namespace" {
                "it and everything in it"
            } else {
                "it and its data"
            };
            let _ = writeln!(
                out,
                "  {} {} — moves from Flux Kustomization `{}` to `{}`: unless `{}` applies it first, `{}` garbage-collects it\n  \
                 and Flux WILL DELETE {what}: it was not protected in the previous tree",
                paint.alarm("DELETED"),
                m.id,
                m.from,
                m.to,
                m.to,
                m.from
            );
        }
    }
    if unprotected {
        let _ = writeln!(
            out,
            "  Flux reads the prune protection from the live object, so it must be applied before the object moves.\n  \
             Do it in two commits: first set `pruneProtection: true` on the app (the object gets the `kustomize.toolkit.fluxcd.io/prune: disabled` label)\n  \
             without the change that moves it, build, commit and let Flux reconcile; then make the change in a second commit."
        );
    }
    out
}

/// The loud section: changes to database clusters that the live cluster does not follow.
pub fn databases(review: &Review, paint: Paint) -> String {
    if review.databases.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint.alarm("!! database changes the live cluster does not follow:")
    );
    for change in &review.databases {
        match change {
            DatabaseChange::Bootstrap { id, fields } => {
                let fields: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
                let _ = writeln!(
                    out,
                    "  {} {id} — {} changed: CloudNative-PG reads `spec.bootstrap` only when it creates the cluster,\n  \
                     so NOTHING changes on the live cluster (database, owner, encoding, locale and the post-init SQL stay as they are).\n  \
                     Make the change by hand (`ALTER DATABASE … RENAME TO …`, `ALTER DATABASE … OWNER TO …`; another encoding or locale\n  \
                     needs a new database filled by dump and restore), or create a new cluster that imports this one (`bootstrap.initdb.import`)",
                    paint.alarm("BOOTSTRAP"),
                    fields.join(", ")
                );
            }
            DatabaseChange::Renamed { from, to } => {
                let _ = writeln!(
                    out,
                    "  {} {from} → `{}` — a renamed cluster is a NEW, EMPTY cluster: the app moves to it, and the data stays in `{}`\n  \
                     (or is deleted with it, when it is not kept). To carry the data over, keep the old name, or bootstrap the new cluster\n  \
                     from the old one (CloudNative-PG `bootstrap.initdb.import`, or a recovery from its backup) before the app moves",
                    paint.alarm("RENAMED  "),
                    to.name,
                    from.name
                );
            }
        }
    }
    out
}

/// The loud section: workload changes a plain Flux apply cannot carry out safely.
pub fn workloads(review: &Review, paint: Paint) -> String {
    if review.workloads.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint.alarm("!! live workloads change in ways a plain apply cannot carry out safely:")
    );
    for change in &review.workloads {
        match change {
            WorkloadChange::Immutable { id, fields } => {
                let fields: Vec<String> = fields.iter().map(|f| format!("`spec.{f}`")).collect();
                let _ = writeln!(
                    out,
                    "  {} {id} — {} changed: the API server refuses to update it, so Flux's apply fails until the object is recreated.\n  \
                     Delete it without its pods (`kubectl delete {} {} -n {} --cascade=orphan`) and let Flux recreate it,\n  \
                     or set `spec.force: true` on the app's Flux Kustomization (recreates it, restarting its pods); volumes are never resized this way",
                    paint.alarm("IMMUTABLE"),
                    fields.join(", "),
                    id.kind.to_lowercase(),
                    id.name,
                    id.namespace
                );
            }
            WorkloadChange::ReplicasRemoved { id, replicas } => {
                let _ = writeln!(
                    out,
                    "  {} {id} — `spec.replicas: {replicas}` leaves the manifest (an autoscaler takes over): when Flux applies this,\n  \
                     the live workload can drop to one pod. Hand the field over first: `kubectl apply --server-side --field-manager=hpa-handover`\n  \
                     of `spec.replicas: {replicas}` alone, then merge (see \"Autoscaling and the HPA hand-over\" in docs/workloads.md)",
                    paint.alarm("REPLICAS "),
                );
            }
        }
    }
    out
}

/// Unified diffs of every change.
pub fn unified_diff(cmp: &Comparison, tree: &Tree, paint: Paint) -> String {
    let mut out = String::new();
    for c in &cmp.changes {
        for line in file_diff(c, tree).lines() {
            let styled = if line.starts_with("+++") || line.starts_with("---") {
                paint.bold(line)
            } else if line.starts_with('+') {
                paint.green(line)
            } else if line.starts_with('-') {
                paint.red(line)
            } else if line.starts_with("@@") {
                paint.cyan(line)
            } else {
                line.to_string()
            };
            out.push_str(&styled);
            out.push('\n');
        }
    }
    if cmp.lock_changed {
        let _ = writeln!(
            out,
            "{}",
            paint.bold(&format!("~~~ {} (updated)", cmp.owner.lock_path()))
        );
    }
    out
}

/// The unified diff of one changed file, uncoloured.
pub fn file_diff(c: &super::Change, tree: &Tree) -> String {
    let old = c.old.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let new = match c.kind {
        ChangeKind::Removed => Default::default(),
        _ => tree
            .get(&c.path)
            .map(|b| String::from_utf8_lossy(b))
            .unwrap_or_default(),
    };
    let (a, b) = match c.kind {
        ChangeKind::Added => ("/dev/null".to_string(), format!("b/{}", c.path)),
        ChangeKind::Removed => (format!("a/{}", c.path), "/dev/null".to_string()),
        ChangeKind::Changed => (format!("a/{}", c.path), format!("b/{}", c.path)),
    };
    let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
    diff.unified_diff().context_radius(3).header(&a, &b).to_string()
}
