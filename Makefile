# Landfall — make help lists the targets.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin/landfall
DATA ?= $(CURDIR)/.landfall
FUZZTIME ?= 30s
TEST_TIMEOUT ?= 60m

# The packages whose tests also run under the race detector in make test:
# the engine, the bus, the catalog and the API server, where goroutines
# share state. -short there skips the crash and scale-out tests, which kill
# and restart worker processes for minutes (they run without -race).
RACE_PKGS ?= ./workflow/... ./bus/... ./catalog/... ./apiserver/...

.PHONY: help setup build run check test test-race fmt-check mod-check lint fuzz bench quality samples clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install Debian packages and Go modules the project needs (idempotent)
	@./scripts/setup

build: ## build bin/landfall
	$(GO) build -o $(BIN) ./cmd/landfall

run: setup build ## set up, build, and run the main job on the embedded default
	@./scripts/run-demo "$(BIN)" "$(DATA)"

check: fmt-check ## the fast loop: gofmt, vet, build, and the tests in -short mode
	$(GO) vet ./...
	$(GO) build ./...
	$(GO) test -short -timeout $(TEST_TIMEOUT) ./...

test: setup fmt-check mod-check ## set up and run gofmt, go mod tidy, vet, the whole suite in random order, and the race detector over RACE_PKGS
	$(GO) vet ./...
	$(GO) test -shuffle=on -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -race -short -timeout $(TEST_TIMEOUT) $(RACE_PKGS)

test-race: setup ## the whole test suite under the race detector (several times slower than make test)
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

fmt-check: ## fail when a Go file is not gofmt-formatted
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "$$out"; echo "gofmt: the files above need formatting (gofmt -w)"; exit 1; fi

mod-check: ## fail when go.mod or go.sum is not tidy
	@$(GO) mod tidy -diff || (echo "go.mod/go.sum: run go mod tidy"; exit 1)

lint: fmt-check mod-check ## gofmt, go mod tidy, go vet and staticcheck
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@./scripts/fuzz-all $(FUZZTIME)

bench: ## run every benchmark once with allocation counts (compare runs with benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

quality: setup ## generate media offline and print the quality tables (WER, speakers, DER, summaries, OCR, shots, faces; search recall@1/@5, MRR, time offset)
	@out=$$(mktemp); $(GO) test -count=1 -timeout 40m -run Quality -v ./analyser/... ./pipeline/ >$$out 2>&1; rc=$$?; \
	grep -E '_test.go:[0-9]+: \|' $$out | sed -E 's/^.*_test.go:[0-9]+: //' | awk '!seen[$$0]++'; \
	if [ $$rc != 0 ]; then grep -E -- '--- FAIL|FAIL' $$out; fi; rm -f $$out; exit $$rc

samples: ## generate the bundled sample media into samples/
	./scripts/make-samples samples

clean: ## remove build outputs and the demo data folder
	rm -rf bin $(DATA)
