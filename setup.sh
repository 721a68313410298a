#!/usr/bin/env bash
# The README's set-up command: install what fuse-iomap needs on Debian 12,
# build everything, and run the main job on a demo image.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
"$top/scripts/demo.sh"
