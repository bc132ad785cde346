#!/usr/bin/env bash
# Build the sdist and a wheel, show the wheel's platform tag, install the sdist into a fresh venv
# and run the demo there.  Usage: tools/check_dist.sh   (needs network access to PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."

work=build/check-dist
rm -rf "$work" dist
python3 -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --upgrade pip build auditwheel
"$work/tools/bin/python" -m build --outdir dist .
"$work/tools/bin/auditwheel" show dist/*.whl

python3 -m venv "$work/from-sdist"
"$work/from-sdist/bin/python" -m pip install --quiet dist/*.tar.gz
cd "$work"  # away from the source tree, so the installed package is the one imported
"from-sdist/bin/python" -m fastdescent demo --n 2000
