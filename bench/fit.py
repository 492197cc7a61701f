#!/usr/bin/env python3
"""How much of a real Flux repository a gitopsc spec reproduces, field for field.

Works on local paths only (no network). Three steps, each a subcommand:

  render REPO ENTRY WORK
      Renders what Flux would apply from REPO, starting at the folder ENTRY (relative to
      REPO, e.g. `clusters/prod` or `kubernetes/flux/cluster`) as the `flux-system`
      Kustomization would, and following every Flux Kustomization whose source is the
      repository itself. Each Kustomization's folder is built with `kubectl kustomize`
      through a wrapper that adds what Flux adds (`spec.components`, `spec.patches`,
      `spec.targetNamespace`, `spec.commonMetadata`, `namePrefix`/`nameSuffix`, a generated
      kustomization.yaml for a folder without one); `postBuild.substitute` and
      `substituteFrom` (ConfigMaps and plain Secrets found in the render) are applied the way
      Flux does (`${VAR}`, `${VAR:=default}`, `${VAR:-default}`, `$${VAR}` escapes,
      `kustomize.toolkit.fluxcd.io/substitute: disabled`). Remote (http) resources of
      kustomization.yaml files are dropped (no network) and listed in WORK/render.log.
      Writes WORK/original.yaml (every object Flux would apply, except Flux's own install,
      `gotk-components.yaml`, which `flux bootstrap` writes) and WORK/tree/ (one flat folder
      per Flux Kustomization, its `spec.path` pointing there, so that `gitopsc import`
      assigns each object to the Kustomization that applies it). An object two
      Kustomizations apply is counted once and given to import once (listed in
      WORK/render.log and, when not reproduced, counted as lost).

  compare ORIGINAL BUILT [--spec SPEC] [--import-log LOG] [--render-log LOG] [--json FILE] [--top N]
      For each object of ORIGINAL (a file or folder of YAML) finds the object of BUILT with
      the same API group, kind, namespace and name (the API version is compared as a field)
      and counts its leaf fields (lists by position; an empty map or list is a leaf) equal,
      missing and different; an object with no counterpart counts all its fields missing.
      Identity (apiVersion, kind, metadata.name, metadata.namespace) is the match key, not a
      counted field. With --spec, objects the spec carries verbatim in `manifests:` are
      reported apart from those its own fields render; with --import-log / --render-log,
      objects not reproduced are grouped by the reason import (or render) gives. Prints the
      table by kind, the overall figures, the gaps ranked by fields lost (an object not
      reproduced, by kind and reason; a field, by kind and path, list positions and keys of
      free-form maps folded), the reasons, and the objects the build adds.

  run REPO ENTRY WORK --gitopsc BIN [--cluster NAME] [--top N]
      render, then `BIN import WORK/tree > WORK/spec.yaml`, `BIN build WORK/spec.yaml --out
      WORK/built`, then compare WORK/original.yaml with WORK/built (report in WORK/report.md,
      figures in WORK/report.json). When import writes a spec that does not compile (or
      cannot carry the manifests), the import input is edited and import run again; each
      edit is written to WORK/workarounds.log, and the originals are never edited, so what
      an edit loses counts as lost: when import's spec is refused for a `helm.timeout` longer
      than its layer's, an explicit Kustomization `timeout` (its own, else Flux's default, its
      `interval`, raised to its longest HelmRelease's); scalar entries the plaintext-secret
      check refuses dropped, HTTPRoutes read as routes to a chart the app lacks dropped, a
      Kustomization with a reserved app name renamed, ClusterSecretStores import would write
      twice moved to a folder of their own.

Example:
  python3 bench/fit.py run /tmp/home-ops kubernetes/flux/cluster /tmp/fit-home \\
      --gitopsc target/debug/gitopsc --cluster home
"""

import argparse
import base64
import collections
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

FLUX_KS = ("kustomize.toolkit.fluxcd.io", "Kustomization")
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterSecretStore",
    "CustomResourceDefinition", "PersistentVolume", "StorageClass", "PriorityClass",
    "ClusterIssuer", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ClusterPolicy", "GatewayClass", "APIService", "ComputeClass", "ClusterImagePolicy",
}


