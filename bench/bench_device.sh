#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Device benchmark (`make bench-device`): peak RSS and wall time of one
# `ztp-device bootstrap` against the Python reference server; handshakes,
# round trips, bytes and CPU per provisioned device with and without
# keep-alive (bench/device/wire.sh); and the size of the device-side code.
#
# Nothing here is absolute: every figure is set against baselines measured
# in the same run, on the same machine, against the same server with the
# same factory certificate:
#   curl       one mutual-TLS POST /ztp/v1/challenge (libcurl + OpenSSL,
#              the same stack ztp-device uses, minus libztp)
#   s_client   one mutual-TLS handshake with `openssl s_client`
# A bootstrap does more than either: it generates a key, builds and signs
# a CSR, and makes two requests (challenge, bootstrap), the second of
# which has the server verify the device and issue a certificate.
# Wall time therefore includes the server's work; the CPU column (user +
# system of the measured process alone) is the device's own cost. A row
# for true(1) shows the floor every figure carries: the launcher
# (bench/device/measure.py and GNU time) and one fork and exec.
#
# Environment: top_srcdir, top_builddir (as for the tests); OPENSSL,
# PYTHON3 optional. BENCH_DEVICE_RUNS (default 5, at most 100) timed runs
# of each command, interleaved, after one untimed warm-up run each.
# BENCH_DEVICE_ONLY_BUILD=0 skips configuring and building the
# --disable-server library in a temporary directory (the slowest part);
# the device and core objects of the current build are reported anyway.
# That build configures a copy of the sources made by `make distdir` (a
# source tree configured in place, as README.md builds it, refuses a
# second build beside it); MAKE names the make that runs it.
# ZTP_E2E_KEEP=1 keeps the temporary directory (server logs, outputs).
#
# The mbedTLS port: when this build has it (bench/device.mk passes
# BENCH_DEVICE_MBEDTLS, empty for --without-mbedtls), ztp-device-mbedtls
# (the portable core on its mbedTLS port, doc/PORTING.md) is measured
# beside ztp-device in the same run: its bootstrap in the interleaved
# loop, its `run` through the relay, its peak heap, its code size; a
# side-by-side table with the ratios (mbedTLS / OpenSSL) ends the output,
# with whether the issue's aims (a bootstrap under 64 KiB of peak heap, a
# device library without mbedTLS under 64 KiB of text) are met. Peak heap
# is that of one bootstrap under valgrind massif (--pages-as-heap=no; the
# largest snapshot of mem_heap_B + mem_heap_extra_B: what malloc handed
# out plus its bookkeeping, whole process), for both tools and for curl;
# for ztp-device-mbedtls also what the core held through its allocator
# hooks (the device.stats event's heap_peak, bootstrap and whole run).
# Without valgrind (or in an instrumented build) the heap rows are left
# out; without arm-none-eabi-gcc, the Cortex-M4 size (`make
# device-core-arm`).
#
# The portable core on libztp's OpenSSL + libcurl port
# (tests/ztp-device-lite-openssl, ztp_lite_openssl_new()) is measured the
# same way, always: the same crypto and TLS stack as ztp-device, so its
# column sets the core's design against libztp/device's, and against the
# mbedTLS port the cost of the stack.
#
# Hardware factory keys: when SoftHSM2 and pkcs11-tool are installed, a
# second device with its factory key in a SoftHSM2 token (in process, so
# its CPU column includes the token's signatures), and when swtpm,
# tpm2-tools and the tpm2-openssl provider are, a third with its factory
# key in a software TPM (tests/e2e/lib.sh), are bootstrapped in the same
# interleaved loop; the TPM row's CPU column is the device process alone,
# and the TPM's own CPU
# (the swtpm process, read from /proc before and after) is reported per
# bootstrap beside it. A real TPM is far slower than swtpm (tens to
# hundreds of ms per ECDSA signature) and costs the device no CPU.
#
# Everything lives in one temporary directory, removed on exit; the server
# is stopped by the EXIT trap; every command and the side build run under
# a timeout. Only 127.0.0.1 is contacted.

. "${top_srcdir:?}/tests/e2e/lib.sh"
# Decimal points in printf and awk, whatever the locale.
LC_ALL=C
export LC_ALL

MEASURE=$top_srcdir/bench/device/measure.py
RUNS=${BENCH_DEVICE_RUNS:-5}
case $RUNS in
'' | *[!0-9]*) e2e_die "BENCH_DEVICE_RUNS must be a number" ;;
esac
if [ "$RUNS" -lt 1 ] || [ "$RUNS" -gt 100 ]; then
	e2e_die "BENCH_DEVICE_RUNS must be between 1 and 100"
fi
# Seconds any one measured command may take.
CMD_TIMEOUT=60
# Seconds for each of configure and make of the device-only library.
BUILD_TIMEOUT=900

