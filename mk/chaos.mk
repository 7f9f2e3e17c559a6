# make chaos: the crash test (outside make test; bounded to 5 minutes; loopback only).
# Works included from the Makefile or alone: make -f mk/chaos.mk chaos.
# CHAOS_FLAGS passes flags to cmd/chaos (e.g. CHAOS_FLAGS='-keep -claims 20000'); see docs/CHAOS.md.
CHAOS_FLAGS ?=

chaos: ## crash test: kill -9 the adjudicator, then Redis (AOF), under 10 000 retried claims; reconcile and read-back must be clean
	@scripts/ensure-redis.sh
	mkdir -p .tmp/chaos
	go build -o .tmp/chaos/adjudicator ./cmd/adjudicator
	go build -o .tmp/chaos/chaos ./cmd/chaos
	timeout -k 10 300 .tmp/chaos/chaos -adjudicator .tmp/chaos/adjudicator $(CHAOS_FLAGS)

.PHONY: chaos
