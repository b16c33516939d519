#!/usr/bin/env bash
# Sets everything up, builds hisir and opens the app on the bundled sample panel with the bundled model.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh "$@"
mkdir -p bin
go build -o bin/hisir ./app
exec bin/hisir --demo
