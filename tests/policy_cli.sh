#!/bin/sh
# ztp-policy(1): exit codes and output of check, namespace, lint, export,
# with identities read from certificates made here with the openssl CLI.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
tool="$top_builddir/tools/ztp-policy"
test_tmpdir policy-cli
tmp=$T

# expect STATUS COMMAND...: run, compare the exit status
expect() {
	want=$1
	shift
	set +e
	"$@" > "$tmp/out" 2> "$tmp/err"
	got=$?
	set -e
	if [ "$got" -eq "$want" ]; then
		ok "$* -> $got"
	else
		fail "$* -> $got, want $want"
		cat "$tmp/out" "$tmp/err"
	fi
}

# contains STRING: the last output contains STRING
contains() {
	if grep -qF -- "$1" "$tmp/out"; then
		ok "output contains $1"
	else
		fail "output lacks $1:"
		cat "$tmp/out"
	fi
}

cd "$tmp"
"$tool" default > policy.json
cat > deny.json <<'EOF'
{"version":"2026-01","statements":[
 {"sid":"own","effect":"Allow","actions":["publish","subscribe"],
  "resources":["tenants/${tenant}/devices/${device}/#"]},
 {"sid":"no-fw","effect":"Deny","actions":["publish"],
  "resources":["tenants/${tenant}/devices/+/fw/#"]}]}
EOF
printf '{"version":"2026-01","statements":[{"effect":"Allow",' > bad.json
printf '"actions":["publish"],"resources":["a/#/b"]}]}' >> bad.json
printf '{"version":"2026-01","statements":[{"effect":"Allow",' > plus.json
printf '"actions":["publish"],"resources":["a/+/b"]}]}' >> plus.json

# --- identities from the command line
c="check --policy policy.json --device dev-1 --tenant acme"
expect 0 "$tool" $c --action publish --topic tenants/acme/devices/dev-1/t
contains allow
expect 1 "$tool" $c --action publish --topic tenants/other/devices/dev-1/t
contains deny
expect 1 "$tool" $c --action subscribe --topic '#'
expect 1 "$tool" $c --action subscribe --topic 'tenants/+/devices/dev-1/#'
expect 1 "$tool" $c --action subscribe --topic '$SYS/#'
expect 0 "$tool" $c --action subscribe --topic 'tenants/acme/broadcast/#'
expect 1 "$tool" $c --action publish --topic tenants/acme/broadcast/x
expect 0 "$tool" $c --action connect --topic dev-1
expect 1 "$tool" $c --action connect --topic dev-2
expect 1 "$tool" $c --action subscribe --topic 'a/#/b'
expect 1 "$tool" $c --action publish --topic 'tenants/acme/devices/dev-1/+'
expect 0 "$tool" $c --action publish --topic tenants/acme/devices/dev-1/t \
	--explain
contains '"decision":"allow","statement":"device-namespace","index":1'
expect 1 "$tool" check --policy deny.json --device d --tenant t \
	--action publish --topic tenants/t/devices/d/fw/1 --explain
contains '"decision":"deny","statement":"no-fw"'
# identity values outside the grammar never reach a topic
expect 1 "$tool" check --policy policy.json --device dev-1 --tenant 'a/b' \
	--action publish --topic tenants/a/b/devices/dev-1/t
expect 1 "$tool" check --policy policy.json --device '+' --tenant acme \
	--action publish --topic tenants/acme/devices/+/t
# usage and file errors are 2
expect 2 "$tool" check --policy policy.json --device d --action fly --topic x
expect 2 "$tool" check --policy missing.json --device d --action publish \
	--topic x
expect 2 "$tool" check --policy bad.json --device d --action publish \
	--topic x
expect 2 "$tool" check --policy policy.json --action publish --topic x
expect 2 "$tool" frobnicate

# --- namespace, lint, export
expect 0 "$tool" namespace --tenant acme --device dev-1
contains '"filter":"tenants/acme/devices/dev-1/#"'
expect 2 "$tool" namespace --tenant 'ac/me' --device dev-1
expect 0 "$tool" lint policy.json
contains '"statements":3'
contains '"warnings":[]'
expect 0 "$tool" lint --strict policy.json
printf '{"version":"2026-01","statements":[{"sid":"fleet","effect":' > wide.json
printf '"Allow","actions":["subscribe"],"resources":' >> wide.json
printf '["tenants/+/devices/${device}/#"]}]}' >> wide.json
expect 0 "$tool" lint wide.json
contains "reaches other tenants' topics"
expect 1 "$tool" lint --strict wide.json
expect 1 "$tool" lint bad.json
contains "'#' must be a whole level and the last one"
expect 2 "$tool" lint missing.json
expect 0 "$tool" export --format aws-iot --tenant acme policy.json
contains '"arn:aws:iot:*:*:topicfilter/tenants/acme/broadcast/*"'
expect 2 "$tool" export --format aws-iot --tenant acme plus.json
expect 2 "$tool" export --format azure --tenant acme policy.json

# --- identities from certificates
cat > ext.cnf <<'EOF'
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = URI:urn:ztp:device:dev-1,URI:urn:ztp:tenant:acme
[cnonly]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
EOF
mkleaf_sect() { # mkleaf_sect NAME CA SECTION (of ext.cnf)
	"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=dev-1" \
		-config ext.cnf 2>/dev/null
	"$OPENSSL" x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
		-CAcreateserial -out "$1.pem" -days 1 -extfile ext.cnf \
		-extensions "$3" 2>/dev/null
}
mkca devca devca 30
mkca rogue rogue 30
mkleaf_sect dev devca leaf
mkleaf_sect evil rogue leaf
mkleaf_sect cn devca cnonly
c="check --policy policy.json --ca devca.pem"
expect 0 "$tool" $c --cert dev.pem --action publish \
	--topic tenants/acme/devices/dev-1/t
expect 1 "$tool" $c --cert dev.pem --action publish \
	--topic tenants/other/devices/dev-1/t
# a certificate from another CA, or naming its device only in the CN
expect 2 "$tool" $c --cert evil.pem --action publish \
	--topic tenants/acme/devices/dev-1/t
check "rogue CA reported" grep -q untrusted "$tmp/err"
expect 2 "$tool" $c --cert cn.pem --action publish \
	--topic tenants/acme/devices/dev-1/t
expect 2 "$tool" check --policy policy.json --ca devca.pem --cert dev.pem \
	--device dev-1 --action publish --topic x

checks_done
