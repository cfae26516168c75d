# Sourced by scripts/run and scripts/test: make .venv (Python >= 3.11) and install the given
# requirements file, skipping pip when that file and what it includes have not changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

requirements="$1"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "WaterBill API needs Python 3.11 or newer as '$python' (set PYTHON=/path/to/python3.11)." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $("$python" --version)..." >&2
    "$python" -m venv .venv
fi
stamp=".venv/.installed-${requirements//\//-}"
digest="$(cat requirements*.txt "$requirements" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "Installing $requirements into .venv..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$digest" > "$stamp"
fi
