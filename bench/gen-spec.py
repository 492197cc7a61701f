#!/usr/bin/env python3
"""Print a deterministic gitopsc cluster spec with N apps, for benchmarks.

Usage: bench/gen-spec.py N > cluster.yaml
       bench/gen-spec.py N --split FOLDER   (the same apps as a fleet folder, one file per app)

The mix follows real specs:
  * ~70% of apps install from one of a handful of shared https:// Helm repositories,
  * ~20% from oci:// registries (exact versions, one OCIRepository per app),
  * ~10% share the namespace of an earlier app (and so emit no Namespace of their own),
  * groups two levels deep (`team-07/svc`),
  * dependsOn on earlier apps only (acyclic) and on the external `cluster-infrastructure`,
  * helm values of 10-40 leaves, nested 2-3 levels, with lists, ints and strings that
    YAML would misread unquoted ("yes", "1.20", "0755", "null", ...).

Every app is drawn from its own seeded generator (`random.Random("app-<i>")`), so app i is
the same whatever N is: the spec for N apps is a prefix of the spec for M > N apps.

Apps also own CloudNative-PG databases (~30%, a third backed up) and pull secrets from Vault
(~50% in all), behind three operator apps: ~7 files per app, the workload the targets name.

To grow the generator (workloads per app, say), write one more `part_*`
function taking (i, rng, ctx) and returning a dict of fields for the app, and add it to
APP_PARTS; fields that need top-level declarations go through `ctx` like sources do.
"""

import json
import random
import re
import sys

EXTERNAL = "cluster-infrastructure"

# A handful of shared https repositories and a few OCI registries.
HTTPS_SOURCES = [
    ("bitnami", "https://charts.bitnami.com/bitnami"),
    ("grafana", "https://grafana.github.io/helm-charts"),
    ("prometheus-community", "https://prometheus-community.github.io/helm-charts"),
    ("jetstack", "https://charts.jetstack.io"),
    ("ingress-nginx", "https://kubernetes.github.io/ingress-nginx"),
    ("internal", "https://charts.internal.example.com/stable/"),
]
OCI_SOURCES = [
    ("ghcr-charts", "oci://ghcr.io/example-org/charts"),
    ("harbor-charts", "oci://harbor.example.com/platform/charts"),
    ("bitnami-oci", "oci://registry-1.docker.io/bitnamicharts"),
]

# The operators the databases and secrets need: three apps ahead of the generated ones.
OPERATOR_SOURCES = {"cnpg": "https://cloudnative-pg.github.io/charts",
                    "external-secrets": "https://charts.external-secrets.io"}
OPERATORS = [
    {"name": "cloudnative-pg", "namespace": "cnpg-system", "group": "platform/operators",
     "dependsOn": [EXTERNAL], "helm": {"chart": "cloudnative-pg", "version": "0.27.1", "source": "cnpg",
                                       "values": {"crds": {"create": True}}}},
    {"name": "plugin-barman-cloud", "namespace": "cnpg-system", "group": "platform/operators",
     "dependsOn": ["cloudnative-pg", EXTERNAL],
     "helm": {"chart": "plugin-barman-cloud", "version": "0.3.1", "source": "cnpg"}},
    {"name": "external-secrets", "namespace": "external-secrets", "group": "platform/operators",
     "dependsOn": [EXTERNAL], "helm": {"chart": "external-secrets", "version": "2.9.0",
                                        "source": "external-secrets", "values": {"installCRDs": True}}},
]

TEAMS = 40  # team-00 .. team-39
SUBGROUPS = ["svc", "web", "data", "jobs", "ml", "edge"]
WORDS = [
    "checkout", "billing", "catalog", "search", "ledger", "auth", "gateway", "notify",
    "report", "ingest", "render", "pricing", "inventory", "profile", "session", "audit",
    "export", "import", "scheduler", "tracker", "router", "metrics", "media", "feed",
]
ROLES = ["api", "worker", "frontend", "cron", "consumer", "proxy", "cache", "sync"]
CHARTS = ["app", "web-service", "worker", "cronjob", "redis", "nginx", "postgresql", "kafka-consumer"]
# Strings a YAML reader would take for bools, numbers, nulls or syntax if left unquoted.
TRICKY = ["yes", "no", "on", "off", "true", "NULL", "~", "1.20", "0755", "1e3", "0x1F",
          "12:30", "-", "*.example.com", "@daily", "a: b", "# not a comment", "'quoted'",
          '"double"', "", " leading space", "tab\there", "multi\nline", "ünïcode"]


