# Payhost: `make run` starts the sandbox, `make test` runs the tests.
GO      ?= go
BIN     := bin
PLUGINS := haotian adapay
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build payhost plugins test race test-postgres test-crash check fmt vet lint tidy bench bench-http run generate hostile-wasm clean

all: build

## build: bin/payhost and bin/plugins/<name>.wasm
build: payhost plugins

payhost:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/payhost ./cmd/payhost

plugins:
	@mkdir -p $(BIN)/plugins
	@for p in $(PLUGINS); do \
		echo "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o $(BIN)/plugins/$$p.wasm ./plugins/$$p/wasm"; \
		GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -o $(BIN)/plugins/$$p.wasm ./plugins/$$p/wasm || exit 1; \
	done

## run: the payhost server in sandbox mode (SQLite, every provider simulator)
run: build
	$(BIN)/payhost sandbox

## test: every test; the PostgreSQL suites run when PAYHOST_TEST_POSTGRES is set
test:
	$(GO) test -count=1 ./...

## race: every test under the race detector (3 to 4 minutes on 2 cores; .ci/run runs it)
race:
	$(GO) test -race -count=1 ./...

## test-postgres: the store and engine suites against PAYHOST_TEST_POSTGRES
test-postgres:
	@test -n "$$PAYHOST_TEST_POSTGRES" || { echo "PAYHOST_TEST_POSTGRES is not set"; exit 1; }
	PAYHOST_REQUIRE_POSTGRES=1 $(GO) test -count=1 -run 'Postgres' ./host/...

## test-crash: the crash test (docs/crash-test.md): payhost serve on PostgreSQL killed with SIGKILL
## under a retrying load, then every answer checked against the database and the simulators.
## PAYHOST_CRASH_KILLS, _WORKERS, _SEED, _UPTIME and _LEASE tune it.
test-crash: payhost
	@test -n "$$PAYHOST_TEST_POSTGRES" || { echo "PAYHOST_TEST_POSTGRES is not set"; exit 1; }
	PAYHOST_CRASH_TEST=1 PAYHOST_REQUIRE_POSTGRES=1 PAYHOST_CRASH_BIN=$(CURDIR)/$(BIN)/payhost \
		$(GO) test -count=1 -v -timeout 30m -run '^TestCrash$$' ./internal/crashtest/

## check: formatting, vet (native and wasip1), golangci-lint, go.mod tidy, tests
check: fmt vet lint tidy test

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./core/... ./pdk/... $(addprefix ./plugins/,$(addsuffix /wasm,$(PLUGINS)))

## lint: golangci-lint, pinned in tools/go.mod and built into bin/
lint: $(BIN)/golangci-lint
	$(BIN)/golangci-lint run ./...

## tidy: go.mod and go.sum (the module's and tools/) are what `go mod tidy` would write
tidy:
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff

$(BIN)/golangci-lint: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../$(BIN)/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint

## bench: plugin transports, boundary, rules engine, store (numbers in docs/benchmarks.md), in
## BENCH_ROUNDS rounds of -count 1 so that the variants interleave; the output is benchstat's input.
BENCH_ROUNDS ?= 5
bench:
	@for i in $$(seq $(BENCH_ROUNDS)); do \
		echo "# round $$i of $(BENCH_ROUNDS)" >&2; \
		$(GO) test -run '^$$' -bench . -benchmem -count 1 ./plugins/haotian/ ./host/plugin/ ./rules/ ./host/store/sqlstore/ || exit 1; \
	done

## bench-http: payhost bench (docs/benchmarks.md): payhost serve against a direct client of the same
## simulator, provider latency 0 and 50ms, on SQLite and, when PAYHOST_TEST_POSTGRES is set, PostgreSQL.
## BENCH_FLAGS adds flags, e.g. BENCH_FLAGS='--duration 10s --concurrency 1,16'.
BENCH_FLAGS ?=
bench-http: build
	@for lat in 0s 50ms; do \
		echo "$(BIN)/payhost bench --latency $$lat $(BENCH_FLAGS)"; \
		$(BIN)/payhost bench --latency $$lat $(BENCH_FLAGS) || exit 1; \
		if [ -n "$$PAYHOST_TEST_POSTGRES" ]; then \
			echo "$(BIN)/payhost bench --postgres \$$PAYHOST_TEST_POSTGRES --latency $$lat $(BENCH_FLAGS)"; \
			$(BIN)/payhost bench --postgres "$$PAYHOST_TEST_POSTGRES" --latency $$lat $(BENCH_FLAGS) || exit 1; \
		fi; \
	done

## generate: the ABI codec from the core types
generate:
	$(GO) generate ./pdk/abi

## hostile-wasm: rebuild the hand-written hostile modules (WAT → wasm; needs wabt's wat2wasm,
## installed with apt-get when missing). The .wasm files are committed, so `make test` needs only Go.
WAT_FILES := $(wildcard host/plugin/testdata/wat/*.wat host/internal/wasmguard/testdata/*.wat)
hostile-wasm:
	@command -v wat2wasm >/dev/null || { apt-get update -qq && apt-get install -y -qq wabt; }
	@for f in $(WAT_FILES); do \
		flags="--no-check"; case $$f in *tail_call.wat|*exits.wat) flags="$$flags --enable-tail-call";; esac; \
		echo "wat2wasm $$flags $$f"; wat2wasm $$flags $$f -o $${f%.wat}.wasm || exit 1; \
	done

clean:
	rm -rf $(BIN)
