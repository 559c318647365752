# Sourced by the binding and end-to-end test wrappers: how to load a
# sanitizer-instrumented libztp into an interpreter or a cgo program.
#
#   ztp_san_detect LIB   sets ZTP_SAN to "", "asan" (ASan and/or UBSan)
#                        or "tsan"
#   ztp_san_preload LIB  sets ZTP_SAN_PRELOAD to the sanitizer runtimes LIB
#                        links (colon-separated, for LD_PRELOAD); returns 1
#                        when they cannot be preloaded (runtime linked
#                        statically into executables, as clang does)
#
# An instrumented shared library needs its runtime loaded before anything
# else; an uninstrumented python3 gets it through LD_PRELOAD. Leak
# detection is then useless (the interpreter's own allocations are
# reported), so ASAN_OPTIONS gains detect_leaks=0 for those processes
# only; the C test programs keep it.

ztp_san_detect() {
	ZTP_SAN=
	if [ "${ZTP_SANITIZERS:-0}" = 1 ]; then
		ZTP_SAN=asan
	fi
	libs=$(ldd "$1" 2>/dev/null) || libs=
	case $libs in
	*libtsan*) ZTP_SAN=tsan ;;
	*libasan* | *libubsan*) ZTP_SAN=asan ;;
	esac
	if [ -z "$ZTP_SAN" ] && nm -D "$1" 2>/dev/null | grep -Eq ' U __(asan|ubsan)_'; then
		ZTP_SAN=asan
	fi
}

ztp_san_preload() {
	ZTP_SAN_PRELOAD=
	for rt in libasan libubsan; do
		p=$(ldd "$1" 2>/dev/null | awk -v r="$rt.so" 'index($1, r) == 1 { print $3 }')
		[ -n "$p" ] && [ -f "$p" ] &&
			ZTP_SAN_PRELOAD=$ZTP_SAN_PRELOAD${ZTP_SAN_PRELOAD:+:}$p
	done
	[ -n "$ZTP_SAN_PRELOAD" ]
}

# ztp_san_command PROGRAM: print the command prefix that runs PROGRAM with
# the runtimes preloaded (used unquoted: the runtime paths and options
# contain no blanks), or PROGRAM alone for an uninstrumented build.
ztp_san_command() {
	if [ -n "${ZTP_SAN_PRELOAD:-}" ]; then
		echo "env LD_PRELOAD=$ZTP_SAN_PRELOAD ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 $1"
	else
		echo "$1"
	fi
}
