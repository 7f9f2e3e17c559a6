#!/usr/bin/env bash
# make bench: the engine's and the store's Go benchmarks (-benchmem), compared
# with benchstat against the previous run kept in .tmp/bench/last.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp/bench
out=.tmp/bench/new.txt
go test -run '^$' -bench 'BenchmarkPrice' -benchmem -count "${BENCH_COUNT:-5}" ./internal/claims/ | tee "$out"
go test -run '^$' -bench 'BenchmarkAdjudicate$|BenchmarkOppositionLookup|BenchmarkYearFilling' -benchtime 2000x -benchmem -count "${BENCH_COUNT:-5}" ./internal/store/redisstore/ 2>/dev/null | grep -v 'pool.go' | tee -a "$out"
go test -run '^$' -bench 'BenchmarkOppositionImport' -benchtime 1000000x -count 1 ./internal/store/redisstore/ 2>/dev/null | grep -v 'pool.go' | tee -a "$out"
if [ -f .tmp/bench/last.txt ]; then
  echo "== benchstat: previous run → this run"
  benchstat .tmp/bench/last.txt "$out"
else
  echo "== first run kept as the baseline for the next make bench"
fi
mv "$out" .tmp/bench/last.txt
