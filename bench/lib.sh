# bench/lib.sh: helpers the bench scripts share (sourced, not run).
#
# Conventions: WORK is the scripts' work directory (default
# /var/tmp/mailark-bench). Under it:
#   bin/                     mailark, gencorpus and the bench tools, built from this tree
#   corpus/n<N>-s<S>[-big<B>]/  cached corpora (maildir/, manifest.jsonl, manifest.sum,
#                               corpus.mbox and corpus.mbox.sum once an mbox script ran)
#   run/<script>.<pid>/      archives of the current run (removed on exit unless --keep)
#   logs/<script>/           outputs of the last run: *.out, *.err, *.time (GNU time -v)

# Variables set here (BIN, CORPUS, MBOX, FAILED, T_*...) are read by the scripts.
# shellcheck shell=bash disable=SC2034

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
SCRIPT=$(basename "$0" .sh)

# import_options_help prints the options import_maildir.sh and
# import_mbox.sh share (the end of their usage).
import_options_help() {
	cat <<'EOF'
  --big        also run N messages of which one is ~30 MB (gencorpus -big 31457280)
  --big-only   run only that case
  --repeat R   import R times into fresh archives; the row shows the median
               wall time (and the highest peak RSS). Worth it on a shared machine.
  --seed S     corpus seed (default 1)
  --cold       drop the page cache before each timed run (root)
  --keep       keep the archives
  MAILARK_BIN=/path/to/mailark uses that binary instead of building ./cmd/mailark.
EOF
}

