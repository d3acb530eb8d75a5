# graphauth: the two commands a newcomer needs are `make demo` (or `make run`) and `make test`.
GO        ?= go
BIN       := bin
EMU_STATE := .emulator
FUZZTIME  ?= 30s

.PHONY: all build run demo check-demo test test-short bench bench-export load fuzz lint clean

all: build

build: # one go command: both binaries compile in parallel, sharing their common packages
	$(GO) build -o $(BIN)/ ./cmd/graphauth ./cmd/emulator

## run: the app with your real Azure config (.env or the environment; see config.example.env)
run: build
	./$(BIN)/graphauth

## demo: the whole flow against the local emulator, no Azure account needed; Ctrl-C stops both.
## PORT (the app's, default 5000) and EMULATOR_PORT (default 8443) pick the ports: make demo PORT=5050
PORT          ?= 5000
EMULATOR_PORT ?= 8443
DEMO_ENV = PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) BIN=$(BIN) EMU_STATE=$(EMU_STATE)
demo:
	@$(DEMO_ENV) bash scripts/demo.sh ports
	@$(MAKE) --no-print-directory build
	@$(DEMO_ENV) bash scripts/demo.sh

## check-demo: `graphauth check` against the running demo (the settings make demo wrote to .emulator/demo.env)
check-demo: build
	@$(DEMO_ENV) bash scripts/demo.sh check

## test: every test, with the race detector (CI runs exactly this)
test:
	@unformatted=$$(gofmt -l cmd internal templates static); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

## bench: the benchmark tables (see README "Performance"); raw results in test-output/bench.txt
BENCHCOUNT ?= 5
BENCH_PKGS ?= ./internal/web ./internal/session
bench:
	@mkdir -p test-output
	@{ $(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) -timeout 60m $(BENCH_PKGS); \
	  echo $$? > test-output/bench.code; } | tee test-output/bench.txt; exit $$(cat test-output/bench.code)
	@{ $(GO) test -run '^$$' -bench ResidentMemory -benchtime 1x -count 3 -timeout 30m ./cmd/graphauth; \
	  echo $$? > test-output/bench.code; } | tee -a test-output/bench.txt; exit $$(cat test-output/bench.code)
	$(GO) run ./internal/benchtable < test-output/bench.txt | tee test-output/bench-tables.txt

## bench-export: a 1,000-page notebook exported through the app against the emulator, its OneNote
## throttle sped up EXPORT_SPEED times (see README "Exporting notebooks"); table in test-output/bench-export.txt
EXPORT_SPEED ?= 20
EXPORT_RUNS  ?= 3
bench-export:
	@mkdir -p test-output
	$(GO) build -o $(BIN)/exportbench ./cmd/exportbench
	./$(BIN)/exportbench -speed $(EXPORT_SPEED) -runs $(EXPORT_RUNS) | tee test-output/bench-export.txt

## load: 200 users for 60 s through an in-process app and emulator (make test runs 20 x 3 s)
LOAD_USERS    ?= 200
LOAD_DURATION ?= 60s
load:
	$(GO) run ./cmd/loadtest -users $(LOAD_USERS) -duration $(LOAD_DURATION)

## perf: the real binaries under wrk load (c=16, 2 threads) beside a bare baseline, in one run of
## interleaved rounds; the table in test-output/perf.md (README "Performance"). Not part of make test.
PERF_FLAGS ?=
.PHONY: perf
perf:
	$(GO) build -o $(BIN)/graphauth ./cmd/graphauth
	$(GO) build -o $(BIN)/emulator ./cmd/emulator
	$(GO) build -o $(BIN)/perfbaseline ./cmd/perfbaseline
	$(GO) build -o $(BIN)/perf ./cmd/perf
	@command -v wrk >/dev/null || { echo "perf: installing wrk (Debian package)"; \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$sudo apt-get install -y wrk || { $$sudo apt-get update && $$sudo apt-get install -y wrk; }; }
	@mkdir -p test-output
	./$(BIN)/perf -bin $(BIN) -out test-output/perf.md -raw test-output/perf-raw.tsv $(PERF_FLAGS)

## fuzz: each fuzz target for FUZZTIME (make test replays their corpora in testdata/fuzz)
FUZZMINTIME ?= 10s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg; \
	  done; \
	done

## lint: go vet, staticcheck and govulncheck (govulncheck needs its database online: said so when it is not)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK ?= golang.org/x/vuln/cmd/govulncheck@v1.9.0
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@out=$$($(GO) run $(GOVULNCHECK) ./... 2>&1); code=$$?; echo "$$out"; \
	if [ $$code -eq 0 ]; then exit 0; fi; \
	if echo "$$out" | grep -q 'fetching vulnerabilities'; then \
	  echo "govulncheck: NOT RUN: its vulnerability database cannot be reached from this machine"; exit 0; \
	fi; exit $$code

clean:
	rm -rf $(BIN) $(EMU_STATE) flask_session test-output
