//! `--format json`: what `validate`, `check`, `diff` and `build` report, as one JSON document
//! on stdout. The types here are the format: their doc comments become its JSON Schema
//! (`gitopsc schema --output-json`, committed as `schemas/json-output.schema.json`), and
//! docs/json-output.md says how it is versioned.

use crate::diagnostic::{Diagnostic, Severity};
use crate::emit::review::{DatabaseChange, ObjectId, Review, WorkloadChange};
use crate::emit::{ChangeKind, Comparison, ConflictReason};
use crate::source::Source;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the format. It is raised when a field is removed, renamed or changes
/// meaning; fields may be added within a version, so readers ignore fields they do not know.
pub const SCHEMA_VERSION: u32 = 1;

/// The report of one command run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "gitopsc JSON output")]
pub struct Report {
    /// The version of this format: 1.
    pub schema_version: u32,
    /// The command that ran.
    pub command: CommandName,
    /// True when the command succeeded: the exit code is 0.
    pub ok: bool,
    /// The exit code: 0 ok; 1 stale, differs or blocked; 2 error.
    pub exit_code: u8,
    /// The spec's path, as given.
    pub spec: String,
    /// The output root, as given (`check`, `diff`, `build`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out: Option<String>,
    /// Every error and warning, in the order of their place in the spec.
    pub diagnostics: Vec<JsonDiagnostic>,
    /// What the valid spec holds (`validate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSummary>,
    /// The rendered tree's files (`check`, `diff`, `build`, once the spec compiled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<FileCounts>,
    /// Files that `build` writes or deletes (or wrote and deleted), by path.
    pub changes: Vec<FileChange>,
    /// Files in the way, left alone without `--force`.
    pub conflicts: Vec<FileConflict>,
    /// Kubernetes objects created, changed or deleted (`diff`).
    pub objects: Vec<ObjectChange>,
    /// Stateful objects that leave the tree: Flux prunes them, and their data with them.
    pub leaving: Vec<LeavingObject>,
    /// Stateful objects that move to another Flux Kustomization.
    pub moving: Vec<MovingObject>,
    /// Database cluster changes that the live cluster does not follow.
    pub databases: Vec<DatabaseAlarm>,
    /// Workload changes that a plain apply cannot carry out: immutable fields, replicas
    /// handed over to an autoscaler.
    pub workloads: Vec<WorkloadAlarm>,
    /// For a fleet spec: the fleet's name. The report's own `diagnostics` are then the
    /// fleet's (errors before any cluster ran, a cluster's errors naming it, warnings about
    /// the whole fleet); its other lists stay empty and each cluster reports in `clusters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<String>,
    /// For a fleet spec: each cluster's report, in the fleet's order (a cluster that left the
    /// fleet last); the report's `exitCode` is the highest of theirs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<ClusterReport>,
    /// `check --staged`: the files under the spec and the output that the commit would not
    /// hold as they are on disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged: Option<StagedFiles>,
    /// `diff --cluster C --against O` of a fleet: what `C` would change to match `O`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<Promotion>,
    /// `show`: the app as the cluster runs it, with where each value comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<ShownApp>,
}

/// What a cluster of a fleet would change to match another, for the apps both run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// The cluster that would change (`--cluster`).
    pub cluster: String,
    /// The cluster it would match (`--against`).
    pub against: String,
    /// Each app both run, in the cluster's order, with its changes (none: the same in both).
    pub apps: Vec<PromotedApp>,
    /// Apps only `cluster` runs.
    pub only_in_cluster: Vec<String>,
    /// Apps only `against` runs.
    pub only_in_against: Vec<String>,
}

/// One app's changes in a promotion.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotedApp {
    /// The app.
    pub app: String,
    /// Value by value, by path (`helm.values.image.tag`, `workloads[api].replicas`).
    pub changes: Vec<ValueChange>,
}

/// One value that differs between the two clusters.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueChange {
    /// Its path below the app.
    pub path: String,
    /// `changed`, `added` (only `against` sets it) or `removed` (only `cluster` sets it).
    pub change: Change,
    /// The cluster's value (absent when added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Where in the fleet spec the cluster's value comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The value of `against` (absent when removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against_value: Option<serde_json::Value>,
    /// Where in the fleet spec the value of `against` comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against_place: Option<String>,
}

