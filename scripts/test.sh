#!/usr/bin/env bash
# Runs every test of HiSIR Desk: Go (unit, widget, ORT, store), Python (train/), and the
# real-window smoke test under Xvfb. Sets up what is missing first.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh
fail=0

echo "== go vet"
go vet ./... || fail=1

echo "== go test"
go test -count=1 -timeout 30m ./... || fail=1

echo "== go test, engine without assembly (-tags purego: the Go loops other CPUs run)"
go vet -tags purego ./engine/... && go test -count=1 -tags purego ./engine || fail=1

echo "== pytest (train/)"
(cd train && "$HISIR_PYTHON" -m pytest -q) || fail=1

echo "== real-window smoke test (Xvfb)"
xvfb-run -a -s "-screen 0 1600x1000x24" go test -count=1 -tags smoke -run Smoke -timeout 10m ./app || fail=1

if [ "$fail" != 0 ]; then
  echo "tests: FAILED"
  exit 1
fi
echo "tests: all passed"
