# Kaiping (开评). The two commands: `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go

# Where the MinIO and LiveKit server builds are cached, keyed by version (outside the repo).
export KAIPING_CACHE ?= $(HOME)/.cache/kaiping

# servers.sh prints MINIO_BIN=... LIVEKIT_BIN=...; building them the first time takes minutes.
SERVERS = set -a && eval "$$(bash deploy/dev/servers.sh)" && set +a

.PHONY: all deps servers test demo build vet bench clean
all: build

## deps: install the Debian packages tests and the demo need (PostgreSQL, Chromium, SoftHSM, fonts)
deps:
	@bash deploy/dev/install-deps.sh

## servers: build MinIO and LiveKit into the cache if missing
servers: deps
	@bash deploy/dev/servers.sh >/dev/null

## test: the whole test suite against real PostgreSQL, MinIO and LiveKit, with the race detector
test: servers
	@$(SERVERS) && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 60m ./...

## demo: start everything on loopback and run the demonstration; prints the URLs to open
demo: servers
	@$(SERVERS) && $(GO) run ./cmd/kaiping demo

## bench: every Go benchmark and the measured scenarios at 1 GiB (each against its anchor); writes BENCHMARKS.md
bench: servers
	@$(SERVERS) && bash deploy/dev/bench.sh

## build: the kaiping binary in bin/
build:
	$(GO) build -o bin/kaiping ./cmd/kaiping

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
