#!/usr/bin/env bash
# Set up (if needed) and open JupyterLab on the classroom demo notebook.
# Extra arguments go to `jupyter lab` (e.g. --ip=0.0.0.0 --port=8888 for a class on a LAN).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-root)
# Serve notebooks/ (the file to open is resolved against the working directory).
cd notebooks
exec jupyter lab "${root_flag[@]}" "$@" class_demo.ipynb
