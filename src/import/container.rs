//! A workload's containers read back: the workload's own container and its init containers
//! and sidecars, their env, probes, ports, resources and mounts.

use super::pod::Pod;
use super::rest::Rest;
use crate::spec::workload::IDENTITY_VOLUME;
use serde_json::{Map, Value, json};

/// The `fieldRef` paths the spec's `env[].field` names.
const FIELDS: [(&str, &str); 7] = [
    ("metadata.name", "podName"),
    ("metadata.namespace", "namespace"),
    ("metadata.uid", "podUid"),
    ("status.podIP", "podIp"),
    ("spec.nodeName", "nodeName"),
    ("spec.serviceAccountName", "serviceAccount"),
    ("metadata.labels['apps.kubernetes.io/pod-index']", "podIndex"),
];

impl Pod<'_> {
    /// The workload's own container.
    pub fn main_container(&mut self, container: Value, at: &str) {
        let mut rest = Rest::new(container, at);
        match rest.take_str("/name") {
            Some(name) if name == self.name => {}
            Some(name) => self.set("containerName", json!(name)),
            None => {}
        }
        for field in ["image", "imagePullPolicy"] {
            if let Some(v) = rest.take_str(&format!("/{field}")) {
                self.set(field, json!(v));
            }
        }
        let common = self.common(&mut rest, true);
        for (field, value) in common {
            self.set(&field, value);
        }
        let probes = self.probes(&mut rest);
        self.set("probes", Value::Object(probes));
        let mut security = Map::new();
        if rest.peek("/securityContext/capabilities/drop") == Some(&json!(["ALL"])) {
            rest.take("/securityContext/capabilities/drop");
        }
        if let Some(add) = rest.take("/securityContext/capabilities/add") {
            security.insert("addCapabilities".into(), add);
        }
        for field in ["allowPrivilegeEscalation", "readOnlyRootFilesystem"] {
            match rest.take(&format!("/securityContext/{field}")) {
                Some(Value::Bool(false)) => {}
                Some(v) => {
                    security.insert(field.into(), v);
                }
                None => {}
            }
        }
        self.merge_security(security);
        self.mounts(&mut rest, None);
        self.unread.extend(rest.left());
    }

    /// The liveness, readiness and startup probes of a container, taken out of `rest`.
    fn probes(&mut self, rest: &mut Rest) -> Map<String, Value> {
        let mut probes = Map::new();
        for (field, name) in [
            ("livenessProbe", "liveness"),
            ("readinessProbe", "readiness"),
            ("startupProbe", "startup"),
        ] {
            if let Some(probe) = rest.take(&format!("/{field}")) {
                match probe_of(probe, &rest.path(&format!("/{field}"))) {
                    Ok(p) => {
                        probes.insert(name.into(), p);
                    }
                    Err(path) => self.unread.push(path),
                }
            }
        }
        probes
    }

    /// A container beside the workload's own, as a `containers` entry.
    pub fn extra_container(&mut self, container: Value, at: &str) -> Option<Value> {
        self.other_container(container, at, false)
    }

    /// An init container or sidecar, as an `initContainers` entry.
    pub fn init_container(&mut self, container: Value, at: &str) -> Option<Value> {
        self.other_container(container, at, true)
    }

    /// A container other than the workload's own: an init container or sidecar (`init`), or
    /// one beside the workload's.
    fn other_container(&mut self, container: Value, at: &str, init: bool) -> Option<Value> {
        let mut rest = Rest::new(container, at);
        let mut entry = Map::new();
        entry.insert("name".into(), json!(rest.take_str("/name")));
        if let Some(image) = rest.take_str("/image")
            && self.fields.get("image") != Some(&json!(image))
        {
            entry.insert("image".into(), json!(image));
        }
        // The workload's pull policy and security context: compared when the spec renders.
        rest.take("/imagePullPolicy");
        rest.take("/securityContext");
        match rest.take_str("/restartPolicy").as_deref() {
            Some("Always") if init => {
                entry.insert("sidecar".into(), json!(true));
            }
            Some(other) => rest.put_back("/restartPolicy", json!(other)),
            None => {}
        }
        // Containers that keep running have ports and probes; those that run to completion not.
        let running = !init || entry.contains_key("sidecar");
        entry.extend(self.common(&mut rest, running));
        if running {
            let probes = self.probes(&mut rest);
            if !probes.is_empty() {
                entry.insert("probes".into(), Value::Object(probes));
            }
        }
        self.mounts(&mut rest, Some(&mut entry));
        let left = rest.left();
        let read = left.is_empty();
        self.unread.extend(left);
        read.then_some(Value::Object(entry))
    }

    /// What both kinds of container say alike: command, args, ports, env, envFrom, resources.
    fn common(&mut self, rest: &mut Rest, ports: bool) -> Map<String, Value> {
        let mut out = Map::new();
        for field in ["command", "args"] {
            let list = rest.take_list(&format!("/{field}"));
            if list.iter().all(Value::is_string) {
                if !list.is_empty() {
                    out.insert(field.into(), Value::Array(list));
                }
            } else {
                rest.put_back(&format!("/{field}"), Value::Array(list));
            }
        }
        if ports {
            let at = rest.path("/ports");
            let read: Vec<Value> = rest
                .take_list("/ports")
                .into_iter()
                .enumerate()
                .filter_map(|(i, p)| self.port(p, &format!("{at}[{i}]")))
                .collect();
            if !read.is_empty() {
                out.insert("ports".into(), Value::Array(read));
            }
        }
        let at = rest.path("/env");
        let env: Vec<Value> = rest
            .take_list("/env")
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| self.env_var(v, &format!("{at}[{i}]")))
            .collect();
        if !env.is_empty() {
            out.insert("env".into(), Value::Array(env));
        }
        let at = rest.path("/envFrom");
        let from: Vec<Value> = rest
            .take_list("/envFrom")
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| self.env_from(v, &format!("{at}[{i}]")))
            .collect();
        if !from.is_empty() {
            out.insert("envFrom".into(), Value::Array(from));
        }
        let mut resources = Map::new();
        for field in ["requests", "limits"] {
            let map = rest.take_map(&format!("/resources/{field}"));
            if !map.is_empty() {
                resources.insert(field.into(), Value::Object(map));
            }
        }
        if !resources.is_empty() {
            out.insert("resources".into(), Value::Object(resources));
        }
        out
    }

    /// A named container port.
    fn port(&mut self, port: Value, at: &str) -> Option<Value> {
        let mut rest = Rest::new(port, at);
        let (Some(name), Some(number)) = (rest.take_str("/name"), rest.take("/containerPort")) else {
            self.unread.push(format!("{at} (a port needs a name)"));
            return None;
        };
        let mut out = json!({"name": name, "port": number});
        match rest.take_str("/protocol").as_deref() {
            None | Some("TCP") => {}
            Some(other) => out["protocol"] = json!(other),
        }
        self.finished(rest, out)
    }

    /// One `env` entry: a value, a ConfigMap or Secret key, or a field of the pod.
    fn env_var(&mut self, var: Value, at: &str) -> Option<Value> {
        let mut rest = Rest::new(var, at);
        let name = rest.take_str("/name")?;
        let mut out = json!({"name": name});
        if let Some(value) = rest.take_str("/value") {
            // `((...))` would be read as a reference to what gitopsc generates.
            if value.contains("((") {
                rest.put_back("/value", json!(value));
            } else {
                out["value"] = json!(value);
            }
        } else if let Some(key) = rest.take_str("/valueFrom/configMapKeyRef/key") {
            let cm = rest
                .take_str("/valueFrom/configMapKeyRef/name")
                .unwrap_or_default();
            self.config_maps
                .entry(cm.clone())
                .or_default()
                .insert(key.clone());
            out["configMap"] = json!({"name": cm, "key": key});
        } else if let Some(key) = rest.take_str("/valueFrom/secretKeyRef/key") {
            let secret = rest.take_str("/valueFrom/secretKeyRef/name").unwrap_or_default();
            out["secret"] = json!({"name": secret, "key": key});
        } else if let Some(path) = rest.take_str("/valueFrom/fieldRef/fieldPath") {
            match FIELDS.iter().find(|(p, _)| *p == path) {
                Some((_, field)) => out["field"] = json!(field),
                None => rest.put_back("/valueFrom/fieldRef/fieldPath", json!(path)),
            }
        }
        self.finished(rest, out)
    }

    /// One `envFrom` entry: every key of a ConfigMap or a Secret.
    fn env_from(&mut self, from: Value, at: &str) -> Option<Value> {
        let mut rest = Rest::new(from, at);
        let mut out = Map::new();
        if let Some(cm) = rest.take_str("/configMapRef/name") {
            self.config_maps.insert(cm.clone(), Default::default());
            out.insert("configMap".into(), json!(cm));
        } else if let Some(secret) = rest.take_str("/secretRef/name") {
            out.insert("secret".into(), json!(secret));
        }
        if let Some(prefix) = rest.take_str("/prefix") {
            out.insert("prefix".into(), json!(prefix));
        }
        self.finished(rest, Value::Object(out))
    }

    /// The container's volume mounts: files of ConfigMaps and Secrets, scratch directories
    /// and claims (the workload's own container gives their paths, an init container mounts
    /// them by name into `entry`).
    fn mounts(&mut self, rest: &mut Rest, mut entry: Option<&mut Map<String, Value>>) {
        let at = rest.path("/volumeMounts");
        let mut files = Vec::new();
        let mut named = Vec::new();
        for (i, mount) in rest.take_list("/volumeMounts").into_iter().enumerate() {
            let at = format!("{at}[{i}]");
            let mut mount = Rest::new(mount, &at);
            let (Some(name), Some(path)) = (mount.take_str("/name"), mount.take_str("/mountPath")) else {
                self.unread.push(at);
                continue;
            };
            let read_only = mount.take("/readOnly") == Some(json!(true));
            let Some(volume) = self.volumes.get(&name).cloned() else {
                if let Some(claim) = self.claims.get_mut(&name) {
                    match entry.as_deref_mut() {
                        None => *claim = Some(path),
                        Some(_) => named.push(json!(name)),
                    }
                    self.unread.extend(mount.left());
                } else {
                    self.unread.push(format!("{at} (no volume `{name}`)"));
                }
                continue;
            };
            self.mounted.insert(name.clone());
            let mut volume = Rest::new(volume, &format!("volume `{name}`"));
            volume.take("/name");
            let identity =
                json!({"items": [{"path": "pod-name", "fieldRef": {"fieldPath": "metadata.name"}}]});
            if name == IDENTITY_VOLUME
                && read_only
                && entry.is_none()
                && volume.peek("/downwardAPI") == Some(&identity)
            {
                volume.take("/downwardAPI");
                self.identity_path = Some(path);
            } else if read_only && let Some(file) = file_of(&mut volume, &path) {
                if let Some(cm) = file.get("configMap").and_then(Value::as_str) {
                    let keys = file.get("items").and_then(Value::as_array).into_iter().flatten();
                    let keys = keys.filter_map(Value::as_str).map(String::from);
                    self.config_maps.entry(cm.to_string()).or_default().extend(keys);
                }
                files.push(file);
            } else if let Some(empty) = volume.take("/emptyDir") {
                match entry.as_deref_mut() {
                    None => self.empty_dir(&name, &path, empty),
                    Some(_) => named.push(json!(name)),
                }
            }
            self.unread.extend(mount.left());
            self.unread.extend(volume.left());
        }
        let put = |field: &str, list: Vec<Value>, fields: &mut Map<String, Value>| {
            if !list.is_empty() {
                fields.insert(field.into(), Value::Array(list));
            }
        };
        match entry {
            Some(entry) => {
                put("files", files, entry);
                put("mounts", named, entry);
            }
            None => put("files", files, &mut self.fields),
        }
    }

    /// An `emptyDirs` entry.
    fn empty_dir(&mut self, name: &str, path: &str, empty: Value) {
        let mut dir = json!({"name": name, "mountPath": path});
        let mut rest = Rest::new(empty, &format!("volume `{name}`.emptyDir"));
        if rest.take_str("/medium").as_deref() == Some("Memory") {
            dir["memory"] = json!(true);
        }
        if let Some(limit) = rest.take("/sizeLimit") {
            dir["sizeLimit"] = limit;
        }
        self.unread.extend(rest.left());
        let dirs = self.fields.entry("emptyDirs").or_insert_with(|| json!([]));
        if let Some(list) = dirs.as_array_mut() {
            list.push(dir);
        }
    }

    /// `value` when all of `rest` was read; otherwise what was not is named.
    fn finished(&mut self, rest: Rest, value: Value) -> Option<Value> {
        let left = rest.left();
        if left.is_empty() {
            return Some(value);
        }
        self.unread.extend(left);
        None
    }
}

