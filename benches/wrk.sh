#!/usr/bin/env bash
# The axum "hello" route with and without fusebox's route_breaker under wrk, interleaved, and
# the ratio of their request rates; also behind a pass-through route layer, which shows what any
# `route_layer` costs in axum (it boxes the layered route and clones it per request).
# Bounded: ROUNDS × 3 runs of SECONDS each (default 5 × 3 × 4 s).
#
# The servers run on one thread pinned to CPU 0, wrk on CPU 1 (taskset, when the machine has two
# or more CPUs), so that each side has a core; rounds alternate bare and breaker so that drift in
# the machine's speed hits both. Needs wrk (Debian package `wrk`).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${ROUNDS:-5}"
seconds="${SECONDS_PER_RUN:-4}"
connections="${CONNECTIONS:-32}"

command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)"; exit 1; }
cargo build -q --release -p benches --example hello
binary=target/release/examples/hello

pin_server=() pin_wrk=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 0) pin_wrk=(taskset -c 1)
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start() { # name, extra args
  "${pin_server[@]}" "$binary" "${@:2}" >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on //p' "$work/$1.log")
    [ -n "$url" ] && { echo "$url"; return; }
    sleep 0.05
  done
  echo "the $1 server did not start:" >&2; cat "$work/$1.log" >&2; exit 1
}
bare_url=$(start bare)
noop_url=$(start noop --noop)
breaker_url=$(start breaker --breaker)

rate() { # url → requests per second
  timeout $((seconds + 10)) "${pin_wrk[@]}" wrk -t1 -c"$connections" -d"${seconds}s" "$1/" \
    | awk '/^Requests\/sec:/ { print $2 }'
}
# Warm all three up (connections, caches, the route's circuit).
rate "$bare_url" >/dev/null; rate "$noop_url" >/dev/null; rate "$breaker_url" >/dev/null

bare=() noop=() breaker=()
for round in $(seq 1 "$rounds"); do
  bare+=("$(rate "$bare_url")")
  noop+=("$(rate "$noop_url")")
  breaker+=("$(rate "$breaker_url")")
  printf 'round %d: bare %s req/s, pass-through route layer %s req/s, breaker %s req/s\n' \
    "$round" "${bare[-1]}" "${noop[-1]}" "${breaker[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bare_median=$(median "${bare[@]}")
noop_median=$(median "${noop[@]}")
breaker_median=$(median "${breaker[@]}")
awk -v b="$bare_median" -v n="$noop_median" -v f="$breaker_median" 'BEGIN {
  printf "median: bare %.0f req/s, pass-through route layer %.0f req/s, breaker %.0f req/s\n", b, n, f
  printf "breaker / bare %.3f; breaker / pass-through route layer %.3f; pass-through / bare %.3f\n", f / b, f / n, n / b
}'
