# kiln: the two commands that matter are `make demo` and `make test`.
PREFIX ?= /usr/local
SHARED ?= $(abspath ../shared)
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
CMAKE_FLAGS = -DKN_SHARED_DIR=$(SHARED)

.PHONY: all kiln deps test test-release test-asan test-tsan fuzz demo bench install clean

all: kiln

kiln:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS) -- --no-print-directory

deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory test-release
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-tsan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

test-release: kiln
	@echo "== test suite (gcc, -Werror)"
	@cd build && ctest --output-on-failure -j $(JOBS)

test-asan:
	@echo "== test suite under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
	@CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKN_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS) -- --no-print-directory
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)

# Builds run stages on threads: the suite again under ThreadSanitizer, where
# its runtime can start (some kernels' address layouts refuse it).
test-tsan:
	@echo "== test suite under ThreadSanitizer (clang)"
	@if echo 'int main(void){return 0;}' | clang -fsanitize=thread -x c - -o /tmp/kn-tsan-probe 2>/dev/null && \
		/tmp/kn-tsan-probe; then \
		CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-fsanitize=thread \
			-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread $(CMAKE_FLAGS) >/dev/null && \
		cmake --build build-tsan -j $(JOBS) -- --no-print-directory && \
		cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS); \
	else echo "(ThreadSanitizer cannot run here: skipped)"; fi; status=$$?; rm -f /tmp/kn-tsan-probe; exit $$status

fuzz:
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKN_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS) -- --no-print-directory
	@scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS) $(SHARED)

demo: kiln
	@scripts/demo.sh build/kiln $(SHARED)

bench: kiln
	@bench/run.sh build/kiln $(SHARED)

install: kiln
	install -D -m 0755 build/kiln $(DESTDIR)$(PREFIX)/bin/kiln

clean:
	rm -rf build build-asan build-tsan build-fuzz
