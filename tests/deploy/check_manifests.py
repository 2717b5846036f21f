#!/usr/bin/env python3
"""Structural checks of the Kubernetes manifests in deploy/.

Renders the kustomizations with `kubectl kustomize` (offline) and checks what
the server relies on but Kubernetes cannot validate: that probes and Services
point at the ports redirector.yaml listens on, that the ConfigMaps land where
the image's config expects them, the security context, the grace period
against the shutdown timings, and that every metric the alerts and the
dashboard query is one the server exports.

    tests/deploy/check_manifests.py --metrics /tmp/metrics.txt \
        --allow-missing registry_redirector_config_reloads_total,...
    tests/deploy/check_manifests.py --binary build/registry-redirector

--metrics is a scrape of /metrics of the real binary. --binary scrapes one
itself (loopback, free ports) when --metrics is not given, and also runs
`registry-redirector check` on the rendered ConfigMaps laid out as the
kubelet mounts them. Without either, the metric checks are skipped.

Needs python3 with PyYAML and kubectl (which bundles kustomize). Exits 1 if
any check fails; the last line is "N passed, M failed".
"""

import argparse
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

# Where the image puts the shipped config (Dockerfile: COPY config/ ...).
IMAGE_CONFIG_DIR = "/etc/registry-redirector"

# Labels Prometheus attaches to every scraped series (target labels from the
# ServiceMonitor), which the raw /metrics text does not contain.
TARGET_LABELS = {"namespace", "pod", "job", "instance", "service", "endpoint", "container"}

# Metrics the rules may use that come from elsewhere, with their source.
EXTERNAL_METRICS = {
    "kube_deployment_status_replicas_available": "kube-state-metrics",
    "kube_deployment_spec_replicas": "kube-state-metrics",
}

# The server's defaults for the keys of the graceful shutdown (seconds).
SHUTDOWN_DEFAULTS = {"shutdown_delay": 5.0, "shutdown_timeout": 30.0}

REQUIRED_KINDS = ("Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler",
                  "PodDisruptionBudget", "PrometheusRule")


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


# --- rendering --------------------------------------------------------------

