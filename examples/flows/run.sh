#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run.sh: run an example flow against a throwaway deployment.
#
#   examples/flows/run.sh EXAMPLE [c] [python]
#
# EXAMPLE is bootstrap, rotation, tenants or lifecycle (README.md in this
# directory). Without a language both the C program (built by `make
# examples`) and the Python one run, each against a deployment of its own
# made in a temporary directory by the end-to-end test helpers
# (tests/e2e/lib.sh):
#
#   - a PKI made with ztp-ca: a manufacturer's root and issuing CA, the
#     platform's device CA, a server CA and the server's TLS certificate
#     for 127.0.0.1;
#   - the verifier configuration verify.json (ztp-verify.json(5)) with a
#     SQLite registry;
#   - the reference server examples/python/ztp_server.py hosting the
#     verifier over HTTPS on 127.0.0.1, on a free port.
#
# The example gets the directory and the server's URL as its arguments.
# Everything is removed afterwards (ZTP_E2E_KEEP=1 keeps it), and each run
# is stopped after RUN_TIMEOUT seconds (default 60; a run takes a few).
# Exit status: 0 when every run passed, 77 when the examples cannot run
# here (no python3), 1 otherwise.
#
# top_srcdir and top_builddir default to the tree this script is in (the
# in-tree build); `make check` sets them, and OPENSSL and PYTHON3.

set -eu

usage() {
	echo "usage: run.sh bootstrap|rotation|tenants|lifecycle [c] [python]" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

[ $# -ge 1 ] || usage
flow=$1
shift
case $flow in
bootstrap | rotation | tenants | lifecycle) ;;
*) usage ;;
esac
for lang in "$@"; do
	case $lang in
	c | python) ;;
	*) usage ;;
	esac
done
[ $# -gt 0 ] || set -- c python

# One deployment per run: start this script again for each language.
if [ $# -gt 1 ]; then
	failed=0
	skipped=0
	for lang in "$@"; do
		rc=0
		sh "$here/run.sh" "$flow" "$lang" || rc=$?
		case $rc in
		0) ;;
		77) skipped=1 ;;
		*) failed=1 ;;
		esac
	done
	[ "$failed" = 0 ] || exit 1
	[ "$skipped" = 0 ] || exit 77
	exit 0
fi
flow_lang=$1

# (lib.sh and its functions use short variable names of their own.)
. "$top_srcdir/tests/e2e/lib.sh"
e2e_require_tools "$ZTP_CA"
e2e_need_python
if [ "$flow_lang" = c ]; then
	prog=$top_builddir/examples/flows/$flow
	[ -x "$prog" ] || e2e_die "$prog is not built (run make examples)"
	set -- "$prog"
else
	# $PYRUN is a command prefix (the interpreter, with the sanitizer
	# runtimes preloaded in an instrumented build): unquoted on purpose.
	# shellcheck disable=SC2086
	set -- $PYRUN "$top_srcdir/examples/flows/$flow.py"
fi

echo "== example $flow ($flow_lang)"
umask 077
e2e_pki
e2e_start_server python server --quiet
rc=0
ZTP_LIBRARY=$ZTP_LIB PYTHONDONTWRITEBYTECODE=1 \
	PYTHONPATH=$top_srcdir/bindings/python OPENSSL=$OPENSSL \
	timeout -k 5 "${RUN_TIMEOUT:-60}" \
	"$@" "$T" "https://127.0.0.1:$E2E_PORT" || rc=$?
if [ "$rc" -ne 0 ]; then
	[ "$rc" -ne 124 ] || echo "FAIL: stopped after ${RUN_TIMEOUT:-60} s"
	if [ -s "$T/server-server-$$.err" ]; then
		echo "-- the server said:"
		tail -n 20 "$T/server-server-$$.err"
	fi
	e2e_die "example $flow ($flow_lang) exited with status $rc"
fi
e2e_stop_server "$E2E_PID"
echo "== example $flow ($flow_lang) passed"