e2e_require_tools "$ZTP_CA" "$ZTP_VERIFY" "$ZTP_DEVICE"
e2e_need_python
command -v curl >/dev/null 2>&1 || e2e_skip "curl not found"
command -v size >/dev/null 2>&1 || e2e_skip "size (binutils) not found"
echo "bench-device: one 'ztp-device bootstrap' (wall time, CPU, peak RSS)"
echo "  compared with, in the same run against the same server and factory"
echo "  certificate: curl doing one mutual-TLS POST /ztp/v1/challenge"
echo "  (libcurl + OpenSSL, the device's stack without libztp), openssl"
echo "  s_client doing one mutual-TLS handshake, and true(1), the floor of"
echo "  the launcher; then the device-side code size, compared with the full"
echo "  libztp.so of this build and with the libraries it links."
if [ -n "$ZTP_SAN" ]; then
	echo "note: libztp is instrumented ($ZTP_SAN); its figures are not" \
		"representative"
fi

# The program itself, not libtool's wrapper script: the wrapper's shell
# would be part of the time, and of the peak RSS (execve keeps the
# high-water mark).
BUILD_LIBPATH=$top_builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
DEVICE_BIN=$top_builddir/tools/.libs/ztp-device
DEVICE_LIBPATH=$BUILD_LIBPATH
if [ ! -x "$DEVICE_BIN" ]; then
	DEVICE_BIN=$ZTP_DEVICE
	DEVICE_LIBPATH=
fi
# The same for ztp-device-mbedtls; MT_BIN is empty when it is not built.
MT_BIN=
MT_LIBPATH=
if [ -n "${BENCH_DEVICE_MBEDTLS:-}" ]; then
	MT_BIN=$top_builddir/tools/.libs/ztp-device-mbedtls
	MT_LIBPATH=$BUILD_LIBPATH
	if [ ! -x "$MT_BIN" ]; then
		MT_BIN=$top_builddir/tools/ztp-device-mbedtls
		MT_LIBPATH=
	fi
	[ -x "$MT_BIN" ] || e2e_die "$MT_BIN is not built"
	echo "ztp-device-mbedtls (portable core, mbedTLS port) is measured beside"
	echo "  ztp-device in the same run, with ratios mbedTLS / OpenSSL at the end."
else
	echo "note: ztp-device-mbedtls is absent (configured --without-mbedtls or"
	echo "  without libmbedtls-dev): ztp-device is measured alone."
fi
# The core on the OpenSSL port (always built with the device API).
LO_BIN=$top_builddir/tests/.libs/ztp-device-lite-openssl
LO_LIBPATH=$BUILD_LIBPATH
if [ ! -x "$LO_BIN" ]; then
	LO_BIN=$top_builddir/tests/ztp-device-lite-openssl
	LO_LIBPATH=
fi
[ -x "$LO_BIN" ] || e2e_die "$LO_BIN is not built"
# valgrind massif for the peak heap, unless absent or the build is
# instrumented (a sanitizer's run time and valgrind exclude each other).
MASSIF=
if [ -z "$ZTP_SAN" ] && command -v valgrind >/dev/null 2>&1; then
	MASSIF=valgrind
else
	echo "note: no valgrind, or an instrumented build: no peak heap rows"
fi
# Seconds one run under valgrind may take.
MASSIF_TIMEOUT=300

# ------------------------------------------------------------------ setup

e2e_pki
# The timed runs bootstrap one device over and over: lift the rate limits
# the tests use so that no run is refused.
cat > "$T/verify.json" <<JSON
{
  "trust_anchors": "pki/acme-root.pem",
  "issuers": "pki/acme-factory.pem",
  "device_ca": {"cert": "pki/device-ca.pem", "key": "pki/device-ca.key"},
  "store": "sqlite:registry.db",
  "rate_limits": {"device": {"rate": 100000, "burst": 100000},
                  "global": {"rate": 100000, "burst": 100000}}
}
JSON
ID=bench-1
D=$T/dev/$ID
e2e_device "$ID"
e2e_enroll "$ID"
# ztp-device-mbedtls's device: its own state, its own factory identity.
MT_ID=bench-mt
MT_D=$T/dev/$MT_ID
if [ -n "$MT_BIN" ]; then
	e2e_device "$MT_ID"
	e2e_enroll "$MT_ID"
fi
# The core on the OpenSSL port's device.
LO_ID=bench-lo
LO_D=$T/dev/$LO_ID
e2e_device "$LO_ID"
e2e_enroll "$LO_ID"
e2e_start_server python server --quiet
e2e_device_config "$ID" "$E2E_PORT"
[ -z "$MT_BIN" ] || e2e_device_config "$MT_ID" "$E2E_PORT"
e2e_device_config "$LO_ID" "$E2E_PORT"
URL=https://127.0.0.1:$E2E_PORT