/// An app as a cluster of a fleet runs it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShownApp {
    /// The cluster.
    pub cluster: String,
    /// The app.
    pub app: String,
    /// Its effective value: the definition with the cluster's override merged over it.
    pub value: serde_json::Value,
    /// Where each value comes from: `{pointer, place}`, `pointer` a JSON pointer into `value`,
    /// `place` the file, line and column of the fleet spec (and whether the shared
    /// definition or the cluster's override wrote it).
    pub places: Vec<ValuePlace>,
}

/// Where one value of a shown app comes from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuePlace {
    /// A JSON pointer into the app's value.
    pub pointer: String,
    /// The place in the fleet spec.
    pub place: String,
}

/// What `check --staged` found outside the index, by repository-relative path.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StagedFiles {
    /// New files under the output that git does not track yet (listed when the staged tree
    /// is stale): `git add` them.
    pub untracked: Vec<String>,
    /// Files whose working copy differs from the staged one: the commit would not hold
    /// these versions. Any makes the exit code 1.
    pub unstaged: Vec<String>,
}

/// The report of one cluster of a fleet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterReport {
    /// The cluster's name.
    pub cluster: String,
    /// Its report, as a cluster spec's (without `fleet` and `clusters`).
    pub report: Report,
}

/// A command that reports in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CommandName {
    /// `gitopsc validate`.
    Validate,
    /// `gitopsc check`.
    Check,
    /// `gitopsc diff`.
    Diff,
    /// `gitopsc build`.
    Build,
    /// `gitopsc show`.
    Show,
}

impl CommandName {
    /// The command of a comparing run.
    pub fn of(mode: crate::commands::Mode) -> CommandName {
        match mode {
            crate::commands::Mode::Build { .. } => CommandName::Build,
            crate::commands::Mode::Check => CommandName::Check,
            crate::commands::Mode::Diff => CommandName::Diff,
        }
    }
}

/// One error or warning.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonDiagnostic {
    /// `error` stops the command; `warning` does not.
    pub severity: JsonSeverity,
    /// The stable code of the error index, e.g. `GSC0201` (`gitopsc explain GSC0201`).
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// The spec file the diagnostic points into, when it has a place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Where it starts: 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Where it starts: 1-based column, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// Where it ends (exclusive): 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
    /// Where it ends (exclusive): 1-based column, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
    /// A short note at the place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum JsonSeverity {
    /// The command fails (exit 2).
    Error,
    /// Reported; the command goes on.
    Warning,
}

/// What a valid spec holds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelSummary {
    /// The cluster's name.
    pub cluster: String,
    /// How many apps.
    pub apps: usize,
    /// How many Flux Kustomizations the tree holds.
    pub kustomizations: usize,
}

/// Counts of the rendered tree's files.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileCounts {
    /// Files the spec renders.
    pub total: usize,
    /// Files written (`build`).
    pub written: usize,
    /// Files deleted (`build`).
    pub removed: usize,
    /// Files in the way, left alone.
    pub blocked: usize,
}

/// A file that `build` writes or deletes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    /// The path relative to the output root.
    pub path: String,
    /// What happens to it.
    pub change: Change,
}

/// What happens to a file or an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// It is new.
    Added,
    /// It gets new content.
    Changed,
    /// It leaves.
    Removed,
}

/// A file in the way.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileConflict {
    /// The path relative to the output root.
    pub path: String,
    /// Why it is in the way.
    pub reason: ConflictKind,
    /// What is there instead of a file, for `notAFile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

/// Why a file is in the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ConflictKind {
    /// gitopsc did not write it.
    Foreign,
    /// gitopsc wrote it, and it was edited by hand since.
    HandEdited,
    /// gitopsc wrote it and no longer renders it, and it was edited by hand since.
    HandEditedStale,
    /// A symlink, a folder or another non-file is where a file goes.
    NotAFile,
}

