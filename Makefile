# Thin wrapper over CMake/CTest. Every target that builds first makes sure the Debian packages
# are there (scripts/install-deps.sh, re-run only when the script changes or the stamp is gone).
#
#   make run            build (Release) and run ./build/xueliang -c conf/xueliang.toml
#   make test           build and run all tests;  make test LABEL=unit  (or integration)
#   make debug | asan   Debug build in build-debug | ASan+UBSan build in build-asan
#   make fuzz           clang libFuzzer build in build-fuzz, each *_fuzz for FUZZ_SECONDS
#   make bench          micro benchmarks + quick compare vs nginx-rtmp (bench/compare/run.sh --quick)
#   make format;  make clean

BUILD_DIR    ?= build
CONFIG       ?= conf/xueliang.toml
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS   ?= 2
LABEL        ?=
FUZZ_SECONDS ?= 20
CMAKE_ARGS   ?=
DEPS_STAMP   := $(BUILD_DIR)/.deps-installed

.PHONY: all deps build run test debug asan fuzz bench format clean

all: build

deps: $(DEPS_STAMP)

$(DEPS_STAMP): scripts/install-deps.sh scripts/install-browser-deps.sh
	bash scripts/install-deps.sh
	bash scripts/install-browser-deps.sh
	@mkdir -p $(@D) && touch $@

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: deps build
	./$(BUILD_DIR)/xueliang -c $(CONFIG)

test: deps build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS) $(if $(LABEL),-L $(LABEL))

debug: deps
	cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build build-debug -j$(JOBS)

asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXUELIANG_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build build-asan -j$(JOBS)

fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXUELIANG_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ $(CMAKE_ARGS)
	cmake --build build-fuzz -j$(JOBS)
	@set -e; found=0; \
	for f in $$(find build-fuzz -type f -name '*_fuzz' -perm -u+x | sort); do \
	  found=1; name=$$(basename $$f); corpus=build-fuzz/corpus/$$name; mkdir -p $$corpus; \
	  seeds=""; for d in tests/fuzz/corpus/$$name tests/data/$$name; do \
	    [ -d $$d ] && seeds="$$seeds $$d"; done; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$corpus $$seeds; \
	done; \
	[ $$found = 1 ] || echo "fuzz: no *_fuzz targets were built"

bench: build
	@if [ -x $(BUILD_DIR)/bench/micro/xueliang_micro_bench ]; then \
	  $(BUILD_DIR)/bench/micro/xueliang_micro_bench; \
	else echo "bench: $(BUILD_DIR)/bench/micro/xueliang_micro_bench not built"; fi
	BUILD_DIR=$(BUILD_DIR) bash bench/compare/run.sh --quick

format:
	git ls-files -z -- '*.cc' '*.h' | xargs -0 -r clang-format -i

clean:
	rm -rf build build-debug build-asan build-fuzz
