# smpfota — top-level entry points. Every target bootstraps a fresh machine when needed
# (Debian packages + a pinned Python venv in build/venv), then drives CMake/CTest.
#
#   make demo    the main job (see README); sets up and builds only what it needs
#   make install the CLI and its bash completion into PREFIX (default /usr/local)
#   make test    the whole test suite, plain and under ASan+UBSan
#   make bench   benchmarks (print figures, assert nothing)
#   make fuzz    every libFuzzer target for FUZZ_SECONDS each
#   make size    Cortex-M33 -Os footprint of the device code (size-check: fail over budget)
#   make analyze static analysis of the library (clang-tidy)
#   make format  apply .clang-format to the C sources (format-check: list what differs)

BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
VENV        := $(BUILD)/venv
PY          := $(abspath $(VENV))/bin/python
STAMP       := $(BUILD)/.bootstrap-stamp
CORE_STAMP  := $(BUILD)/.bootstrap-core-stamp
PREFIX      ?= /usr/local
FUZZ_SECONDS ?= 30
FUZZ_JOBS   ?= 1
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

CMAKE_ARGS  := -G Ninja -DSMPFOTA_PYTHON=$(PY)

.PHONY: format format-check all build cli install demo test test-plain test-asan bench fuzz size size-check analyze clean bootstrap sweep attack-sweep

all: build

$(STAMP): scripts/bootstrap.sh scripts/requirements.txt
	./scripts/bootstrap.sh $(VENV)
	@touch $@ $(CORE_STAMP)

# The host CLI alone: demo and install need no cross compiler, QEMU, clang nor mcumgrctl.
$(CORE_STAMP): scripts/bootstrap.sh scripts/requirements.txt
	./scripts/bootstrap.sh --core $(VENV)
	@touch $@

cli: $(CORE_STAMP)
	@test -f $(BUILD)/build.ninja || cmake -S . -B $(BUILD) $(CMAKE_ARGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) --target smpfota_cli -j $(JOBS)

install: cli
	cmake --install $(BUILD) --prefix $(PREFIX)

bootstrap: $(STAMP)

$(BUILD)/build.ninja: $(STAMP) CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_ARGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja: $(STAMP) CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_ARGS) -DCMAKE_BUILD_TYPE=Debug -DSMPFOTA_SANITIZE=ON

demo: cli
	$(PY) scripts/demo.py --build $(BUILD)

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

test: test-plain test-asan

bench: build
	$(PY) bench/run_bench.py --build $(BUILD)

$(FUZZ_BUILD)/build.ninja: $(STAMP) CMakeLists.txt
	CC=clang cmake -S . -B $(FUZZ_BUILD) $(CMAKE_ARGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMPFOTA_FUZZ=ON

fuzz: $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	./fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_JOBS)

size: $(STAMP)
	./scripts/size.sh $(PY)

size-check: $(STAMP)
	./scripts/size.sh $(PY) $(BUILD)/size --check

analyze: $(BUILD)/build.ninja
	./scripts/analyze.sh $(BUILD)

# Seeded fault sweep over the simulator (docs/reliability.md): make sweep RUNS=1000 SWEEP_SEED=1
RUNS        ?= 1000
SWEEP_SEED  ?= 1
sweep: build
	$(PY) scripts/sweep.py --runs $(RUNS) --seed $(SWEEP_SEED) --jobs $(JOBS) --smpfota $(BUILD)/smpfota \
		--image $(BUILD)/sweep/app.signed.bin --json-out $(BUILD)/sweep/runs.json

# Seeded attack sweep (docs/security.md): make attack-sweep ATTACK_RUNS=100 SWEEP_SEED=1
ATTACK_RUNS ?= 100
attack-sweep: build
	$(PY) scripts/attack_sweep.py --runs $(ATTACK_RUNS) --seed $(SWEEP_SEED) --jobs $(JOBS) \
		--smpfota $(BUILD)/smpfota --min-per-kind 1000 --json-out $(BUILD)/sweep/attacks.json

clean:
	rm -rf $(BUILD)/CMakeFiles $(BUILD)/build.ninja $(ASAN_BUILD) $(FUZZ_BUILD)

# C sources under clang-format (.clang-format); the zcbor/mbedTLS sources are not ours.
FORMAT_FILES = $(shell git ls-files 'src/*.[ch]' 'include/*.h' 'ports/*.[ch]' 'tools/*.[ch]' \
	'tests/*.[ch]' 'fuzz/*.c' 'bench/*.c')
format: $(STAMP)
	clang-format -i $(FORMAT_FILES)

format-check: $(STAMP)
	@bad=0; for f in $(FORMAT_FILES); do \
		clang-format "$$f" | cmp -s "$$f" - || { echo "format: $$f differs"; bad=1; }; \
	done; exit $$bad
