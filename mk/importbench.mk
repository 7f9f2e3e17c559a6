# make import-bench: `adjudicator oppositions import` of a generated 1 000 000-line CSV (temp dir),
# the built binary against the built server on a private redis-server (loopback); prints entries/s.
IMPORT_BENCH_LINES ?= 1000000
IMPORT_BENCH_BATCH ?= 50000

import-bench: redis ## time oppositions import of 1M generated lines against a real redis-server (IMPORT_BENCH_LINES, IMPORT_BENCH_BATCH)
	TIERSPAYANT_IMPORT_BENCH=$(IMPORT_BENCH_LINES) TIERSPAYANT_IMPORT_BENCH_BATCH=$(IMPORT_BENCH_BATCH) \
		go test ./cmd/adjudicator/ -run '^TestImportBench$$' -count=1 -v -timeout 30m

.PHONY: import-bench