# The devices with a hardware factory key: their names, in HW_DEVICES.
HW_DEVICES=
# hw_device ID KEY_SOURCE: the device ID, enrolled, whose factory
# certificate was issued from $T/dev/ID/factory.csr, with the factory key
# named by KEY_SOURCE.
hw_device() {
	hd=$T/dev/$1
	e2e_factory_cert "$1"
	e2e_enroll "$1"
	e2e_device_config "$1" "$E2E_PORT"
	sed "s|\"file:factory.key\"|\"$2\"|" "$hd/device.json" > "$hd/d.json"
	mv "$hd/d.json" "$hd/device.json"
	HW_DEVICES="$HW_DEVICES $1"
}
tpm2_so=$("$OPENSSL" version -m | sed 's/^MODULESDIR: "\(.*\)"$/\1/')/tpm2.so
if command -v swtpm >/dev/null 2>&1 &&
	command -v tpm2_createprimary >/dev/null 2>&1 && [ -f "$tpm2_so" ]; then
	e2e_swtpm
	mkdir -p "$T/dev/bench-tpm"
	e2e_tpm_key 0x81000001 ecc256
	"$OPENSSL" req -new -provider tpm2 -provider default \
		-key handle:0x81000001 -subj "/CN=bench-tpm" \
		-out "$T/dev/bench-tpm/factory.csr" || e2e_die "TPM CSR"
	hw_device bench-tpm tpm2:handle=0x81000001
else
	echo "note: no swtpm, tpm2-tools or tpm2-openssl: no TPM row"
fi
if command -v softhsm2-util >/dev/null 2>&1 &&
	command -v pkcs11-tool >/dev/null 2>&1; then
	softhsm_init
	softhsm_token bench
	mkdir -p "$T/dev/bench-p11"
	softhsm_keygen bench bench-p11-factory
	softhsm_csr bench bench-p11-factory bench-p11 "$T/dev/bench-p11/factory.csr"
	hw_device bench-p11 "pkcs11:token=bench;object=bench-p11-factory?pin-source=file:$T/pin\&module-path=$SOFTHSM_MODULE"
else
	echo "note: no SoftHSM2 or pkcs11-tool: no token row"
fi

# CPU time (ms) the process PID has used so far: the scheduler's count in
# nanoseconds (/proc/PID/stat counts in clock ticks, 10 ms, coarser than
# what a TPM signature costs swtpm).
proc_cpu_ms() {
	awk '{ printf "%.3f\n", $1 / 1000000 }' "/proc/$1/schedstat"
}

# measure NAME CMD...: one run under measure.py; appends "WALL CPU RSS" to
# $T/NAME.dat. A failed or timed-out run stops the benchmark.
measure() {
	name=$1
	shift
	line=$("$PY" "$MEASURE" --timeout "$CMD_TIMEOUT" \
		--stdout "$T/$name.out" --stderr "$T/$name.err" -- "$@") ||
		e2e_die "$name: measure.py failed"
	set -- $line
	if [ "$4" != 0 ]; then
		cat "$T/$name.err"
		e2e_die "$name: exit status $4"
	fi
	RSS_METHOD=$5
	echo "$1 $2 $3" >> "$T/$name.dat"
}

# measure_prog NAME PROGRAM LIBPATH ARGS...: measure PROGRAM with ARGS,
# LIBPATH (when not empty) as its LD_LIBRARY_PATH.
measure_prog() {
	mname=$1
	mprog=$2
	mlib=$3
	shift 3
	if [ -n "$mlib" ]; then
		measure "$mname" env "LD_LIBRARY_PATH=$mlib" "$mprog" "$@"
	else
		measure "$mname" "$mprog" "$@"
	fi
}

# measure_device NAME ARGS...: measure the ztp-device program with ARGS.
measure_device() {
	mdname=$1
	shift
	measure_prog "$mdname" "$DEVICE_BIN" "$DEVICE_LIBPATH" "$@"
}

# measure_mt NAME ARGS...: the same for ztp-device-mbedtls; measure_lo
# for the core on the OpenSSL port.
measure_mt() {
	mmname=$1
	shift
	measure_prog "$mmname" "$MT_BIN" "$MT_LIBPATH" "$@"
}
measure_lo() {
	mmname=$1
	shift
	measure_prog "$mmname" "$LO_BIN" "$LO_LIBPATH" "$@"
}

# mt_stat FILE NAME: counter NAME of the device.stats event that
# ztp-device-mbedtls (or the OpenSSL port's tool) --verbose wrote to FILE.
mt_stat() {
	sed -n "s/.*\"event\":\"device.stats\".*\"$2\":\([0-9]*\).*/\1/p" "$1"
}

# run_core NAME DIR MEASURE [--verbose]: one bootstrap of the portable
# core's device in DIR, timed as NAME with MEASURE (measure_mt,
# measure_lo).
run_core() {
	rm -rf "$2/state"
	"$3" "$1" --config "$2/device.json" "${4:---quiet}" bootstrap
}
run_mt() { run_core ztp-device-mbedtls "$MT_D" measure_mt "$@"; }
run_lo() { run_core ztp-device-lite-openssl "$LO_D" measure_lo "$@"; }

