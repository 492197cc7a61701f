//! A workload's pod template read back into the fields of its `workloads` entry: the
//! container (image, command, args, ports, env, probes, resources), files and scratch
//! directories, init containers and sidecars, security context and scheduling. Every field it
//! does not read stays in the [`Rest`] and is named in the notes.

use super::rest::Rest;
use crate::spec::workload::IDENTITY_VOLUME;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The pod-template annotations gitopsc writes itself (it computes them again).
const CHECKSUMS: [&str; 2] = ["checksum/config", "checksum/externalsecret-spec"];

/// What a pod template says, as `workloads` fields.
pub struct Pod<'a> {
    /// The workload's name (its default container name).
    pub name: &'a str,
    /// The selector labels gitopsc derives for the workload.
    pub selector: &'a Map<String, Value>,
    /// True for a Job or CronJob.
    pub runs_to_completion: bool,
    /// The fields read, by the spec's names.
    pub fields: Map<String, Value>,
    /// The ConfigMaps (and keys, none for all) the pod reads.
    pub config_maps: BTreeMap<String, BTreeSet<String>>,
    /// Dotted paths of what the spec cannot say.
    pub unread: Vec<String>,
    /// The pod's volumes by name.
    pub(super) volumes: BTreeMap<String, Value>,
    /// The volumes some container mounts.
    pub(super) mounted: BTreeSet<String>,
    /// The names of the StatefulSet's claim templates, which containers mount by name.
    pub claims: BTreeMap<String, Option<String>>,
    /// Where the workload's container mounts gitopsc's pod-name volume (`instanceIdentity`).
    pub identity_path: Option<String>,
}

