#!/usr/bin/env bash
# TFDV's own environment, apart from the project's (facts measured here: TFDV 1.16.1 is the
# newest wheel for Python 3.11; it needs numpy<2; pyfarmhash 0.3.2 has no wheel and is built
# from its sdist first; recent apache-beam needs dill). Pinned in requirements.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
uv="${UV:-$here/../../.tools/bin/uv}"
export UV_PYTHON_DOWNLOADS=never
"$uv" venv --clear "$here/.venv" --python python3.11
"$uv" pip install --python "$here/.venv/bin/python" setuptools wheel
"$uv" pip install --python "$here/.venv/bin/python" --no-binary pyfarmhash pyfarmhash==0.3.2
"$uv" pip install --python "$here/.venv/bin/python" -r "$here/requirements.txt"
