# Sourced by the other scripts: makes sure Python >= 3.14.2, the .venv and mosquitto exist.
# Idempotent: every step checks first and does nothing when its part is already in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"

log() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0")" "$*" >&2; }

python_ok() { "$1" -c 'import sys, ssl, sqlite3; sys.exit(sys.version_info < (3, 14, 2))' 2>/dev/null; }

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.14 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null && python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

ensure_python() {
  if PY="$(find_python)"; then return 0; fi
  # Optional: a script that installs Python 3.14 (e.g. on Debian 12, which has 3.11), named by
  # PROVIDE_PYTHON314 or found next to the checkout.
  local provider
  for provider in "${PROVIDE_PYTHON314:-}" "$ROOT/../shared/tools/provide-python3.14"; do
    if [ -n "$provider" ] && [ -x "$provider" ]; then
      log "no Python >= 3.14.2 found; running $provider"
      "$provider" >&2
      if PY="$(find_python)"; then return 0; fi
    fi
  done
  cat >&2 <<'MSG'
This project needs Python >= 3.14.2 (Home Assistant 2026.10 requires it) and none was found.
Install one (for example from python.org, pyenv, uv python install 3.14, or your distribution),
make it available as `python3.14`, or point PYTHON=/path/to/python3.14 at it, then run again.
MSG
  exit 1
}

# `ensure_venv dev` also installs requirements_dev.txt (scripts/develop); it has its own stamp so
# that switching between scripts/test and scripts/develop does not reinstall anything.
ensure_venv() {
  local stamp="$VENV/.requirements.sha256" want files=(requirements_test.txt) file
  if [ "${1:-}" = dev ]; then
    files+=(requirements_dev.txt)
    stamp="$VENV/.requirements-dev.sha256"
  fi
  want="$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
  if [ -x "$VENV/bin/python" ] && python_ok "$VENV/bin/python" && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  if ! { [ -x "$VENV/bin/python" ] && python_ok "$VENV/bin/python"; }; then
    log "creating $VENV with $PY"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
  fi
  log "installing ${files[*]} into .venv (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip >&2
  for file in "${files[@]}"; do
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$file" >&2
  done
  echo "$want" >"$stamp"
}

ensure_mosquitto() {
  if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then return 0; fi
  log "installing mosquitto with apt-get"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mosquitto >&2
  # Only the binary is wanted; the tests and the emulator start their own brokers.
  $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
}

bootstrap() {
  ensure_python
  ensure_venv "$@"
  ensure_mosquitto
  export PATH="$VENV/bin:$PATH:/usr/sbin"
}
