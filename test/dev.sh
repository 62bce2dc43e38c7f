#!/bin/sh
# dev.sh: the README quick start. Installs what is missing (Debian 12, as
# root), builds into build/, then either runs sipd in the foreground on the
# shipped conf/ ("run") or runs every test ("test").
set -eu
cd "$(dirname "$0")/.."

BUILD_DEPS="gcc meson ninja-build pkg-config libevent-dev libssl-dev
libsqlite3-dev libjansson-dev libcmocka-dev libhiredis-dev"
TEST_DEPS="python3 python3-pytest sip-tester sipsak busybox prometheus
chromium mandoc clang time redis-server redis-sentinel"

install_missing() {
	missing=""
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

build() {
	if [ ! -f build/build.ninja ]; then
		meson setup build -Dwerror=true
	fi
	meson compile -C build
}

case "${1:-}" in
run)
	install_missing $BUILD_DEPS
	build
	exec build/daemon/sipd -D -E -f conf/sipd.cfg
	;;
test)
	install_missing $BUILD_DEPS $TEST_DEPS
	build
	rc=0
	meson test -C build --print-errorlogs --num-processes 2 || rc=$?
	/usr/bin/python3 test/summary.py build/meson-logs/testlog.json
	exit $rc
	;;
*)
	echo "usage: sh test/dev.sh run|test" >&2
	exit 2
	;;
esac
