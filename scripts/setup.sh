#!/usr/bin/env bash
# Install what is missing, and only that: the two Python environments with their locked
# packages, and the local .env with random secrets. A second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# find_python VERSION: print the path of a python of that minor version (PATH, then pyenv).
find_python() {
  local version=$1 candidate
  local candidates=("python${version}")
  local pyenv_root
  pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for dir in "$pyenv_root"/versions/"${version}".*; do
    [ -x "$dir/bin/python${version}" ] && candidates+=("$dir/bin/python${version}")
  done
  for candidate in "${candidates[@]}"; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$version" ]; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

require_python() {
  local version=$1 purpose=$2
  if ! find_python "$version"; then
    {
      echo
      echo "Python ${version} est introuvable : il est nécessaire pour ${purpose}."
      echo "  Installez-le, par exemple : sudo apt install python${version} python${version}-venv"
      echo "  ou avec pyenv : pyenv install ${version}"
      echo "Python ${version} was not found: it is needed for ${purpose}."
      echo "  Install it, e.g.: sudo apt install python${version} python${version}-venv"
      echo "  or with pyenv: pyenv install ${version}"
      echo
    } >&2
    exit 1
  fi
}

# The stamp names the lock's digest and how the packages were installed ("compiled": with
# their bytecode), so an environment installed the older way is synced once more.
lock_digest() { echo "$(sha256sum "$1" | cut -d' ' -f1) compiled"; }

# ensure_venv DIR PYTHON LOCK: create DIR with PYTHON and sync it to LOCK unless already done.
# Packages are installed with their bytecode: where PYTHONDONTWRITEBYTECODE is set (CI, some
# containers), Python would otherwise compile TensorFlow's sources again at every start of
# Rasa, a third of its start-up time (docs/performance.md).
ensure_venv() {
  local dir=$1 python=$2 lock=$3 stamp="$1/.guichet-lock"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(lock_digest "$lock")" ]; then
    return 0
  fi
  if [ ! -x "$dir/bin/python" ]; then
    say "Création de l'environnement $dir ($("$python" --version))"
    "$python" -m venv "$dir"
  fi
  say "Installation des paquets de $lock dans $dir (quelques minutes la première fois)"
  "$UV" pip sync --compile-bytecode --python "$dir/bin/python" "$lock"
  lock_digest "$lock" >"$stamp"
}

PY311=$(require_python 3.11 "l'API, la passerelle vocale et les tests / the API, voice gateway and tests")
PY310=$(require_python 3.10 "Rasa 3.6 (serveur et actions) / Rasa 3.6 (server and actions)")

# uv installs the locks; it comes from the locked dev requirements themselves.
UV=.venv/bin/uv
if [ ! -x "$UV" ]; then
  [ -x .venv/bin/python ] || { say "Création de l'environnement .venv ($("$PY311" --version))"; "$PY311" -m venv .venv; }
  uv_pin=$(grep -E '^uv==' requirements/dev.lock)
  say "Installation de $uv_pin"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$uv_pin"
fi

ensure_venv .venv "$PY311" requirements/dev.lock
ensure_venv .venv-rasa "$PY310" requirements/rasa.lock

.venv/bin/python scripts/ensure_env.py .env
