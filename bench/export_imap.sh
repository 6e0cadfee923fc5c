#!/usr/bin/env bash
# Benchmark: IMAP APPEND export (mailark export imap) into a private Dovecot,
# against a sequential one-APPEND-at-a-time loop in the same run.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/export_imap.sh [-h] [--repeat R] [N]

Builds an archive of N generated messages (internal/testcorpus, default
10000, seed 1), starts a private Dovecot (internal/dovecottest: 127.0.0.1,
its own config and users) and exports the archive into a fresh account once
per setting, all in one run (BenchmarkExportIMAP in exporters/imap):

  sequential         one connection, one APPEND at a time, each waiting for
                     its OK, into the folder SELECTed first (imapsync's way);
                     reads and checks messages like mailark does
  sequential-unselected  the same without SELECT (Dovecot then opens and
                     closes the mailbox for every APPEND: much slower)
  conns=C,window=W   mailark's exporter in-process: C connections, W APPENDs
                     in flight on each
  binary             the real mailark binary with its default settings,
                     under GNU time -v: also its peak RSS

It prints msg/s and MB/s (CRLF bytes) for each, and the ratio of the best
pipelined setting and of the binary to the sequential loop (target: >= 2x,
peak RSS <= 150 MB; DESIGN.md section 9). Needs Dovecot (dovecot-imapd) and
GNU time (package "time"); as root the mail is owned by the user
mailarktest. --repeat R runs the whole comparison R times (on a shared
machine, look at the spread).
EOF
}

N=10000 REPEAT=1
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--repeat) REPEAT=${2:?--repeat needs a value}; shift ;;
	-*) usage >&2; exit 2 ;;
	*) N=$1 ;;
	esac
	shift
done
[[ $N =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -x /usr/bin/time ]] || { echo "export_imap.sh: GNU time is missing (apt-get install time)" >&2; exit 1; }

for ((r = 1; r <= REPEAT; r++)); do
	out=$(cd "$REPO" && MAILARK_BENCH_MESSAGES=$N MAILARK_TEST_DOVECOT=1 \
		go test ./exporters/imap -run '^$' -bench '^BenchmarkExportIMAP$' -benchtime 1x -timeout 60m 2>&1) || {
		echo "$out" >&2
		exit 1
	}
	echo "== run $r of $REPEAT: $N messages, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "$out" | awk '
		/^BenchmarkExportIMAP\// {
			name = $1; sub(/^BenchmarkExportIMAP\//, "", name); sub(/-[0-9]+$/, "", name)
			mb = msgs = rss = cpu = ""
			for (i = 2; i < NF; i++) {
				if ($(i+1) == "MB/s") mb = $i
				if ($(i+1) == "msg/s") msgs = $i
				if ($(i+1) == "peak-RSS-MB") rss = $i
				if ($(i+1) == "cpu-s") cpu = $i
			}
			printf "%-22s %9s msg/s %8s MB/s%s\n", name, msgs, mb, (rss != "" ? "  peak RSS " rss " MB, CPU " cpu " s" : "")
			if (name == "sequential") base = msgs
			else if (name ~ /^sequential/) { }
			else if (name == "binary") bin = msgs
			else if (msgs + 0 > best + 0) { best = msgs; bestname = name }
		}
		END {
			if (base > 0) {
				printf "best pipelined (%s): %.2fx the sequential loop; binary (defaults): %.2fx\n", bestname, best / base, bin / base
			}
		}'
done
