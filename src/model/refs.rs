//! Compile-time references: `((postgres.host))` in chart values and secret fields names what
//! gitopsc itself generates. The `(( ))` form cannot collide with Helm's `{{ }}`, ESO's
//! `{{ .x }}`, Flux's `${VAR}` or Kubernetes' `$(VAR)`. A string that is one reference takes
//! the referenced value's type (a port stays a number); a reference inside a longer string is
//! interpolated. Unknown references are errors that list what can be referenced.

use crate::spec::path::SpecPath;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What an app can reference, by name.
#[derive(Debug, Default, Clone)]
pub struct Refs {
    map: BTreeMap<String, Value>,
}

/// A reference that names nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRef {
    /// The place of the string holding it.
    pub pointer: SpecPath,
    /// The reference's name.
    pub name: String,
}

impl Refs {
    /// Adds a referenceable value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.map.insert(name.into(), value.into());
    }

    /// Adds every reference of `other`.
    pub fn merge(&mut self, other: Refs) {
        self.map.extend(other.map);
    }

    /// The names that can be referenced.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

/// How an app references another.
#[derive(Debug, Default)]
pub struct UsedApp {
    /// The place of the first reference (when resolved by [`Scope::resolve_at`]).
    pub place: Option<SpecPath>,
    /// The names referenced, without `apps.<app>.`.
    pub keys: std::collections::BTreeSet<String>,
}

/// What one app sees: its own references, and every app's as `apps.<app>.<name>`.
pub struct Scope<'a> {
    /// The app's own references.
    pub own: &'a Refs,
    /// Every app's references as other namespaces see them (hosts fully qualified), by app.
    pub all: &'a BTreeMap<String, Refs>,
    /// The other apps referenced so far, by name.
    pub used_apps: std::cell::RefCell<BTreeMap<String, UsedApp>>,
}

