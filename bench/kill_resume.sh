#!/usr/bin/env bash
# Crash test: SIGKILL an mbox import at random moments, let each rerun
# resume, and compare the result with an uninterrupted import. See
# bench/README.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/kill_resume.sh [-h] [--kills K] [--seed S] [--keep] [N] [WORKDIR]

Writes the gencorpus corpus of N messages (default 5000) as one mbox and
imports it twice into fresh archives:
  reference: one uninterrupted 'mailark import mbox'; T = the time it spent
             archiving (the report's "seconds"; its wall time if the report
             has no split), which sets the kill window;
  killed:    'mailark import mbox' started again and again; the first K runs
             (default 3) get SIGKILL after a random delay in [0.10 T, 0.60 T]
             times the share of messages not archived yet (each run resumes
             where the last committed batch ended), then one run completes. A kill that lands after the archiving is done
             interrupts the search indexing that follows it (builds that
             index while importing); the detail lines say which phase each
             kill hit.
Then it compares the two archives: the message files under every cur/
(folder, date, SHA-256 id, flags are all in the name), 'stats --json' and
'verify' of both, and files left in tmp/. Prints runs, kills, lost and
duplicated; exits 1 unless nothing was lost or duplicated and verify is clean.

  N          messages (default 5000)
  WORKDIR    work directory (default /var/tmp/mailark-bench; corpus cached there)
  --kills K  SIGKILLs to deliver (default 3)
  --seed S   seed of the kill delays (default: random; printed, so a run can be
             repeated with the same delays)
  --keep     keep the two archives
  MAILARK_BIN=/path/to/mailark uses that binary instead of building ./cmd/mailark.
EOF
}

N=5000 WORKDIR=/var/tmp/mailark-bench KILLS=3 KSEED=$((RANDOM * 32768 + RANDOM)) KEEP=0
pos=()
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--kills) KILLS=${2:?--kills needs a value}; shift ;;
	--seed) KSEED=${2:?--seed needs a value}; shift ;;
	--keep) KEEP=1 ;;
	-*) usage >&2; exit 2 ;;
	*) pos+=("$1") ;;
	esac
	shift
