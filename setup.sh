#!/usr/bin/env bash
# The README's set-up command: install what fuse-iomap needs on Debian 12,
# build everything (the patched User-Mode Linux kernel included, cached in
# /var/cache/fuse-iomap), and run the main job on a demo image twice: on the
# running kernel, which has no iomap (every file classic), and inside the
# patched UML kernel, where extent-mapped files go through iomap.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$top/build}
"$top/scripts/install-deps.sh"
BUILD_DIR=$build "$top/scripts/build.sh"

echo "===== demo on the running kernel ($(uname -r))"
BUILD_DIR=$build DEMO_DIR=$build/demo "$top/scripts/demo.sh"

echo "===== building the patched UML kernel (cached after the first time)"
make -C "$build/kernel" uml
echo "===== demo inside the patched UML kernel"
"$top/kernel/scripts/run-uml.sh" -t 300 -- \
	env BUILD_DIR="$build" DEMO_DIR="$build/demo-uml" "$top/scripts/demo.sh"
