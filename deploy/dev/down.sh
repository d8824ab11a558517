#!/usr/bin/env bash
# Stops the servers deploy/dev/up.sh started under DIR and removes DIR.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
go run ./internal/devenv/cmd/devenv down "$1"
