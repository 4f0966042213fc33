# The benchmark of cm_request against the emulator (tools/bench.py; docs/docsite/rst/performance.rst says what it measures).
#   make bench                      the full run: prints the figures and writes docs/docsite/rst/performance.rst (a few minutes)
#   make bench BENCH_LATENCY_MS=0   another injected latency per HTTP exchange (default 5 ms)
#   make bench BENCH_ARGS="--requests 500 --repeats 5"   other sizes (python tools/bench.py --help)
#   make bench-smoke                a small run that writes nothing in the tree; part of `make test`
MORE_TESTS += bench-smoke
.PHONY: bench bench-smoke

BENCH_LATENCY_MS ?= 5
BENCH_ARGS ?=
BENCH_REVISION = $(shell git -C $(CURDIR) describe --always --dirty 2>/dev/null || echo unknown)

bench: collection ## the benchmark against the emulator; writes the performance page (minutes)
	cd $(COLLECTION) && $(BIN)/python tools/bench.py --latency-ms $(BENCH_LATENCY_MS) --revision "$(BENCH_REVISION)" \
	    --output $(CURDIR)/docs/docsite/rst/performance.rst $(BENCH_ARGS)

bench-smoke: collection ## a small run of the benchmark that writes nothing in the tree
	cd $(COLLECTION) && $(BIN)/python tools/bench.py --smoke --latency-ms $(BENCH_LATENCY_MS) --revision "$(BENCH_REVISION)" \
	    --output $(COLLECTIONS)/performance-smoke.rst
