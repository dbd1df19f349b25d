# Rheos make targets. `make test` is the one command CI runs (.ci/run).
GO ?= go

.PHONY: all build run test test-deps vet race fuzz bench crash-test clean test-storage-matrix

all: build

build:
	$(GO) build -o rheos ./cmd/rheos

# The server on its embedded default, as the built binary (so Ctrl-C or a
# SIGTERM to its PID stops the server itself).
run: build
	./rheos serve

# The full test suite: installs what the tests need, then vet, gofmt and the
# race-enabled tests (unit, integration with the AWS SDK for Go v2, the AWS
# CLI end-to-end test and the SIGKILL crash test), the fuzz targets, and the
# Data Streams tests again on the two clustered storage configurations
# (segments tiered to S3, metadata on etcd; scripts/storage-matrix.sh).
test: test-deps vet
	$(GO) test -race -timeout 30m ./...
	@bash scripts/fuzz.sh $(CI_FUZZTIME)
	@bash scripts/storage-matrix.sh

# The Data Streams tests on the storage matrix only: MODES="s3 etcd+s3".
test-storage-matrix:
	@bash scripts/storage-matrix.sh $(MODES)

# How much `make test` fuzzes each target: an iteration count, not a duration
# (a duration can end mid-input and fail with "context deadline exceeded").
CI_FUZZTIME ?= 2000x

test-deps:
	@bash scripts/test-deps.sh

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# Fuzz every decoder for FUZZTIME each (default 10s).
FUZZTIME ?= 10s
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/streamlog/

# More SIGKILL cycles than the default suite runs. Every cycle rereads every
# record acknowledged so far, so the time grows with the square of CYCLES: 100
# cycles take longer than go test's default 10-minute timeout.
CYCLES ?= 20
crash-test:
	$(GO) test -run TestCrashKill -count 1 -v -timeout 2h ./e2e -crash-cycles $(CYCLES)

clean:
	rm -f rheos
