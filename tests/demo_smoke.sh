#!/bin/sh
# The fleet demo (`make demo`) with a small fleet: every step of it must
# pass (the script checks each step's result and exits 0 only then), its
# summary must account for every device, and it must stop its server and
# remove its temporary directory. With DEMO_HSM=1 (tests/demo_hsm.sh) the
# device CA's key is in a SoftHSM2 token.

set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"

have_python=
for cand in /usr/bin/python3 "${PYTHON3:-}" python3; do
	[ -n "$cand" ] || continue
	if command -v "$cand" > /dev/null 2>&1; then
		have_python=1
		break
	fi
done
[ -n "$have_python" ] || skip "no python3"

test_tmpdir demo-smoke
out=$T/out

# Bounded: a fleet of 6 takes seconds; the watchdog only catches a hang.
# The demo runs in a session of its own so that the watchdog can stop all
# of it (workers, tools, server) at once; its traps then clean up.
set -- env ZTP_SRCDIR="$top_srcdir" ZTP_BUILDDIR="$top_builddir" \
	DEVICES=6 JOBS=3 KEEP=0 \
	sh "$top_srcdir/examples/demo/fleet-demo.sh"
if command -v setsid > /dev/null 2>&1; then
	setsid "$@" > "$out" 2>&1 &
	pid=$!
	(
		i=0
		while [ $i -lt 900 ] && kill -0 "$pid" 2> /dev/null; do
			sleep 1
			i=$((i + 1))
		done
		if kill -0 "$pid" 2> /dev/null; then
			echo "FAIL: the demo did not finish in 900 s" >> "$out"
			kill -TERM -- "-$pid" 2> /dev/null
			sleep 10
			kill -KILL -- "-$pid" 2> /dev/null
		fi
	) &
	watchdog=$!
	rc=0
	wait "$pid" || rc=$?
	wait "$watchdog" || true
else
	rc=0
	"$@" > "$out" 2>&1 || rc=$?
fi
cat "$out"
if [ "$rc" = 77 ]; then
	# The script skips only builds it cannot drive (python3 absent, or a
	# ThreadSanitizer library that python cannot load).
	exit 77
fi

[ "$rc" = 0 ] || fail "the demo exited with status $rc"
grep -q '^PASSED: every step did what it says$' "$out" ||
	fail "no PASSED line"
grep -q 'FAIL' "$out" && fail "a step reported FAIL"
grep -Eq '^  devices provisioned +6/6$' "$out" ||
	fail "summary does not show 6/6 provisioned"
grep -Eq '^  devices with tenant credentials +6/6$' "$out" ||
	fail "summary does not show 6/6 with tenant credentials"
grep -Eq '^  failures +0 device runs, 0 checks$' "$out" ||
	fail "summary shows failures"
grep -Eq '^  claimed acme / globex +3 / 3$' "$out" ||
	fail "summary does not show 3 / 3 claims"
grep -Eq "^  time dominated by +(the demo's own processes: [0-9]+% of all CPU, the server [0-9]+%|the server: [0-9]+% of all CPU)$" "$out" ||
	fail "summary does not name what dominated the time"
# Certificates: a bootstrap and an operational one per device, another
# operational one per claim, and the reset device's second round.
re='^  certificates issued \(registry\) +21 \(7 bootstrap, 14 operational\)$'
grep -Eq "$re" "$out" ||
	fail "certificates issued: not 7 bootstrap and 14 operational"
if [ "${DEMO_HSM:-0}" = 1 ]; then
	grep -q "ok .*the device CA's key lives in a SoftHSM2 token" "$out" ||
		fail "DEMO_HSM=1: no device CA key in a token"
fi
crl=$(sed -n 's/^  CRL entries  *\([0-9][0-9]*\)$/\1/p' "$out")
# At least the revoked device's two and the reset device's two.
[ -n "$crl" ] && [ "$crl" -ge 4 ] || fail "CRL entries: '$crl'"

dir=$(sed -n 's/^libztp fleet demo: .* in \(.*\)$/\1/p' "$out")
[ -n "$dir" ] || fail "the demo did not name its directory"
[ -n "$dir" ] && [ -e "$dir" ] && fail "$dir was left behind"
pid=$(sed -n 's/.*listening on https:.* (pid \([0-9]*\)).*/\1/p' "$out")
[ -n "$pid" ] || fail "the demo did not report its server"
[ -n "$pid" ] && kill -0 "$pid" 2> /dev/null && fail "server $pid still running"

[ "$TEST_FAILS" -ne 0 ] ||
	ok "the demo's steps, its summary, and its server and directory gone"
checks_done
