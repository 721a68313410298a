#!/bin/sh
# Build the patched User-Mode Linux kernel, or reuse a cached build.
#
# usage: build-uml.sh [-q]
#   Prints the path of the kernel binary on stdout (everything else goes
#   to stderr).  -q: only print the path if it is already built, exit 1
#   otherwise.
#
# The result lives outside the source tree, in
#   $FUSE_IOMAP_CACHE/uml/<key>/linux     (default /var/cache/fuse-iomap)
# where <key> is series-key.sh's hash of the series, the config fragment,
# this script and the tarball version: a rerun with unchanged inputs (a
# fresh clone in CI, say) finds the binary and builds nothing.
#
# The fuse series (patches/) is followed by uml-patches/: fixes the test
# bed needs on this host that are not part of the fuse work.
#
# A new key rebuilds incrementally in one persistent tree,
# $FUSE_IOMAP_CACHE/uml/tree/{linux,obj}: the previously applied series is
# reversed, the new one applied with `patch --fuzz=0` (a hunk that does
# not apply exactly, offsets aside, fails the build loudly), and make only
# recompiles what changed; ccache ($FUSE_IOMAP_CACHE/ccache) covers the
# rest.  Builds are serialised with a lock.
set -eu

kdir=$(cd "$(dirname "$0")/.." && pwd)
cache=${FUSE_IOMAP_CACHE:-/var/cache/fuse-iomap}
tarball=${KERNEL_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
jobs=${UML_JOBS:-2}
only_query=no
[ "${1:-}" = "-q" ] && only_query=yes

log() { echo "build-uml: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

key=$("$kdir/scripts/series-key.sh" "$tarball")
out=$cache/uml/$key
if [ -x "$out/linux" ]; then
	echo "$out/linux"
	exit 0
fi
[ $only_query = yes ] && exit 1

mkdir -p "$cache/uml" "$cache/ccache"
exec 9>"$cache/uml/.lock"
log "waiting for the build lock" && flock 9
if [ -x "$out/linux" ]; then
	echo "$out/linux"
	exit 0
fi

tree=$cache/uml/tree
src=$tree/linux
obj=$tree/obj
tarball_id="$(basename "$tarball") $(stat -c '%s %Y' "$tarball")"

extract() {
	log "extracting $tarball"
	rm -rf "$tree"
	mkdir -p "$tree/extract" "$obj"
	tar -xJf "$tarball" -C "$tree/extract"
	set -- "$tree"/extract/*
	[ $# -eq 1 ] && [ -f "$1/Makefile" ] || die "unexpected tarball layout"
	mv "$1" "$src"
	rmdir "$tree/extract"
	mkdir -p "$tree/applied"
	: >"$tree/applied/series"
	echo "$tarball_id" >"$tree/tarball-id"
}

if [ "$(cat "$tree/tarball-id" 2>/dev/null)" != "$tarball_id" ] ||
   [ ! -f "$tree/applied/series" ]; then
	extract
fi

# Undo the series applied last time, newest patch first.
if [ -s "$tree/applied/series" ]; then
	log "reverting the previous series"
	if tac "$tree/applied/series" | while read -r p; do
		patch -R -p1 --fuzz=0 --no-backup-if-mismatch -s \
			-d "$src" <"$tree/applied/$p" || exit 1
	done; then
		rm -f "$tree"/applied/*
		: >"$tree/applied/series"
	else
		log "reverting failed; starting from a fresh tree"
		extract
	fi
fi

# The fuse series, then the test-bed fixes of uml-patches/ (UML only).
{
	grep -v '^[[:space:]]*\(#\|$\)' "$kdir/patches/series" |
		sed 's|^|patches/|'
	grep -v '^[[:space:]]*\(#\|$\)' "$kdir/uml-patches/series" |
		sed 's|^|uml-patches/|'
} >"$tree/series.new"
while read -r p; do
	log "applying $p"
	[ -f "$kdir/$p" ] || die "$p is listed in a series file but missing"
	if ! patch -p1 --fuzz=0 --no-backup-if-mismatch -d "$src" \
		<"$kdir/$p" >"$tree/patch.log" 2>&1; then
		cat "$tree/patch.log" >&2
		# Leave the tree as extracted: a half-applied patch cannot be
		# reverted reliably.
		echo "stale" >"$tree/tarball-id"
		die "$p does not apply to $tarball_id"
	fi
	sed 's/^/  /' "$tree/patch.log" >&2
	b=$(basename "$p")
	cp "$kdir/$p" "$tree/applied/$b"
	echo "$b" >>"$tree/applied/series"
done <"$tree/series.new"

export CCACHE_DIR="$cache/ccache" CCACHE_BASEDIR="$cache" CCACHE_NOHASHDIR=1
kmake() { make -C "$src" O="$obj" ARCH=um CC="ccache gcc" "$@"; }

log "configuring"
kmake -s defconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
	"$kdir/uml.config" >/dev/null
kmake -s olddefconfig >&2
grep '^CONFIG_' "$kdir/uml.config" | while read -r line; do
	grep -qx "$line" "$obj/.config" ||
		die "$line did not survive olddefconfig (missing dependency?)"
done

log "building (make -j$jobs, log in $tree/build.log)"
if ! kmake -j"$jobs" linux >"$tree/build.log" 2>&1; then
	grep -E -B2 -A8 'error|Error' "$tree/build.log" | tail -60 >&2
	die "kernel build failed; see $tree/build.log"
fi

mkdir -p "$out.tmp"
cp "$obj/linux" "$out.tmp/linux"
cp "$obj/.config" "$out.tmp/config"
cp "$tree/series.new" "$out.tmp/series"
rm -rf "$out"
mv "$out.tmp" "$out"
log "built $out/linux"
echo "$out/linux"
