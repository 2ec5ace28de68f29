#!/usr/bin/env bash
# Set up and run the headless guest server (no OBS): guests join, each one is recorded.
#   bash install/serve.sh [--port 8765] [--out recordings] [--record 6000] [--codec vp8] ...
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
apt_ensure python3.11 python3.11-venv ffmpeg
python_env "$REPO_DIR/install/requirements.txt"
cd "$REPO_DIR"
PYTHONPATH="$REPO_DIR/lib${PYTHONPATH:+:$PYTHONPATH}" exec "$VENV_DIR/bin/python" -m guestrec serve "$@"
