#!/bin/sh
# install-conf.sh: meson's install step for what an operator edits.
# An installed config or table is never overwritten (a reinstall or an
# upgrade must not undo an operator's edits or lose registrations): an
# edited sipd.cfg or version table stays and the shipped one lands
# beside it as FILE.dist, like Debian's conffiles; the subscriber,
# trusted and location tables are data and are only created when
# missing. The installed subscriber table holds no users (the demo users
# of conf/db are for the Quick start only). board.cfg, the small-board
# profile, lands beside sipd.cfg (conf/board-tarball.sh makes it the
# board's sipd.cfg). The SysV script is code and is always replaced.
#
# usage: install-conf.sh SRCDIR SYSCONFDIR INIT_SCRIPT   (DESTDIR honoured)
set -eu
src=$1
etc=${DESTDIR:-}$2
init=$3
dir=$etc/sipd

config() {	# SRC DEST MODE: a config file; keep an edited one
	if [ ! -e "$2" ]; then
		install -D -m "$3" "$1" "$2"
	elif ! cmp -s "$1" "$2"; then
		install -m "$3" "$1" "$2.dist"
		echo "install-conf: kept $2; the shipped one is $2.dist"
	fi
}

data() {	# SRC DEST MODE: a table; only when there is none
	if [ ! -e "$2" ]; then
		install -D -m "$3" "$1" "$2"
	fi
}

config "$src/sipd.cfg" "$dir/sipd.cfg" 0644
config "$src/board.cfg" "$dir/board.cfg" 0644
config "$src/db/version" "$dir/db/version" 0644
data "$src/dist/subscriber" "$dir/db/subscriber" 0600
data "$src/db/trusted" "$dir/db/trusted" 0644
data "$src/db/location" "$dir/db/location" 0644
install -D -m 0755 "$init" "$etc/init.d/sipd"
