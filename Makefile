# graphauth: the two commands a newcomer needs are `make demo` (or `make run`) and `make test`.
GO        ?= go
BIN       := bin
EMU_STATE := .emulator
FUZZTIME  ?= 30s

.PHONY: all build run demo test test-short bench load fuzz lint clean

all: build

build:
	$(GO) build -o $(BIN)/graphauth ./cmd/graphauth
	$(GO) build -o $(BIN)/emulator ./cmd/emulator

## run: the app with your real Azure config (.env or the environment; see config.example.env)
run: build
	./$(BIN)/graphauth

## demo: the whole flow against the local emulator, no Azure account needed; Ctrl-C stops both
demo: build
	@set -e; mkdir -p -m 700 $(EMU_STATE); \
	./$(BIN)/emulator -state-dir $(EMU_STATE) -print-env > $(EMU_STATE)/app.env; \
	./$(BIN)/emulator -state-dir $(EMU_STATE) & emu=$$!; \
	trap 'kill $$emu 2>/dev/null; wait $$emu 2>/dev/null; exit 0' INT TERM EXIT; \
	echo; echo "  graphauth demo: open http://localhost:5000 (Ctrl-C stops the app and the emulator)"; echo; \
	env $$(cat $(EMU_STATE)/app.env) SESSION_DIR=$(EMU_STATE)/sessions ./$(BIN)/graphauth -env-file "" || true

## test: every test, with the race detector (CI runs exactly this)
test:
	@unformatted=$$(gofmt -l cmd internal templates static); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

## bench: the benchmark tables (see README "Performance")
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 60m ./...

## fuzz: each fuzz target for FUZZTIME (make test replays their corpora)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## lint: go vet, staticcheck and govulncheck
lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...
	$(GO) run golang.org/x/vuln/cmd/govulncheck@latest ./... || echo "govulncheck: could not run (its vulnerability database may be unreachable from here)"

clean:
	rm -rf $(BIN) $(EMU_STATE) flask_session test-output
