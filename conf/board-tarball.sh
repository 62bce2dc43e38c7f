#!/bin/sh
# board-tarball.sh: the tarball the board unpacks at / (issue 12), as
# Kamailio 3.0.1 was installed there over TFTP.
#
# usage: sh conf/board-tarball.sh [--no-rebuild] BUILD OUT.tar.gz
#   BUILD  a configured build folder, native (build) or cross
#          (build-armhf, build-arm64 from test/cross.sh)
#   OUT    the tarball to write
#
# It runs `meson install --strip --destdir` into a temporary folder,
# then keeps only what the board runs: no man pages, docs, headers or
# systemd units; the SysV script goes to etc/init.d/sipd (where the
# board's init looks, whatever the prefix); the board profile board.cfg
# becomes the config, sipd.cfg.dist, next to the DB_TEXT tables. The
# paths inside follow the build's prefix (/usr/local unless set
# otherwise: usr/local/sbin/sipd, usr/local/etc/sipd/sipd.cfg.dist). The tarball holds
# files owned by 0:0 and no entry for / itself (unpacking must not
# change /'s mode). It prints its size and its listing.
#
# The config and the tables are in it only as FILE.dist: after
# unpacking, sbin/sipd-install (conf/sipd-install.sh) creates each one
# that is missing and keeps every existing one, so unpacking a newer
# tarball over an installed sipd keeps its edits (README).
set -eu

rebuild=
if [ "${1:-}" = --no-rebuild ]; then
	rebuild=--no-rebuild
	shift
fi
if [ $# -ne 2 ]; then
	echo "usage: $0 [--no-rebuild] BUILD OUT.tar.gz" >&2
	exit 2
fi
build=$1
out=$2
if [ ! -f "$build/build.ninja" ]; then
	echo "board-tarball: $build is not a configured meson build" >&2
	exit 1
fi
case $out in
/*) ;;
*) out=$PWD/$out ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipd-board.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
root=$tmp/root
mkdir "$root"

# shellcheck disable=SC2086  # $rebuild is empty or one word
if ! meson install -C "$build" --destdir "$root" --strip $rebuild \
    >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	echo "board-tarball: meson install failed" >&2
	exit 1
fi

# What the board does not need.
find "$root" \( -path '*/share/man' -o -path '*/share/doc' \
    -o -path '*/share/info' -o -path '*/include' \
    -o -path '*/lib/systemd' \) -prune -exec rm -rf {} +

# The config: board.cfg (installed beside sipd.cfg) is the board's one.
cfg=$(find "$root" -path '*/sipd/board.cfg' -type f)
if [ -z "$cfg" ] || [ "$(printf '%s\n' "$cfg" | wc -l)" -ne 1 ]; then
	echo "board-tarball: no single sipd/board.cfg in the install" >&2
	exit 1
fi
etcdir=${cfg%/board.cfg}
mv -f "$cfg" "$etcdir/sipd.cfg"
rm -f "$etcdir"/*.dist "$etcdir"/db/*.dist
# Config and tables travel as FILE.dist; sipd-install makes FILE only
# where there is none, so an upgrade keeps the operator's edits and the
# registrations (busybox tar cannot exclude them).
for f in "$etcdir/sipd.cfg" "$etcdir"/db/*; do
	mv "$f" "$f.dist"
done
sipd=$(find "$root" -path '*/sbin/sipd' -type f)
if [ -z "$sipd" ] || [ "$(printf '%s\n' "$sipd" | wc -l)" -ne 1 ]; then
	echo "board-tarball: no single sbin/sipd in the install" >&2
	exit 1
fi
etc=${etcdir#"$root"}
etc=${etc%/sipd}
sed "s|@ETC@|$etc|" "$(dirname "$0")/sipd-install.sh" \
    >"${sipd%/sipd}/sipd-install"
chmod 0755 "${sipd%/sipd}/sipd-install"

# The SysV script at etc/init.d/sipd, wherever sysconfdir was.
init=$(find "$root" -path '*/init.d/sipd' -type f)
if [ -z "$init" ] || [ "$(printf '%s\n' "$init" | wc -l)" -ne 1 ]; then
	echo "board-tarball: no single init.d/sipd in the install" >&2
	exit 1
fi
if [ "$init" != "$root/etc/init.d/sipd" ]; then
	mkdir -p "$root/etc/init.d"
	mv "$init" "$root/etc/init.d/sipd"
fi
chmod 0755 "$root/etc/init.d/sipd"
find "$root" -mindepth 1 -depth -type d -empty -delete

# Members are the top-level folders (etc, usr), not "./": no entry
# for / itself.
cd "$root"
set -- *
tar --numeric-owner --owner=0 --group=0 --sort=name -czf "$out" "$@"
cd - >/dev/null

echo "board-tarball: $out: $(wc -c <"$out") bytes"
tar -tzvf "$out"
