#!/usr/bin/env bash
# Runs staticcheck at its pinned version, built from the Go module proxy the first time and
# cached outside the repository, keyed by version (as servers.sh caches the servers).
#
#   deploy/dev/staticcheck.sh ./...
set -euo pipefail

STATICCHECK_VERSION=v0.8.2
CACHE=${KAIPING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kaiping}
bin="$CACHE/bin/staticcheck-$STATICCHECK_VERSION"
if [ ! -x "$bin" ]; then
	mkdir -p "$CACHE/bin"
	printf 'building staticcheck %s (about a minute the first time) ...\n' "$STATICCHECK_VERSION" >&2
	tmp=$(mktemp -d)
	GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	mv "$tmp/staticcheck" "$bin.tmp" && mv "$bin.tmp" "$bin"
	rm -rf "$tmp"
fi
exec "$bin" "$@"
