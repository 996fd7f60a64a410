# Landfall — make help lists the targets.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin/landfall
DATA ?= $(CURDIR)/.landfall
FUZZTIME ?= 30s
TEST_TIMEOUT ?= 60m

.PHONY: help setup build run test test-race lint fuzz bench quality samples clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install Debian packages and Go modules the project needs (idempotent)
	@./scripts/setup

build: ## build bin/landfall
	$(GO) build -o $(BIN) ./cmd/landfall

run: setup build ## set up, build, and run the main job on the embedded default
	@./scripts/run-demo "$(BIN)" "$(DATA)"

test: setup ## set up and run the whole test suite
	$(GO) vet ./...
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

test-race: setup ## the test suite under the race detector
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@./scripts/fuzz-all $(FUZZTIME)

bench: ## run every benchmark once with allocation counts (compare runs with benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

quality: setup ## generate media offline and print the analysers' quality table (WER, speakers, OCR, shots, faces)
	@out=$$(mktemp); $(GO) test -count=1 -run Quality -v ./analyser/... >$$out 2>&1; rc=$$?; \
	grep -E '_test.go:[0-9]+: \|' $$out | sed -E 's/^.*_test.go:[0-9]+: //' | awk '!seen[$$0]++'; \
	if [ $$rc != 0 ]; then grep -E -- '--- FAIL|FAIL' $$out; fi; rm -f $$out; exit $$rc

samples: ## generate the bundled sample media into samples/
	./scripts/make-samples samples

clean: ## remove build outputs and the demo data folder
	rm -rf bin $(DATA)
