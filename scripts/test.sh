#!/usr/bin/env bash
# Set up (if needed) and run every test: lint, TypeScript unit tests, Python unit and server
# tests, browser tests.
# Extra arguments go to pytest (e.g. -k presence, or tests/test_server_auth.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
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
python -m pytest "$@"