done
[[ ${#pos[@]} -le 2 ]] || { usage >&2; exit 2; }
[[ ${#pos[@]} -ge 1 ]] && N=${pos[0]}
[[ ${#pos[@]} -ge 2 ]] && WORKDIR=${pos[1]}
[[ $N =~ ^[1-9][0-9]*$ && $KILLS =~ ^[0-9]+$ && $KSEED =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_time
setup_work "$WORKDIR"
trap cleanup EXIT
warn_recent_cleanup
build
corpus "$N" 1 0
corpus_mbox

REF=$RUN/reference
GOT=$RUN/killed
IMPORT=(import mbox "$MBOX" --account bench --json)

# files ARCHIVE: every message file under a cur/, relative to ARCHIVE/maildir, sorted.
files() { (cd "$1/maildir" && find . -path '*/cur/*' -type f | LC_ALL=C sort); }
# tmpfiles ARCHIVE: files left in any tmp/.
tmpfiles() { (cd "$1/maildir" && find . -path '*/tmp/*' -type f | wc -l); }

# The reference.
settle
timed "$LOGS/reference" "$BIN" --archive "$REF" "${IMPORT[@]}"
[[ $T_RC == 0 ]] || die "the reference import failed (exit $T_RC); see $LOGS/reference.err"
TWALL=$T_SEC
TREF=$(jsonval "$LOGS/reference.out" seconds)
[[ -n $TREF ]] || TREF=$TWALL
TREF=$(f2 "$TREF")
log "reference import: ${TWALL}s wall, ${TREF}s archiving"
total=$(jsonval "$LOGS/reference.out" new)

# The killed runs. Delays are drawn in milliseconds from the reference time.
RANDOM=$KSEED
tref_ms=$(awk -v t="$TREF" 'BEGIN { printf "%d", t * 1000 }')
lo=$((tref_ms * 10 / 100))
hi=$((tref_ms * 60 / 100))
[[ $hi -gt $lo ]] || hi=$((lo + 1))
runs=0 kills=0 finished_early=0 committed=0
declare -a DETAIL=()
settle
while :; do
	runs=$((runs + 1))
	out=$LOGS/run$runs
	if [[ $kills -ge $KILLS ]]; then
		# The final run: no kill, it must finish.
		t0=$(now_ns)
		rc=0
		"$BIN" --archive "$GOT" "${IMPORT[@]}" >"$out.out" 2>"$out.err" || rc=$?
		DETAIL+=("run $runs: completed in $(secs "$t0" "$(now_ns)")s, exit $rc, new $(jsonval "$out.out" new), already archived $(jsonval "$out.out" existing)")
		[[ $rc == 0 ]] || die "the final run failed (exit $rc); see $out.err"
		break
	fi
	# Scale the window by what is left to archive, so that later kills
	# still tend to land while archiving.
	left=$((total > committed ? total - committed : 0))
	klo=$((lo * left / total)) khi=$((hi * left / total))
	[[ $khi -gt $klo ]] || khi=$((klo + 1))
	delay=$((klo + (RANDOM * 32768 + RANDOM) % (khi - klo)))
	t0=$(now_ns)
	"$BIN" --archive "$GOT" "${IMPORT[@]}" >"$out.out" 2>"$out.err" &
	pid=$!
	sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
	if kill -KILL "$pid" 2>/dev/null; then
		killed=1
	else
		killed=0
	fi
	rc=0
	{ wait "$pid"; } 2>/dev/null || rc=$? # (no "Killed" line from bash)
	if [[ $killed == 1 && $rc == 137 ]]; then
		kills=$((kills + 1))
		"$BIN" --archive "$GOT" stats --json >"$out.stats.json" 2>/dev/null || true
		committed=$(jsonval "$out.stats.json" unique)
		committed=${committed:-0}
		phase=archiving
		[[ $committed == "$total" ]] && phase="indexing (archiving was complete)"
		DETAIL+=("run $runs: SIGKILL after ${delay} ms (exit $rc), during $phase; archived after it: ${committed:-0} messages, $(tmpfiles "$GOT" 2>/dev/null || echo 0) files left in tmp/")
	else
		# It finished before the signal: the import is complete.
		finished_early=1
		DETAIL+=("run $runs: finished before the SIGKILL planned at ${delay} ms (exit $rc)")
		[[ $rc == 0 ]] || die "run $runs failed (exit $rc); see $out.err"
		break
	fi
done

# Compare.
files "$REF" >"$LOGS/reference.files"
files "$GOT" >"$LOGS/killed.files"
lost=$(LC_ALL=C comm -23 "$LOGS/reference.files" "$LOGS/killed.files" | wc -l)
extras=$(LC_ALL=C comm -13 "$LOGS/reference.files" "$LOGS/killed.files" | wc -l)
# The same message filed twice in one folder (two names with the same id in one cur/).
dupnames=$(sed -E 's#^(.*)/cur/[^/]*([0-9a-f]{64})[^/]*$#\1 \2#' "$LOGS/killed.files" | LC_ALL=C sort | uniq -d | wc -l)
"$BIN" --archive "$REF" stats --json >"$LOGS/reference.stats.json"
"$BIN" --archive "$GOT" stats --json >"$LOGS/killed.stats.json"
ref_msgs=$(jsonval "$LOGS/reference.stats.json" messages)
got_msgs=$(jsonval "$LOGS/killed.stats.json" messages)
ref_uniq=$(jsonval "$LOGS/reference.stats.json" unique)
got_uniq=$(jsonval "$LOGS/killed.stats.json" unique)
ref_recv=$(jsonval "$LOGS/reference.stats.json" bytes_received)
got_recv=$(jsonval "$LOGS/killed.stats.json" bytes_received)
ref_idx=$(jsonval "$LOGS/reference.stats.json" indexed)
got_idx=$(jsonval "$LOGS/killed.stats.json" indexed)
catdup=$((got_msgs > ref_msgs ? got_msgs - ref_msgs : 0))
duplicated=$((extras + dupnames + catdup))
vref=ok vgot=ok
"$BIN" --archive "$REF" verify >"$LOGS/reference.verify" 2>&1 || vref="FAIL (see $LOGS/reference.verify)"
"$BIN" --archive "$GOT" verify >"$LOGS/killed.verify" 2>&1 || vgot="FAIL (see $LOGS/killed.verify)"
tmpleft=$(tmpfiles "$GOT")
want_uniq=$(sumval "$MBOX.sum" unique)

echo
echo "mailark $SCRIPT ($(tree_line)); $(machine_line)"
echo "mbox: $MBOX ($(sumval "$MBOX.sum" files) messages, $want_uniq distinct); reference import ${TWALL}s wall, ${TREF}s archiving;"
echo "kill delays in [${lo}, ${hi}] ms (10-60 % of the archiving time) times the share left to archive, seed $KSEED"
echo
printf '  %s\n' "${DETAIL[@]}"
[[ $finished_early == 1 ]] && echo "  (the import finished before all $KILLS kills were delivered)"
echo
echo "| runs | kills | lost | duplicated | files ref / killed | catalog messages ref / killed | unique ref / killed | bytes received ref / killed | indexed ref / killed | tmp/ files left | verify ref | verify killed |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
echo "| $runs | $kills | $lost | $duplicated | $(wc -l <"$LOGS/reference.files") / $(wc -l <"$LOGS/killed.files") | $ref_msgs / $got_msgs | $ref_uniq / $got_uniq | $ref_recv / $got_recv | ${ref_idx:--} / ${got_idx:--} | $tmpleft | $vref | $vgot |"
echo
echo "lost = files of the reference missing after the killed runs; duplicated = files the reference does not have,"
echo "plus a message filed twice in one folder, plus catalog entries beyond the reference's. Logs: $LOGS"

ok=1
[[ $lost == 0 && $duplicated == 0 && $vref == ok && $vgot == ok && $tmpleft == 0 ]] || ok=0
[[ $ref_uniq == "$want_uniq" && $got_uniq == "$want_uniq" && $ref_recv == "$got_recv" ]] || ok=0
[[ ${ref_idx:-} == "${got_idx:-}" ]] || ok=0 # a build that indexes: both complete
if [[ $ok == 1 ]]; then
	echo "result: OK"
else
	echo "result: FAIL"
	exit 1
fi