# core_check_boot NAME DIR: the bootstrap certificate NAME stored in DIR
# (the slot its manifest names) chains to the device CA.
core_check_boot() {
	slot=$(sed -n 's/^ZTP1 c=\([ab]\) p=[ab-]$/\1/p' \
		"$2/state/bootstrap.manifest" 2>/dev/null)
	[ -n "$slot" ] || e2e_die "$1: no bootstrap credential"
	"$OPENSSL" verify -CAfile "$T/pki/device-ca.pem" -purpose sslclient \
		"$2/state/bootstrap.$slot.cert" >/dev/null ||
		e2e_die "$1: the bootstrap certificate does not chain to the" \
			"device CA"
}

# run_device [ID]: one bootstrap of ID (default: the device with a key
# file), timed as ztp-device or ID.
run_device() {
	rd=$D
	rname=ztp-device
	if [ -n "${1:-}" ]; then
		rd=$T/dev/$1
		rname=$1
	fi
	rm -rf "$rd/state"
	measure_device "$rname" --config "$rd/device.json" --quiet bootstrap
}

# run_hw ID: run_device ID, adding the swtpm process's CPU time during it
# to $T/ID.tpm when ID's key is in the TPM.
run_hw() {
	case $1 in
	bench-tpm)
		before=$(proc_cpu_ms "$E2E_SWTPM_PID")
		run_device "$1"
		after=$(proc_cpu_ms "$E2E_SWTPM_PID")
		awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f\n", a - b }' \
			>> "$T/$1.tpm"
		;;
	*) run_device "$1" ;;
	esac
}

run_curl() {
	measure curl curl -q --silent --show-error --fail \
		--connect-timeout 10 --max-time 30 \
		--cacert "$T/pki/server-ca.pem" --cert "$D/factory.pem" \
		--key "$D/factory.key" -H "Content-Type: application/json" \
		--data-binary "{\"device_id\":\"$ID\"}" "$URL/ztp/v1/challenge"
	grep -q '"nonce"' "$T/curl.out" ||
		e2e_die "curl: no challenge in the answer: $(cat "$T/curl.out")"
}

run_s_client() {
	measure s_client "$OPENSSL" s_client -brief \
		-connect "127.0.0.1:$E2E_PORT" -verify_ip 127.0.0.1 \
		-CAfile "$T/pki/server-ca.pem" -verify_return_error \
		-cert "$D/factory.leaf.pem" -cert_chain "$T/pki/acme-factory.pem" \
		-key "$D/factory.key"
	grep -q 'Verification: OK' "$T/s_client.err" ||
		e2e_die "s_client: handshake not verified: $(cat "$T/s_client.err")"
}

# The floor: the launcher and the fork and exec of a program that does
# nothing.
run_true() {
	measure true true
}

# Warm-up (page cache, server first-use paths); the bootstrap it makes is
# checked like in the end-to-end tests, so that what is timed below is
# known to be a complete, correct bootstrap.
run_device
e2e_check_cred "$ID"
for h in $HW_DEVICES; do
	run_hw "$h"
	e2e_check_cred "$h"
done
[ "$E2E_FAILS" -eq 0 ] || e2e_die "warm-up bootstrap is not correct"
# The warm-up of ztp-device-mbedtls is verbose: the heap its core held
# through the allocator hooks for one bootstrap.
MT_HEAP_BOOT=
if [ -n "$MT_BIN" ]; then
	run_mt --verbose
	core_check_boot ztp-device-mbedtls "$MT_D"
	MT_HEAP_BOOT=$(mt_stat "$T/ztp-device-mbedtls.err" heap_peak)
	[ -n "$MT_HEAP_BOOT" ] ||
		e2e_die "ztp-device-mbedtls: no device.stats event"
fi
run_lo --verbose
core_check_boot ztp-device-lite-openssl "$LO_D"
LO_HEAP_BOOT=$(mt_stat "$T/ztp-device-lite-openssl.err" heap_peak)
[ -n "$LO_HEAP_BOOT" ] ||
	e2e_die "ztp-device-lite-openssl: no device.stats event"
run_curl
run_s_client
run_true
rm -f "$T/ztp-device.dat" "$T/curl.dat" "$T/s_client.dat" "$T/true.dat" \
	"$T/ztp-device-mbedtls.dat" "$T/ztp-device-lite-openssl.dat"
for h in $HW_DEVICES; do
	rm -f "$T/$h.dat" "$T/$h.tpm"
done

# Interleaved, so that drifting load on the machine hits all three alike.
i=0
while [ $i -lt "$RUNS" ]; do
	run_device
	[ -z "$MT_BIN" ] || run_mt
	run_lo
	for h in $HW_DEVICES; do
		run_hw "$h"
	done
	run_curl
	run_s_client
	run_true
	i=$((i + 1))
