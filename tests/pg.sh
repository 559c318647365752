# A throw-away PostgreSQL server for the tests (sourced, POSIX sh, after
# tests/lib.sh).
#
#   . "$srcdir/tests/lib.sh"
#   . "$srcdir/tests/pg.sh"
#   pg_start DIR || die "PostgreSQL did not start"   # sets the variables below
#   ...                                               # use $ZTP_PG_URI
#   pg_stop                                           # also on every exit path
#
# pg_start DIR makes a new cluster in DIR/pg (initdb) and starts it
# listening on 127.0.0.1 at an ephemeral port and on a unix socket in
# DIR/pg. The cluster's superuser is "ztp" with trust authentication, and
# database "ztp" exists. It exports:
#   ZTP_PG_URI         postgresql://ztp@127.0.0.1:PORT/ztp?sslmode=disable
#   ZTP_PG_SOCKET_URI  postgresql:///ztp?host=DIR/pg&port=PORT&user=ztp
#   ZTP_PG_PORT, ZTP_PG_DIR (the data and socket directory)
#   ZTP_PG_PSQL        a psql command line for the database:
#                      $ZTP_PG_PSQL -Atc 'SELECT ...'
#   ZTP_PG_CTL         a script, "$ZTP_PG_CTL start|stop|restart", that
#                      controls the server from any process (as the right
#                      user, with the same options; bounded waits)
# It returns non-zero, with the server's log on stderr, when the server
# cannot start: tests fail then, they do not skip.
#
# Run as root, the server runs as an unprivileged user (PG_USER, default
# "postgres", which Debian's postgresql-15 package creates, else
# "nobody") who owns DIR/pg. The binaries come from PG_BINDIR (default
# /usr/lib/postgresql/15/bin). The server trades durability for speed
# (fsync=off): it is for tests. PG_OPTS adds server options
# ("-c name=value ...").
#
# pg_stop stops the server (fast shutdown, else immediate) and removes
# DIR/pg.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
ZTP_PG_DIR=
ZTP_PG_CTL=

pg__as() { # pg__as CMD...: as the server's user
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$PG__USER" -- "$@"
	else
		"$@"
	fi
}

pg_start() { # pg_start DIR
	[ -x "$PG_BINDIR/initdb" ] || {
		echo "pg_start: no $PG_BINDIR/initdb (install postgresql-15)" >&2
		return 1
	}
	ZTP_PG_DIR=$1/pg
	PG__USER=${PG_USER:-postgres}
	if [ "$(id -u)" -eq 0 ] && ! id "$PG__USER" >/dev/null 2>&1; then
		PG__USER=nobody
	fi
	mkdir -p "$ZTP_PG_DIR" || return 1
	chmod 700 "$ZTP_PG_DIR"
	pg__run=
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG__USER" "$ZTP_PG_DIR" || return 1
		chmod o+x "$1" # the server's user reaches DIR/pg through DIR
		pg__run="runuser -u $PG__USER --"
	fi
	pg__as "$PG_BINDIR/initdb" -D "$ZTP_PG_DIR" -U ztp -A trust -E UTF8 \
		--locale=C.UTF-8 -N >"$1/initdb.log" 2>&1 || {
		cat "$1/initdb.log" >&2
		return 1
	}
	ZTP_PG_PORT=$(free_port) || return 1
	ZTP_PG_CTL=$1/pgctl
	{
		echo '#!/bin/sh'
		echo "ctl=\"$pg__run $PG_BINDIR/pg_ctl -D $ZTP_PG_DIR -s -w\""
		echo "opts=\"-p $ZTP_PG_PORT -c listen_addresses=127.0.0.1" \
			"-c unix_socket_directories=$ZTP_PG_DIR -c fsync=off" \
			"-c full_page_writes=off -c max_connections=200 ${PG_OPTS:-}\""
		echo 'case "$1" in'
		echo 'start|restart) exec $ctl -t 30 -m fast -l '"$ZTP_PG_DIR"'/server.log -o "$opts" "$1" ;;'
		echo 'stop) $ctl -t 20 -m fast stop || exec $ctl -t 10 -m immediate stop ;;'
		echo '*) echo "usage: $0 start|stop|restart" >&2; exit 2 ;;'
		echo 'esac'
	} >"$ZTP_PG_CTL" || return 1
	chmod 755 "$ZTP_PG_CTL"
	"$ZTP_PG_CTL" start || {
		cat "$ZTP_PG_DIR/server.log" >&2
		return 1
	}
	ZTP_PG_PSQL="$PG_BINDIR/psql -X -q -v ON_ERROR_STOP=1 -h $ZTP_PG_DIR -p $ZTP_PG_PORT -U ztp"
	$ZTP_PG_PSQL -d postgres -c 'CREATE DATABASE ztp' >&2 || return 1
	ZTP_PG_PSQL="$ZTP_PG_PSQL -d ztp"
	ZTP_PG_URI="postgresql://ztp@127.0.0.1:$ZTP_PG_PORT/ztp?sslmode=disable"
	ZTP_PG_SOCKET_URI="postgresql:///ztp?host=$ZTP_PG_DIR&port=$ZTP_PG_PORT&user=ztp"
	export ZTP_PG_URI ZTP_PG_SOCKET_URI ZTP_PG_PORT ZTP_PG_DIR ZTP_PG_PSQL \
		ZTP_PG_CTL
}

pg_stop() {
	[ -n "$ZTP_PG_DIR" ] && [ -d "$ZTP_PG_DIR" ] || return 0
	"$ZTP_PG_CTL" stop 2>/dev/null || :
	rm -rf "$ZTP_PG_DIR" "$ZTP_PG_CTL"
	ZTP_PG_DIR=
}

# pg_for_build BUILDDIR DIR: when the libztp built in BUILDDIR has the
# postgresql:// backend, pg_start DIR and export ZTP_TEST_PG_URI (and
# ZTP_TEST_PG_PSQL) for the tests that use it (the bindings'); return
# non-zero when the server does not start. Without the backend, nothing.
pg_for_build() {
	grep -q '^#define HAVE_LIBPQ 1' "$1/config.h" 2>/dev/null || return 0
	pg_start "$2" || return 1
	ZTP_TEST_PG_URI=$ZTP_PG_URI
	ZTP_TEST_PG_PSQL=$ZTP_PG_PSQL
	export ZTP_TEST_PG_URI ZTP_TEST_PG_PSQL
}
