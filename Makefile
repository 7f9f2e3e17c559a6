# tierspayant: tiers-payant adjudication service.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

# Pinned tool versions, installed into .tmp/bin by `make tools` (offline once the
# Go module cache holds them).
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPCURL_VERSION            := v1.9.4
BENCHSTAT_VERSION          := v0.0.0-20260908200009-22c9c6c9d4da

TOOLS := $(CURDIR)/.tmp/bin
export PATH := $(TOOLS):$(PATH)
GO_TEST_FLAGS ?= -race -shuffle=on -count=1

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(TOOLS)/buf:
	GOBIN=$(TOOLS) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(TOOLS)/grpcurl:
	GOBIN=$(TOOLS) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

$(TOOLS)/benchstat:
	GOBIN=$(TOOLS) go install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

tools: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc $(TOOLS)/grpcurl ## install the pinned tools into .tmp/bin

redis: ## make sure redis-server is installed (Debian package)
	@scripts/ensure-redis.sh

generate: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc ## regenerate gen/ and docs/API.md from proto/ (offline)
	rm -rf gen
	buf generate
	mkdir -p .tmp
	buf build -o .tmp/image.binpb
	go run ./cmd/apidoc -image .tmp/image.binpb -out docs/API.md -go-out gen/tierspayant/v1/tierspayantv1docs

generate-check: generate ## fail when gen/ or docs/API.md does not match proto/
	@if [ -n "$$(git status --porcelain -- gen docs/API.md)" ]; then git status --porcelain -- gen docs/API.md; echo "gen/ or docs/API.md is stale: run make generate and commit"; exit 1; fi

lint: $(TOOLS)/buf size-check ## buf lint and format, go vet, gofmt check, go.mod tidy, no large tracked file
	buf lint
	buf format -d --exit-code
	go mod tidy -diff
	go vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

certs: ## development CA, localhost server certificate and one client certificate per role, in .tmp/certs
	go run ./cmd/devcerts -dir .tmp/certs

build: ## build bin/adjudicator (stamped with its commit)
	go build -buildvcs=auto -o bin/adjudicator ./cmd/adjudicator

ARGS ?=
run: build ## run the service (embedded in-process store unless ADJ_REDIS_ADDRS is set); flags in ARGS='-clock …'
	bin/adjudicator $(ARGS)

params-check: ## validate the legal parameter tables
	go test -count=1 ./internal/legal/...

# Each target runs a fixed number of executions: a count cannot race the wall
# clock, while a duration (-fuzztime=10s) trips Go's coordinator at the deadline
# on a loaded machine ("context deadline exceeded", go.dev/issue/75804, fixed in
# Go 1.27). FUZZTIME=2m (or 100000x) overrides every target for a longer hunt.
FUZZTIME ?=
fuzz-budget = $(if $(FUZZTIME),$(FUZZTIME),$(1))
fuzz: ## run each fuzz target for a bounded number of executions (request decoding, engine invariants, cap arithmetic, stored records, Lua commit versus Go over years)
	go test -run='^$$' -fuzz=FuzzDecodeClaim -fuzztime=$(call fuzz-budget,30000x) ./internal/grpcapi/
	go test -run='^$$' -fuzz=FuzzEngineInvariants -fuzztime=$(call fuzz-budget,300x) ./internal/claims/
	go test -run='^$$' -fuzz=FuzzConsume -fuzztime=$(call fuzz-budget,6000x) ./internal/franchise/
	go test -run='^$$' -fuzz=FuzzDecodeRecord -fuzztime=$(call fuzz-budget,50000x) ./internal/store/redisstore/
	go test -run='^$$' -fuzz=FuzzCommitMatchesConsume -fuzztime=$(call fuzz-budget,300x) ./internal/store/redisstore/

MAX_FILE_BYTES := 1048576
size-check: ## fail when a tracked file outside gen/ and testdata/ exceeds 1 MB (binaries, reports)
	@big=$$(git ls-files -z | grep -zv -e '^gen/' -e '/testdata/' -e '^testdata/' | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk '$$1 > $(MAX_FILE_BYTES)'); \
	if [ -n "$$big" ]; then echo "tracked files over $(MAX_FILE_BYTES) bytes:"; echo "$$big"; exit 1; fi

test: redis $(TOOLS)/grpcurl ## run every test (starts a private redis-server per test binary; plays the README walk-through)
	go test $(GO_TEST_FLAGS) ./...

bench: redis $(TOOLS)/benchstat ## engine and store benchmarks (-benchmem), compared with benchstat against the previous run
	scripts/bench.sh

test-cluster: redis ## the store's integration suite on a local 3-master Redis Cluster (started and torn down here)
	@dir=$$(mktemp -d); trap 'scripts/redis-cluster.sh stop "$$dir/cluster"; rm -rf "$$dir"' EXIT; \
	addrs=$$(scripts/redis-cluster.sh start "$$dir/cluster"); echo "cluster: $$addrs"; \
	TIERSPAYANT_TEST_CLUSTER=$$addrs go test $(GO_TEST_FLAGS) -v -run 'Store|Cluster' ./internal/store/... | grep -E "^(=== RUN|---|PASS|FAIL|ok|panic)|_test.go"

.PHONY: help tools redis generate generate-check lint size-check certs build run params-check fuzz bench test test-cluster

include mk/chaos.mk
include mk/perf.mk
include mk/law.mk