done

# median FILE COLUMN
median() {
	cut -d ' ' -f "$2" "$1" | sort -n |
		awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# ratio A B
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b;
					 else printf "-" }'
}

wall_dev=$(median "$T/ztp-device.dat" 1)
cpu_dev=$(median "$T/ztp-device.dat" 2)
rss_dev=$(median "$T/ztp-device.dat" 3)

# trow LABEL NAME: one row of the timing table for $T/NAME.dat.
trow() {
	w=$(median "$T/$2.dat" 1)
	c=$(median "$T/$2.dat" 2)
	r=$(median "$T/$2.dat" 3)
	printf '%-28s %9.1f %6s %9.1f %6s %9.0f %6s\n' "$1" \
		"$w" "$(ratio "$wall_dev" "$w")" "$c" "$(ratio "$cpu_dev" "$c")" \
		"$r" "$(ratio "$rss_dev" "$r")"
}

echo
echo "ztp-device bootstrap: $RUNS runs each (medians), server on 127.0.0.1;"
echo "wall: until the command exits (includes the server's work);"
echo "CPU: user + system of the command only; peak RSS in KiB ($RSS_METHOD);"
echo "x: ztp-device bootstrap divided by that row"
printf '%-28s %9s %6s %9s %6s %9s %6s\n' "command" "wall ms" "x" \
	"CPU ms" "x" "peak RSS" "x"
trow "ztp-device bootstrap" ztp-device
[ -z "$MT_BIN" ] || trow "ztp-device-mbedtls bootstrap" ztp-device-mbedtls
trow "core, OpenSSL port: bootstrap" ztp-device-lite-openssl
for h in $HW_DEVICES; do
	case $h in
	bench-tpm) trow "  factory key in swtpm" "$h" ;;
	bench-p11) trow "  factory key, SoftHSM2" "$h" ;;
	*) trow "  $h" "$h" ;;
	esac
done
trow "curl, 1 mTLS POST" curl
trow "openssl s_client mTLS" s_client
trow "true (launcher floor)" true
for h in $HW_DEVICES; do
	[ -f "$T/$h.tpm" ] || continue
	echo "swtpm process CPU per bootstrap of $h (median): $(median "$T/$h.tpm" 1) ms"
done