class Loader(yaml.SafeLoader):
    """YAML 1.2 core schema scalars (kustomize and gitopsc write YAML 1.2: `on`, `no` and
    `=` are strings, `0755` is a decimal)."""


Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    Loader.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))


def _int(loader, node):
    text = loader.construct_scalar(node).replace("_", "")
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


Loader.add_constructor("tag:yaml.org,2002:int", _int)


def yaml_all(text):
    return yaml.load_all(text, Loader=Loader)


def group(obj):
    api = obj.get("apiVersion", "")
    return api.rsplit("/", 1)[0] if "/" in api else ""


def key(obj):
    meta = obj.get("metadata") or {}
    return (group(obj), obj.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))


def load_docs(text, origin):
    out = []
    for doc in yaml_all(text):
        if isinstance(doc, dict) and doc.get("kind"):
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                out.extend(i for i in doc["items"] if isinstance(i, dict))
            else:
                out.append(doc)
        elif doc is not None and not isinstance(doc, dict):
            raise ValueError(f"{origin}: a document that is not a map")
    return out


def load_path(path):
    """Every object of a YAML file or of the YAML files under a folder."""
    files = []
    if os.path.isdir(path):
        for root, dirs, names in os.walk(path):
            dirs.sort()
            files.extend(os.path.join(root, n) for n in sorted(names) if n.endswith((".yaml", ".yml")))
    else:
        files = [path]
    out = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            out.extend(
                o for o in load_docs(fh.read(), f)
                if group(o) != "kustomize.config.k8s.io"
            )
    return out


# ---------------------------------------------------------------- render