# --------------------------------------------------------------------------------------
# Parts of an app: each returns a dict merged into the app, in APP_PARTS order.
# --------------------------------------------------------------------------------------

def part_identity(i, rng, ctx):
    """name, group (two levels) and, for ~10% of apps, the namespace of an earlier app."""
    team = i % TEAMS
    name = f"{rng.choice(WORDS)}-{rng.choice(ROLES)}-{i:05d}"
    app = {"name": name, "group": f"team-{team:02d}/{rng.choice(SUBGROUPS)}"}
    ctx["names"].append(name)
    if ctx["kind"] == "shared-ns":
        # An earlier app's namespace (its owner emits the Namespace; gitopsc orders after it).
        app["namespace"] = ctx["namespaces"][rng.randrange(len(ctx["namespaces"]))]
    else:
        ns = f"team-{team:02d}-{name}"
        app["namespace"] = ns
        ctx["namespaces"].append(ns)
    return app


def part_dependencies(i, rng, ctx):
    """dependsOn: the external infrastructure, and 0-3 earlier apps (so never a cycle)."""
    deps = []
    if i < TEAMS or rng.random() < 0.3:
        deps.append(EXTERNAL)
    earlier = ctx["names"][:-1]
    for _ in range(min(len(earlier), rng.choice([0, 0, 1, 1, 2, 3]))):
        # Mostly recent apps (same team nearby), sometimes anything earlier.
        lo = max(0, len(earlier) - 50) if rng.random() < 0.8 else 0
        dep = earlier[rng.randrange(lo, len(earlier))]
        if dep not in deps:
            deps.append(dep)
    return {"dependsOn": deps} if deps else {}


def part_flux_overrides(i, rng, ctx):
    """Occasional per-app Flux settings."""
    app = {}
    if rng.random() < 0.1:
        app["timeout"] = rng.choice(["10m", "15m", "1h"])
    if rng.random() < 0.05:
        app["podSecurity"] = "baseline"
    return app


def part_helm(i, rng, ctx):
    """The chart: an https source (version may be a range) or an oci:// one (exact)."""
    if ctx["kind"] == "oci":
        source = rng.choice(OCI_SOURCES)[0]
        version = f"{rng.randrange(0, 5)}.{rng.randrange(0, 30)}.{rng.randrange(0, 10)}"
    else:
        source = rng.choice(HTTPS_SOURCES)[0]
        major, minor = rng.randrange(1, 20), rng.randrange(0, 40)
        version = rng.choice([f"{major}.{minor}.{rng.randrange(0, 10)}", f"~{major}.{minor}.0",
                              f">={major}.0.0 <{major + 1}.0.0"])
    helm = {"chart": rng.choice(CHARTS), "version": version, "source": source}
    if rng.random() < 0.15:
        helm["timeout"] = rng.choice(["3m", "4m", "5m"])
    if rng.random() < 0.1:
        helm["valuesFrom"] = [{"kind": "ConfigMap", "name": f"{ctx['names'][-1][:50]}-values",
                               "optional": True}]
    helm["values"] = helm_values(i, rng)
    return {"helm": helm}


def part_data(i, rng, ctx):
    """~30% of apps own a CloudNative-PG database (a third of them backed up to S3), its owner's
    credentials pulled from Vault; ~20% more pull an app secret from Vault."""
    name = ctx["names"][-1]
    k = i % 10
    if ctx["kind"] == "https" and k in (1, 4, 6):
        db = name.split("-")[0]
        pg = {"instances": rng.choice([1, 2, 3]), "version": rng.choice(["16.10", "17.6"]),
              "storage": {"size": rng.choice(["5Gi", "20Gi", "100Gi"])},
              "database": db, "owner": db, "ownerSecret": f"{name}-db"}
        if k == 1:
            pg["backup"] = {"destinationPath": f"s3://backups/{name}", "endpointURL": "https://s3.example.com",
                            "credentials": f"{name}-s3", "retention": "14d", "schedule": "0 0 3 * * *"}
        secrets = [{"name": f"{name}-db", "type": "basic-auth",
                    "data": [{"key": "username", "remoteKey": f"db/{name}", "property": "username"},
                             {"key": "password", "remoteKey": f"db/{name}", "property": "password"}]}]
        if k == 1:
            secrets.append({"name": f"{name}-s3",
                            "data": [{"key": "ACCESS_KEY_ID", "remoteKey": f"s3/{name}", "property": "access-key-id"},
                                     {"key": "ACCESS_SECRET_KEY", "remoteKey": f"s3/{name}",
                                      "property": "secret-access-key"}]})
        return {"postgres": pg, "secrets": secrets}
    if k in (2, 5):
        return {"secrets": [{"name": f"{name}-app", "data": [
            {"key": "API_TOKEN", "remoteKey": f"apps/{name}", "property": "api-token"}]}]}
    return {}


