# Targets mirror CI (.ci/run). Every tool version is pinned here or in go.mod.
GO            ?= go
GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
GOVULNCHECK   := golang.org/x/vuln/cmd/govulncheck@v1.1.4
PKGS          := ./...
FUZZTIME      ?= 3s
TEST_TIMEOUT  ?= 15m
BIN           := bin/iam

.PHONY: all build run test test-unit fuzz-short fuzz lint lint-go lint-contracts bench vuln tidy-check clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/iam

## run: the all-in-one development stack (embedded PostgreSQL, core, …)
run: build
	./$(BIN) dev

## test: unit + integration tests with the race detector, then short fuzz runs
test: test-unit fuzz-short

test-unit:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# Each fuzz target runs briefly on its seed corpus plus new inputs.
fuzz-short:
	@./scripts/fuzz.sh $(FUZZTIME)

## fuzz: a long fuzz campaign (FUZZTIME=10m make fuzz)
fuzz:
	@FUZZTIME=$${FUZZTIME:-5m} ./scripts/fuzz.sh $${FUZZTIME:-5m}

lint: lint-go lint-contracts

lint-go:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1)
	$(GO) vet $(PKGS)
	$(GO) run $(GOLANGCI_LINT) run $(PKGS)

tools/node_modules: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund
	@touch tools/node_modules

lint-contracts: tools/node_modules
	tools/node_modules/.bin/spectral lint --fail-severity=warn --ruleset openapi/.spectral.yaml openapi/iam-service.yaml openapi/iam-edge.yaml
	@if [ -f asyncapi/iam-service.yaml ]; then CI=true tools/node_modules/.bin/asyncapi validate asyncapi/iam-service.yaml; fi

## bench: system scenarios with a printed report (see bench/README.md)
bench: build
	$(GO) run ./bench $(BENCHARGS)

vuln:
	$(GO) run $(GOVULNCHECK) ./...

tidy-check:
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

clean:
	rm -rf bin .iam-dev
