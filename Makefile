# eni-failover: see README.md. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
GOARCH_LAMBDA ?= arm64
BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'

.PHONY: help test lint build demo bench cover clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

test: lint ## run every test with the race detector (what CI runs)
	$(GO) test -race -count=1 ./...

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

cover: ## engine statement coverage
	$(GO) test -cover ./internal/engine/

build: ## cross-compile each function to build/<name>/bootstrap (linux/arm64)
	@for f in $(FUNCTIONS); do \
	  echo "build/$$f/bootstrap"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build $(BUILD_FLAGS) -o build/$$f/bootstrap ./functions/$$f || exit 1; \
	done

demo: ## play a failover story on the embedded simulated EC2 (no AWS account)
	$(GO) run ./internal/demo

clean: ## remove build outputs
	rm -rf build cdk.out