APP_PARTS = [part_identity, part_dependencies, part_flux_overrides, part_helm, part_data]


# --------------------------------------------------------------------------------------
# Helm values: blocks of a realistic chart's values, 10-40 leaves in all.
# --------------------------------------------------------------------------------------

def values_image(rng):
    return {"image": {"registry": "registry.example.com", "repository": f"apps/{rng.choice(WORDS)}",
                      "tag": rng.choice(["1.20", "2.0", "v3.4.1", "latest"]),
                      "pullPolicy": "IfNotPresent"}}


def values_service(rng):
    return {"service": {"type": "ClusterIP", "port": rng.choice([80, 8080, 9000]),
                        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                                  {"name": "metrics", "port": 9090, "protocol": "TCP"}]}}


def values_resources(rng):
    cpu = rng.choice(["100m", "250m", "500m", "1"])
    return {"resources": {"requests": {"cpu": cpu, "memory": rng.choice(["128Mi", "512Mi", "1Gi"])},
                          "limits": {"memory": rng.choice(["256Mi", "1Gi", "2Gi"])}}}


def values_ingress(rng):
    host = f"{rng.choice(WORDS)}.apps.example.com"
    return {"ingress": {"enabled": True, "className": "nginx",
                        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt",
                                        "nginx.ingress.kubernetes.io/ssl-redirect": "true"},
                        "hosts": [{"host": host, "paths": [{"path": "/", "pathType": "Prefix"}]}],
                        "tls": [{"secretName": f"{host.split('.')[0]}-tls", "hosts": [host]}]}}


def values_env(rng):
    return {"env": [{"name": f"FLAG_{k}", "value": rng.choice(TRICKY)} for k in range(rng.randrange(2, 6))]}


def values_config(rng):
    return {"config": {"logLevel": rng.choice(["info", "debug", "warn"]),
                       "featureGate": rng.choice(TRICKY), "schema": rng.choice(TRICKY),
                       "limits": {"maxConnections": rng.randrange(10, 1000), "ratio": 0.75,
                                  "mode": rng.choice(TRICKY)}}}


def values_autoscaling(rng):
    return {"replicaCount": rng.randrange(1, 6),
            "autoscaling": {"enabled": rng.random() < 0.5, "minReplicas": 2, "maxReplicas": 10,
                            "targetCPUUtilizationPercentage": 80}}


def values_security(rng):
    return {"podSecurityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000,
                                   "seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}}}


def values_persistence(rng):
    return {"persistence": {"enabled": True, "storageClass": "rook-ceph-block",
                            "size": rng.choice(["1Gi", "10Gi", "100Gi"]), "accessModes": ["ReadWriteOnce"]}}


def values_scheduling(rng):
    return {"nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": rng.choice(TRICKY),
                             "effect": "NoSchedule"}]}


def values_chart_defaults(rng):
    """What charts' values.yaml files are full of: empty maps and lists, "", null."""
    return {"podAnnotations": {}, "affinity": {}, "extraVolumes": [], "fullnameOverride": "",
            "existingSecret": None, "terminationGracePeriodSeconds": rng.choice([30, 60, 120])}


VALUE_BLOCKS = [values_image, values_service, values_resources, values_ingress, values_env,
                values_config, values_autoscaling, values_security, values_persistence,
                values_scheduling, values_chart_defaults]


def leaves(v):
    if isinstance(v, dict):
        return sum(leaves(x) for x in v.values()) or 1
    if isinstance(v, list):
        return sum(leaves(x) for x in v) or 1
    return 1


def helm_values(i, rng):
    """Blocks in a fixed order until 10-40 leaves (image and service always)."""
    target = rng.randrange(10, 41)
    values = {}
    values.update(values_image(rng))
    values.update(values_service(rng))
    for block in rng.sample(VALUE_BLOCKS[2:], len(VALUE_BLOCKS) - 2):
        extra = block(rng)
        if leaves(values) + leaves(extra) > 40:
            continue
        values.update(extra)
        if leaves(values) >= target:
            break
    return values


# --------------------------------------------------------------------------------------
# The spec and a small block-style YAML writer.
# --------------------------------------------------------------------------------------

def app_kind(i):
    """70% https, 20% oci, 10% sharing an earlier app's namespace (https source)."""
    k = i % 10
    if i == 0 or k < 7:
        return "https"
    return "oci" if k < 9 else "shared-ns"