/// A Kubernetes object.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`; absent for cluster-scoped objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

/// An object created, changed or deleted.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    /// What happens to it.
    pub change: Change,
    /// The object.
    pub object: Object,
}

/// A stateful object that leaves the tree.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeavingObject {
    /// The object.
    pub object: Object,
    /// The file it was in.
    pub path: String,
    /// Whether the live object is protected from pruning already.
    pub protected: bool,
}

/// A stateful object that moves to another Flux Kustomization.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MovingObject {
    /// The object.
    pub object: Object,
    /// The Flux Kustomization that applied it.
    pub from: String,
    /// The Flux Kustomization that applies it now.
    pub to: String,
    /// Whether the live object is protected from pruning already.
    pub protected: bool,
}

/// A database cluster change the live cluster does not follow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "change", rename_all = "camelCase")]
pub enum DatabaseAlarm {
    /// `spec.bootstrap` changed: CloudNative-PG reads it only when it creates the cluster.
    #[serde(rename_all = "camelCase")]
    Bootstrap {
        /// The cluster.
        object: Object,
        /// The `spec.bootstrap.initdb` fields that changed.
        fields: Vec<String>,
    },
    /// A cluster left and another came in its namespace: the app moves to a new, empty one.
    #[serde(rename_all = "camelCase")]
    Renamed {
        /// The cluster that leaves.
        from: Object,
        /// The cluster that comes.
        to: Object,
    },
}

/// A workload change a plain apply cannot carry out.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "change", rename_all = "camelCase")]
pub enum WorkloadAlarm {
    /// Fields the API server refuses to update changed: the object must be recreated.
    #[serde(rename_all = "camelCase")]
    Immutable {
        /// The workload.
        object: Object,
        /// The fields, as `spec.<field>`.
        fields: Vec<String>,
    },
    /// `spec.replicas` leaves the manifest (an autoscaler takes over): the live count can drop
    /// to 1 unless the field is handed over first.
    #[serde(rename_all = "camelCase")]
    ReplicasRemoved {
        /// The workload.
        object: Object,
        /// The count the previous tree set.
        replicas: String,
    },
}

impl Report {
    /// An empty report of `command` on `spec` (exit 0, nothing found yet).
    pub fn new(command: CommandName, spec: &str, out: Option<&str>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            command,
            ok: true,
            exit_code: 0,
            spec: spec.to_string(),
            out: out.map(str::to_string),
            diagnostics: Vec::new(),
            model: None,
            files: None,
            changes: Vec::new(),
            conflicts: Vec::new(),
            objects: Vec::new(),
            leaving: Vec::new(),
            moving: Vec::new(),
            databases: Vec::new(),
            workloads: Vec::new(),
            fleet: None,
            clusters: Vec::new(),
            staged: None,
            promotion: None,
            shown: None,
        }
    }

    /// Sets the exit code (and `ok` with it).
    pub fn exit(mut self, code: u8) -> Report {
        self.exit_code = code;
        self.ok = code == 0;
        self
    }

    /// Adds diagnostics, placed in `source` when they have a span.
    pub fn diagnostics(mut self, diags: &[Diagnostic], source: Option<&Source>) -> Report {
        self.diagnostics
            .extend(diags.iter().map(|d| JsonDiagnostic::new(d, source)));
        self
    }

    /// Adds the file changes and conflicts of a comparison.
    pub fn comparison(mut self, cmp: &Comparison) -> Report {
        self.changes = cmp
            .changes
            .iter()
            .map(|c| FileChange {
                path: c.path.clone(),
                change: match c.kind {
                    ChangeKind::Added => Change::Added,
                    ChangeKind::Changed => Change::Changed,
                    ChangeKind::Removed => Change::Removed,
                },
            })
            .collect();
        self.conflicts = cmp
            .conflicts
            .iter()
            .map(|c| {
                let (reason, found) = match &c.reason {
                    ConflictReason::Foreign => (ConflictKind::Foreign, None),
                    ConflictReason::HandEdited => (ConflictKind::HandEdited, None),
                    ConflictReason::HandEditedStale => (ConflictKind::HandEditedStale, None),
                    ConflictReason::NotAFile(what) => (ConflictKind::NotAFile, Some(what.clone())),
                };
                FileConflict {
                    path: c.path.clone(),
                    reason,
                    found,
                }
            })
            .collect();
        self
    }

    /// Adds the objects and the loud sections of a review.
    pub fn review(mut self, review: &Review) -> Report {
        let change = |change: Change| {
            move |id: &ObjectId| ObjectChange {
                change,
                object: object(id),
            }
        };
        self.objects = (review.added.iter().map(change(Change::Added)))
            .chain(review.changed.iter().map(change(Change::Changed)))
            .chain(review.removed.iter().map(change(Change::Removed)))
            .collect();
        self.leaving = review
            .leaving
            .iter()
            .map(|l| LeavingObject {
                object: object(&l.id),
                path: l.path.clone(),
                protected: l.protected,
            })
            .collect();
        self.moving = review
            .moving
            .iter()
            .map(|m| MovingObject {
                object: object(&m.id),
                from: m.from.clone(),
                to: m.to.clone(),
                protected: m.protected,
            })
            .collect();
        self.databases = review.databases.iter().map(database).collect();
        self.workloads = review.workloads.iter().map(workload).collect();
        self
    }

    /// A report from its text (as [`Report::to_text`] writes it).
    pub fn parse(text: &str) -> Option<Report> {
        serde_json::from_str(text).ok()
    }

    /// The report as the pretty-printed JSON text printed on stdout.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a report always serializes");
        text.push('\n');
        text
    }
}

