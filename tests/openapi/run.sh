#!/usr/bin/env bash
# The OpenAPI suite: a demo server's /openapi.json validated as OpenAPI 3.1
# (openapi-spec-validator), then schemathesis against every operation with real
# credentials: 0 answers with status 5xx, 0 answers that break the documented schema.
# Usage: tests/openapi/run.sh BINARY VENV WORKDIR
set -euo pipefail
BIN=$1 VENV=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
cd "$WORK"

# CheckHosts against the demo's hosts fails fast (1 s) instead of filling the run.
SUPPORT_ACCESS_CHECK_TIMEOUT=1s "$BIN" serve --demo --listen 127.0.0.1:0 --ssh-listen "" > server.log 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2> /dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "listening on" server.log && break; sleep 0.2; done
BASE=$(grep -o 'http://[0-9.:]*' server.log | head -n 1)
[ -n "$BASE" ] || { cat server.log; exit 1; }

curl -sSf "$BASE/openapi.json" > openapi.json
"$VENV/bin/python" - openapi.json <<'PY'
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
doc = json.load(open(sys.argv[1]))
validate(doc, cls=OpenAPIV31SpecValidator)
operations = sum(1 for item in doc["paths"].values() for m in item if m in ("get", "put", "post", "delete", "patch"))
print(f"openapi.json: valid OpenAPI {doc['openapi']}, {len(doc['paths'])} paths, {operations} operations")
PY

token() { # user password domain
  curl -sS -D - -o /dev/null -H 'Content-Type: application/json' "$BASE/v3/auth/tokens" \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"password\":\"$2\",\"domain\":{\"name\":\"$3\"}}}},\"scope\":{\"domain\":{\"name\":\"$3\"}}}}" \
    | tr -d '\r' | awk -F': ' 'tolower($1) == "x-subject-token" { print $2 }'
}
CUSTOMER=$(token alice alice-demo-pass acme)
ENGINEER=$(token engineer engineer-demo-pass provider)
[ -n "$CUSTOMER" ] && [ -n "$ENGINEER" ] || { echo "demo logins failed" >&2; exit 1; }

# Both modes: valid input must get a documented answer, invalid input an error body.
run() { # name token tags...
  local name=$1 token=$2; shift 2
  local tags=()
  for tag in "$@"; do tags+=(--include-tag "$tag"); done
  "$VENV/bin/schemathesis" run "$BASE/openapi.json" --url "$BASE" \
    -H "X-Auth-Token: $token" "${tags[@]}" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --phases examples,coverage,fuzzing --max-examples 10 --seed 1 \
    --workers 1 --request-timeout 10 --no-shrink \
    --report junit --report-junit-path "$WORK/$name.xml" --suppress-health-check all \
    --warnings off
}
run customer "$CUSTOMER" customer extensions identity operations
run provider "$ENGINEER" provider