class Renderer:
    """Emulates kustomize-controller on a scratch copy of the repository."""

    def __init__(self, repo, work):
        self.work = work
        self.scratch = os.path.join(work, "scratch")
        self.log = []
        if os.path.exists(self.scratch):
            shutil.rmtree(self.scratch)
        shutil.copytree(repo, self.scratch, symlinks=True,
                        ignore=shutil.ignore_patterns(".git"))
        self.drop_remote()
        self.wrappers = 0

    def drop_remote(self):
        for root, dirs, names in os.walk(self.scratch):
            for n in names:
                if n not in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
                    continue
                path = os.path.join(root, n)
                with open(path, encoding="utf-8") as fh:
                    doc = yaml.load(fh, Loader=Loader) or {}
                res = doc.get("resources") or []
                remote = [r for r in res if isinstance(r, str) and re.match(r"^(https?://|github\.com/|git@)", r)]
                if remote:
                    doc["resources"] = [r for r in res if r not in remote]
                    with open(path, "w", encoding="utf-8") as fh:
                        yaml.safe_dump(doc, fh, sort_keys=False)
                    rel = os.path.relpath(path, self.scratch)
                    self.log.extend(f"dropped remote resource {r} of {rel}" for r in remote)

    def generate(self, folder):
        """A kustomization.yaml for a folder without one, as kustomize-controller writes it."""
        resources = []
        for entry in sorted(os.listdir(folder)):
            full = os.path.join(folder, entry)
            if os.path.isdir(full):
                if any(os.path.exists(os.path.join(full, k)) for k in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
                    resources.append(entry)
                elif self.has_yaml(full):
                    self.generate(full)
                    resources.append(entry)
            elif entry.endswith((".yaml", ".yml")):
                try:
                    with open(full, encoding="utf-8") as fh:
                        docs = load_docs(fh.read(), full)
                except (ValueError, yaml.YAMLError):
                    continue
                if docs and all("apiVersion" in d for d in docs):
                    resources.append(entry)
        with open(os.path.join(folder, "kustomization.yaml"), "w", encoding="utf-8") as fh:
            yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1",
                            "kind": "Kustomization", "resources": resources}, fh)

    def has_yaml(self, folder):
        return any(n.endswith((".yaml", ".yml")) for _, _, ns in os.walk(folder) for n in ns)

    def build(self, ks):
        """The objects a Flux Kustomization applies, or None (logged) when they cannot be built."""
        spec = ks.get("spec") or {}
        name = f"{ks['metadata'].get('namespace', '')}/{ks['metadata']['name']}"
        path = (spec.get("path") or "./").strip()
        folder = os.path.normpath(os.path.join(self.scratch, path.lstrip("./") if path.startswith("./") else path.lstrip("/")))
        if not os.path.isdir(folder):
            self.log.append(f"{name}: path {path} is not in the repository")
            return None
        if not any(os.path.exists(os.path.join(folder, k)) for k in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
            self.generate(folder)
        self.wrappers += 1
        wrap = os.path.join(self.scratch, ".fit", str(self.wrappers))
        os.makedirs(wrap)
        doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
               "resources": [os.path.relpath(folder, wrap)]}
        if spec.get("components"):
            doc["components"] = [os.path.relpath(os.path.normpath(os.path.join(folder, c)), wrap) for c in spec["components"]]
        if spec.get("patches"):
            doc["patches"] = spec["patches"]
        for old in ("patchesStrategicMerge", "patchesJson6902", "images"):
            if spec.get(old):
                doc[old] = spec[old]
        if spec.get("targetNamespace"):
            doc["namespace"] = spec["targetNamespace"]
        for k in ("namePrefix", "nameSuffix"):
            if spec.get(k):
                doc[k] = spec[k]
        meta = spec.get("commonMetadata") or {}
        if meta.get("labels"):
            doc["labels"] = [{"pairs": meta["labels"], "includeSelectors": False}]
        if meta.get("annotations"):
            doc["commonAnnotations"] = meta["annotations"]
        with open(os.path.join(wrap, "kustomization.yaml"), "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False)
        run = subprocess.run(["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", wrap],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            self.log.append(f"{name}: kustomize failed: {run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ''}")
            return None
        objects = load_docs(run.stdout, name)
        return self.substitute(ks, objects, name)

    def substitute(self, ks, objects, name):
        post = (ks.get("spec") or {}).get("postBuild") or {}
        if not post:
            return objects
        variables = {}
        for ref in post.get("substituteFrom") or []:
            found = self.find_vars(ref, ks["metadata"].get("namespace", "flux-system"))
            if found is None:
                level = "optional " if ref.get("optional") else ""
                self.log.append(f"{name}: {level}substituteFrom {ref.get('kind')} {ref.get('name')} not in the render")
                continue
            variables.update(found)
        variables.update({k: str(v) for k, v in (post.get("substitute") or {}).items()})
        out = []
        for obj in objects:
            ann = (obj.get("metadata") or {}).get("annotations") or {}
            if ann.get("kustomize.toolkit.fluxcd.io/substitute") == "disabled":
                out.append(obj)
                continue
            text = yaml.safe_dump(obj, sort_keys=False, width=1 << 30)
            text = envsubst(text, variables)
            out.append(yaml.load(text, Loader=Loader))
        return out

    def find_vars(self, ref, namespace):
        for obj in self.objects:
            meta = obj.get("metadata") or {}
            if obj.get("kind") == ref.get("kind") and meta.get("name") == ref.get("name") \
                    and (meta.get("namespace") or namespace) == namespace:
                data = {k: str(v) for k, v in (obj.get("stringData") or {}).items()}
                for k, v in (obj.get("data") or {}).items():
                    if obj["kind"] == "Secret":
                        try:
                            data[k] = base64.b64decode(str(v)).decode("utf-8")
                        except (ValueError, UnicodeDecodeError):
                            continue
                    else:
                        data[k] = str(v)
                return data
        return None

    def render(self, entry):
        """Walks the Kustomizations from ENTRY; returns [(kustomization, objects)]."""
        root = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "flux-system", "namespace": "flux-system"},
                "spec": {"path": "./" + entry.strip("./"),
                         "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}}
        self.objects = []
        done = {}
        queue = [root]
        layers = []
        while queue:
            ks = queue.pop(0)
            k = (ks["metadata"].get("namespace", ""), ks["metadata"]["name"])
            if k in done:
                continue
            done[k] = True
            src = (ks.get("spec") or {}).get("sourceRef") or {}
            if src.get("kind") != "GitRepository" or src.get("name") != "flux-system":
                self.log.append(f"{k[0]}/{k[1]}: source {src.get('kind')} {src.get('name')} is another repository: not rendered")
                continue
            objects = self.build(ks)
            if objects is None:
                continue
            self.objects.extend(objects)
            layers.append((ks, objects))
            queue.extend(o for o in objects if (group(o), o.get("kind")) == FLUX_KS)
        return layers


VAR = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[=-])([^}]*))?\}")


