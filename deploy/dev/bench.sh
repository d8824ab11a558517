#!/usr/bin/env bash
# Runs every Go benchmark in the repository and the measured scenarios (`kaiping bench seal`,
# `submit`, `hall-watchers`, `opening`, `reading`, `scoring`, `report-pdf`, `media`), then writes BENCHMARKS.md from what they
# measured. `make bench` calls it with MINIO_BIN and LIVEKIT_BIN set (deploy/dev/servers.sh).
#
#   BENCH_SIZE   plaintext per scenario run     (default 1GiB)
#   BENCH_RUNS   alternating runs per scenario  (default 3; the figures are medians)
#   BENCH_TIME   go test -benchtime             (default 3x)
#   BENCH_OUT    the report                     (default BENCHMARKS.md at the root)
#   BENCH_MEDIA_SECONDS    measured window of each media run     (default 30)
#   BENCH_BROADCAST        subscribers of the media broadcast    (default 300)
#   BENCH_SESSION_DURATION synthetic media of the session scenario on each side (default 10m)
#   BENCH_OPENING_RAMP     bidder counts of the opening, each unlocking within one minute,
#                          until a goal breaks             (default 250,500,1000,2000,4000,6531)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
size=${BENCH_SIZE:-1GiB}
runs=${BENCH_RUNS:-3}
benchtime=${BENCH_TIME:-3x}
out=${BENCH_OUT:-$root/BENCHMARKS.md}

work=$(mktemp -d /tmp/kaiping-benchrun-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== building kaiping" >&2
go build -o "$work/kaiping" ./cmd/kaiping

# Only the packages that have benchmarks: go test ./... would also build every other test
# binary and start PostgreSQL and MinIO in each package's TestMain, to run nothing.
mapfile -t pkgs < <(grep -rlE --include='*_test.go' --exclude-dir=.git '^func Benchmark' . | xargs -r -n1 dirname | sort -u)
if [ "${#pkgs[@]}" -gt 0 ]; then
	echo "== go test -bench in ${pkgs[*]}" >&2
	go test -run '^$' -bench . -benchmem -benchtime="$benchtime" -count=1 -timeout 30m "${pkgs[@]}" | tee "$work/gobench.txt"
else
	: >"$work/gobench.txt"
fi

echo "== kaiping bench seal --size $size --runs $runs" >&2
"$work/kaiping" bench seal --size "$size" --runs "$runs" --json "$work/seal.json"
echo "== kaiping bench submit --size $size --runs $runs" >&2
"$work/kaiping" bench submit --size "$size" --runs "$runs" --json "$work/submit.json"
echo "== kaiping bench hall-watchers --runs $runs" >&2
"$work/kaiping" bench hall-watchers --runs "$runs" --json "$work/hall-watchers.json"
opening_ramp=${BENCH_OPENING_RAMP:-250,500,1000,2000,4000,6531}
echo "== kaiping bench opening --ramp $opening_ramp --spread 60s" >&2
"$work/kaiping" bench opening --bid-size 1MiB --ramp "$opening_ramp" --spread 60s --runs 1 --json "$work/opening.json"
echo "== kaiping bench opening --bidders 1000 --spread 0 (all at once: verification capacity)" >&2
"$work/kaiping" bench opening --bid-size 1MiB --bidders 1000 --spread 0 --runs 1 --json "$work/opening-burst.json"
echo "== kaiping bench reading --members 9 --size 200MiB --runs $runs (the committee reading bids)" >&2
"$work/kaiping" bench reading --members 9 --size 200MiB --runs "$runs" --json "$work/reading.json"
echo "== kaiping bench scoring --runs $runs (a session of 6531 bidders computed from its stored marks)" >&2
"$work/kaiping" bench scoring --runs "$runs" --json "$work/scoring.json"
echo "== kaiping bench report-pdf --runs $runs (the evaluation report of that session as a PDF)" >&2
"$work/kaiping" bench report-pdf --runs "$runs" --json "$work/report-pdf.json"
media_seconds=${BENCH_MEDIA_SECONDS:-30}
broadcast=${BENCH_BROADCAST:-300}
echo "== kaiping bench media --scenario room --seconds $media_seconds --runs $runs" >&2
"$work/kaiping" bench media --scenario room --seconds "$media_seconds" --runs "$runs" --profile "$work/profiles" --json "$work/media-room.json"
echo "== kaiping bench media --scenario broadcast --subscribers $broadcast --seconds $media_seconds --runs $runs" >&2
"$work/kaiping" bench media --scenario broadcast --subscribers "$broadcast" --seconds "$media_seconds" --runs "$runs" --profile "$work/profiles" --json "$work/media-broadcast.json"

session_duration=${BENCH_SESSION_DURATION:-10m}
echo "== kaiping bench session --duration $session_duration" >&2
"$work/kaiping" bench session --duration "$session_duration" --json "$work/media-session.json"

"$work/kaiping" bench report --out "$out" --go "$work/gobench.txt" "$work/seal.json" "$work/submit.json" "$work/hall-watchers.json" "$work/opening.json" "$work/opening-burst.json" "$work/reading.json" "$work/scoring.json" "$work/report-pdf.json" "$work/media-room.json" "$work/media-broadcast.json" "$work/media-session.json"
echo "== wrote $out" >&2
