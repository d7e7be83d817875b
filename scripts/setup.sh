#!/usr/bin/env bash
# Set up everything collab-widget needs on a fresh machine, idempotently:
#   scripts/setup.sh          Python venv (.venv) with the package, its server extension and
#                             the built JupyterLab extension; node_modules with the TypeScript
#                             tools (jlpm install)
#   scripts/setup.sh --test   the same plus the test tools: Debian's Chromium for the browser tests
#                             and Debian's redis-server for the multi-process Hub service tests
#   scripts/setup.sh --rtc    --test, plus .venv-rtc: a second venv with the same package and test
#                             tools and jupyter-collaboration (real-time collaboration, the `rtc`
#                             extra), for the browser tests' second run; it reuses the
#                             labextension built for .venv (no second Node build)
# Needs python3 (>= 3.10) and Node.js (for building the labextension from source).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_rtc=0
for arg in "$@"; do
  case $arg in
    --test) want_test=1 ;;
    --rtc) want_test=1 want_rtc=1 ;;
    *) echo "setup.sh: unknown option $arg (--test, --rtc)" >&2; exit 2 ;;
  esac
done

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

rtc_ext=.venv-rtc/share/jupyter/labextensions/collab-widget
if [ "$want_rtc" = 1 ]; then
  # Here, before `jupyter-builder develop` puts an install.json into the build output (which the
  # shared-data would then ship twice). SKIP_JUPYTER_BUILDER: the labextension was just built.
  # The editable install follows the code; it is made again when what it copies changed.
  stamp=$(cat pyproject.toml install.json jupyter-config/server-config/* | sha256sum | cut -c1-16)
  if [ ! -x .venv-rtc/bin/python ]; then
    log "creating .venv-rtc"
    "$PYTHON" -m venv .venv-rtc
  fi
  if [ "$(cat .venv-rtc/.collab-stamp 2>/dev/null)" != "$stamp" ] \
    || ! .venv-rtc/bin/python -c "import collab_widget, jupyter_collaboration" 2>/dev/null; then
    log "installing collab-widget and jupyter-collaboration into .venv-rtc"
    # (pip must not reach the build output through the link made below)
    if [ -L "$rtc_ext" ]; then rm "$rtc_ext"; fi
    rm -f collab_widget/labextension/install.json # (a `jlpm build` since may have made one)
    .venv-rtc/bin/python -m pip install -q --upgrade pip
    SKIP_JUPYTER_BUILDER=1 .venv-rtc/bin/python -m pip install -q -e ".[test,rtc]"
    echo "$stamp" >.venv-rtc/.collab-stamp
  fi
fi

# The editable install brings the server config (shared-data); link the labextension to the
# build output so `jlpm build` is picked up by a browser reload.
jupyter-builder develop --overwrite . >/dev/null
if [ "$want_rtc" = 1 ]; then
  # The same link for .venv-rtc (what `jupyter-builder develop` makes; not installed there).
  mkdir -p "$(dirname "$rtc_ext")"
  [ -L "$rtc_ext" ] || rm -rf "$rtc_ext"
  ln -sfn "$PWD/collab_widget/labextension" "$rtc_ext"
fi

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
if [ "$want_rtc" = 1 ]; then
  rtc_server=$(.venv-rtc/bin/jupyter server extension list 2>&1)
  rtc_lab=$(.venv-rtc/bin/jupyter labextension list 2>&1)
  for name in collab_widget jupyter_server_ydoc; do
    grep -q "$name.*enabled" <<<"$rtc_server" \
      || { echo ".venv-rtc: $name server extension is not enabled" >&2; exit 1; }
  done
  for name in collab-widget @jupyter/docprovider-extension; do
    grep -q "$name.*enabled" <<<"$rtc_lab" \
      || { echo ".venv-rtc: $name labextension is not enabled" >&2; exit 1; }
  done
  log "set up: .venv and .venv-rtc are ready"
else
  log "set up: .venv is ready"
fi
