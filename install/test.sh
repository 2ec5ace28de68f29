#!/usr/bin/env bash
# Set up what the tests need and run them, stopping at the first step that fails.
#   bash install/test.sh [pytest args]          the whole suite: real OBS, browsers, Janus, namespaces
#   bash install/test.sh --fast [pytest args]   the fast tier, under a minute: lint, the guest page's
#                                               JavaScript tests, tests/unit (with the benchmarks'
#                                               smoke runs); nothing but Python, FFmpeg and Node
# Both run `ruff check` and the JavaScript tests first (seconds), then pytest.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi

if [ "$fast" -eq 1 ]; then
  apt_ensure python3.11 python3.11-venv ffmpeg
  command -v node >/dev/null || apt_ensure nodejs
else
  apt_ensure python3.11 python3.11-venv ffmpeg chromium firefox-esr obs-studio xvfb xauth x11-utils coturn nftables \
      iproute2 xdotool imagemagick tesseract-ocr tesseract-ocr-eng nodejs janus vlc-bin vlc-plugin-base melt
  # npm: Debian's package, unless the installed node brings its own (NodeSource's does, and
  # conflicts with Debian's npm).
  command -v npm >/dev/null || apt_ensure npm
fi
python_env "$REPO_DIR/install/requirements-test.txt"
cd "$REPO_DIR"

step() {
  echo "== $*"
}

step "ruff check (configuration: .ruff.toml)"
"$VENV_DIR/bin/ruff" check --quiet

if compgen -G "tests/unit/js/*.test.mjs" >/dev/null; then
  step "node --test tests/unit/js/"
  node --test tests/unit/js/
else
  step "node --test: skipped, tests/unit/js has no *.test.mjs"
fi

if [ "$fast" -eq 1 ]; then
  # Two workers, each test file on one (a file's module fixtures, e.g. the benchmark runs,
  # are made once): most of these tests wait on sockets and timers, not on the CPU.
  step "pytest tests/unit (2 workers)"
  exec "$VENV_DIR/bin/python" -m pytest -q -ra -n 2 --dist loadfile tests/unit "$@"
fi
# The unit tier on two workers as in --fast (about a minute saved), then every other tier on
# one: those drive OBS, browsers, Janus and network namespaces, and measure time.
if [ $# -gt 0 ]; then  # a choice of tests or markers: one pytest over tests/, as asked
  step "pytest tests $*"
  exec "$VENV_DIR/bin/python" -m pytest -q -ra tests "$@"
fi
# Both run whatever the other gave; the command fails if either failed.
step "pytest tests/unit (2 workers)"
unit=0
"$VENV_DIR/bin/python" -m pytest -q -ra -n 2 --dist loadfile tests/unit || unit=$?
step "pytest tests (all but tests/unit)"
rest=0
"$VENV_DIR/bin/python" -m pytest -q -ra --durations=15 tests --ignore=tests/unit || rest=$?
if [ "$unit" -ne 0 ] || [ "$rest" -ne 0 ]; then
  echo "== failed: tests/unit exit $unit, other tiers exit $rest"
  exit 1
fi
