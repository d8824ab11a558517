#!/usr/bin/env bash
# Starts PostgreSQL 15, MinIO and LiveKit as plain processes on loopback, on free ports, under
# DIR (default: a new temporary folder), and prints their connection settings as KAIPING_*=...
# lines (also written to DIR/env). Stop them with deploy/dev/down.sh DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-$(mktemp -d /tmp/kaiping-dev-XXXXXX)}
bash "$here/install-deps.sh" >&2
eval "$(bash "$here/servers.sh")"
export MINIO_BIN LIVEKIT_BIN
cd "$root"
go run ./internal/devenv/cmd/devenv up "$dir"
echo "DEVENV_DIR=$dir"
