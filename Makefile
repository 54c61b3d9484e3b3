# eni-failover: see README.md. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
GOARCH_LAMBDA ?= arm64
# The CDK CLI, pinned, run through npx so that no node_modules folder lands
# inside the Go module (its template files break `go test ./...`).
CDK_VERSION := 2.1148.1
CDK := npx --yes aws-cdk@$(CDK_VERSION)
CDK_FLAGS := --no-notices --no-version-reporting
# Linters run through `go run` at a pinned version so go.mod stays the
# functions' own dependencies.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
# jsii (under the CDK) warns at length about Node.js 20's end of life.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help test lint build demo bench coldstart cover clean synth deploy diff fuzz mutation

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

test: lint ## run every test with the race detector, then the benchmarks' own checks at two iterations (what CI runs)
	$(GO) test -race -count=1 -timeout=20m ./...
	$(GO) test -race -count=1 -run '^$$' -bench . -benchtime=2x ./internal/testkit/bench/

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOFLAGS= $(GO) run $(STATICCHECK) ./...

GREMLINS := github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
MUTATION_OUT ?= $(or $(TMPDIR),/tmp)

mutation: ## mutation score of the engine and discovery (gremlins, then the mutants its coverage cannot place; ~20 min on 2 cores; docs/mutation.md)
	GOFLAGS= $(GO) run $(GREMLINS) unleash --workers 2 --test-cpu 1 --timeout-coefficient 60 -o $(MUTATION_OUT)/gremlins-engine.json ./internal/engine
	$(GO) run ./internal/testkit/cmd/mutants -report $(MUTATION_OUT)/gremlins-engine.json -dir internal/engine -tests ./internal/engine/,./internal/handler/
	GOFLAGS= $(GO) run $(GREMLINS) unleash --workers 2 --test-cpu 1 --timeout-coefficient 60 -o $(MUTATION_OUT)/gremlins-discovery.json ./internal/discovery
	$(GO) run ./internal/testkit/cmd/mutants -report $(MUTATION_OUT)/gremlins-discovery.json -dir internal/discovery -tests ./internal/discovery/,./internal/engine/

fuzz: ## fuzz the storm generator for 60 s (FUZZTIME=10m for longer)
	$(GO) test -run '^$$' -fuzz=FuzzStorm -fuzztime=$(or $(FUZZTIME),60s) ./internal/testkit/storm/

bench: ## failover, license-restored and many-groups benchmarks on the simulated EC2 (BENCH_CALL_SCALE=2, BENCH_DELIVERY_SCALE=2 for slower)
	$(GO) test -run '^$$' -bench '^Benchmark[^F]|^BenchmarkFailover' -benchtime=$(or $(BENCHTIME),200x) ./internal/testkit/bench/
	$(GO) test -run '^$$' -bench '^BenchmarkFleet' -benchtime=$(or $(FLEETTIME),20x) ./internal/testkit/bench/

RIE := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d

coldstart: build ## bootstrap sizes, init time and memory under aws-lambda-rie, and the overhead behind EC2's pace
	@ls -l build/*/bootstrap | awk '{printf "  %-28s %d bytes (%.2f MiB), linux/arm64\n", $$9, $$5, $$5/1048576}'
	@PATH="$$($(GO) env GOPATH)/bin:$$PATH"; command -v aws-lambda-rie >/dev/null || GOFLAGS= $(GO) install $(RIE)
	$(GO) run ./internal/testkit/cmd/coldstart

cover: ## engine statement coverage
	$(GO) test -cover ./internal/engine/

build: ## cross-compile each function to build/<name>/bootstrap (linux/arm64)
	@for f in $(FUNCTIONS); do \
	  echo "build/$$f/bootstrap"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build $(BUILD_FLAGS) -o build/$$f/bootstrap ./functions/$$f || exit 1; \
	done

demo: ## play a failover story on the embedded simulated EC2 (no AWS account)
	$(GO) run ./internal/testkit/cmd/demo

clean: ## remove build outputs
	rm -rf build cdk.out

synth: build ## synthesize the stack into cdk.out/ (offline; CONTEXT='{"fisDrills":{}}' merges over cdk.json)
	AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=1 $(CDK) synth $(CDK_FLAGS) --quiet $(if $(CONTEXT),-c eniFailover='$(CONTEXT)')
	@ls cdk.out/*.template.json

diff: build ## show what a deploy would change (needs AWS credentials)
	$(CDK) diff $(CDK_FLAGS)

deploy: build ## deploy the stack with the current AWS credentials (cdk deploy)
	$(CDK) deploy $(CDK_FLAGS) --require-approval broadening
