# Shared by the install/ entry points: system packages and the Python environment.
# Safe to run again: it installs only what is missing.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${GUESTREC_VENV:-$REPO_DIR/.venv}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_ensure PKG...: install the Debian/Ubuntu packages that are not installed yet.
apt_ensure() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "Please install these packages with your system's package manager: ${missing[*]}" >&2
    return 1
  fi
  echo "Installing system packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# The Python OBS links is 3.11 on Debian 12; the dependencies are built for that minor
# version so the OBS script can load them from the same folder the tests use.
find_python311() {
  for candidate in "${GUESTREC_PYTHON:-}" /usr/bin/python3.11 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "Python 3.11 (with venv) is needed: apt-get install python3.11 python3.11-venv" >&2
  return 1
}

# python_env REQUIREMENTS: make or reuse the venv and install the requirements into it.
python_env() {
  local requirements="$1"
  if [ ! -x "$VENV_DIR/bin/python" ] ||
     ! "$VENV_DIR/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    local py; py="$(find_python311)"
    echo "Creating $VENV_DIR with $py"
    rm -rf "$VENV_DIR"
    "$py" -m venv "$VENV_DIR"
  fi
  "$VENV_DIR/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
}
