#!/usr/bin/env bash
# Configure and build fuse-iomap out of tree in build/ (warnings are errors).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
	"$top/bootstrap"
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --enable-werror --quiet
fi
make -j"$(nproc)"