# massif NAME PROGRAM LIBPATH ARGS...: sets PEAK to the peak heap in
# bytes of one run of PROGRAM under valgrind massif: the largest
# snapshot's mem_heap_B + mem_heap_extra_B (what malloc handed out, and
# its overhead).
massif() {
	msname=$1
	msprog=$2
	mslib=$3
	shift 3
	env ${mslib:+"LD_LIBRARY_PATH=$mslib"} timeout "$MASSIF_TIMEOUT" \
		valgrind -q --tool=massif --pages-as-heap=no \
		--massif-out-file="$T/$msname.massif" "$msprog" "$@" \
		> "$T/$msname.mout" 2> "$T/$msname.merr" || {
		cat "$T/$msname.merr"
		e2e_die "$msname: failed under valgrind massif"
	}
	PEAK=$(awk -F= '$1 == "mem_heap_B" { h = $2 }
		$1 == "mem_heap_extra_B" { if (h + $2 > m) m = h + $2 }
		END { printf "%d\n", m }' "$T/$msname.massif")
	[ "$PEAK" -gt 0 ] || e2e_die "$msname: no heap snapshot in the massif output"
}
HEAP_DEV=
HEAP_MT=
HEAP_LO=
HEAP_CURL=
if [ -n "$MASSIF" ]; then
	echo
	echo "peak heap of one bootstrap under valgrind massif ..."
	rm -rf "$D/state"
	massif massif-device "$DEVICE_BIN" "$DEVICE_LIBPATH" \
		--config "$D/device.json" --quiet bootstrap
	HEAP_DEV=$PEAK
	if [ -n "$MT_BIN" ]; then
		rm -rf "$MT_D/state"
		massif massif-mt "$MT_BIN" "$MT_LIBPATH" \
			--config "$MT_D/device.json" --quiet bootstrap
		HEAP_MT=$PEAK
	fi
	rm -rf "$LO_D/state"
	massif massif-lo "$LO_BIN" "$LO_LIBPATH" \
		--config "$LO_D/device.json" --quiet bootstrap
	HEAP_LO=$PEAK
	massif massif-curl "$(command -v curl)" "" -q --silent --show-error \
		--fail --connect-timeout 10 --max-time 120 \
		--cacert "$T/pki/server-ca.pem" --cert "$D/factory.pem" \
		--key "$D/factory.key" -H "Content-Type: application/json" \
		--data-binary "{\"device_id\":\"$ID\"}" "$URL/ztp/v1/challenge"
	HEAP_CURL=$PEAK
	grep -q '"nonce"' "$T/massif-curl.mout" ||
		e2e_die "curl under massif: no challenge in the answer"
fi

# Handshakes, round trips, bytes and CPU per provisioned device, with and
# without keep-alive (bench/device/wire.sh).
. "$top_srcdir/bench/device/wire.sh"
e2e_stop_server "$E2E_PID"

# ------------------------------------------------------------------ size

# sizeof FILE...: "TEXT TOTAL" summed over FILEs (size(1), Berkeley
# format: text = code and read-only data; total = text + data + bss).
sizeof() {
	size -B "$@" 2>/dev/null |
		awk 'NR > 1 { t += $1; d += $4 } END { printf "%d %d\n", t, d }'
}

LIB=$(readlink -f "$top_builddir/.libs/libztp.so" 2>/dev/null) || LIB=
[ -n "$LIB" ] && [ -f "$LIB" ] || e2e_die "libztp.so is not built"
set -- $(sizeof "$LIB")
full_text=$1 full_total=$2

# (An unmatched pattern stays literal; size(1) skips it with an error.)
set -- $(sizeof "$top_builddir"/libztp/device/.libs/*.o \
	"$top_builddir"/libztp/core/.libs/*.o)
obj_text=$1 obj_total=$2
[ "$obj_text" -gt 0 ] || e2e_die "no device or core objects in $top_builddir"

# The library as a device would ship it: configured like this build, with
# the server modules left out.

# build_step LOG CMD...: run CMD in $B under the timeout, output to $B/LOG.
# While it runs, its pid (that of timeout(1), which passes a SIGTERM on)
# is in the list the EXIT trap stops, so that an interrupted benchmark
# does not leave a build writing into the removed directory.
build_step() {
	log=$1
	shift
	(cd "$B" && exec timeout "$BUILD_TIMEOUT" "$@" > "$B/$log" 2>&1) &
	bpid=$!
	E2E_SERVER_PIDS="$E2E_SERVER_PIDS $bpid"
	brc=0
	wait "$bpid" || brc=$?
	rest=
	for pid in $E2E_SERVER_PIDS; do
		[ "$pid" = "$bpid" ] || rest="$rest $pid"
	done
	E2E_SERVER_PIDS=$rest
	return $brc
}
devlib_text=''
devlib_total=''
if [ "${BENCH_DEVICE_ONLY_BUILD:-1}" != 0 ]; then
	B=$T/device-only
	echo
	echo "copying the sources to $B (make distdir) ..."
	timeout "$BUILD_TIMEOUT" "${MAKE:-make}" -C "$top_builddir" distdir \
		distdir="$B" > "$T/distdir.log" 2>&1 || {
		tail -n 20 "$T/distdir.log"
		e2e_die "make distdir failed"
	}
	flags=$("$top_builddir/config.status" --config 2>/dev/null) || flags=
	eval "set -- $flags"
	for f; do
		shift
		case $f in
		--enable-server | --enable-server=* | --disable-server) ;;
		*) set -- "$@" "$f" ;;
		esac
	done
	jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || jobs=1
	echo "building the --disable-server library in $B ..."
	if build_step configure.log ./configure -q --disable-server "$@" &&
		build_step make.log "${MAKE:-make}" -j"$jobs" libztp.la; then
		set -- $(sizeof "$(readlink -f "$B/.libs/libztp.so")")
		devlib_text=$1 devlib_total=$2
	else
		for log in "$B/configure.log" "$B/make.log"; do
			[ ! -f "$log" ] || tail -n 20 "$log"
		done
		echo "warning: the --disable-server build failed; row omitted"
	fi
fi

echo
echo "device-side code size (bytes; size(1): text, and text+data+bss)"
printf '%-40s %10s %10s %8s\n' "" "text" "total" "text/full"
row() {
	printf '%-40s %10d %10d %8s\n' "$1" "$2" "$3" \
		"$(ratio "$2" "$full_text")"
}
row "libztp.so, full (this build)" "$full_text" "$full_total"
[ -z "$devlib_text" ] ||
	row "libztp.so, --disable-server" "$devlib_text" "$devlib_total"
row "device + core objects (this build)" "$obj_text" "$obj_total"
set -- $(sizeof "$DEVICE_BIN")
dev_prog_text=$1
row "ztp-device program" "$1" "$2"
# The mbedTLS port's library (core + port, without mbedTLS) and program.
mt_text=
mt_prog_text=
if [ -n "$MT_BIN" ]; then
	MTLIB=$(readlink -f "$top_builddir/.libs/libztp-device-mbedtls.so" \
		2>/dev/null) || MTLIB=
	[ -n "$MTLIB" ] && [ -f "$MTLIB" ] ||
		e2e_die "libztp-device-mbedtls.so is not built"
	set -- $(sizeof "$MTLIB")
	mt_text=$1
	row "libztp-device-mbedtls.so" "$1" "$2"
	set -- $(sizeof "$MT_BIN")
	mt_prog_text=$1
	row "ztp-device-mbedtls program" "$1" "$2"
fi
# The portable core alone for a Cortex-M4 (-Os): the TOTALS line that
# `make device-core-arm` prints (it needs arm-none-eabi-gcc).
arm_text=
if timeout "$BUILD_TIMEOUT" "${MAKE:-make}" -s -C "$top_builddir" \
	device-core-arm > "$T/arm.txt" 2> "$T/arm.err"; then
	set -- $(awk '/\(TOTALS\)/ { print $1, $4 }' "$T/arm.txt")
	arm_text=${1:-}
	[ -z "$arm_text" ] || row "portable core, Cortex-M4 -Os" "$1" "$2"
fi
[ -n "$arm_text" ] ||
	echo "note: make device-core-arm failed (arm-none-eabi-gcc?): no Cortex-M4 row"

echo
# Against the device-side libztp: the --disable-server library, or the
# device and core objects when that build was skipped or failed.
if [ -n "$devlib_text" ]; then
	dev_text=$devlib_text dev_name="libztp.so, --disable-server"
else
	dev_text=$obj_text dev_name="device + core objects"
fi
# linked LIB TEXT NAME...: a row for each library named NAME.so* that LIB
# links (text, total, and text / TEXT); the percentage of LIB (TEXT) in
# their sum with it.
linked() {
	llib=$1
	ltext=$2
	shift 2
	needed=$(ldd "$llib" 2>/dev/null) || needed=
	stack=$ltext
	for l; do
		p=$(echo "$needed" |
			awk -v l="$l" '$1 ~ "^" l "\\.so" { print $3; exit }')
		if [ -z "$p" ] || [ ! -f "$p" ]; then
			continue
		fi
		set -- $(sizeof "$(readlink -f "$p")")
		printf '%-40s %10d %10d %8s\n' "$(basename "$p")" "$1" "$2" \
			"$(ratio "$1" "$ltext")"
		stack=$((stack + $1))
	done
	awk -v a="$ltext" -v b="$stack" 'BEGIN { printf "%.1f", 100 * a / b }'
}
echo "shared libraries libztp links for the device (context, not ours);"
echo "x libztp = text / text of $dev_name"
printf '%-40s %10s %10s %8s\n' "" "text" "total" "x libztp"
linked "$LIB" "$dev_text" libcurl libssl libcrypto libjson-c > "$T/linked"
sed '$d' "$T/linked"
echo "libztp is $(tail -n 1 "$T/linked")% of the text of libztp and" \
	"these libraries together"
if [ -n "$MT_BIN" ]; then
	echo
	echo "shared libraries libztp-device-mbedtls links (context, not ours);"
	echo "x lib = text / text of libztp-device-mbedtls.so"
	printf '%-40s %10s %10s %8s\n' "" "text" "total" "x lib"
	linked "$MTLIB" "$mt_text" libmbedtls libmbedx509 libmbedcrypto \
		> "$T/linked"
	sed '$d' "$T/linked"
	echo "libztp-device-mbedtls is $(tail -n 1 "$T/linked")% of the text of" \
		"it and these libraries together"
fi

# ------------------------------------------------------------------ side by side

# fig VALUE [DECIMALS]: VALUE with DECIMALS (default 0) decimals, or "-".
fig() {
	case $1 in
	'' | -) echo - ;;
	*) awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }' ;;
	esac
}
# med FILE COLUMN: the median, or empty when FILE does not exist.
med() {
	[ -f "$1" ] && median "$1" "$2"
}
# srow LABEL OPENSSL MBEDTLS CURL [DECIMALS [LITE_OPENSSL]]: a row, with
# the ratios of each port of the core to ztp-device.
srow() {
	r=-
	[ -z "$2" ] || [ -z "$3" ] || r=$(ratio "$3" "$2")
	rl=-
	[ -z "$2" ] || [ -z "${6:-}" ] || rl=$(ratio "$6" "$2")
	printf '%-46s %11s %11s %6s %11s %6s %10s\n' "$1" \
		"$(fig "$2" "${5:-0}")" "$(fig "${6:-}" "${5:-0}")" "$rl" \
		"$(fig "$3" "${5:-0}")" "$r" "$(fig "$4" "${5:-0}")"
}
# total FILE: the file of the up + down bytes of the .wire FILE.
total() {
	awk '{ print $2 + $3 }' "$1" > "$1.sum" && echo "$1.sum"
}
mtwire=$T/wire-mt.wire
mtclk=$T/wire-mtclk.wire
lowire=$T/wire-lo.wire
echo
if [ -n "$MT_BIN" ]; then
	echo "side by side, per device: ztp-device (OpenSSL + libcurl), the"
	echo "portable core on the OpenSSL port (core+OSSL) and on the mbedTLS port"
	echo "(ztp-device-mbedtls); x = that column / ztp-device; curl doing one"
	echo "mTLS POST as the baseline (medians as above)"
else
	echo "ztp-device-mbedtls: absent (not built); ztp-device and the core on"
	echo "the OpenSSL port, with curl doing one mTLS POST as the baseline"
	echo "(medians as above)"
	mtwire=$T/none mtclk=$T/none
fi
printf '%-46s %11s %11s %6s %11s %6s %10s\n' "" "ztp-device" "core+OSSL" \
	"x" "mbedTLS" "x" "curl POST"
srow "bootstrap: wall ms" "$wall_dev" \
	"$(med "$T/ztp-device-mbedtls.dat" 1)" "$(med "$T/curl.dat" 1)" 1 \
	"$(med "$T/ztp-device-lite-openssl.dat" 1)"
srow "bootstrap: CPU ms" "$cpu_dev" \
	"$(med "$T/ztp-device-mbedtls.dat" 2)" "$(med "$T/curl.dat" 2)" 1 \
	"$(med "$T/ztp-device-lite-openssl.dat" 2)"
srow "bootstrap: peak RSS KiB" "$rss_dev" \
	"$(med "$T/ztp-device-mbedtls.dat" 3)" "$(med "$T/curl.dat" 3)" 0 \
	"$(med "$T/ztp-device-lite-openssl.dat" 3)"
srow "bootstrap: peak heap B (massif)" "$HEAP_DEV" "$HEAP_MT" "$HEAP_CURL" 0 \
	"$HEAP_LO"
srow "bootstrap: heap the core held B (hooks)" "" "$MT_HEAP_BOOT" "" 0 \
	"$LO_HEAP_BOOT"
srow "run: TLS handshakes" "$(med "$T/wire-new.wire" 1)" \
	"$(med "$mtwire" 1)" "$(med "$T/wire-curl.wire" 1)" 0 "$(med "$lowire" 1)"
srow "run: HTTP round trips" "$(med "$T/wire-new.wire" 4)" \
	"$(med "$mtwire" 4)" "$(med "$T/wire-curl.wire" 4)" 0 "$(med "$lowire" 4)"
srow "run: bytes up" "$(med "$T/wire-new.wire" 2)" \
	"$(med "$mtwire" 2)" "$(med "$T/wire-curl.wire" 2)" 0 "$(med "$lowire" 2)"
srow "run: bytes down" "$(med "$T/wire-new.wire" 3)" \
	"$(med "$mtwire" 3)" "$(med "$T/wire-curl.wire" 3)" 0 "$(med "$lowire" 3)"
srow "run: bytes total" "$(med "$(total "$T/wire-new.wire")" 1)" \
	"$([ ! -f "$mtwire" ] || med "$(total "$mtwire")" 1)" \
	"$(med "$(total "$T/wire-curl.wire")" 1)" 0 \
	"$(med "$(total "$lowire")" 1)"
srow "run: device CPU ms" "$(med "$T/wire-new.dat" 2)" \
	"$(med "$T/wire-mt.dat" 2)" "$(med "$T/wire-curl.dat" 2)" 1 \
	"$(med "$T/wire-lo.dat" 2)"
srow "run: heap the core held B (hooks)" "" "$(med "$T/wire-mt.heap" 1)" "" \
	0 "$(med "$T/wire-lo.heap" 1)"
srow "run, no clock: HTTP round trips" "$(med "$T/wire-clk.wire" 4)" \
	"$(med "$mtclk" 4)" ""
srow "run, no clock: bytes total" "$(med "$(total "$T/wire-clk.wire")" 1)" \
	"$([ ! -f "$mtclk" ] || med "$(total "$mtclk")" 1)" ""
srow "text B: device library (mbedTLS: without it)" "$dev_text" "$mt_text" ""
srow "text B: libztp.so (full) vs the mbedTLS one" "$full_text" "$mt_text" ""
srow "text B: the program" "$dev_prog_text" "$mt_prog_text" ""
srow "text B: portable core alone, Cortex-M4 -Os" "" "$arm_text" ""
echo "(device library, OpenSSL column: $dev_name)"

# aim LABEL VALUE: whether VALUE (bytes) is under 64 KiB.
aim() {
	if [ -z "$2" ]; then
		printf '  %-56s %s\n' "$1" "not measured"
	elif [ "$2" -lt 65536 ]; then
		printf '  %-56s %7d B: met\n' "$1" "$2"
	else
		printf '  %-56s %7d B: NOT met\n' "$1" "$2"
	fi
}
if [ -n "$MT_BIN" ]; then
	echo
	echo "the issue's aims (under 64 KiB = 65,536 B):"
	aim "mbedTLS bootstrap, peak heap of the process (massif)" "$HEAP_MT"
	aim "mbedTLS bootstrap, heap the core held (allocator hooks)" \
		"$MT_HEAP_BOOT"
	aim "device library without mbedTLS, text (as built)" "$mt_text"
	aim "portable core alone, text (Cortex-M4 -Os)" "$arm_text"
fi
