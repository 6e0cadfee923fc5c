#!/usr/bin/env bash
# Network-fault matrix, long form: the TestNetFaults tests of the IMAP and
# POP3 importers and the IMAP and SMTP exporters against the real peers
# (Dovecot, Postfix), with CUTS cut points each; -h says more.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/net_faults.sh [-h] [--keep-logs]

Runs TestNetFaults of importers/imap, importers/pop3, exporters/imap and
exporters/smtp once (-count=1), each against its real peer through a fault
proxy (internal/faultproxy): an unfaulted run measures the byte stream, then
CUTS connection cuts at evenly spread offsets (even ones server->client, odd
ones client->server), a stall longer than the client's timeout and a slow run
(every chunk delayed), each followed by a rerun without faults. Prints one
table row per package: faulted runs, faults injected, messages lost and
duplicated after the rerun, crashes, hangs. Exits 1 unless every test passed
and nothing was lost, duplicated, crashed or hung.

  CUTS=N     cut points per package (default 20; go test's short form is 3)
  --keep-logs  keep the go test output (default: removed unless a test failed)

Needs Dovecot (dovecot-imapd, dovecot-pop3d) and Postfix, and root for
Postfix; with CI set, a missing peer fails the tests instead of skipping them.
EOF
}

KEEP=0
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--keep-logs) KEEP=1 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CUTS=${CUTS:-20}
[[ $CUTS =~ ^[1-9][0-9]*$ ]] || die "CUTS=$CUTS: want a positive number"
command -v go >/dev/null || die "go is not on PATH"

OUT=$(mktemp -d "${TMPDIR:-/var/tmp}/net_faults.XXXXXX")
WORK=$OUT # machine_line looks at its disk
TSV=$OUT/matrix.tsv
LOG=$OUT/go-test.log
: >"$TSV"
PKGS=(./importers/imap ./importers/pop3 ./exporters/imap ./exporters/smtp)

log "running TestNetFaults with $CUTS cuts in ${PKGS[*]} (log: $LOG)"
t0=$(now_ns)
rc=0
(cd "$REPO" && MAILARK_NETFAULT_CUTS=$CUTS MAILARK_MATRIX_OUT=$TSV \
	go test -count=1 -timeout 30m -run '^TestNetFaults$' -v "${PKGS[@]}") >"$LOG" 2>&1 || rc=$?
t1=$(now_ns)

echo
echo "mailark $SCRIPT: $CUTS cuts per package; $(machine_line)"
echo
echo "| package | faulted runs | faults injected | lost | duplicated | crashes | hangs | test |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
bad=0
for p in "${PKGS[@]}"; do
	name=${p#./}
	res=$(awk -v p="github.com/mailark/mailark/$name" '($1 == "ok" || $1 == "FAIL") && $2 == p { print $1 }' "$LOG" | tail -1)
	row=$(awk -F'\t' -v n="$name" '$1 == "netfault" && $2 == n' "$TSV" | tail -1)
	if [[ -z $row ]]; then
		echo "| $name | - | - | - | - | - | - | ${res:-?} (no matrix line: skipped, or stopped early) |"
		bad=1
		continue
	fi
	IFS=$'\t' read -r _ _ runs faults lost dup crashes hangs <<<"$row"
	echo "| $name | $runs | $faults | $lost | $dup | $crashes | $hangs | ${res:-?} |"
	[[ $res == ok && $lost == 0 && $dup == 0 && $crashes == 0 && $hangs == 0 ]] || bad=1
done
echo
echo "wall time $(secs "$t0" "$t1") s (go test, build included); go test exit status $rc"
if [[ $rc != 0 ]]; then
	bad=1
	echo
	echo "failures (from $LOG):"
	grep -E '^\s*(--- FAIL|netfault_test.go:[0-9]+: )' "$LOG" | grep -v 'faulted run\|unfaulted\|problem:' | head -40 || true
fi
if [[ $bad == 0 && $KEEP == 0 ]]; then
	rm -rf "$OUT"
else
	log "kept $OUT"
fi
exit "$bad"
