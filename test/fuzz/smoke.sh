#!/bin/sh
# smoke.sh: a bounded libFuzzer run of every fuzz target, for CI.
#   sh test/fuzz/smoke.sh [BUILDDIR [SECONDS]]
# Builds BUILDDIR (default build-fuzz) with clang and -Dfuzzing=true when
# it is not there, then runs each target SECONDS (default 15) from its
# corpus (test/fuzz/corpus/<target>, plus ../shared/torture for the SIP
# parser when present, test/data/torture for the deciders). New inputs
# go to a temp folder, never into the repository. A crash stops the run
# with exit 1 and names the input: copy it into test/fuzz/corpus/<target>/
# so that `meson test` replays it (suite fuzz) once fixed. Prints
# executions and corpus size per target.
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build-fuzz}
S=${2:-15}
TARGETS="sip_msg sip_uri digest dbtext conf mi_request registrar route"

if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" -Dfuzzing=true >/dev/null
fi
if ! meson compile -C "$B" $(for t in $TARGETS; do echo "fuzz_$t"; done) \
    >"$B/smoke-build.log" 2>&1; then
	echo "fuzz smoke: build failed (log below)"
	tail -30 "$B/smoke-build.log"
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
crashes=test/fuzz/crashes
rc=0
for t in $TARGETS; do
	mkdir -p "$work/$t" "$crashes"
	seeds="test/fuzz/corpus/$t"
	extra=""
	if [ "$t" = sip_msg ] && [ -d ../shared/torture ]; then
		for d in ../shared/torture/*/; do
			extra="$extra $d"
		done
	fi
	# the deciders start from the torture messages as well
	if [ "$t" = registrar ] || [ "$t" = route ]; then
		for d in test/data/torture/*/; do
			extra="$extra $d"
		done
	fi
	log="$work/$t.log"
	# shellcheck disable=SC2086
	if ! "$B/test/fuzz/fuzz_$t" -max_total_time="$S" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$crashes/$t-" "$work/$t" "$seeds" $extra \
	    >"$log" 2>&1; then
		echo "fuzz smoke: $t: FAILED; input in $crashes/ (log below)"
		tail -40 "$log"
		rc=1
		continue
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	n=$(ls "$work/$t" | wc -l)
	seedn=$(ls "$seeds" | wc -l)
	echo "fuzz smoke: $t: $execs executions in $S s," \
	    "corpus $seedn seeds + $n new inputs, no crash"
done
exit $rc