impl JsonDiagnostic {
    fn new(d: &Diagnostic, source: Option<&Source>) -> JsonDiagnostic {
        let place = source.zip(d.span).map(|(src, span)| {
            // A spec of several files: the name and line numbers are those of the span's file.
            let first = src.first_line_at(span.start);
            let (line, column) = src.line_col(span.start);
            let (end_line, end_column) = src.line_col(span.end);
            let name = src.name_at(span.start).to_string();
            (name, line - first, column, end_line - first, end_column)
        });
        JsonDiagnostic {
            severity: match d.severity {
                Severity::Error => JsonSeverity::Error,
                Severity::Warning => JsonSeverity::Warning,
            },
            code: d.code.as_str().to_string(),
            message: d.message.clone(),
            file: place.as_ref().map(|p| p.0.clone()),
            line: place.as_ref().map(|p| p.1),
            column: place.as_ref().map(|p| p.2),
            end_line: place.as_ref().map(|p| p.3),
            end_column: place.as_ref().map(|p| p.4),
            label: d.label.clone().filter(|_| place.is_some()),
            help: d.help.clone(),
        }
    }
}

fn object(id: &ObjectId) -> Object {
    Object {
        api_version: id.api_version.clone(),
        kind: id.kind.clone(),
        namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
        name: id.name.clone(),
    }
}

fn database(change: &DatabaseChange) -> DatabaseAlarm {
    match change {
        DatabaseChange::Bootstrap { id, fields } => DatabaseAlarm::Bootstrap {
            object: object(id),
            fields: fields.clone(),
        },
        DatabaseChange::Renamed { from, to } => DatabaseAlarm::Renamed {
            from: object(from),
            to: object(to),
        },
    }
}

fn workload(change: &WorkloadChange) -> WorkloadAlarm {
    match change {
        WorkloadChange::Immutable { id, fields } => WorkloadAlarm::Immutable {
            object: object(id),
            fields: fields.iter().map(|f| format!("spec.{f}")).collect(),
        },
        WorkloadChange::ReplicasRemoved { id, replicas } => WorkloadAlarm::ReplicasRemoved {
            object: object(id),
            replicas: replicas.clone(),
        },
    }
}

/// The JSON Schema of the format, as the pretty-printed text committed in
/// `schemas/json-output.schema.json`.
pub fn schema_text() -> String {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Report>()
        .to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            serde_json::Value::String("https://gitopsc.io/schemas/json-output.schema.json".into()),
        );
    }
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}
