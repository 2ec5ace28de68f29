#!/usr/bin/env bash
# Set up and start OBS Studio with the Guest Recorder script loaded.
#   bash install/run-obs.sh [--port 8765] [--ws-port 4455] [--out DIR] [--record N] [--headless]
#   bash install/run-obs.sh --install-only     # only install what is missing, then stop
# Installs obs-studio, Xvfb and the Python dependencies when missing (Debian/Ubuntu), writes
# an OBS configuration of its own under .obs-run/ and starts OBS (under Xvfb when there is
# no display), printing the guest link and the obs-websocket port. Safe to run again.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
apt_ensure obs-studio xvfb python3.11 python3.11-venv
# The dependencies go into <repository>/.venv, built for the Python OBS links (3.11 on
# Debian 12); the script finds them there by itself.
python_env "$REPO_DIR/install/requirements.txt"
for arg in "$@"; do
  if [ "$arg" = "--install-only" ]; then
    echo "Installed. The OBS script is $REPO_DIR/obs_record_plugin.py (Tools > Scripts)."
    exit 0
  fi
done
exec "$VENV_DIR/bin/python" "$REPO_DIR/install/run_obs.py" "$@"
