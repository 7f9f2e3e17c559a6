# make chaos: the crash test (outside make test; bounded to 5 minutes; loopback only).
chaos: redis ## crash test: kill -9 the adjudicator, then Redis (AOF), under 10 000 retried claims; reconcile must be clean
	mkdir -p .tmp/chaos
	go build -o .tmp/chaos/adjudicator ./cmd/adjudicator
	go build -o .tmp/chaos/chaos ./cmd/chaos
	timeout 300 .tmp/chaos/chaos -adjudicator .tmp/chaos/adjudicator

.PHONY: chaos
