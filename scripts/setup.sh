#!/usr/bin/env bash
# Set up everything collab-widget needs on a fresh machine, idempotently:
#   scripts/setup.sh          Python venv (.venv) with the package, its server extension and
#                             the built JupyterLab extension; node_modules with the TypeScript
#                             tools (jlpm install)
#   scripts/setup.sh --test   the same plus the test tools: Debian's Chromium for the browser tests
#                             and Debian's redis-server for the multi-process Hub service tests
# Needs python3 (>= 3.10) and Node.js (for building the labextension from source).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

log() { printf '\n== %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
  # Installs Debian packages only when one of the given commands is missing.
  local cmd=$1; shift
  command -v "$cmd" >/dev/null && return 0
  log "installing $* (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

command -v node >/dev/null || apt_install node nodejs npm
if [ "$want_test" = 1 ]; then
  apt_install chromium chromium fonts-dejavu-core
  # the tests start their own servers (tests/redisserver.py), never the system's on 6379
  apt_install redis-server redis-server
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
python -m pip install -q --upgrade pip

log "installing collab-widget (builds the JupyterLab extension)"
extras=""
[ "$want_test" = 1 ] && extras="[test]"
# jupyterlab brings jlpm, which the build hook uses to build the labextension.
python -m pip install -q "jupyterlab>=4.2,<5" "hatch-jupyter-builder>=0.5" "jupyter-builder>=1.2,<2"
# `jupyter-builder develop` (below) leaves an install.json in the build output; a second
# install would then ship it twice (shared-data maps install.json too).
rm -f collab_widget/labextension/install.json
python -m pip install -q -e ".${extras}"
# The editable install brings the server config (shared-data); link the labextension to the
# build output so `jlpm build` is picked up by a browser reload.
jupyter-builder develop --overwrite . >/dev/null

# The build above runs `jlpm install` only when the labextension is older than src/; the
# TypeScript tools (jest, eslint, prettier, stylelint) need every devDependency of
# package.json in node_modules. A no-op (about a second) when they are there; with CI=true,
# yarn refuses to change yarn.lock.
log "installing the Node packages (jlpm install)"
jlpm install

# (Read the lists whole: `grep -q` would close the pipe early, which pipefail counts as failure.)
server_list=$(jupyter server extension list 2>&1)
lab_list=$(jupyter labextension list 2>&1)
grep -q "collab_widget.*enabled" <<<"$server_list" \
  || { echo "collab_widget server extension is not enabled" >&2; exit 1; }
grep -q "collab-widget.*enabled" <<<"$lab_list" \
  || { echo "collab-widget labextension is not enabled" >&2; exit 1; }
log "set up: .venv is ready"
