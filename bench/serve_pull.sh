#!/usr/bin/env bash
# Benchmark: a full mbsync pull of N messages from 'mailark serve' and from
# Dovecot serving the same messages, in the same run; SEARCH TEXT latency;
# the server's RSS with 50 connected clients. The measurement is a Go test
# (imapserver/bench_serve_test.go, skipped unless MAILARK_BENCH_SERVE=1);
# this script runs it and prints its log. Needs dovecot-imapd and isync.
set -euo pipefail
case ${1:-} in -h | --help) echo "usage: bench/serve_pull.sh [N]   (default 10000)"; exit 0 ;; esac
cd "$(dirname "$0")/.."
for p in dovecot-imapd isync; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		{ [[ $(id -u) == 0 ]] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p" >/dev/null; }
done
MAILARK_BENCH_SERVE=1 MAILARK_BENCH_N=${1:-10000} go test -run '^TestMeasureServe$' -v -count=1 -timeout 30m ./imapserver/ |
	grep -v -e '^=== ' -e '^--- ' -e '^PASS' -e '^ok '
