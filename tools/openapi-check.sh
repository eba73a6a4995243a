#!/usr/bin/env bash
# Offline validation of openapi/openapi.json as an OpenAPI 3.1 document:
#   1. against the vendored official JSON Schema, openapi/schema/openapi-3.1.json (which must be
#      the copy the pinned validator ships);
#   2. with openapi-spec-validator (the schema plus what it can't say: unique operationIds,
#      declared path parameters, valid schemas, resolvable $refs);
#   3. every example (request and response bodies, parameters, schemas) against its schema.
#
#   bash tools/openapi-check.sh [DOCUMENT]
#
# The validator lives in a venv, $BACOWR_VENV (default ~/.cache/bacowr-venv), created and
# filled from PyPI the first time (the only step that needs the network); later runs are
# offline. Exits non-zero on any error.
set -euo pipefail
cd "$(dirname "$0")/.."

doc="${1:-openapi/openapi.json}"
schema=openapi/schema/openapi-3.1.json
venv="${BACOWR_VENV:-$HOME/.cache/bacowr-venv}"
# The pin and everything it pulls in, so every machine validates with the same code.
requirements="openapi-spec-validator==0.9.0
openapi-schema-validator==0.9.0
jsonschema==4.26.0
jsonschema-path==0.5.0
jsonschema-specifications==2025.9.1
referencing==0.37.0
rpds-py==2026.9.1
attrs==26.1.0
pathable==0.6.0
PyYAML==6.0.4
lazy-object-proxy==1.13.0
rfc3339-validator==0.1.4
six==1.17.0
pydantic==2.14.4
pydantic-settings==2.16.3
pydantic_core==2.50.5
annotated-types==0.8.0
typing-inspection==0.4.5
typing_extensions==4.16.0
python-dotenv==1.2.4"

say() { printf '%s\n' "$*" >&2; }

installed() {
  [[ -x "$venv/bin/python" ]] &&
    "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("openapi-spec-validator") != "0.9.0")' 2>/dev/null
}

if ! installed; then
  say "==> installing openapi-spec-validator 0.9.0 into $venv (once)"
  command -v python3 >/dev/null || { say "FATAL: python3 is needed (apt-get install python3 python3-venv)"; exit 1; }
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r /dev/stdin <<<"$requirements"
fi

say "==> OpenAPI 3.1 validation of $doc (schema: $schema)"
"$venv/bin/python" - "$doc" "$schema" <<'PY'
import json
import pathlib
import sys

import jsonschema
import openapi_spec_validator
from openapi_spec_validator import OpenAPIV31SpecValidator

doc_path, schema_path = sys.argv[1], sys.argv[2]
doc = json.loads(pathlib.Path(doc_path).read_text())
vendored = json.loads(pathlib.Path(schema_path).read_text())
errors = []

# 1. The vendored schema is the one the pinned validator uses, and the document meets it.
shipped = pathlib.Path(openapi_spec_validator.__file__).parent / "resources/schemas/v3.1/schema.json"
if json.loads(shipped.read_text()) != vendored:
    errors.append(f"{schema_path} differs from the validator's {shipped}; copy it over (see openapi/schema/README.md)")
if not str(doc.get("openapi", "")).startswith("3.1."):
    errors.append(f"openapi is {doc.get('openapi')!r}, not 3.1.x")
for e in jsonschema.Draft202012Validator(vendored).iter_errors(doc):
    errors.append(f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}")

# 2. Everything openapi-spec-validator checks.
for e in OpenAPIV31SpecValidator(doc).iter_errors():
    errors.append(f"openapi-spec-validator: {e.message}")

# 3. Examples against their schemas ($refs resolve inside the document).
def check(example, schema, where):
    root = dict(schema)
    root["components"] = doc.get("components", {})
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    for e in jsonschema.Draft202012Validator(root).iter_errors(example):
        errors.append(f"example {where}/{'/'.join(map(str, e.absolute_path))}: {e.message}")

examples = 0
for path, item in doc.get("paths", {}).items():
    for method, op in item.items():
        where = f"{method.upper()} {path}"
        for p in op.get("parameters", []):
            if "example" in p and "schema" in p:
                check(p["example"], p["schema"], f"{where} parameter {p['name']}")
                examples += 1
        bodies = [("request", op.get("requestBody", {}))]
        bodies += [(status, r) for status, r in op.get("responses", {}).items()]
        for name, body in bodies:
            for media, content in body.get("content", {}).items():
                if "example" in content and "schema" in content:
                    check(content["example"], content["schema"], f"{where} {name} {media}")
                    examples += 1

def walk(node, where):
    global examples
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) or "type" in node or "$ref" in node:
            for ex in ([node["example"]] if "example" in node else []) + list(node.get("examples", []) if isinstance(node.get("examples"), list) else []):
                check(ex, node, where)
                examples += 1
        for k, v in node.items():
            if k not in ("example", "examples"):
                walk(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{where}/{i}")

walk(doc.get("components", {}).get("schemas", {}), "#/components/schemas")

if errors:
    for e in errors:
        print(f"{doc_path}: {e}", file=sys.stderr)
    print(f"{doc_path}: {len(errors)} error(s)", file=sys.stderr)
    sys.exit(1)
ops = sum(1 for item in doc["paths"].values() for m in item if m in ("get", "put", "post", "delete", "options", "head", "patch", "trace"))
print(f"{doc_path}: valid OpenAPI {doc['openapi']}: {ops} operations, {examples} examples checked", file=sys.stderr)
PY
