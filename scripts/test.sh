#!/usr/bin/env bash
# Set up (if needed) and run every test: lint, TypeScript unit tests, Python unit and server
# tests, browser tests; then the browser tests a second time beside real-time collaboration
# (.venv-rtc, with jupyter-collaboration: every notebook is shared by its users there).
# Extra arguments go to pytest, in both runs (e.g. -k presence, or tests/test_server_auth.py);
# the second run takes tests/browser unless a path is given. COLLAB_RTC=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
rtc=${COLLAB_RTC:-1}
if [ "$rtc" = 0 ]; then bash scripts/setup.sh --test; else bash scripts/setup.sh --rtc; fi
# shellcheck disable=SC1091
. .venv/bin/activate
echo; echo "== ruff"
ruff check collab_widget tests benchmarks
echo; echo "== TypeScript (strict)"
jlpm tsc --noEmit
echo; echo "== stylelint, prettier, eslint (jlpm lint:check)"
jlpm lint:check
echo; echo "== TypeScript unit tests (jest)"
jlpm test
echo; echo "== pytest"
# Exit status 5: the arguments selected no test to run in that environment (e.g. only the rtc
# tests, which are deselected without jupyter-collaboration); an error only if neither ran any.
status=0
python -m pytest "$@" || status=$?
if [ "$rtc" != 0 ]; then
  echo; echo "== pytest: the browser tests beside real-time collaboration (.venv-rtc)"
  # Tests marked own_copies (each user has their own copy of a notebook) are deselected there,
  # the rtc ones selected (tests/browser/conftest.py). test_install makes its own venv: once is
  # enough.
  paths=(tests/browser --ignore=tests/browser/test_install.py)
  # Paths given (tests/...) replace tests/browser; other arguments (options and their values)
  # are passed on as they are.
  for arg in "$@"; do
    case $arg in tests/*) paths=(); break ;; esac
  done
  rtc_status=0
  .venv-rtc/bin/python -m pytest "${paths[@]}" "$@" || rtc_status=$?
  if [ "$status" = 5 ] && [ "$rtc_status" != 5 ]; then
    status=$rtc_status
  elif [ "$status" = 0 ] && [ "$rtc_status" != 5 ]; then
    status=$rtc_status
  fi
fi
exit "$status"