impl<'a> Pod<'a> {
    /// A reader of the pod template of workload `name`.
    pub fn new(name: &'a str, selector: &'a Map<String, Value>, runs_to_completion: bool) -> Pod<'a> {
        Pod {
            name,
            selector,
            runs_to_completion,
            fields: Map::new(),
            config_maps: BTreeMap::new(),
            unread: Vec::new(),
            volumes: BTreeMap::new(),
            mounted: BTreeSet::new(),
            claims: BTreeMap::new(),
            identity_path: None,
        }
    }

    /// Reads the pod template `template` (found at dotted path `at`).
    pub fn read(&mut self, template: Value, at: &str) {
        let mut rest = Rest::new(template, at);
        let labels = rest.take_map("/metadata/labels");
        let own: Map<String, Value> = labels
            .into_iter()
            .filter(|(k, v)| self.selector.get(k) != Some(v))
            .collect();
        self.set("labels", Value::Object(own));
        let annotations: Map<String, Value> = rest
            .take_map("/metadata/annotations")
            .into_iter()
            .filter(|(k, _)| !CHECKSUMS.contains(&k.as_str()))
            .collect();
        self.set("annotations", Value::Object(annotations));
        // The token is mounted as the account's rules say (compared when the spec renders);
        // with no account, the namespace's default one runs the pod without a token.
        match rest.take_str("/spec/serviceAccountName") {
            Some(account) => {
                self.set("serviceAccount", json!(account));
                rest.take("/spec/automountServiceAccountToken");
            }
            None if rest.peek("/spec/automountServiceAccountToken") == Some(&json!(false)) => {
                rest.take("/spec/automountServiceAccountToken");
            }
            None => {}
        }
        if self.runs_to_completion
            && let Some(policy) = rest.take_str("/spec/restartPolicy")
            && policy != "OnFailure"
        {
            self.job_field("restartPolicy", json!(policy));
        }
        self.moved(
            &mut rest,
            "/spec/terminationGracePeriodSeconds",
            "terminationGracePeriodSeconds",
        );
        self.moved(&mut rest, "/spec/nodeSelector", "nodeSelector");
        let secrets: Vec<Value> = rest
            .take_list("/spec/imagePullSecrets")
            .into_iter()
            .filter_map(|s| self.only_name(s, &rest.path("/spec/imagePullSecrets")))
            .collect();
        self.set("imagePullSecrets", Value::Array(secrets));
        self.security(&mut rest);
        self.scheduling(&mut rest);
        for volume in rest.take_list("/spec/volumes") {
            match volume.get("name").and_then(Value::as_str) {
                Some(name) => {
                    self.volumes.insert(name.to_string(), volume);
                }
                None => self.unread.push(rest.path("/spec/volumes")),
            }
        }
        // The workload's own container comes first; the others run beside it.
        let main_at = rest.path("/spec/containers");
        let mut containers = rest.take_list("/spec/containers").into_iter();
        match containers.next() {
            Some(main) => self.main_container(main, &format!("{main_at}[0]")),
            None => self.unread.push(main_at.clone()),
        }
        let extra: Vec<Value> = containers
            .enumerate()
            .filter_map(|(i, c)| self.extra_container(c, &format!("{main_at}[{}]", i + 1)))
            .collect();
        if !extra.is_empty() {
            self.set("containers", Value::Array(extra));
        }
        let init_at = rest.path("/spec/initContainers");
        let inits: Vec<Value> = rest
            .take_list("/spec/initContainers")
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| self.init_container(c, &format!("{init_at}[{i}]")))
            .collect();
        self.set("initContainers", Value::Array(inits));
        for name in self.volumes.keys().filter(|n| !self.mounted.contains(*n)) {
            self.unread
                .push(format!("{} `{name}`", rest.path("/spec/volumes")));
        }
        self.unread.extend(rest.left());
    }

    /// Sets a field unless it is empty (the spec's default).
    pub fn set(&mut self, field: &str, value: Value) {
        let empty = match &value {
            Value::Object(m) => m.is_empty(),
            Value::Array(l) => l.is_empty(),
            Value::Null => true,
            _ => false,
        };
        if !empty {
            self.fields.insert(field.into(), value);
        }
    }

    /// Adds `security` to the workload's `securityContext` (the pod's and the container's
    /// settings share it).
    pub(super) fn merge_security(&mut self, security: Map<String, Value>) {
        let mut fields = match self.fields.remove("securityContext") {
            Some(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        fields.extend(security);
        self.set("securityContext", Value::Object(fields));
    }

    /// Sets a field of `job`.
    pub fn job_field(&mut self, field: &str, value: Value) {
        let job = self.fields.entry("job").or_insert_with(|| json!({}));
        if let Some(job) = job.as_object_mut() {
            job.insert(field.into(), value);
        }
    }

    /// Moves a value as it is from the object to a field.
    fn moved(&mut self, rest: &mut Rest, pointer: &str, field: &str) {
        if let Some(value) = rest.take(pointer) {
            self.set(field, value);
        }
    }

    /// The name of `{name: x}`, or the entry named as unread.
    fn only_name(&mut self, entry: Value, at: &str) -> Option<Value> {
        match entry.as_object().map(|m| (m.len(), m.get("name"))) {
            Some((1, Some(name @ Value::String(_)))) => Some(name.clone()),
            _ => {
                self.unread.push(at.to_string());
                None
            }
        }
    }

    /// The pod's security context (the containers' is read from the workload's container).
    fn security(&mut self, rest: &mut Rest) {
        let mut security = Map::new();
        if let Some(Value::Bool(false)) = rest.take("/spec/securityContext/runAsNonRoot") {
            security.insert("runAsNonRoot".into(), json!(false));
        }
        match rest
            .take_str("/spec/securityContext/seccompProfile/type")
            .as_deref()
        {
            None | Some("RuntimeDefault") => {}
            Some(other) => {
                security.insert("seccompProfile".into(), json!(other));
            }
        }
        for field in ["runAsUser", "runAsGroup", "fsGroup"] {
            if let Some(v) = rest.take(&format!("/spec/securityContext/{field}")) {
                security.insert(field.into(), v);
            }
        }
        self.merge_security(security);
    }

    /// Anti-affinity in gitopsc's two shapes, and topology spread over the workload's pods.
    fn scheduling(&mut self, rest: &mut Rest) {
        let term =
            json!({"labelSelector": {"matchLabels": self.selector}, "topologyKey": "kubernetes.io/hostname"});
        let preferred = json!({"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}});
        let required = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}});
        let affinity = rest.take("/spec/affinity");
        let parallel = self
            .fields
            .get("job")
            .and_then(|j| j.get("parallelism"))
            .and_then(Value::as_u64)
            .unwrap_or(1)
            > 1;
        // A Job running one pod at a time gets no anti-affinity by default.
        let default_applies = !self.runs_to_completion || parallel;
        match affinity {
            None if default_applies => {
                self.fields.insert("antiAffinity".into(), json!("none"));
            }
            None => {}
            Some(a) if a == preferred && default_applies => {}
            Some(a) if a == required => {
                self.fields.insert("antiAffinity".into(), json!("required"));
            }
            Some(a) => rest.put_back("/spec/affinity", a),
        }
        let at = rest.path("/spec/topologySpreadConstraints");
        let mut spread = Vec::new();
        for (i, mut c) in rest
            .take_list("/spec/topologySpreadConstraints")
            .into_iter()
            .enumerate()
        {
            let selector = c.as_object_mut().and_then(|m| m.remove("labelSelector"));
            let keys: BTreeSet<&str> = c
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let known = BTreeSet::from(["maxSkew", "topologyKey", "whenUnsatisfiable"]);
            if selector != Some(json!({"matchLabels": self.selector})) || !keys.is_subset(&known) {
                self.unread.push(format!("{at}[{i}]"));
                continue;
            }
            spread.push(c);
        }
        self.set("topologySpread", Value::Array(spread));
    }
}

