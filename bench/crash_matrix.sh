#!/usr/bin/env bash
# Crash matrix (issue #9), long form: SIGKILL each resumable command at
# KILLS random moments, rerun it to completion, and compare the end state
# with an uninterrupted run. Runs TestCrashMatrix in ./cmd/mailark and
# prints its TSV as a table. See cmd/mailark/crash_matrix_test.go.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/crash_matrix.sh [-h] [--seed S] [WORKDIR]

Runs 'go test -run TestCrashMatrix -count=1 -timeout 60m ./cmd/mailark/' with
MAILARK_CRASH_KILLS=${KILLS:-20} kill moments per command, for import imap,
import pop3 (--delete), import mbox (against a private Dovecot or nothing),
export imap (into a private Dovecot) and export smtp (into a private Postfix).
Each kill moment is a fresh archive or target: the first kill lands just after
the run's first commit, the others after a random delay in [0, T] (T: the
uninterrupted run's wall time); a kill that lands after the process exited is
a run without a fault. Then one table row per command:

  runs        kill moments tried
  faults      of which the SIGKILL landed while the command ran
  lost        messages of the uninterrupted run's end state missing after the rerun
  duplicated  messages there more often than after the uninterrupted run
  crashes     reruns (or unkilled runs) that exited with another status, panicked
              or died of another signal
  hangs       runs that outlived their timeout (60 s + 10 T)
  reported uncertain
              export smtp only: messages a killed run had marked as being sent
              just before the final dot, not delivered, and reported by the
              rerun as uncertain (not sent again, so as never to send twice;
              --resend-uncertain sends them): by design, not counted as lost

Exits 1 unless every row has 0 lost, duplicated, crashes and hangs (and the
test passed: verify clean, index coverage complete after every run).

  WORKDIR    where the TSV and the go test log go (default /var/tmp/mailark-bench)
  --seed S   seed of the kill delays (default: the test's clock; printed by the
             test, so a run can be repeated)
  KILLS=N    kill moments per command (default 20)
The servers need root and Debian's dovecot-imapd, dovecot-pop3d and postfix;
without them the test fails here (CI=true is set so that nothing is skipped).
EOF
}

WORKDIR=/var/tmp/mailark-bench SEED=""
pos=()
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--seed) SEED=${2:?--seed needs a value}; shift ;;
	-*) usage >&2; exit 2 ;;
	*) pos+=("$1") ;;
	esac
	shift
done
[[ ${#pos[@]} -le 1 ]] || { usage >&2; exit 2; }
[[ ${#pos[@]} -ge 1 ]] && WORKDIR=${pos[0]}
KILLS=${KILLS:-20}
[[ $KILLS =~ ^[1-9][0-9]*$ && ($SEED == "" || $SEED =~ ^[0-9]+$) ]] || { usage >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v go >/dev/null || die "go is not on PATH"
WORK=$WORKDIR
mkdir -p "$WORK/logs/$SCRIPT"
WORK=$(cd "$WORK" && pwd)
LOGS=$WORK/logs/$SCRIPT
TSV=$LOGS/crash_matrix.tsv
rm -f "$TSV"

log "running TestCrashMatrix with $KILLS kills per command (log: $LOGS/go-test.log)"
env=(CI=true MAILARK_CRASH_KILLS="$KILLS" MAILARK_MATRIX_OUT="$TSV")
[[ -n $SEED ]] && env+=(MAILARK_CRASH_SEED="$SEED")
t0=$(now_ns)
rc=0
(cd "$REPO" && env "${env[@]}" go test -run TestCrashMatrix -count=1 -timeout 60m -v ./cmd/mailark/) \
	>"$LOGS/go-test.log" 2>&1 || rc=$?
t1=$(now_ns)
[[ -f $TSV ]] || die "the test wrote no TSV (exit $rc); see $LOGS/go-test.log"

# tree_line: go test builds its own binary, so git's view of the tree (and
# not a MAILARK_BIN the caller may have exported).
# shellcheck disable=SC2034 # read by tree_line (lib.sh)
BIN=/nonexistent
seed=$(sed -n 's/.*MAILARK_CRASH_SEED=\([0-9]*\).*/\1/p' "$LOGS/go-test.log" | head -1)
echo
echo "mailark $SCRIPT ($(MAILARK_BIN='' tree_line)); $(machine_line)"
echo "$KILLS kill moments per command, MAILARK_CRASH_SEED=${seed:-?}; go test $(secs "$t0" "$t1") s wall, exit $rc"
echo
echo "| command | runs | faults injected | lost | duplicated | crashes | hangs | reported uncertain | result |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
bad=0
while IFS=$'\t' read -r kind cmd runs faults lost dup crashes hangs unc; do
	[[ $kind == crash ]] || continue
	res=OK
	if [[ $((lost + dup + crashes + hangs)) -gt 0 || $faults == 0 ]]; then
		res=FAIL
		bad=1
	fi
	echo "| $cmd | $runs | $faults | $lost | $dup | $crashes | $hangs | ${unc:-0} | $res |"
done <"$TSV"
echo
echo "Logs: $LOGS"
if [[ $bad == 0 && $rc == 0 ]]; then
	echo "result: OK"
else
	echo "result: FAIL (see the errors in $LOGS/go-test.log)"
	exit 1
fi