/// A probe: HTTP GET, TCP or exec, and its timing.
fn probe_of(probe: Value, at: &str) -> Result<Value, String> {
    let mut rest = Rest::new(probe, at);
    let mut out = Map::new();
    if let Some(port) = rest.take("/httpGet/port") {
        let path = rest.take_str("/httpGet/path").unwrap_or_else(|| "/".into());
        out.insert("http".into(), json!({"path": path, "port": port}));
    } else if let Some(port) = rest.take("/tcpSocket/port") {
        out.insert("tcp".into(), json!({"port": port}));
    } else if let Some(command) = rest.take("/exec/command") {
        out.insert("exec".into(), command);
    }
    for field in [
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "failureThreshold",
        "successThreshold",
    ] {
        if let Some(v) = rest.take(&format!("/{field}")) {
            out.insert(field.into(), v);
        }
    }
    match rest.left().first() {
        None => Ok(Value::Object(out)),
        Some(path) => Err(path.clone()),
    }
}

/// A `files` entry from a `configMap` or `secret` volume mounted read-only at `path`: the
/// whole object, or keys each at its own name.
fn file_of(volume: &mut Rest, path: &str) -> Option<Value> {
    let (field, pointer, source) = if volume.peek("/configMap").is_some() {
        ("configMap", "/configMap/name", "/configMap")
    } else if volume.peek("/secret").is_some() {
        ("secret", "/secret/secretName", "/secret")
    } else {
        return None;
    };
    let items = volume.peek(&format!("{source}/items")).cloned();
    let keys: Option<Vec<Value>> = match &items {
        None => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let key = i.get("key")?;
                (i.get("path") == Some(key) && i.as_object()?.len() == 2).then(|| key.clone())
            })
            .collect(),
        Some(_) => None,
    };
    let keys = keys?;
    let name = volume.take_str(pointer)?;
    volume.take(&format!("{source}/items"));
    let mut file = json!({field: name, "mountPath": path});
    if !keys.is_empty() {
        file["items"] = Value::Array(keys);
    }
    Some(file)
}
