#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite (real OBS and browser included).
#   bash install/test.sh [pytest args]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
apt_ensure python3.11 python3.11-venv ffmpeg chromium obs-studio xvfb xauth x11-utils coturn nftables iproute2 \
    xdotool imagemagick tesseract-ocr tesseract-ocr-eng nodejs janus vlc-bin vlc-plugin-base
# npm: Debian's package, unless the installed node brings its own (NodeSource's does, and
# conflicts with Debian's npm).
command -v npm >/dev/null || apt_ensure npm
python_env "$REPO_DIR/install/requirements-test.txt"
cd "$REPO_DIR"
exec "$VENV_DIR/bin/python" -m pytest -q -ra tests "$@"