def render(kubectl, directory):
    """The documents `kubectl kustomize` renders for one directory."""
    # No flags: `kubectl apply -k`, Argo CD and Flux render with kustomize's
    # defaults, load restrictor included.
    cmd = [kubectl, "kustomize", str(directory)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise CheckFailed(f"{kubectl} not found (kubectl bundles kustomize; needed to render)")
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"{' '.join(cmd)} took more than 120 s")
    if out.returncode != 0:
        raise CheckFailed(f"{' '.join(cmd)} failed:\n{out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def selects(selector, labels):
    """Whether a matchLabels/matchExpressions selector (or a plain Service
    selector map) selects an object with these labels."""
    if not selector:
        return False
    match = selector.get("matchLabels", selector if "matchExpressions" not in selector else {})
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# --- configuration ----------------------------------------------------------

def endpoint_port(text, what):
    match = re.fullmatch(r"(?:\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d+)", str(text))
    require(match, f"{what}: cannot read a port from {text!r}")
    return int(match.group(1))


def duration_seconds(key, value):
    """A duration as the server reads it: a whole number and ms, s or m."""
    match = re.fullmatch(r"(\d+)(ms|s|m)", str(value))
    require(match, f"{key}: {value!r} is not a duration such as 500ms, 5s or 2m")
    return int(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match.group(2)]


def shutdown_settings(config):
    """shutdown_delay and shutdown_timeout in seconds (the server's defaults
    where the config leaves them out)."""
    return {name: duration_seconds(name, config[name]) if name in config else default
            for name, default in SHUTDOWN_DEFAULTS.items()}


def cpu_cores(quantity):
    text = str(quantity)
    return float(text[:-1]) / 1000.0 if text.endswith("m") else float(text)


def memory_bytes(quantity):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
             "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(quantity))
    require(match and match.group(2) in units.keys() | {""}, f"cannot read memory quantity {quantity!r}")
    return float(match.group(1)) * units.get(match.group(2), 1)


# --- metrics text -----------------------------------------------------------

LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class MetricsText:
    """Names, label names and label values found in a Prometheus text scrape.
    Histograms count as their _bucket, _sum and _count series."""

    def __init__(self, text):
        self.labels = {}  # series name -> {label name -> set of values}
        types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                parts = line.split()
                if len(parts) >= 4:
                    types[parts[2]] = parts[3]
                continue
            if not line.strip() or line.startswith("#"):
                continue
            match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s", line)
            if not match:
                continue
            labels = self.labels.setdefault(match.group(1), {})
            for name, value in LABEL_PAIR.findall(match.group(2) or ""):
                labels.setdefault(name, set()).add(value)
        for family, kind in types.items():
            if kind in ("histogram", "summary"):
                self.labels.pop(family, None)  # never a series of its own
                for suffix in ("_sum", "_count") + (("_bucket",) if kind == "histogram" else ()):
                    self.labels.setdefault(family + suffix, {})
            else:
                self.labels.setdefault(family, {})

    def has(self, name):
        return name in self.labels


METRIC_REF = re.compile(r"\b((?:registry_redirector|kube|container|node|kubelet|apiserver)_[a-zA-Z0-9_]+)\b"
                        r"(?:\s*\{([^}]*)\})?")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def check_expression(expr, metrics, allow_missing, where):
    """Problems with the metrics an expression uses (empty list: none).
    Returns (problems, names used)."""
    problems, used = [], set()
    known_labels = set(TARGET_LABELS)
    labels_complete = True
    for name, matchers in METRIC_REF.findall(expr):
        used.add(name)
        if not name.startswith("registry_redirector_"):
            if name not in EXTERNAL_METRICS:
                problems.append(f"{where}: {name} is neither exported by the server nor a known external "
                                f"metric ({', '.join(sorted(EXTERNAL_METRICS))})")
            labels_complete = False
            continue
        if not metrics.has(name):
            if name not in allow_missing:
                hint = ("a histogram is queried as _bucket, _sum or _count" if metrics.has(name + "_count")
                        else "--allow-missing takes it if it comes with a pending change")
                problems.append(f"{where}: {name} is not in the metrics scrape ({hint})")
            labels_complete = False
            continue
        series = metrics.labels[name]
        known_labels |= set(series)
        if name.endswith("_bucket"):
            known_labels.add("le")
        for label, op, value in MATCHER.findall(matchers or ""):
            if label in TARGET_LABELS or (label == "le" and name.endswith("_bucket")):
                continue
            if label not in series:
                problems.append(f"{where}: {name} has no label {label!r} (it has: "
                                f"{', '.join(sorted(series)) or 'none'})")
                continue
            if "$" in value:
                continue  # a dashboard variable
            if op in ("=", "!="):
                wanted = [value]
            elif re.fullmatch(r"[A-Za-z0-9_|]+", value):
                wanted = value.split("|")  # a plain alternation: each must exist
            else:
                continue
            for v in wanted:
                if v not in series[label]:
                    problems.append(f"{where}: {name}{{{label}}} never has the value {v!r} "
                                    f"(seen: {', '.join(sorted(series[label]))})")
    if labels_complete:
        for group in GROUPING.findall(expr):
            for label in (g.strip() for g in group.split(",")):
                if label and label not in known_labels:
                    problems.append(f"{where}: groups by {label!r}, which none of its metrics has")
    return problems, used


# --- the checks -------------------------------------------------------------

class Suite:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def run(self, name, fn, *args):
        try:
            detail = fn(*args)
        except CheckFailed as e:
            self.fail(name, str(e))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            # A manifest without a field the check reads: say which, don't crash.
            self.fail(name, f"unexpected manifest shape ({type(e).__name__}: {e})")
        else:
            self.ok(name, detail)

    def ok(self, name, detail=None):
        self.passed += 1
        print(f"ok   {name}" + (f": {detail}" if detail else ""))

    def fail(self, name, message):
        self.failed += 1
        print(f"FAIL {name}: {message}")

    def skip(self, name, why):
        self.skipped += 1
        print(f"skip {name}: {why}")


class Context:
    """What the checks share: the render and the facts derived from it."""

    def __init__(self, args):
        self.args = args
        self.config_path = Path(args.config)
        self.config = yaml.safe_load(self.config_path.read_text())
        self.docs = []
        self.metrics = None

    def one(self, kind):
        found = of_kind(self.docs, kind)
        require(len(found) == 1, f"expected one {kind}, found {len(found)}")
        return found[0]

    @property
    def deployment(self):
        return self.one("Deployment")

    @property
    def pod(self):
        return self.deployment["spec"]["template"]

    @property
    def container(self):
        containers = self.pod["spec"]["containers"]
        require(len(containers) == 1, f"expected one container, found {len(containers)}")
        return containers[0]

    def container_port(self, port):
        """A probe/Service port (number or name) as a container port number."""
        if isinstance(port, int):
            return port
        for p in self.container.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
        raise CheckFailed(f"no container port is named {port!r}")

    def volume_of(self, mount_path):
        for m in self.container.get("volumeMounts", []):
            if m["mountPath"] == mount_path:
                for v in self.pod["spec"].get("volumes", []):
                    if v["name"] == m["name"]:
                        return m, v
                raise CheckFailed(f"volumeMount {m['name']!r} has no volume")
        return None, None

    def configmap(self, name):
        for cm in of_kind(self.docs, "ConfigMap"):
            if cm["metadata"]["name"] == name:
                return cm
        raise CheckFailed(f"ConfigMap {name!r} is referenced but not rendered")

    def config_path_in_image(self):
        """The --config path of the image's ENTRYPOINT (or the container's
        command/args when they override it)."""
        argv = (self.container.get("command") or []) + (self.container.get("args") or [])
        if "--config" not in argv:
            argv = dockerfile_entrypoint() or []
        if "--config" in argv:
            return argv[argv.index("--config") + 1]
        return f"{IMAGE_CONFIG_DIR}/redirector.yaml"

    def deployed_config_text(self):
        """The main config the pods run with, as text, and where it comes
        from: the ConfigMap file mounted over the image's, else the shipped
        one."""
        path = self.config_path_in_image()
        mount, volume = self.volume_of(path)
        if volume is None:
            return self.config_path.read_text(), "config/redirector.yaml (baked into the image)"
        require("configMap" in volume, f"{path} is mounted from a non-ConfigMap volume")
        require(mount.get("subPath"), f"{path} is a single file: the mount needs a subPath")
        cm = self.configmap(volume["configMap"]["name"])
        text = cm.get("data", {}).get(mount["subPath"])
        require(text is not None, f"ConfigMap {cm['metadata']['name']} has no key {mount['subPath']!r}")
        return text, f"ConfigMap {cm['metadata']['name']}/{mount['subPath']}"

    def deployed_config(self):
        text, source = self.deployed_config_text()
        return yaml.safe_load(text), source


def shown(path):
    """A path as the messages show it: relative to the repository if inside."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def dockerfile_entrypoint():
    path = REPO / "Dockerfile"
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("ENTRYPOINT"):
            return json.loads(line[len("ENTRYPOINT"):].strip())
    return None


def check_kinds(ctx):
    kinds = {d["kind"] for d in ctx.docs}
    missing = [k for k in REQUIRED_KINDS if k not in kinds]
    if not kinds & {"ServiceMonitor", "PodMonitor"}:
        missing.append("ServiceMonitor or PodMonitor")
    require(not missing, f"missing: {', '.join(missing)}")
    return ", ".join(sorted(kinds))


def check_deployment(ctx):
    d = ctx.deployment
    spec = d["spec"]
    require(selects(spec["selector"], ctx.pod["metadata"].get("labels", {})),
            "the Deployment's selector does not select its own pod template")
    hpa = [h for h in of_kind(ctx.docs, "HorizontalPodAutoscaler")
           if h["spec"]["scaleTargetRef"]["name"] == d["metadata"]["name"]]
    replicas = spec.get("replicas", hpa[0]["spec"].get("minReplicas", 1) if hpa else 1)
    require(replicas >= 2, f"replicas is {replicas}: one pod cannot be drained or rolled without an outage")
    return f"{replicas} replicas"


def check_spread(ctx):
    constraints = ctx.pod["spec"].get("topologySpreadConstraints", [])
    require(constraints, "no topologySpreadConstraints: all replicas may land on one node")
    labels = ctx.pod["metadata"].get("labels", {})
    for c in constraints:
        require(selects(c.get("labelSelector"), labels),
                f"the {c['topologyKey']} constraint's labelSelector does not select the pods")
    keys = [c["topologyKey"] for c in constraints]
    require("kubernetes.io/hostname" in keys, "no constraint spreads over kubernetes.io/hostname")
    return ", ".join(keys)


def check_ports(ctx):
    deployed, source = ctx.deployed_config()
    shipped_listen = endpoint_port(ctx.config.get("listen", "0.0.0.0:8080"), "config listen")
    shipped_admin = endpoint_port(ctx.config.get("admin_listen", "0.0.0.0:9090"), "config admin_listen")
    listen = endpoint_port(deployed.get("listen", "0.0.0.0:8080"), f"{source} listen")
    admin = endpoint_port(deployed.get("admin_listen", "0.0.0.0:9090"), f"{source} admin_listen")
    require((listen, admin) == (shipped_listen, shipped_admin),
            f"{source} listens on {listen}/{admin} but {ctx.config_path.name} on {shipped_listen}/{shipped_admin}")
    ports = {p["containerPort"] for p in ctx.container.get("ports", [])}
    require({listen, admin} <= ports, f"container ports {sorted(ports)} do not include {listen} and {admin}")
    for key in ("listen", "admin_listen"):
        host = str(deployed.get(key, "0.0.0.0:0")).rsplit(":", 1)[0]
        require(host not in ("127.0.0.1", "[::1]"), f"{source} {key} is loopback: unreachable from the kubelet")
    return f"redirects {listen}, admin {admin}"


def check_probes(ctx):
    admin = endpoint_port(ctx.config.get("admin_listen", "0.0.0.0:9090"), "config admin_listen")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        p = ctx.container.get(probe)
        require(p and "httpGet" in p, f"no HTTP {probe}")
        require(p["httpGet"].get("path") == path, f"{probe} path is {p['httpGet'].get('path')!r}, want {path}")
        port = ctx.container_port(p["httpGet"]["port"])
        require(port == admin, f"{probe} uses port {port}, but admin_listen is {admin}")
    return f"/readyz and /healthz on {admin}"


def check_security(ctx):
    pod_sc = ctx.pod["spec"].get("securityContext", {})
    sc = ctx.container.get("securityContext", {})
    problems = []
    if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
        problems.append("runAsNonRoot is not true")
    for where in (pod_sc, sc):
        if where.get("runAsUser") == 0:
            problems.append("runAsUser is 0")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if sc.get("privileged"):
        problems.append("privileged")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        problems.append("capabilities.drop lacks ALL")
    if sc.get("capabilities", {}).get("add"):
        problems.append(f"adds capabilities {sc['capabilities']['add']}")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append(f"seccompProfile is {seccomp or 'unset'}, want RuntimeDefault")
    if ctx.pod["spec"].get("hostNetwork"):
        problems.append("hostNetwork")
    require(not problems, "; ".join(problems))
    return "non-root, read-only root, no escalation, no capabilities, RuntimeDefault seccomp"


def check_resources(ctx):
    res = ctx.container.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    for kind in ("cpu", "memory"):
        require(kind in req and kind in lim, f"{kind} needs both a request and a limit")
    require(cpu_cores(req["cpu"]) <= cpu_cores(lim["cpu"]), "cpu request above its limit")
    require(memory_bytes(req["memory"]) <= memory_bytes(lim["memory"]), "memory request above its limit")
    # The server holds about 10 MiB plus ~10 KiB per connection.
    require(memory_bytes(lim["memory"]) >= 64 * 2**20, f"memory limit {lim['memory']} is below 64Mi")
    deployed, source = ctx.deployed_config()
    threads = deployed.get("threads", 0)
    require(threads, f"{source} leaves threads at 0: one I/O thread per *node* core, throttled by the "
                     f"{lim['cpu']} CPU limit; set it to the limit")
    require(threads <= math.ceil(cpu_cores(lim["cpu"])),
            f"threads: {threads} in {source} exceeds the CPU limit {lim['cpu']}")
    return f"requests {req['cpu']}/{req['memory']}, limits {lim['cpu']}/{lim['memory']}, threads {threads}"


def check_grace(ctx):
    deployed, source = ctx.deployed_config()
    grace = ctx.pod["spec"].get("terminationGracePeriodSeconds", 30)
    worst = 0.0
    for cfg in (ctx.config, deployed):
        s = shutdown_settings(cfg)
        worst = max(worst, s["shutdown_delay"] + s["shutdown_timeout"])
    require(grace > worst, f"terminationGracePeriodSeconds {grace} must exceed shutdown_delay + "
                           f"shutdown_timeout = {worst:g} s, or draining pods are killed")
    return f"{grace} s > {worst:g} s"


def check_config_mounts(ctx):
    path = ctx.config_path_in_image()
    entry = dockerfile_entrypoint()
    if entry and "--config" in entry:
        require(entry[entry.index("--config") + 1] == path,
                f"the Dockerfile ENTRYPOINT reads {entry[entry.index('--config') + 1]}, the pod {path}")
    # A main config (a file with providers_dir) mounted anywhere else would
    # silently be ignored.
    volumes = {v["name"]: v for v in ctx.pod["spec"].get("volumes", [])}
    for m in ctx.container.get("volumeMounts", []):
        cm_ref = volumes.get(m["name"], {}).get("configMap")
        if not (cm_ref and m.get("subPath")):
            continue
        text = ctx.configmap(cm_ref["name"]).get("data", {}).get(m["subPath"], "")
        try:
            is_main = isinstance(yaml.safe_load(text), dict) and "providers_dir" in yaml.safe_load(text)
        except yaml.YAMLError:
            is_main = False
        require(not is_main or m["mountPath"] == path,
                f"the main config is mounted at {m['mountPath']} but the server reads {path}")
    deployed, source = ctx.deployed_config()
    base = os.path.dirname(path)
    providers = os.path.normpath(os.path.join(base, str(deployed["providers_dir"])))
    mount, volume = ctx.volume_of(providers)
    require(volume is not None, f"nothing is mounted at providers_dir {providers}: the pods would use the "
                                f"image's copy and never see provider updates")
    require("configMap" in volume, f"{providers} is not a ConfigMap volume")
    require(not mount.get("subPath"), f"{providers} uses subPath: the kubelet never updates those, so the "
                                      f"server could not reload")
    name = volume["configMap"]["name"]
    require(not re.search(r"-[a-z0-9]{10}$", name),
            f"ConfigMap {name} has a content-hash suffix: every provider change would roll the pods "
            f"instead of reloading in place (disableNameSuffixHash)")
    ctx.configmap(name)
    for item in deployed.get("prefixes", []):
        rel = os.path.relpath(os.path.normpath(os.path.join(base, item)), IMAGE_CONFIG_DIR)
        require(not rel.startswith("..") and (REPO / "config" / rel).is_file(),
                f"prefix table {item} in {source} is not in config/ (so not in the image)")
    return f"{path} from {source}; {providers} from ConfigMap {name}"


def check_provider_files(ctx):
    deployed, _ = ctx.deployed_config()
    providers = os.path.normpath(os.path.join(os.path.dirname(ctx.config_path_in_image()),
                                              str(deployed["providers_dir"])))
    _, volume = ctx.volume_of(providers)
    require(volume is not None, f"nothing is mounted at {providers}")
    cm = ctx.configmap(volume["configMap"]["name"])
    data = cm.get("data", {})
    folder = ctx.config_path.parent / str(ctx.config.get("providers_dir", "asns"))
    files = {p.name: p for p in folder.iterdir()
             if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")}
    missing = sorted(set(files) - set(data))
    extra = sorted(set(data) - set(files))
    require(not missing, f"{folder} has {', '.join(missing)} but the ConfigMap does not: run "
                         f"scripts/sync_deploy_asns.py")
    require(not extra, f"the ConfigMap has {', '.join(extra)}, which {folder} does not")
    differ = [n for n, p in files.items() if p.read_text() != data[n]]
    require(not differ, f"ConfigMap keys differ from the files: {', '.join(differ)}")
    return f"{len(files)} provider files"


def check_provider_copy(ctx):
    """deploy/base/asns is a generated copy of config/asns (kustomize reads
    nothing outside a kustomization's folder by default)."""
    sys.path.insert(0, str(REPO / "scripts"))
    import sync_deploy_asns
    found = sync_deploy_asns.differences()
    require(not found, "; ".join(found) + ": run scripts/sync_deploy_asns.py")
    return "deploy/base/asns matches config/asns"


def check_services(ctx):
    listen = endpoint_port(ctx.config.get("listen", "0.0.0.0:8080"), "config listen")
    admin = endpoint_port(ctx.config.get("admin_listen", "0.0.0.0:9090"), "config admin_listen")
    pod_labels = ctx.pod["metadata"].get("labels", {})
    public = admin_port = None
    for svc in of_kind(ctx.docs, "Service"):
        if not selects(svc["spec"].get("selector"), pod_labels):
            continue
        for p in svc["spec"].get("ports", []):
            target = ctx.container_port(p.get("targetPort", p["port"]))
            if p["port"] == 80 and target == listen:
                public = svc["metadata"]["name"]
            if target == admin:
                admin_port = svc["metadata"]["name"]
    require(public, f"no Service selecting the pods maps port 80 to the redirect port {listen}")
    require(admin_port, f"no Service selecting the pods exposes the admin port {admin}")
    return f"{public}:80 -> {listen}, {admin_port} -> {admin}"


def check_admin_not_public(ctx, docs_by_dir):
    """The admin port serves /metrics: no LoadBalancer or NodePort for it,
    in any of the rendered variants."""
    admin = endpoint_port(ctx.config.get("admin_listen", "0.0.0.0:9090"), "config admin_listen")
    names = {p.get("name") for p in ctx.container.get("ports", []) if p["containerPort"] == admin}
    for directory, docs in docs_by_dir.items():
        for svc in of_kind(docs, "Service"):
            if svc["spec"].get("type", "ClusterIP") not in ("LoadBalancer", "NodePort"):
                continue
            for p in svc["spec"].get("ports", []):
                target = p.get("targetPort", p["port"])
                require(target != admin and target not in names,
                        f"{directory}: {svc['spec']['type']} Service {svc['metadata']['name']} exposes the "
                        f"admin port ({target})")
    return f"checked {len(docs_by_dir)} renders"


def check_scrape(ctx):
    admin = endpoint_port(ctx.config.get("admin_listen", "0.0.0.0:9090"), "config admin_listen")
    pod_labels = ctx.pod["metadata"].get("labels", {})
    for pm in of_kind(ctx.docs, "PodMonitor"):
        if selects(pm["spec"].get("selector"), pod_labels):
            for ep in pm["spec"].get("podMetricsEndpoints", []):
                if ctx.container_port(ep.get("port")) == admin and ep.get("path", "/metrics") == "/metrics":
                    return f"PodMonitor {pm['metadata']['name']}"
    for sm in of_kind(ctx.docs, "ServiceMonitor"):
        services = [s for s in of_kind(ctx.docs, "Service")
                    if selects(sm["spec"].get("selector"), s["metadata"].get("labels", {}))
                    and selects(s["spec"].get("selector"), pod_labels)]
        for ep in sm["spec"].get("endpoints", []):
            if ep.get("path", "/metrics") != "/metrics":
                continue
            for svc in services:
                for p in svc["spec"].get("ports", []):
                    if p.get("name") == ep.get("port") and ctx.container_port(p.get("targetPort", p["port"])) == admin:
                        return f"ServiceMonitor {sm['metadata']['name']} -> {svc['metadata']['name']}:{p['name']}"
    raise CheckFailed(f"no ServiceMonitor/PodMonitor scrapes /metrics on the admin port {admin}")


def check_hpa(ctx):
    hpa = ctx.one("HorizontalPodAutoscaler")
    require(hpa["apiVersion"] == "autoscaling/v2", f"apiVersion is {hpa['apiVersion']}, want autoscaling/v2")
    ref = hpa["spec"]["scaleTargetRef"]
    require(ref["kind"] == "Deployment" and ref["name"] == ctx.deployment["metadata"]["name"],
            f"scaleTargetRef is {ref['kind']}/{ref['name']}")
    low, high = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
    require(low >= 2, f"minReplicas is {low}: the HPA could scale down to a single pod")
    require(high >= low, f"maxReplicas {high} < minReplicas {low}")
    cpu = [m for m in hpa["spec"].get("metrics", [])
           if m.get("type") == "Resource" and m["resource"]["name"] == "cpu"]
    require(cpu, "no CPU resource metric")
    require("cpu" in ctx.container.get("resources", {}).get("requests", {}),
            "CPU utilisation needs a CPU request on the container")
    return f"{low}..{high} replicas on CPU"


def check_pdb(ctx):
    pdb = ctx.one("PodDisruptionBudget")
    require(pdb["apiVersion"] == "policy/v1", f"apiVersion is {pdb['apiVersion']}, want policy/v1")
    require(selects(pdb["spec"].get("selector"), ctx.pod["metadata"].get("labels", {})),
            "its selector does not select the pods")
    hpa = of_kind(ctx.docs, "HorizontalPodAutoscaler")
    floor = hpa[0]["spec"].get("minReplicas", 1) if hpa else ctx.deployment["spec"].get("replicas", 1)
    spec = pdb["spec"]
    if "minAvailable" in spec:
        value = spec["minAvailable"]
        allowed = floor - (math.ceil(floor * int(str(value)[:-1]) / 100) if str(value).endswith("%") else value)
    else:
        value = spec.get("maxUnavailable", 0)
        allowed = math.floor(floor * int(str(value)[:-1]) / 100) if str(value).endswith("%") else value
    require(allowed >= 1, f"with {floor} replicas no pod may be evicted: node drains would block")
    require(allowed < floor, f"with {floor} replicas all pods may be evicted at once")
    return f"{allowed} of {floor} pods may be evicted"


def check_image(ctx):
    image = ctx.container["image"]
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    require("@" in image or (tag and tag != "latest"), f"image {image!r} has no fixed tag")
    return image


def alert_rules(ctx):
    rules = []
    for pr in of_kind(ctx.docs, "PrometheusRule"):
        for group in pr["spec"].get("groups", []):
            for rule in group.get("rules", []):
                rules.append((group["name"], rule))
    return rules


def check_alert_structure(ctx):
    rules = [r for _, r in alert_rules(ctx) if "alert" in r]
    require(rules, "no alerting rules")
    names = [r["alert"] for r in rules]
    require(len(names) == len(set(names)), "duplicate alert names")
    problems = []
    for r in rules:
        if not str(r.get("expr", "")).strip():
            problems.append(f"{r['alert']}: empty expr")
        if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
            problems.append(f"{r['alert']}: severity must be critical, warning or info")
        if not r.get("annotations", {}).get("summary"):
            problems.append(f"{r['alert']}: no summary annotation")
        if "for" in r and not re.fullmatch(r"(\d+[smhd])+", str(r["for"])):
            problems.append(f"{r['alert']}: cannot read for: {r['for']!r}")
        # A label an annotation prints must survive the aggregations.
        groups = [{g.strip() for g in grp.split(",")} for grp in GROUPING.findall(str(r.get("expr", "")))]
        for text in r.get("annotations", {}).values():
            for label in re.findall(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)", str(text)):
                if any(label not in g for g in groups):
                    problems.append(f"{r['alert']}: its annotations use $labels.{label}, which the expression "
                                    f"aggregates away")
    require(not problems, "; ".join(problems))
    wanted = {"reload": r"config_reloads_total", "rejected/5xx": r'route="rejected"|code=~"5',
              "no traffic": r"== 0", "p99 latency": r"histogram_quantile\(0\.99",
              "pods not ready": r"kube_deployment_status_replicas_available"}
    lacking = [k for k, pattern in wanted.items() if not any(re.search(pattern, str(r["expr"])) for r in rules)]
    require(not lacking, f"no alert covers: {', '.join(lacking)}")
    return f"{len(rules)} alerts"


def dashboards(ctx):
    found = []
    for cm in of_kind(ctx.docs, "ConfigMap"):
        if cm["metadata"].get("labels", {}).get("grafana_dashboard"):
            for key, text in cm.get("data", {}).items():
                found.append((f"{cm['metadata']['name']}/{key}", text))
    for path in sorted(ctx.args.kustomize_dir.rglob("*.json")):
        if not any(name.endswith("/" + path.name) for name, _ in found):
            found.append((shown(path), path.read_text()))
    return found


def panel_exprs(panels):
    for p in panels:
        for t in p.get("targets", []):
            if t.get("expr"):
                yield p.get("title", "?"), t["expr"]
        yield from panel_exprs(p.get("panels", []))


def check_dashboard(ctx):
    boards = dashboards(ctx)
    require(boards, "no Grafana dashboard (a ConfigMap labelled grafana_dashboard, or a .json in deploy/)")
    count = 0
    for name, text in boards:
        try:
            board = json.loads(text)
        except json.JSONDecodeError as e:
            raise CheckFailed(f"{name}: not JSON: {e}")
        require(board.get("uid") and board.get("title"), f"{name}: needs a uid and a title")
        exprs = list(panel_exprs(board.get("panels", [])))
        require(exprs, f"{name}: no panel queries anything")
        text_all = " ".join(e for _, e in exprs)
        for what, pattern in (("requests per provider", r"by \(provider\)"),
                              ("registry/artifacts split", r"by \(route\)"),
                              ("latency quantiles", r"histogram_quantile"),
                              ("reloads", r"config_reloads_total"),
                              ("client-IP sources", r"client_ip_total")):
            require(re.search(pattern, text_all), f"{name}: no panel shows {what}")
        count += len(exprs)
    return f"{len(boards)} dashboard(s), {count} queries"


def check_metric_names(ctx, where_exprs, what):
    problems, used = [], set()
    allow = set(ctx.args.allow_missing)
    for where, expr in where_exprs:
        found, names = check_expression(expr, ctx.metrics, allow, where)
        problems += found
        used |= names
    require(not problems, "\n  " + "\n  ".join(problems))
    pending = sorted(n for n in used & allow if not ctx.metrics.has(n))
    return f"{len(used)} metric names in {what}" + (f" ({len(pending)} allowed missing)" if pending else "")


def check_allow_missing(ctx):
    present = sorted(n for n in ctx.args.allow_missing if ctx.metrics.has(n))
    unknown = sorted(n for n in ctx.args.allow_missing if not n.startswith("registry_redirector_"))
    require(not unknown, f"--allow-missing takes registry_redirector_* names only: {', '.join(unknown)}")
    if present:
        print(f"note: --allow-missing lists {', '.join(present)}, which the scrape now has; "
              f"drop them from the list")
    return f"{len(ctx.args.allow_missing)} names"


# --- the binary ---------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_binary(binary, config):
    """Starts the server on loopback, waits for /readyz, returns /metrics."""
    redirect, admin = free_port(), free_port()
    proc = subprocess.Popen([binary, "serve", "--config", str(config), "--listen", f"127.0.0.1:{redirect}",
                             "--admin-listen", f"127.0.0.1:{admin}", "--threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CheckFailed(f"{binary} exited with {proc.returncode}: {proc.stderr.read().strip()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise CheckFailed(f"{binary} not ready within 15 s")
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
            return r.read().decode()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=1)  # draining waits shutdown_delay; no client here to wait for
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def check_binary_accepts_configmaps(ctx, binary):
    """`registry-redirector check` on the rendered ConfigMaps, laid out as the
    kubelet mounts them (timestamped folder, ..data link, one link per key)."""
    deployed, _ = ctx.deployed_config()
    path = ctx.config_path_in_image()
    providers = os.path.normpath(os.path.join(os.path.dirname(path), str(deployed["providers_dir"])))
    _, volume = ctx.volume_of(providers)
    require(volume is not None, f"nothing is mounted at {providers}")
    data = ctx.configmap(volume["configMap"]["name"]).get("data", {})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "redirector.yaml").write_text(ctx.deployed_config_text()[0])
        (root / "prefixes").symlink_to(REPO / "config" / "prefixes")
        folder = root / os.path.relpath(providers, os.path.dirname(path))
        stamp = folder / "..2026_01_01_00_00_00.000000001"
        stamp.mkdir(parents=True)
        for key, text in data.items():
            (stamp / key).write_text(text)
            (folder / key).symlink_to(Path("..data") / key)
        (folder / "..data").symlink_to(stamp.name)
        out = subprocess.run([binary, "check", "--config", str(root / "redirector.yaml")],
                             capture_output=True, text=True, timeout=60)
        require(out.returncode == 0,
                f"`{binary.name} check` rejects {ctx.deployed_config_text()[1]} with the provider files "
                f"(exit {out.returncode}; the line numbers are the ConfigMap file's):\n"
                f"{out.stderr.strip() or out.stdout.strip()}")
    return f"{len(data)} provider files accepted"


# --- main ---------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=Path, help="a scrape of the server's /metrics")
    parser.add_argument("--binary", type=Path, help="registry-redirector to scrape and to run `check` with")
    parser.add_argument("--allow-missing", action="append", default=[],
                        help="metric names (comma-separated, repeatable) the rules may use although the "
                             "scrape lacks them, e.g. metrics that arrive with a pending feature")
    parser.add_argument("--kustomize-dir", type=Path, default=REPO / "deploy")
    parser.add_argument("--config", type=Path, default=REPO / "config" / "redirector.yaml")
    parser.add_argument("--kubectl", default="kubectl")
    args = parser.parse_args()
    args.allow_missing = sorted({n.strip() for item in args.allow_missing for n in item.split(",") if n.strip()})
    args.kustomize_dir = args.kustomize_dir.resolve()

    ctx = Context(args)
    suite = Suite()

    # Every kustomization under deploy/ must render; the top one is checked.
    dirs = sorted({p.parent for p in args.kustomize_dir.rglob("kustomization.yaml")},
                  key=lambda p: (p != args.kustomize_dir, str(p)))
    rendered = {}
    for d in dirs:
        name = shown(d)
        try:
            rendered[name] = render(args.kubectl, d)
        except CheckFailed as e:
            rendered[name] = None
            suite.fail(f"renders {name}", str(e))
            continue
        suite.ok(f"renders {name}", f"{len(rendered[name])} objects")
    top = rendered.get(shown(args.kustomize_dir))
    if not top:
        print(f"{suite.passed} passed, {suite.failed or 1} failed")
        print(f"error: {args.kustomize_dir} does not render; nothing else can be checked", file=sys.stderr)
        return 1
    ctx.docs = top

    suite.run("kinds", check_kinds, ctx)
    suite.run("deployment", check_deployment, ctx)
    suite.run("topology spread", check_spread, ctx)
    suite.run("ports", check_ports, ctx)
    suite.run("probes", check_probes, ctx)
    suite.run("security context", check_security, ctx)
    suite.run("resources", check_resources, ctx)
    suite.run("termination grace", check_grace, ctx)
    suite.run("config mounts", check_config_mounts, ctx)
    suite.run("provider files", check_provider_files, ctx)
    suite.run("provider copy", check_provider_copy, ctx)
    suite.run("services", check_services, ctx)
    suite.run("admin port not public", check_admin_not_public, ctx, {k: v for k, v in rendered.items() if v})
    suite.run("scrape config", check_scrape, ctx)
    suite.run("autoscaler", check_hpa, ctx)
    suite.run("disruption budget", check_pdb, ctx)
    suite.run("image", check_image, ctx)
    suite.run("alert rules", check_alert_structure, ctx)
    suite.run("dashboard", check_dashboard, ctx)

    metrics_text = None
    if args.metrics:
        metrics_text = args.metrics.read_text()
    elif args.binary:
        try:
            metrics_text = scrape_binary(args.binary, args.config)
            suite.ok("scrape the binary", f"{len(metrics_text.splitlines())} lines")
        except CheckFailed as e:
            suite.fail("scrape the binary", str(e))
    if metrics_text:
        ctx.metrics = MetricsText(metrics_text)
        suite.run("allow-missing list", check_allow_missing, ctx)
        alert_exprs = [(f"alert {r.get('alert') or r.get('record')}", str(r.get("expr", "")))
                       for _, r in alert_rules(ctx)]
        suite.run("alert metric names", check_metric_names, ctx, alert_exprs, "alerts")
        board_exprs = []
        for name, text in dashboards(ctx):
            try:
                board_exprs += [(f"{name} panel {title!r}", e)
                                for title, e in panel_exprs(json.loads(text).get("panels", []))]
            except json.JSONDecodeError:
                pass  # reported by the dashboard check
        suite.run("dashboard metric names", check_metric_names, ctx, board_exprs, "the dashboard")
    else:
        suite.skip("metric names", "give --metrics FILE (or --binary) to check alert and dashboard metrics")

    if args.binary:
        suite.run("binary accepts the ConfigMaps", check_binary_accepts_configmaps, ctx, args.binary)

    print(f"{suite.passed} passed, {suite.failed} failed" + (f", {suite.skipped} skipped" if suite.skipped else ""))
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
