# make loadtest: ghz against the adjudicator and a floor server, same flags, same run (loopback only, < 5 min).
GHZ_VERSION := v0.93.0

$(TOOLS)/ghz:
	GOBIN=$(TOOLS) go install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

loadtest: redis $(TOOLS)/ghz ## load test: 100k beneficiaries, 1M oppositions, ghz closed loop and fixed rate vs the floor server
	mkdir -p .tmp/loadtest loadtest/out
	go build -o .tmp/loadtest/adjudicator ./cmd/adjudicator
	go build -o .tmp/loadtest/floor ./cmd/floor
	go build -o .tmp/loadtest/loadtest ./cmd/loadtest
	timeout 300 .tmp/loadtest/loadtest -adjudicator .tmp/loadtest/adjudicator -floor .tmp/loadtest/floor -ghz $(TOOLS)/ghz -out loadtest/out

.PHONY: loadtest