# parse_import_args parses the arguments of those two scripts into N,
# WORKDIR, SEED, BIG, MAIN, COLD, KEEP and REPEAT; it calls the script's
# usage for -h and exits 2 on a bad argument.
parse_import_args() {
	N=10000 WORKDIR=/var/tmp/mailark-bench SEED=1 BIG=0 MAIN=1 COLD=0 KEEP=0 REPEAT=${REPEAT:-1}
	local pos=()
	while [[ $# -gt 0 ]]; do
		case $1 in
		-h | --help) usage; exit 0 ;;
		--big) BIG=1 ;;
		--big-only) BIG=1 MAIN=0 ;;
		--seed) SEED=${2:?--seed needs a value}; shift ;;
		--repeat) REPEAT=${2:?--repeat needs a value}; shift ;;
		--cold) COLD=1 ;;
		--keep) KEEP=1 ;;
		-*) usage >&2; exit 2 ;;
		*) pos+=("$1") ;;
		esac
		shift
	done
	[[ ${#pos[@]} -le 2 ]] || { usage >&2; exit 2; }
	[[ ${#pos[@]} -ge 1 ]] && N=${pos[0]}
	[[ ${#pos[@]} -ge 2 ]] && WORKDIR=${pos[1]}
	[[ $N =~ ^[1-9][0-9]*$ && $REPEAT =~ ^[1-9][0-9]*$ && $SEED =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
}

log() { printf '%s\n' "$*" >&2; }
die() {
	log "$SCRIPT: $*"
	exit 1
}

# ensure_time makes sure GNU time is at /usr/bin/time (Debian package "time").
ensure_time() {
	[[ -x /usr/bin/time ]] && return 0
	command -v apt-get >/dev/null || die "/usr/bin/time (GNU time) is missing; install it"
	[[ $(id -u) == 0 ]] || die "/usr/bin/time is missing: run 'sudo apt-get install time' first"
	log "installing the Debian package 'time' (GNU time)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q time >/dev/null 2>&1; then
		apt-get update -q >/dev/null || die "apt-get update failed"
		apt-get install -y -q time >/dev/null || die "apt-get install time failed"
	fi
}

# setup_work WORKDIR: creates the work layout and sets BIN, TOOLS, RUN, LOGS.
setup_work() {
	WORK=$1
	mkdir -p "$WORK/bin" "$WORK/corpus" "$WORK/run" "$WORK/logs"
	WORK=$(cd "$WORK" && pwd)
	TOOLS=$WORK/bin
	RUN=$WORK/run/$SCRIPT.$$
	LOGS=$WORK/logs/$SCRIPT
	rm -rf "$LOGS"
	mkdir -p "$RUN" "$LOGS"
	# Spread the archives over fresh block groups (ext4's "top directory"
	# attribute makes the Orlov allocator place each subdirectory of RUN
	# like a top-level one, in a group picked by hashing its name), so that
	# files deleted nearby in the last minutes (by an earlier case, an
	# earlier run, other users of the disk) do not slow the import down:
	# see fs_probe. BENCH_TOPDIR=0 turns it off.
	if [[ ${BENCH_TOPDIR:-1} == 1 ]]; then
		chattr +T "$RUN" 2>/dev/null || true
	fi
}

# fs_probe DIR: sets PROBE_US, the microseconds to create one empty file in
# DIR (200 files, kept until cleanup). On this project's VM (ext4 without a
# journal) file creation slows down several times for up to 5 minutes
# after many files were deleted nearby: ext4 in no-journal mode will not
# reuse an inode freed less than 60 s ago (300 s while its inode table
# block is dirty) and scans past every such inode on each create. A probe
# well above its usual value means the import numbers are skewed.
fs_probe() {
	local d=$1 i t0 t1
	mkdir -p "$d"
	t0=$(now_ns)
	for ((i = 0; i < 200; i++)); do
		: >"$d/p$i"
	done
	t1=$(now_ns)
	PROBE_US=$(((t1 - t0) / 200000))
}

# fs_journal: "no journal" for an ext4 file system mounted without one.
fs_journal() {
	local dev b
	dev=$(df --output=source "$WORK" | tail -1)
	b=${dev#/dev/}
	if [[ $(findmnt -no FSTYPE -T "$WORK" 2>/dev/null) == ext4 && -r /sys/fs/ext4/$b/journal_task &&
		$(cat "/sys/fs/ext4/$b/journal_task") == "<none>" ]]; then
		echo ", no journal"
	fi
}

# cleanup removes this run's archives (trap it on EXIT).
cleanup() {
	if [[ ${KEEP:-0} == 1 ]]; then
		log "kept the archives in $RUN"
	elif [[ -n ${RUN:-} ]]; then
		rm -rf "$RUN"
		date +%s >"$WORK/.last-cleanup"
	fi
}

# warn_recent_cleanup: says so when a bench script deleted its archives
# less than 5 minutes ago (see fs_probe).
warn_recent_cleanup() {
	local last age
	last=$(cat "$WORK/.last-cleanup" 2>/dev/null || echo 0)
	age=$(($(date +%s) - last))
	if [[ $(fs_journal) != "" && $age -lt 300 ]]; then
		log "note: a bench run deleted its archives ${age}s ago; on this journal-less ext4 file creation can stay slow"
		log "      for up to 5 minutes after mass deletions (watch the 'create µs' column; wait or use REPEAT=3)"
	fi
}

# build compiles mailark (unless MAILARK_BIN names a binary to use), the
# corpus generator and the bench tools into $TOOLS.
build() {
	command -v go >/dev/null || die "go is not on PATH (the scripts build mailark from $REPO)"
	log "building mailark, gencorpus and the bench tools"
	if [[ -n ${MAILARK_BIN:-} ]]; then
		[[ -x $MAILARK_BIN ]] || die "MAILARK_BIN=$MAILARK_BIN is not an executable"
		BIN=$MAILARK_BIN
	else
		(cd "$REPO" && go build -o "$TOOLS/mailark" ./cmd/mailark) || die "go build ./cmd/mailark failed"
		BIN=$TOOLS/mailark
	fi
	(cd "$REPO" && go build -o "$TOOLS/" ./internal/testcorpus/cmd/gencorpus ./bench/tools/manifestsum ./bench/tools/maildir2mbox) ||
		die "building gencorpus and the bench tools failed"
}

# stamp FILE...: what a cached result depends on (the builds of the tools
# that made it), so that a changed generator invalidates the cache.
stamp() { sha256sum "$@" | awk '{print $1}' | sha256sum | cut -c1-16; }

# corpus N SEED BIG: generates the corpus once per (N, SEED, BIG, gencorpus
# build) and sets CORPUS to its directory.
corpus() {
	local n=$1 seed=$2 big=$3 d st
	d=$WORK/corpus/n$n-s$seed
	local extra=() what="N=$n seed=$seed"
	if [[ $big -gt 0 ]]; then
		d+=-big$big
		extra=(-big "$big")
		what+=" big=$big"
	fi
	st=$(stamp "$TOOLS/gencorpus" "$TOOLS/manifestsum")
	if [[ ! -f $d/.complete || $(cat "$d/.complete") != "$st" ]]; then
		rm -rf "$d"
		mkdir -p "$d"
		log "generating the corpus: $what -> $d"
		"$TOOLS/gencorpus" -count "$n" -seed "$seed" -out "$d" "${extra[@]}" -force >"$d/gencorpus.txt" ||
			die "gencorpus failed"
		"$TOOLS/manifestsum" "$d/manifest.jsonl" >"$d/manifest.sum" || die "manifestsum failed"
		echo "$st" >"$d/.complete"
	else
		log "using the cached corpus $d"
	fi
	CORPUS=$d
}

# corpus_mbox: writes $CORPUS/corpus.mbox once (per corpus and tool build)
# and sets MBOX.
corpus_mbox() {
	local st
	st=$(cat "$CORPUS/.complete")-$(stamp "$TOOLS/maildir2mbox")
	MBOX=$CORPUS/corpus.mbox
	if [[ ! -f $MBOX.complete || $(cat "$MBOX.complete") != "$st" ]]; then
		log "writing the corpus as one mbox -> $MBOX"
		"$TOOLS/maildir2mbox" -manifest "$CORPUS/manifest.jsonl" -out "$MBOX" >/dev/null || die "maildir2mbox failed"
		echo "$st" >"$MBOX.complete"
	else
		log "using the cached mbox $MBOX"
	fi
}

# sumval FILE KEY: a value from a key=value .sum file.
sumval() { sed -n "s/^$2=//p" "$1"; }

# jsonval FILE KEY: the first numeric "KEY": value in a JSON file (the
# top-level one for mailark's reports, which print it first).
# Prints nothing (and succeeds) when the key is missing.
jsonval() { { grep -m1 -o "\"$2\": *[0-9.]*" "$1" 2>/dev/null || true; } | sed 's/.*: *//'; }

# now_ns: wall clock in nanoseconds.
now_ns() { date +%s%N; }

# ms COMMAND...: wall milliseconds of one run, output discarded.
ms() {
	local a b
	a=$(now_ns)
	"$@" >/dev/null 2>&1 || true
	b=$(now_ns)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}

# pct P FILE: the P-th percentile of the numbers in FILE.
pct() { sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END { i = int((NR - 1) * p / 100 + 0.5) + 1; print v[i] }'; }

# secs T0 T1: seconds between two now_ns values, 2 decimals.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

# timed PREFIX CMD...: runs CMD under GNU time -v. Sets T_RC (exit
# status), T_SEC (wall seconds), T_CPU (user + system CPU seconds) and
# T_RSS (peak RSS in MB, 1 MB = 2^20 B).
# Output goes to PREFIX.out, PREFIX.err and PREFIX.time.
timed() {
	local p=$1 t0 t1
	shift
	t0=$(now_ns)
	T_RC=0
	/usr/bin/time -v -o "$p.time" "$@" >"$p.out" 2>"$p.err" || T_RC=$?
	t1=$(now_ns)
	T_SEC=$(secs "$t0" "$t1")
	T_RSS=$(awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$p.time")
	T_CPU=$(awk -F: '/(User|System) time \(seconds\)/ { c += $2 } END { printf "%.2f", c }' "$p.time")
}

# settle: write back dirty pages (a freshly generated corpus, the previous
# case's archive) so the timed run's syncfs does not pay for them; with
# COLD=1 also drop the page cache so the source is read from disk.
settle() {
	sync
	if [[ ${COLD:-0} == 1 ]]; then
		echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || die "--cold needs root (writes /proc/sys/vm/drop_caches)"
	fi
}

# f1 X / f0 X / f3 X: X with 1, 0 or 3 decimals; ratio A B: A/B, 3 decimals.
f0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
# le A B: succeeds when A <= B (floats).
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
passfail() { if "$@"; then echo PASS; else echo FAIL; fi; }

# machine_line: date, cores, kernel, disk and load, for the report header.
machine_line() {
	local dev disk
	dev=$(df --output=source "$WORK" | tail -1)
	disk="$dev $(findmnt -no FSTYPE -T "$WORK" 2>/dev/null)$(fs_journal)"
	local b=${dev#/dev/}
	if [[ -r /sys/block/$b/queue/rotational ]]; then
		disk+=" (rotational=$(cat "/sys/block/$b/queue/rotational"))"
	fi
	printf '%s; nproc %s; kernel %s; %s; disk %s; load %s\n' \
		"$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$(uname -r)" "$(go version 2>/dev/null | awk '{print $3}')" \
		"$disk" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# import_case LABEL KIND SRC SUMFILE: a fresh archive, the timed import
# (mailark --archive A import KIND SRC --account bench --json), stats, disk
# usage, a timed verify and a timed no-op rerun. Appends a row to ROWS and
# target verdicts to VERDICTS.
ROWS=()
VERDICTS=()
FAILED=0
import_case() {
	local label=$1 kind=$2 src=$3 sum=$4
	local files bytes uniq_want ubytes entries_want
	files=$(sumval "$sum" files)
	bytes=$(sumval "$sum" bytes)
	uniq_want=$(sumval "$sum" unique)
	ubytes=$(sumval "$sum" unique_bytes)
	entries_want=$(sumval "$sum" entries)
	local l=$LOGS/$label cdir arch r rep=${REPEAT:-1} probe irc=0 rows=()
	# The import, REPEAT times, each into a fresh archive (kept until exit:
	# deleting one now would slow the next down, see fs_probe). The row
	# shows the run with the median wall time and the highest peak RSS.
	for ((r = 1; r <= rep; r++)); do
		# A random name: ext4 hashes a top directory's name to pick its
		# block group, so a fixed name would land where the last run's
		# archive was just deleted (see setup_work).
		cdir=$RUN/$label.$RANDOM$RANDOM
		mkdir -p "$cdir"
		settle
		fs_probe "$cdir/probe"
		log "[$label] import $kind: $files messages, $(mb "$bytes") MB (run $r of $rep; file creation probe $PROBE_US µs)"
		local lr=$l.import
		[[ $rep == 1 ]] || lr=$l.import.$r
		timed "$lr" "$BIN" --archive "$cdir/archive" import "$kind" "$src" --account bench --json
		if [[ $T_RC != 0 ]]; then
			log "[$label] import exited $T_RC:"
			tail -5 "$lr.err" >&2
			FAILED=1
			irc=$T_RC
		fi
		# The report's own split: "seconds" (archiving, durably) and, where
		# the build indexes during import, "index_seconds".
		local a x
		a=$(jsonval "$lr.out" seconds)
		x=$(jsonval "$lr.out" index_seconds)
		rows+=("$T_SEC $T_RSS $PROBE_US ${a:--} ${x:--} $T_CPU $cdir")
	done
	local wsec irss asec xsec cpu
	read -r wsec _ probe asec xsec cpu cdir < <(printf '%s\n' "${rows[@]}" | sort -n -k1,1 | sed -n "$(((rep + 1) / 2))p")
	[[ $asec != - ]] || asec=""
	[[ $xsec != - ]] || xsec="" # a build that does not index while importing
	irss=$(printf '%s\n' "${rows[@]}" | sort -n -k2,2 | tail -1 | cut -d' ' -f2)
	arch=$cdir/archive
	local runs=""
	if [[ $rep != 1 ]]; then
		runs=" (median of $rep: $(printf '%s\n' "${rows[@]}" | cut -d' ' -f1 | sort -n | paste -sd/))"
	fi
	"$BIN" --archive "$arch" stats --json >"$l.stats.json" 2>"$l.stats.err" || true
	local msgs uniq
	msgs=$(jsonval "$l.stats.json" messages)
	uniq=$(jsonval "$l.stats.json" unique)
	local app blk cat idx=0
	app=$(du -sb "$arch/maildir" | cut -f1)              # apparent bytes, hard links once
	blk=$(($(du -sk "$arch/maildir" | cut -f1) * 1024)) # allocated bytes, hard links once
	cat=$(du -cb "$arch"/catalog.db* | tail -1 | cut -f1)
	if [[ -d $arch/index ]]; then
		idx=$(du -sb "$arch/index" | cut -f1)
	fi
	printf 'unique_bytes=%s\nmaildir_apparent=%s\nmaildir_allocated=%s\ncatalog=%s\nindex=%s\n' \
		"$ubytes" "$app" "$blk" "$cat" "$idx" >"$l.sizes"
	settle
	timed "$l.verify" "$BIN" --archive "$arch" verify
	local vsec=$T_SEC vrss=$T_RSS vres=ok
	if [[ $T_RC != 0 ]]; then
		vres="FAIL (exit $T_RC)"
		FAILED=1
	fi
	timed "$l.rerun" "$BIN" --archive "$arch" import "$kind" "$src" --account bench --json
	local rsec=$T_SEC rnew
	rnew=$(jsonval "$l.rerun.out" new)
	[[ $T_RC == 0 && $rnew == 0 ]] || FAILED=1
	local check=OK
	if [[ $irc != 0 ]]; then
		check="FAIL (exit $irc)"
	elif [[ $msgs != "$entries_want" || $uniq != "$uniq_want" ]]; then
		check="MISMATCH (want $entries_want/$uniq_want)"
		FAILED=1
	fi
	local mps amps=- mbs rapp rblk
	mps=$(awk -v n="$files" -v s="$wsec" 'BEGIN { printf "%.0f", n / s }')
	if [[ -n $asec ]]; then
		amps=$(awk -v n="$files" -v s="$asec" 'BEGIN { printf "%.0f", n / s }')
	fi
	mbs=$(awk -v b="$bytes" -v s="$wsec" 'BEGIN { printf "%.1f", b / 1e6 / s }')
	rapp=$(ratio "$app" "$ubytes")
	rblk=$(ratio "$blk" "$ubytes")
	ROWS+=("| $label | $files | $msgs | $uniq | $check | $(mb "$bytes") | $wsec$runs | $(f2 "${asec:-}") | $(f2 "${xsec:-}") | $cpu | $mps | $amps | $mbs | $irss | $(mb "$ubytes") | $(mb "$app") | $rapp | $(mb "$blk") | $rblk | $(mb "$cat") | $(mb "$idx") | $vsec | $vrss | $vres | $rsec (${rnew:-?} new) | $probe |")
	local v
	v="$label: $mps msg/s vs >= 2000: $(passfail le 2000 "$mps")"
	if [[ -n $xsec ]]; then
		v+=" (archiving alone $amps msg/s: $(passfail le 2000 "$amps"))"
	fi
	v+="; peak RSS $irss MB vs <= 150: $(passfail le "$irss" 150);"
	v+=" maildir/unique $rapp apparent: $(passfail le "$rapp" 1.02), $rblk allocated: $(passfail le "$rblk" 1.02) (vs <= 1.02)"
	VERDICTS+=("$v")
}

# mb BYTES: megabytes (1e6), 1 decimal; f2 X: 2 decimals, or "-" for none.
mb() { awk -v b="${1:-0}" 'BEGIN { printf "%.1f", b / 1e6 }'; }
f2() { if [[ -n $1 ]]; then awk -v x="$1" 'BEGIN { printf "%.2f", x }'; else echo -; fi; }

# tree_line: what was measured: the commit the binary was built from and
# whether that tree had local changes. That is the VCS stamp Go puts in a
# binary built in a git checkout, if it has one (not with -buildvcs=false);
# else, for a binary built here, git's view of this tree (read without
# taking git's locks: others may be working in it).
tree_line() {
	local rev mod what=""
	rev=$(go version -m "$BIN" 2>/dev/null | awk -F'[\t=]+' '$3 == "vcs.revision" { print substr($4, 1, 7) }')
	mod=$(go version -m "$BIN" 2>/dev/null | awk -F'[\t=]+' '$3 == "vcs.modified" { print $4 }')
	if [[ -z $rev && -z ${MAILARK_BIN:-} ]]; then
		rev=$(GIT_OPTIONAL_LOCKS=0 git -C "$REPO" rev-parse --short=7 HEAD 2>/dev/null || true)
		[[ -n $(GIT_OPTIONAL_LOCKS=0 git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] && mod=true
	fi
	if [[ -n $rev ]]; then
		what="built from $rev"
		[[ $mod == true ]] && what+=" with local changes"
	fi
	if [[ -n ${MAILARK_BIN:-} ]]; then
		what="binary $MAILARK_BIN${what:+, $what}"
	fi
	echo "${what:-unknown build}"
}

print_table() {
	echo
	echo "mailark $SCRIPT ($(tree_line)); $(machine_line)"
	echo
	echo "| case | files | archived | unique | check | MB | wall s | archive s | index s | CPU s | msg/s | msg/s archiving | MB/s | peak RSS MB | unique MB | maildir MB apparent | ratio | maildir MB allocated | ratio | catalog MB | index MB | verify s | verify RSS MB | verify | no-op rerun s | create µs |"
	echo "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"
	printf '%s\n' "${ROWS[@]}"
	echo
	echo "targets (set for the local Maildir import; mbox rows are held to the same numbers for comparison):"
	printf '  %s\n' "${VERDICTS[@]}"
	echo
	cat <<EOF
columns: files = messages in the source, duplicates included; archived, unique = 'stats --json' messages, unique;
check = archived and unique equal what the manifest says; MB = source bytes / 1e6; wall s = the import command
under GNU time; archive s, index s = the import report's "seconds" and "index_seconds" (- when the build does
not index); CPU s = user + system CPU of the import (less sensitive to other load than wall time; 2 cores
give 2 CPU s per wall second); msg/s, MB/s = files, MB / wall s; msg/s archiving = files / archive s; peak RSS (MB = 2^20 B) from
GNU time -v; unique MB = the distinct messages' bytes as the archive receives them; maildir MB = du -sb (apparent)
and du -sk (allocated) of ARCHIVE/maildir, hard links once, directories included, ratio = that / unique MB;
catalog = catalog.db with -wal/-shm; index = ARCHIVE/index; no-op rerun = the same import again; create µs = one
empty file created beside the archive just before the import (fs_probe in bench/lib.sh; well above ~40 µs means
file creation is being slowed, e.g. by recent mass deletions). Logs: $LOGS
EOF
}