def envsubst(text, variables):
    """Flux's substitution: unset variables without default become empty; `$${X}` stays `${X}`."""
    def repl(m):
        if m.group(1):
            return m.group(0)[1:]
        name, op, default = m.group(2), m.group(3), m.group(4)
        value = variables.get(name)
        if value is None or (op and op.startswith(":") and value == ""):
            return default if op else ""
        return value
    return VAR.sub(repl, text)


def is_flux_install(obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get("app.kubernetes.io/part-of") == "flux" and labels.get("app.kubernetes.io/instance") == "flux-system"


def cmd_render(args):
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    r = Renderer(os.path.abspath(args.repo), work)
    layers = r.render(args.entry)
    tree = os.path.join(work, "tree")
    if os.path.exists(tree):
        shutil.rmtree(tree)
    os.makedirs(tree)
    folder_of = {}
    for i, (ks, _) in enumerate(layers):
        folder_of[(ks["metadata"].get("namespace", ""), ks["metadata"]["name"])] = f"{i:03d}-{ks['metadata']['name']}"
    original, seen, dup = [], set(), 0
    skipped = 0
    for ks, objects in layers:
        kept = []
        for obj in objects:
            if is_flux_install(obj):
                skipped += 1
                continue
            if key(obj) in seen:
                # Two Kustomizations apply it (they fight over it in the cluster); the import
                # input keeps the first, as a spec has one writer per object.
                dup += 1
                r.log.append(f"applied twice, left out of the import the second time: "
                             f"{obj['kind']} {key(obj)[2]}/{key(obj)[3]} (by {ks['metadata']['name']})")
                continue
            kept.append(obj)
            seen.add(key(obj))
            original.append(obj)
        rewritten = []
        for obj in kept:
            if (group(obj), obj.get("kind")) == FLUX_KS:
                obj = json.loads(json.dumps(obj))
                k = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                if k in folder_of:
                    obj["spec"]["path"] = "./" + folder_of[k]
            rewritten.append(obj)
        here = os.path.join(tree, folder_of[(ks["metadata"].get("namespace", ""), ks["metadata"]["name"])])
        os.makedirs(here)
        with open(os.path.join(here, "objects.yaml"), "w", encoding="utf-8") as fh:
            yaml.safe_dump_all(rewritten, fh, sort_keys=False)
    with open(os.path.join(work, "original.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump_all(original, fh, sort_keys=False)
    r.log.append(f"{len(layers)} Kustomizations rendered, {len(original)} objects"
                 f" ({skipped} of Flux's own install left out, {dup} applied twice counted once)")
    with open(os.path.join(work, "render.log"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(r.log) + "\n")
    print(r.log[-1])


# ---------------------------------------------------------------- compare


def leaves(value, path=""):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, value


IDENTITY = {"apiVersion", "kind", "metadata.name", "metadata.namespace"}


def fields(obj):
    out = dict(leaves(obj))
    for k in IDENTITY:
        out.pop(k, None)
    out["(apiVersion)"] = obj.get("apiVersion")
    return out


def norm(value):
    """Scalars compared as YAML would read them back: 1 == "1" is still a difference."""
    return json.dumps(value, sort_keys=True)


def pattern(kind, path):
    """A gap's name: the kind and the field path with list positions and map keys under
    free-form maps (values, data, labels, annotations) folded."""
    p = re.sub(r"\[\d+\]", "[]", path)
    if "[]" in p:
        p = p[: p.index("[]") + 2]
    parts = p.split(".")
    for free in ("values", "data", "stringData", "labels", "annotations", "matchLabels", "parameters"):
        if free in parts:
            i = parts.index(free)
            parts = parts[: i + 1] + (["*"] if len(parts) > i + 1 else [])
            break
    return f"{kind} {'.'.join(parts[:4])}"


def carried_keys(spec_path):
    """(group, kind, name) of the objects a spec writes verbatim in `manifests:`."""
    out = set()
    if not spec_path:
        return out
    with open(spec_path, encoding="utf-8") as fh:
        spec = yaml.load(fh, Loader=Loader) or {}
    for app in spec.get("apps") or []:
        for entry in app.get("manifests") or []:
            obj = entry.get("object") if isinstance(entry, dict) else None
            if isinstance(obj, dict):
                out.add((group(obj), obj.get("kind"), (obj.get("metadata") or {}).get("name")))
    return out


def import_reasons(import_log, render_log):
    """Why import did not reproduce an object, by (kind, "namespace/name"): its own notes
    (WORK/import.log) and what render left out of the import input (WORK/render.log)."""
    reasons = {}
    for path, pattern_, label in (
            (render_log, r"^left out of the import: \S+?/?(\w+) (\S+) ",
             lambda m: "left out of the import input: same kind and name twice in one Kustomization"),
            (import_log, r"^  - app `[^`]+`: (a second HelmRelease is not expressed): (\w+) (\S+) \(",
             lambda m: "a second HelmRelease of one Kustomization: not expressed"),
            (import_log, r"^  - app `[^`]+`: (a HelmRelease outside the app's namespace is not expressed): (\w+) (\S+) \(",
             lambda m: "a HelmRelease outside its app's namespace: not expressed"),
            # An object in another namespace than its app's is not carried whatever else
            # import says of it: that reason first.
            (import_log, r"^  - (not carried) \((.*?)\): (\w+) (\S+) \(",
             lambda m: f"{m.group(1)}: {m.group(2)}"),
            (import_log, r"^  - (not expressed) \((.*?)\): (\w+) (\S+) \(",
             lambda m: f"{m.group(1)}: {m.group(2)}"),
            (import_log, r"^  - the folder of (Kustomization) (\S+) \(.* is not under the paths imported",
             lambda m: "its folder is not in the tree (another Git source, or empty without network)")):
        if not path or not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                m = re.match(pattern_, line)
                if m:
                    kind, where = m.group(m.lastindex - 1), m.group(m.lastindex)
                    reasons.setdefault((kind, where), label(m))
    return reasons


def compare(original, built, carried, reasons=None):
    index = {}
    for obj in built:
        g, kind, ns, name = key(obj)
        index[(g, kind, ns, name)] = obj
        if kind in CLUSTER_SCOPED:
            index[(g, kind, "", name)] = obj
    elsewhere = {(g, kind, name) for (g, kind, _, name) in index}
    causes, cause_objects = collections.Counter(), collections.Counter()
    by_kind = collections.defaultdict(lambda: collections.Counter())
    gaps = collections.Counter()
    gap_objects = collections.defaultdict(set)
    for obj in original:
        g, kind, ns, name = key(obj)
        other = index.get((g, kind, ns, name)) or (index.get((g, kind, "", name)) if kind in CLUSTER_SCOPED else None)
        mine = fields(obj)
        row = by_kind[kind]
        row["objects"] += 1
        row["fields"] += len(mine)
        if other is None:
            row["missing"] += len(mine)
            where = f"{ns}/{name}" if ns else name
            why = (reasons or {}).get((kind, where)) or (
                "rendered in another namespace" if (g, kind, name) in elsewhere else "not rendered")
            gap = f"{kind}: {why}"
            causes[why] += len(mine)
            cause_objects[why] += 1
            gaps[gap] += len(mine)
            gap_objects[gap].add(f"{ns}/{name}" if ns else name)
            continue
        theirs = fields(other)
        row["found"] += 1
        how = "carried" if (g, kind, name) in carried else "spec"
        row[f"found_{how}"] += 1
        equal = 0
        for path, value in mine.items():
            if path not in theirs:
                row["missing"] += 1
                gaps[pattern(kind, path) + " (missing)"] += 1
                gap_objects[pattern(kind, path) + " (missing)"].add(f"{ns}/{name}")
            elif norm(theirs[path]) != norm(value):
                row["different"] += 1
                gaps[pattern(kind, path) + " (different)"] += 1
                gap_objects[pattern(kind, path) + " (different)"].add(f"{ns}/{name}")
            else:
                equal += 1
        row["equal"] += equal
        row[f"equal_{how}"] += equal
        row[f"fields_{how}"] += len(mine)
        row["added"] += len(set(theirs) - set(mine))
        if equal == len(mine):
            row["exact"] += 1
    originals = {key(o) for o in original} | {(g, k, "", n) for (g, k, _, n) in map(key, original)}
    added = collections.Counter(
        o.get("kind") for o in built
        if key(o) not in originals and not (o.get("kind") in CLUSTER_SCOPED and (key(o)[0], o.get("kind"), "", key(o)[3]) in originals))
    return by_kind, gaps, gap_objects, (causes, cause_objects, added)


def pct(a, b):
    return f"{100.0 * a / b:.0f} %" if b else "-"


def report(by_kind, gaps, gap_objects, extra, top):
    lines = ["| kind | objects | found | exact | of them carried | fields | equal | missing | different | fields reproduced |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    total = collections.Counter()
    for kind, row in sorted(by_kind.items(), key=lambda kv: -kv[1]["fields"]):
        total.update(row)
        lines.append(f"| {kind} | {row['objects']} | {row['found']} | {row['exact']} | {row['found_carried']} | "
                     f"{row['fields']} | {row['equal']} | {row['missing']} | {row['different']} | {pct(row['equal'], row['fields'])} |")
    t = total
    lines.append(f"| **all** | {t['objects']} | {t['found']} | {t['exact']} | {t['found_carried']} | {t['fields']} | "
                 f"{t['equal']} | {t['missing']} | {t['different']} | **{pct(t['equal'], t['fields'])}** |")
    lines.append("")
    lines.append(f"Objects found: {t['found']} of {t['objects']} ({pct(t['found'], t['objects'])}), "
                 f"exact: {t['exact']} ({pct(t['exact'], t['objects'])}). "
                 f"Fields reproduced: {t['equal']} of {t['fields']} ({pct(t['equal'], t['fields'])}).")
    lines.append(f"Through the spec's own fields: {t['found_spec']} objects, {t['equal_spec']} of their "
                 f"{t['fields_spec']} fields equal; carried verbatim in manifests: {t['found_carried']} "
                 f"objects, {t['equal_carried']} of {t['fields_carried']} fields equal. "
                 f"Fields the built objects add: {t['added']}.")
    lines.append("")
    lines.append("| rank | gap | fields | objects |")
    lines.append("|---:|---|---:|---:|")
    for i, (gap, n) in enumerate(gaps.most_common(top), 1):
        lines.append(f"| {i} | {gap} | {n} | {len(gap_objects[gap])} |")
    causes, cause_objects, added = extra
    lines.append("")
    lines.append("Objects not reproduced, by reason:")
    lines.append("")
    lines.append("| reason | objects | fields |")
    lines.append("|---|---:|---:|")
    for why, n in causes.most_common():
        lines.append(f"| {why} | {cause_objects[why]} | {n} |")
    lines.append("")
    lines.append(f"Objects the build adds (no original of that kind, namespace and name): {sum(added.values())} ("
                 + ", ".join(f"{k} {n}" for k, n in added.most_common()) + ").")
    figures = {"total": dict(t), "added_objects": dict(added),
               "not_reproduced_by_reason": {w: {"objects": cause_objects[w], "fields": n} for w, n in causes.items()}, "by_kind": {k: dict(v) for k, v in by_kind.items()},
               "gaps": [{"gap": g, "fields": n, "objects": sorted(gap_objects[g])} for g, n in gaps.most_common()]}
    return "\n".join(lines), figures


def cmd_compare(args):
    original = load_path(args.original)
    built = load_path(args.built)
    reasons = import_reasons(args.import_log, args.render_log)
    by_kind, gaps, gap_objects, extra = compare(original, built, carried_keys(args.spec), reasons)
    text, figures = report(by_kind, gaps, gap_objects, extra, args.top)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=1, sort_keys=True)
    return text


def edit_tree(tree, edit):
    """Applies `edit(obj) -> obj or None` to every object of the import tree; the count changed."""
    changed = 0
    for root, _, names in os.walk(tree):
        for n in names:
            path = os.path.join(root, n)
            with open(path, encoding="utf-8") as fh:
                objects = list(yaml_all(fh.read()))
            out = []
            for obj in objects:
                before = json.dumps(obj, sort_keys=True)
                new = edit(json.loads(before))
                changed += new is None or json.dumps(new, sort_keys=True) != before
                if new is not None:
                    out.append(new)
            with open(path, "w", encoding="utf-8") as fh:
                yaml.safe_dump_all(out, fh, sort_keys=False)
    return changed


def seconds(duration):
    """A Go duration (`1h30m`, `5m0s`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ms|h|m|s)", str(duration or "")))


def explicit_timeouts(tree):
    """Flux's default `timeout` is the Kustomization's `interval`, and a Kustomization that
    does not wait may time out before its HelmReleases; gitopsc's layers wait, and a spec
    whose `helm.timeout` exceeds its layer's is refused. Each Kustomization of the import
    input gets a `timeout`: its own (or its interval) raised to its longest HelmRelease's."""
    longest = {}
    for folder in os.listdir(tree):
        for obj in load_path(os.path.join(tree, folder)):
            if obj.get("kind") == "HelmRelease":
                t = (obj.get("spec") or {}).get("timeout")
                if t and seconds(t) > seconds(longest.get(folder)):
                    longest[folder] = t

    def edit(obj):
        if (group(obj), obj.get("kind")) == FLUX_KS:
            spec = obj.setdefault("spec", {})
            folder = os.path.basename(os.path.normpath(spec.get("path", "")))
            timeout = spec.get("timeout") or spec.get("interval")
            if seconds(longest.get(folder)) > seconds(timeout):
                timeout = longest[folder]
            if timeout:
                spec["timeout"] = timeout
        return obj
    return edit_tree(tree, edit)


def drop_routes(tree, app, backend):
    """Drops the HTTPRoutes of the Kustomization `app` that send to Service `backend`."""
    def edit(obj):
        if obj.get("kind") == "HTTPRoute" and any(
                b.get("name") == backend for r in (obj.get("spec") or {}).get("rules") or []
                for b in r.get("backendRefs") or []):
            return None
        return obj

    return sum(edit_tree(os.path.join(tree, folder), edit)
               for folder in os.listdir(tree) if folder.split("-", 1)[-1] == app)


def drop_key(name, only):
    """Drops a scalar entry `name` (a map key or a `{name, value}` pair) from the objects
    `only(obj)` selects."""
    def walk(value):
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()
                    if not (k == name and not isinstance(v, (dict, list)))}
        if isinstance(value, list):
            return [walk(v) for v in value
                    if not (isinstance(v, dict) and v.get("name") == name and "value" in v)]
        return value

    def edit(obj):
        if (group(obj), obj.get("kind")) == FLUX_KS or not only(obj):
            return obj
        meta = obj.get("metadata")
        out = walk(obj)
        out["metadata"] = meta
        return out
    return edit


def run_import(args, work):
    """`gitopsc import` of WORK/tree, working around what makes the spec it writes not
    compile (each workaround logged in WORK/workarounds.log, the fields it costs counted)."""
    tree = os.path.join(work, "tree")
    spec = os.path.join(work, "spec.yaml")
    notes = []
    for _ in range(20):
        with open(spec, "w", encoding="utf-8") as out, \
                open(os.path.join(work, "import.log"), "w", encoding="utf-8") as err:
            rc = subprocess.run([args.gitopsc, "import", tree, "--cluster", args.cluster, "--color", "never"],
                                stdout=out, stderr=err, check=False).returncode
        with open(os.path.join(work, "import.log"), encoding="utf-8") as fh:
            log = fh.read()
        carry = re.search(r"not carried as user manifests: the imported spec does not compile: (.*)", log)
        if rc == 0 and not carry:
            break
        if "is longer than the Flux timeout of the app's release layer" in log and not any("timeout" in n for n in notes):
            notes.append(f"import input: explicit `timeout` (its own or `interval`, raised to the longest "
                         f"HelmRelease's) on {explicit_timeouts(tree)} Kustomizations")
            continue
        keys = sorted(set(re.findall(r"`([^`]+)` holds a secret in plain text", log)))
        routes = sorted(set(re.findall(r"route backend `([^`]+)` names a chart's Service, but app `([^`]+)` installs no chart", log)))
        for backend, app in routes:
            notes.append(f"import input: {drop_routes(tree, app, backend)} HTTPRoutes of {app} to "
                         f"Service {backend} left out (import reads them as routes to a chart the app does not install)")
        if routes:
            continue
        reserved = sorted(set(re.findall(r"the app name `([^`]+)` is reserved", log)))
        for name in reserved:
            def rename(obj, name=name):
                if (group(obj), obj.get("kind")) == FLUX_KS:
                    if obj["metadata"]["name"] == name:
                        obj["metadata"]["name"] = f"{name}-app"
                    for dep in (obj.get("spec") or {}).get("dependsOn") or []:
                        if dep.get("name") == name:
                            dep["name"] = f"{name}-app"
                return obj
            edit_tree(tree, rename)
            notes.append(f"import input: Kustomization {name} renamed {name}-app (the app name is reserved)")
        if reserved:
            continue
        stores = set(re.findall(r"the ClusterSecretStore `([^`]+)` \(cluster-scoped\) is written twice", log))
        if stores and rc == 0:
            moved = []

            def take(obj, stores=stores, moved=moved):
                if obj.get("kind") == "ClusterSecretStore" and obj["metadata"]["name"] in stores:
                    moved.append(obj)
                    return None
                return obj
            edit_tree(tree, take)
            os.makedirs(os.path.join(tree, "secret-stores"), exist_ok=True)
            with open(os.path.join(tree, "secret-stores", f"{len(notes)}.yaml"), "w", encoding="utf-8") as fh:
                yaml.safe_dump_all(moved, fh, sort_keys=False)
            notes.append(f"import input: ClusterSecretStores {', '.join(sorted(stores))} moved out of their "
                         f"apps into a folder of their own (import writes them twice otherwise)")
            continue
        if not keys and rc == 0:
            notes.append(f"import carries no manifests: {carry.group(1)}")
            break
        if not keys:
            sys.exit(f"import failed ({rc}): see {work}/import.log")
        if rc == 0:
            # Refused in the objects import would carry: those it lists as not reproduced.
            listed = set(re.findall(r"not reproduced: (\S+) (\S+) \(", log))

            def only(obj, listed=listed):
                meta = obj.get("metadata") or {}
                where = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta.get("name")
                return (obj.get("kind"), where) in listed
        else:
            # Refused in the spec's own fields: chart values.
            def only(obj):
                return obj.get("kind") == "HelmRelease"
        for k in keys:
            notes.append(f"import input: `{k}` dropped from {edit_tree(tree, drop_key(k, only))} objects "
                         f"(the plaintext-secret check refuses it)")
    else:
        sys.exit(f"import failed ({rc}): see {work}/import.log")
    notes = notes or ["none: import wrote a spec that compiles and carries its manifests"]
    with open(os.path.join(work, "workarounds.log"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(notes) + "\n")
    print("\n".join(notes))
    return spec


def cmd_run(args):
    cmd_render(args)
    work = os.path.abspath(args.work)
    spec = run_import(args, work)
    built = os.path.join(work, "built")
    if os.path.exists(built):
        shutil.rmtree(built)
    with open(os.path.join(work, "build.log"), "w", encoding="utf-8") as err:
        rc = subprocess.run([args.gitopsc, "build", spec, "--out", built, "--color", "never"],
                            stderr=err, stdout=err, check=False).returncode
    if rc != 0:
        sys.exit(f"build failed ({rc}): see {work}/build.log")
    args.original = os.path.join(work, "original.yaml")
    args.built = built
    args.spec = spec
    args.json = os.path.join(work, "report.json")
    args.import_log = os.path.join(work, "import.log")
    args.render_log = os.path.join(work, "render.log")
    text = cmd_compare(args)
    with open(os.path.join(work, "report.md"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    c = sub.add_parser("compare")
    u = sub.add_parser("run")
    for s in (r, u):
        s.add_argument("repo")
        s.add_argument("entry")
        s.add_argument("work")
    c.add_argument("original")
    c.add_argument("built")
    c.add_argument("--spec")
    c.add_argument("--json")
    c.add_argument("--import-log", help="import's stderr, for the reasons objects are not reproduced")
    c.add_argument("--render-log", help="WORK/render.log, for the objects left out of the import input")
    for s in (c, u):
        s.add_argument("--top", type=int, default=10)
    u.add_argument("--gitopsc", required=True)
    u.add_argument("--cluster", default="imported")
    args = p.parse_args()
    {"render": cmd_render, "compare": cmd_compare, "run": cmd_run}[args.cmd](args)


if __name__ == "__main__":
    main()