def spec(n):
    ctx = {"names": [], "namespaces": []}
    apps = []
    for i in range(n):
        rng = random.Random(f"app-{i}")
        ctx["kind"] = app_kind(i)
        app = {}
        for part in APP_PARTS:
            app.update(part(i, rng, ctx))
        apps.append(app)
    used = {a["helm"]["source"] for a in apps if "helm" in a}
    used.update(OPERATOR_SOURCES)
    return {
        "apiVersion": "gitopsc.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "bench"},
        "flux": {"version": "2.9", "repoPath": "kubernetes", "interval": "30m", "external": [EXTERNAL]},
        "defaults": {"timeout": "5m", "retryInterval": "1m", "podSecurity": "restricted",
                     "secretStore": "vault"},
        "sources": {"helm": [{"name": name, "url": url} for name, url in HTTPS_SOURCES + OCI_SOURCES
                             + list(OPERATOR_SOURCES.items()) if name in used]},
        "secretStores": [{"name": "vault", "kind": "ClusterSecretStore", "vault": {
            "server": "https://vault.example.com:8200", "path": "secret", "version": "v2",
            "auth": {"kubernetes": {"mountPath": "kubernetes", "role": "external-secrets",
                                    "serviceAccount": {"name": "external-secrets",
                                                       "namespace": "external-secrets"}}}}}],
        "operators": {"cnpg": {"app": "cloudnative-pg"}, "barmanCloud": {"app": "plugin-barman-cloud"},
                      "externalSecrets": {"app": "external-secrets"}},
        "apps": OPERATORS + apps,
    }


# Plain (unquoted) strings: identifiers and paths, and quantities such as 30m, 512Mi.
PLAIN = re.compile(r"^([A-Za-z_/][A-Za-z0-9_./-]*|[0-9]+(ms|s|m|h|Mi|Gi))$")
YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if PLAIN.match(v) and v.lower() not in YAML11_WORDS:
        return v
    return json.dumps(v, ensure_ascii=False)  # a JSON string is a YAML double-quoted string


def emit(v, indent=0):
    """Block-style YAML lines for a dict or list; scalars inline."""
    pad = "  " * indent
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            key = scalar(k)
            if isinstance(x, (dict, list)) and x:
                out.append(f"{pad}{key}:")
                out.extend(emit(x, indent + 1))
            else:
                out.append(f"{pad}{key}: {scalar(x) if not isinstance(x, (dict, list)) else json.dumps(x)}")
    else:
        for x in v:
            if isinstance(x, (dict, list)) and x:
                sub = emit(x, indent + 1)
                out.append(f"{pad}- {sub[0].lstrip()}")
                out.extend(sub[1:])
            else:
                out.append(f"{pad}- {scalar(x) if not isinstance(x, (dict, list)) else json.dumps(x)}")
    return out


def split(n, folder):
    """The same cluster as a fleet folder, one file per app: `fleet.yaml` (everything but the
    apps, and the one cluster `bench` listing them) and `apps/<name>.yaml`."""
    import os
    cluster = spec(n)
    apps = cluster.pop("apps")
    fleet = {"apiVersion": cluster.pop("apiVersion"), "kind": "Fleet", "metadata": {"name": "bench"}}
    cluster.pop("kind")
    cluster.pop("metadata")
    fleet.update(cluster)
    fleet["clusters"] = [{"name": "bench", "apps": [{"name": a["name"]} for a in apps]}]
    os.makedirs(os.path.join(folder, "apps"), exist_ok=True)
    with open(os.path.join(folder, "fleet.yaml"), "w") as f:
        f.write(f"# Generated by bench/gen-spec.py {n} --split: a synthetic benchmark fleet.\n")
        f.write("\n".join(emit(fleet)) + "\n")
    for app in apps:
        part = {"apiVersion": fleet["apiVersion"], "kind": "FleetPart", "apps": [app]}
        with open(os.path.join(folder, "apps", app["name"] + ".yaml"), "w") as f:
            f.write("\n".join(emit(part)) + "\n")


def main(argv):
    if len(argv) not in (2, 4) or not argv[1].isdigit() or int(argv[1]) < 1 or (len(argv) == 4 and argv[2] != "--split"):
        sys.exit("usage: gen-spec.py N [--split FOLDER]   (N >= 1 apps; --split: a fleet folder, one file per app)")
    n = int(argv[1])
    if len(argv) == 4:
        split(n, argv[3])
        return
    sys.stdout.write(f"# Generated by bench/gen-spec.py {n}: a synthetic benchmark spec.\n")
    sys.stdout.write("\n".join(emit(spec(n))) + "\n")


if __name__ == "__main__":
    main(sys.argv)
