#!/usr/bin/env bash
# Install the Debian 12 packages fuse-iomap needs to build, test and bench.
# Idempotent: packages already present are left alone.
set -euo pipefail

packages=(
	build-essential autoconf automake libtool pkg-config
	libfuse3-dev fuse3 e2fslibs-dev comerr-dev e2fsprogs attr acl
	linux-source-6.12 bc flex bison libelf-dev ccache
	libssl-dev	# the kernel build, and fuse2fs's fscrypt/fs-verity (libcrypto)
	fio fuse2fs gnuplot-nox libaio-dev liburing-dev xz-utils python3
	kmod util-linux python3-ply python3-git libseccomp-dev
	clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
