#!/usr/bin/env bash
# Builds the MinIO and LiveKit servers from the Go module proxy at pinned versions and caches
# them outside the repository, keyed by version, so CI and the demo pay for each build once per
# machine. Prints the paths of the cached binaries as shell assignments.
#
#   deploy/dev/servers.sh            build what is missing, print MINIO_BIN=... LIVEKIT_BIN=...
#   deploy/dev/servers.sh minio      only MinIO
#   deploy/dev/servers.sh livekit    only LiveKit
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
LIVEKIT_VERSION=v1.13.5
CACHE=${KAIPING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kaiping}
mkdir -p "$CACHE/bin"

minio_bin="$CACHE/bin/minio-$MINIO_VERSION"
livekit_bin="$CACHE/bin/livekit-server-$LIVEKIT_VERSION"

log() { printf '%s\n' "$*" >&2; }

build_minio() {
	[ -x "$minio_bin" ] && return 0
	log "building MinIO $MINIO_VERSION (about 6 minutes the first time) ..."
	local tmp
	tmp=$(mktemp -d)
	GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION"
	mv "$tmp/minio" "$minio_bin.tmp" && mv "$minio_bin.tmp" "$minio_bin"
	rm -rf "$tmp"
}

# go install refuses livekit-server because its go.mod has replace directives, so build it from
# a throwaway module that requires it and copies those replace lines.
build_livekit() {
	[ -x "$livekit_bin" ] && return 0
	log "building LiveKit server $LIVEKIT_VERSION (about 5 minutes the first time) ..."
	local tmp gomod
	tmp=$(mktemp -d)
	(
		cd "$tmp"
		go mod init kaiping.local/livekitbuild >/dev/null 2>&1
		gomod=$(go mod download -json "github.com/livekit/livekit-server@$LIVEKIT_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
		# Copy the replace directives, both the single-line and the block form.
		awk '
			/^replace[[:space:]]*\(/ { inblock = 1; next }
			inblock && /^\)/ { inblock = 0; next }
			inblock { print "replace " $0; next }
			/^replace / { print }
		' "$gomod" >>go.mod
		# go get resolves only the packages the build needs; go mod tidy would also chase the
		# dependencies' own tests, some of whose versions the proxy does not serve.
		go get "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
		GOFLAGS=-buildvcs=false go build -o "$livekit_bin.tmp" github.com/livekit/livekit-server/cmd/server
	)
	mv "$livekit_bin.tmp" "$livekit_bin"
	rm -rf "$tmp"
}

what=${1:-all}
case "$what" in
minio) build_minio ;;
livekit) build_livekit ;;
all) build_minio; build_livekit ;;
*) log "usage: $0 [minio|livekit|all]"; exit 2 ;;
esac
[ -x "$minio_bin" ] && echo "MINIO_BIN=$minio_bin"
[ -x "$livekit_bin" ] && echo "LIVEKIT_BIN=$livekit_bin"
exit 0
