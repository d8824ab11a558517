# Kaiping (开评). The two commands: `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go

# Where the MinIO and LiveKit server builds are cached, keyed by version (outside the repo).
export KAIPING_CACHE ?= $(HOME)/.cache/kaiping

# servers.sh prints MINIO_BIN=... LIVEKIT_BIN=...; building them the first time takes minutes.
SERVERS = set -a && eval "$$(bash deploy/dev/servers.sh)" && set +a

.PHONY: all deps servers test check demo build vet bench mutate clean
all: build

## deps: install the Debian packages tests and the demo need (PostgreSQL, Chromium, SoftHSM, fonts)
deps:
	@bash deploy/dev/install-deps.sh

## servers: build MinIO and LiveKit into the cache if missing
servers: deps
	@bash deploy/dev/servers.sh >/dev/null

## test: the checks (go.mod tidy, gofmt, go vet, staticcheck) and the whole test suite against real PostgreSQL, MinIO and LiveKit, with the race detector
test: servers check
	@$(SERVERS) && $(GO) test -race -count=1 -timeout 60m ./...

## check: go.mod says the truth (go mod tidy changes nothing), the code is gofmt'ed, go vet and staticcheck (pinned) are clean
check:
	@$(GO) mod tidy -diff || { echo "go.mod or go.sum is not tidy: run go mod tidy" >&2; exit 1; }
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "not gofmt'ed: $$unformatted" >&2; exit 1; fi
	@$(GO) vet ./...
	@bash deploy/dev/staticcheck.sh ./...

## demo: start everything on loopback and run the demonstration; prints the URLs to open
demo: servers
	@$(SERVERS) && $(GO) run ./cmd/kaiping demo

## bench: every Go benchmark and the measured scenarios at 1 GiB (each against its anchor); writes BENCHMARKS.md
bench: servers
	@$(SERVERS) && bash deploy/dev/bench.sh

## mutate: mutation testing of the pure packages (internal/mutate/targets.txt), 60 mutants each, 2 at a time; writes MUTATION.md and fails below 90 % killed (about half an hour on 2 cores; not part of test). Needs PostgreSQL only (the ledger's TestMain starts it)
mutate: deps
	@$(GO) run ./internal/mutate -n 60 -j 2 -min 90 -out MUTATION.md

## build: the kaiping binary in bin/
build:
	$(GO) build -o bin/kaiping ./cmd/kaiping

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
