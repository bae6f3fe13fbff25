# The two commands of the README: `make run` and `make test`.
GO        ?= go
BIN       := bin
PKGS      := ./...
# The packages whose code runs concurrently get the race detector. The
# end-to-end suites of cmd/ (real servers, browsers, several processes)
# drive that same code and run without it: under its 5–10x slowdown their
# timing (argon2, slow-consumer, browser waits) says more about the
# detector than about the server. `make test-race-e2e` runs them raced.
RACE_PKGS  := ./adapters/... ./projections/...
PLAIN_PKGS := ./domain/... ./migrations/... ./cmd/...

.PHONY: run build test test-race-e2e test-short lint bench fuzz clean

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

test-race-e2e:
	$(GO) test -count=1 -race -timeout 60m ./cmd/...

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