impl Scope<'_> {
    /// The value of a reference.
    pub fn get(&self, name: &str) -> Option<&Value> {
        if let Some(rest) = name.strip_prefix("apps.")
            && let Some((app, key)) = rest.split_once('.')
        {
            let found = self.all.get(app).and_then(|r| r.map.get(key));
            if found.is_some() {
                let mut used = self.used_apps.borrow_mut();
                used.entry(app.to_string())
                    .or_default()
                    .keys
                    .insert(key.to_string());
            }
            return found;
        }
        self.own.map.get(name)
    }

    /// A short list of what can be referenced, for error messages.
    pub fn describe(&self) -> String {
        let own: Vec<String> = self.own.names().map(|n| format!("`{n}`")).collect();
        let mut text = if own.is_empty() {
            "nothing of its own".to_string()
        } else {
            own.join(", ")
        };
        text.push_str(", and `apps.<app>.<name>` for another app's");
        text
    }

    /// The referenceable name nearest to `name`, for a did-you-mean.
    pub fn suggest(&self, name: &str) -> Option<String> {
        let others = self
            .all
            .iter()
            .flat_map(|(app, refs)| refs.names().map(move |n| format!("apps.{app}.{n}")));
        let names: Vec<String> = self.own.names().map(str::to_string).chain(others).collect();
        crate::spec::schema::did_you_mean(name, names.iter().map(String::as_str)).map(str::to_string)
    }

    /// Resolves the references in the string at `at`, which places the first reference to
    /// each other app.
    pub fn resolve_at(&self, s: &str, at: &SpecPath) -> Result<Value, String> {
        let resolved = self.resolve_str(s);
        for used in self.used_apps.borrow_mut().values_mut() {
            used.place.get_or_insert_with(|| at.clone());
        }
        resolved
    }

    /// Resolves the references in one string.
    pub fn resolve_str(&self, s: &str) -> Result<Value, String> {
        let spans = find(s);
        if spans.is_empty() {
            return Ok(Value::String(s.to_string()));
        }
        if let [(0, end, name)] = spans.as_slice()
            && *end == s.len()
        {
            return self.get(name).cloned().ok_or_else(|| name.to_string());
        }
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (start, end, name) in spans {
            out.push_str(&s[at..start]);
            match self.get(name) {
                Some(Value::String(v)) => out.push_str(v),
                Some(other) => out.push_str(&other.to_string()),
                None => return Err(name.to_string()),
            }
            at = end;
        }
        out.push_str(&s[at..]);
        Ok(Value::String(out))
    }

    /// Resolves every reference in a JSON mapping, in place (keys are left as written).
    /// `pointer` is the mapping's JSON pointer, to place the unknown references.
    pub fn resolve_map(
        &self,
        map: &mut Map<String, Value>,
        pointer: &SpecPath,
        unknown: &mut Vec<UnknownRef>,
    ) {
        let mut path = Vec::new();
        for (key, item) in map.iter_mut() {
            path.push(Step::Key(key));
            self.walk(item, &mut path, pointer, unknown);
            path.pop();
        }
    }

    fn walk<'v>(
        &self,
        value: &'v mut Value,
        path: &mut Vec<Step<'v>>,
        base: &SpecPath,
        unknown: &mut Vec<UnknownRef>,
    ) {
        if let Value::String(s) = &*value {
            if s.contains("((") {
                let at = pointer(base, path);
                match self.resolve_at(s, &at) {
                    Ok(resolved) => *value = resolved,
                    Err(name) => unknown.push(UnknownRef { pointer: at, name }),
                }
            }
            return;
        }
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(Step::Index(i));
                    self.walk(item, path, base, unknown);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    path.push(Step::Key(key));
                    self.walk(item, path, base, unknown);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

/// One step of a path into a JSON value.
enum Step<'v> {
    Key(&'v str),
    Index(usize),
}

/// The place of a path below `base`.
fn pointer(base: &SpecPath, path: &[Step]) -> SpecPath {
    path.iter().fold(base.clone(), |at, step| match step {
        Step::Key(k) => at.key(k),
        Step::Index(i) => at.index(*i),
    })
}

/// The `((name))` references in `s`: (start, end, name).
fn find(s: &str) -> Vec<(usize, usize, &str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = s[from..].find("((") {
        let start = from + open;
        let Some(close) = s[start + 2..].find("))") else {
            break;
        };
        let name = s[start + 2..start + 2 + close].trim();
        let end = start + 2 + close + 2;
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            found.push((start, end, name));
        }
        from = end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_references_keep_their_type_and_embedded_ones_interpolate() {
        let mut refs = Refs::default();
        refs.insert("postgres.host", "pg-rw");
        refs.insert("postgres.port", 5432);
        let all = BTreeMap::new();
        let refs = Scope {
            own: &refs,
            all: &all,
            used_apps: Default::default(),
        };
        assert_eq!(refs.resolve_str("((postgres.port))").unwrap(), json!(5432));
        assert_eq!(
            refs.resolve_str("postgres://((postgres.host)):((postgres.port))/x")
                .unwrap(),
            json!("postgres://pg-rw:5432/x")
        );
        assert_eq!(
            refs.resolve_str("{{ .Values.x }} ${VAR} $(X)").unwrap(),
            json!("{{ .Values.x }} ${VAR} $(X)")
        );
        assert_eq!(refs.resolve_str("((nope))"), Err("nope".to_string()));
    }

    #[test]
    fn unknown_references_are_reported_with_their_place() {
        let mut own = Refs::default();
        own.insert("name", "x");
        let all = BTreeMap::from([("db".to_string(), own.clone())]);
        let refs = Scope {
            own: &own,
            all: &all,
            used_apps: Default::default(),
        };
        let mut unknown = Vec::new();
        let mut value = json!({"a": ["x", "((y.z))", "((w))"], "b": "((name))"});
        refs.resolve_map(
            value.as_object_mut().unwrap(),
            &SpecPath::root().key("v"),
            &mut unknown,
        );
        assert_eq!(
            unknown,
            vec![
                UnknownRef {
                    pointer: SpecPath::root().keys(["v", "a"]).index(1),
                    name: "y.z".into()
                },
                UnknownRef {
                    pointer: SpecPath::root().keys(["v", "a"]).index(2),
                    name: "w".into()
                }
            ]
        );
        assert_eq!(value, json!({"a": ["x", "((y.z))", "((w))"], "b": "x"}));
    }
}
