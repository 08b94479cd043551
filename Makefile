# ordo: `make demo` and `make test` each do everything on a fresh Debian
# machine: install missing packages, configure, build, then run.

# Every Debian package the build, the tests and the demo need.
PACKAGES := cmake ninja-build g++ binutils clang pkg-config zstd libzstd-dev libcli11-dev libfmt-dev \
            nlohmann-json3-dev libabsl-dev libisal-dev libgtest-dev libbenchmark-dev libbpf-dev bpftool \
            systemtap-sdt-dev clang-format libclang-rt-14-dev fio strace util-linux chromium \
            slurm-wlm munge python3 python3-yaml
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BUILD ?= build
ORDO := $(BUILD)/cli/ordo
DEMO_DIR ?= out/demo
FUZZ_SECONDS ?= 60

.PHONY: all deps build test demo asan tsan fuzz bench format format-check clean

all: build

deps:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j2

# The unit and CLI tests again under AddressSanitizer and UBSan.
asan: deps
	cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DORDO_BUILD_BENCH=OFF \
	  -DORDO_SANITIZE=address,undefined
	cmake --build $(BUILD)-asan
	ctest --test-dir $(BUILD)-asan --output-on-failure -j2

# The engine and scheduler tests in fixed mode under ThreadSanitizer. Legacy
# mode races on purpose (on atomics, so TSan is quiet there too, but the
# point of this pass is that fixed is clean).
TSAN_TESTS := Engine.*:Fpre004.*OnFixed:Explore.Fixed*:Explore.SameSeed*:Stress.Fixed*:CrashRecovery.*
tsan: deps
	cmake -S . -B $(BUILD)-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDO_BUILD_BENCH=OFF \
	  -DORDO_SANITIZE=thread
	cmake --build $(BUILD)-tsan --target engine_tests
	ORDO_EXPLORE_SEEDS=500 TSAN_OPTIONS=halt_on_error=1 \
	  $(BUILD)-tsan/tests/engine_tests --gtest_filter='$(TSAN_TESTS)'

# The trace reader under libFuzzer for FUZZ_SECONDS, seeded with the sample traces.
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DORDO_BUILD_BENCH=OFF -DORDO_BUILD_FUZZ=ON -DORDO_SANITIZE=address,undefined
	cmake --build $(BUILD)-fuzz --target trace_reader_fuzz
	mkdir -p $(BUILD)-fuzz/corpus && cp traces/*.ordo $(BUILD)-fuzz/corpus/
	$(BUILD)-fuzz/tests/trace_reader_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -rss_limit_mb=2048 -print_final_stats=1 $(BUILD)-fuzz/corpus

# Every C and C++ file against .clang-format (Google base); `make format`
# rewrites them in place.
FORMAT_FILES = $$(git ls-files '*.cc' '*.h' '*.c')
format-check: deps
	clang-format --dry-run -Werror $(FORMAT_FILES)

format: deps
	clang-format -i $(FORMAT_FILES)

bench: build
	bench/run.sh $(BUILD)

# `ordo demo`: loadgen on the legacy engine captured with eBPF (as root; else
# the committed sample trace), FPRE004 reproduced under pct and again from its
# seed, analyzed, minimized, reported; the fixed engine clean; a table.
demo: build
	rm -rf $(DEMO_DIR)
	$(ORDO) demo --workdir $(DEMO_DIR)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz out
