#!/bin/sh
# sipd-install: the step after unpacking the board tarball at / (first
# install or upgrade). busybox sh and busybox's cp/cmp/mv are enough.
#
# The tarball ships the config and the DB_TEXT tables only as FILE.dist
# (busybox tar has no --exclude, so a tarball holding the live files
# would overwrite an edited config and the registrations). This script
# makes FILE from FILE.dist where FILE is missing, and leaves every
# existing FILE as it is: an edited sipd.cfg, the subscriber, trusted
# and location tables and the version table all survive an upgrade.
# Where a kept config differs from the shipped one it says so; compare
# them with `diff FILE FILE.dist`. Run it again at will: it only adds.
#
# usage: sipd-install [ROOT]    ROOT: where the tarball was unpacked [/]
# conf/board-tarball.sh writes the sysconfdir of the build below.
set -eu

root=${1:-/}
etc=${root%/}@ETC@/sipd

if [ ! -f "$etc/sipd.cfg.dist" ]; then
	echo "sipd-install: no $etc/sipd.cfg.dist: unpack the tarball first" >&2
	exit 1
fi
for dist in "$etc/sipd.cfg.dist" "$etc"/db/*.dist; do
	f=${dist%.dist}
	if [ ! -e "$f" ]; then
		# Through a temporary name: an interrupted copy must not
		# leave a truncated file that the next run would keep.
		cp -p "$dist" "$f.new"
		mv -f "$f.new" "$f"
		echo "sipd-install: installed $f"
		continue
	fi
	# The config and the version table are the operator's to merge;
	# the other tables are data and differ as a matter of course.
	case $f in
	*/sipd.cfg | */db/version)
		cmp -s "$dist" "$f" ||
		    echo "sipd-install: kept $f; the shipped one is $dist"
		;;
	esac
done
