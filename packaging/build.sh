#!/usr/bin/env bash
# Build the one-folder bundle into dist/socialdesk/ and print its size (see packaging/README.md).
# Needs the bundle extra: pip install -e '.[bundle]'. Arguments go to build.py (--dist DIR, --work DIR).
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/build.py" "$@"
