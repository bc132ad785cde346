#!/usr/bin/env bash
# Build the C++ extension with AddressSanitizer and UndefinedBehaviorSanitizer and run the tests
# that exercise it.  Usage: tools/sanitize.sh [pytest arguments]; with none, the whole suite.
# CI runs it on the tests that reach the C++ kernels with unusual input (.ci/run).  SANITIZE_SKIP
# deselects more tests (a pytest -k expression): a memory budget does not hold under ASan.
#
# Python is not built with ASan, so the runtime is preloaded; CPython's deliberate leaks at exit
# are not reported (detect_leaks=0).  Numba's LLVM does not run under a preloaded ASan runtime, so
# the Numba tests are deselected here; they have their own bitwise checks against the reference.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=build/sanitize-venv
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet scikit-build-core pybind11 ninja cmake numpy pytest hypothesis pandas \
    scikit-learn scipy "dask[array]" distributed dask-ml
"$venv/bin/python" -m pip install --quiet --no-build-isolation --no-deps -Cbuild-dir=build/sanitize \
    -Ccmake.build-type=RelWithDebInfo \
    "-Ccmake.define.CMAKE_CXX_FLAGS=$sanitizers" \
    "-Ccmake.define.CMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined" .

runtime="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)"
LD_PRELOAD="$runtime" \
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$venv/bin/python" -m pytest -p no:cacheprovider -k "not numba${SANITIZE_SKIP:+ and not $SANITIZE_SKIP}" "${@:-tests}"
