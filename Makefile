# The two commands of the README: `make run` and `make test`.
GO        ?= go
BIN       := bin
PKGS      := ./...
# Packages whose code runs concurrently get the race detector; the rest
# (pure domain, single-threaded tools) run without its 5–10× slowdown.
RACE_PKGS  := ./adapters/... ./projections/... ./cmd/chatd/...
PLAIN_PKGS := ./domain/... ./migrations/... ./cmd/chatctl/... ./cmd/chatbench/... ./cmd/internal/...

.PHONY: run build test test-short lint bench fuzz clean

run: build
	$(BIN)/chatd

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Every test, including those against PostgreSQL, Redis and Chromium. Where a
# service is missing they skip with a line saying how to provide it; with
# CI=true a missing service fails.
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PLAIN_PKGS)
	$(GO) test -count=1 -race -timeout 30m $(RACE_PKGS)

test-short:
	$(GO) test -count=1 -short $(PKGS)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

# Micro-benchmarks of the hot paths (append, tail, projection apply and
# rebuild, bus codec, frame decode, fan-out), then a bounded chatbench
# fanout through a freshly built chatd (TestSmoke prints its summary).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s $(PKGS)
	$(GO) test -count=1 -run '^TestSmoke$$' -v ./cmd/chatbench/

clean:
	rm -rf $(BIN)