impl Pod<'_> {
    /// A StatefulSet's `instanceIdentity`: the variables gitopsc appends to the container's env
    /// (the pod name, the ordinal, the count equal to `replicas`) and the pod-name volume. Read
    /// when the volume is there or the variables have their default names.
    pub fn identity(&mut self) {
        let replicas = self.fields.get("replicas").cloned().unwrap_or(json!(1));
        let total = json!(replicas.to_string());
        let env = self
            .fields
            .get("env")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let var = |i: usize, field: &str| -> Option<String> {
            let v = env.get(i)?.as_object()?;
            (v.len() == 2).then_some(())?;
            let name = v.get("name")?.as_str()?.to_string();
            match field {
                "total" => (v.get("value") == Some(&total)).then_some(name),
                field => (v.get("field") == Some(&json!(field))).then_some(name),
            }
        };
        let n = env.len();
        let found = n.checked_sub(1).and_then(|last| {
            let total = var(last, "total")?;
            let ordinal = last.checked_sub(1).and_then(|i| var(i, "podIndex"));
            let at = last.checked_sub(1 + usize::from(ordinal.is_some()))?;
            Some((var(at, "podName")?, ordinal, total, at))
        });
        let Some((pod_name, ordinal, total, at)) = found else {
            if self.identity_path.is_some() {
                self.unread.push(format!(
                    "volume `{IDENTITY_VOLUME}` (without the instance identity's env)"
                ));
            }
            return;
        };
        let defaults = pod_name == "POD_NAME" && total == "TOTAL_INSTANCES";
        if self.identity_path.is_none() && !defaults {
            return;
        }
        let mut identity = Map::new();
        if pod_name != "POD_NAME" {
            identity.insert("podNameEnv".into(), json!(pod_name));
        }
        if let Some(ordinal) = ordinal {
            identity.insert("ordinalEnv".into(), json!(ordinal));
        }
        if total != "TOTAL_INSTANCES" {
            identity.insert("totalEnv".into(), json!(total));
        }
        if let Some(path) = self.identity_path.take() {
            identity.insert("volumePath".into(), json!(path));
        }
        let rest: Vec<Value> = env[..at].to_vec();
        self.fields.remove("env");
        self.set("env", Value::Array(rest));
        self.fields
            .insert("instanceIdentity".into(), Value::Object(identity));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_with_env(env: Value, replicas: u64) -> Pod<'static> {
        static SELECTOR: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let mut pod = Pod::new("db", SELECTOR.get_or_init(Map::new), false);
        pod.fields.insert("env".into(), env);
        pod.fields.insert("replicas".into(), json!(replicas));
        pod
    }

    #[test]
    fn an_instance_identity_is_read_from_the_end_of_the_env() {
        let mut pod = pod_with_env(
            json!([{"name": "A", "value": "1"}, {"name": "POD_NAME", "field": "podName"},
                   {"name": "ORD", "field": "podIndex"}, {"name": "TOTAL_INSTANCES", "value": "3"}]),
            3,
        );
        pod.identity();
        assert_eq!(pod.fields["instanceIdentity"], json!({"ordinalEnv": "ORD"}));
        assert_eq!(pod.fields["env"], json!([{"name": "A", "value": "1"}]));
    }

    #[test]
    fn variables_of_other_names_without_the_volume_stay_variables() {
        let env = json!([{"name": "ME", "field": "podName"}, {"name": "N", "value": "2"}]);
        let mut pod = pod_with_env(env.clone(), 2);
        pod.identity();
        assert_eq!(pod.fields.get("instanceIdentity"), None);
        assert_eq!(pod.fields["env"], env);
        // A count other than `replicas` is no instance identity either.
        let mut pod = pod_with_env(
            json!([{"name": "POD_NAME", "field": "podName"}, {"name": "TOTAL_INSTANCES", "value": "5"}]),
            2,
        );
        pod.identity();
        assert_eq!(pod.fields.get("instanceIdentity"), None);
    }
}
