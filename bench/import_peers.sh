#!/usr/bin/env bash
# import_peers.sh [N] : mailark import imap vs mbsync and mailark import pop3
# vs mpop on one private Dovecot and one generated corpus of N messages
# (default 10000): msg/s, MB/s, peak RSS (GNU time -v), mailark's no-op rerun,
# and the targets. The work is bench/peers/peers_test.go (skipped in a plain
# `go test ./...`). Needs Dovecot (dovecot-imapd, dovecot-pop3d), isync, mpop
# and GNU time. MAILARK_BIN=/path/to/mailark measures a given binary.
set -euo pipefail
case "${1:-}" in
-h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
N=${1:-10000}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N]" >&2; exit 2; }
cd "$(dirname "$0")/.."
for b in mbsync mpop /usr/bin/time; do
    command -v "$b" >/dev/null || { echo "missing $b: apt-get install isync mpop time" >&2; exit 1; }
done
log=$(mktemp) out=$(mktemp)
trap 'rm -f "$log" "$out"' EXIT
rc=0
MAILARK_BENCH=1 MAILARK_BENCH_N=$N MAILARK_BENCH_OUT=$out \
    go test -count=1 -run 'TestPeers$' -v -timeout 30m ./bench/peers/ 2>&1 | tee "$log" | grep -E '^\s+peers_test|^(---|ok|FAIL)' || rc=1
grep -q '^--- PASS' "$log" || rc=1
if [ -s "$out" ]; then
    echo
    cat "$out"
fi
[ $rc = 0 ] || { echo "import_peers: FAILED (full log above is abridged; rerun with go test -v for Dovecot's log)" >&2; tail -40 "$log" >&2; }
exit $rc
