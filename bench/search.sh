#!/usr/bin/env bash
# Benchmark: indexing and searching, mailark next to notmuch and mu on the
# same generated Maildir, in the same run. See bench/README.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/search.sh [-h] [--no-peers] [--runs R] [N] [WORKDIR]

Imports a gencorpus Maildir++ tree of N messages (default 10000, seed 1) into
a fresh archive and reports the indexing rate (messages/s) and the index size
as a share of the mail; then times 20 searches as whole commands (R runs
each, default 5) and prints p50/p95. Unless --no-peers, indexes the same
Maildir with 'notmuch new' and 'mu index' (Debian: notmuch, maildir-utils;
installed when missing) and times the four queries all three understand.

  N        corpus size (default 10000)
  WORKDIR  work directory (default /var/tmp/mailark-bench)
  MAILARK_BIN=/path/to/mailark uses that binary instead of building ./cmd/mailark.
EOF
}

N=10000 WORKDIR=/var/tmp/mailark-bench SEED=1 PEERS=1 RUNS=5
pos=()
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--no-peers) PEERS=0 ;;
	--runs) RUNS=${2:?--runs needs a value}; shift ;;
	-*) usage >&2; exit 2 ;;
	*) pos+=("$1") ;;
	esac
	shift
done
[[ ${#pos[@]} -ge 1 ]] && N=${pos[0]}
[[ ${#pos[@]} -ge 2 ]] && WORKDIR=${pos[1]}
[[ $N =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_time
setup_work "$WORKDIR"
trap cleanup EXIT
build
corpus "$N" "$SEED" 0
SRC=$CORPUS/maildir
MAIL_BYTES=$(du -sb --apparent-size "$SRC" | cut -f1)

rows=()
row() { rows+=("$(printf '| %s | %s | %s | %s | %s |' "$@")"); }

# --- mailark ---------------------------------------------------------------
ARCH=$RUN/archive
log "mailark: importing and indexing $N messages"
/usr/bin/time -v "$BIN" --archive "$ARCH" --json import maildir "$SRC" >"$LOGS/import.json" 2>"$LOGS/import.time"
idx_s=$(jsonval "$LOGS/import.json" index_seconds)
uniq=$("$BIN" --archive "$ARCH" --json stats | jsonval /dev/stdin unique)
idx_bytes=$(du -sb "$ARCH/index" | cut -f1)
rss=$(awk '/Maximum resident/ { printf "%.0f", $NF / 1024 }' "$LOGS/import.time")
row mailark "index $uniq unique messages" "$idx_s s" "$(awk -v n="$uniq" -v s="$idx_s" 'BEGIN { printf "%.0f msg/s", n / s }')" \
	"index $(mb "$idx_bytes") MB = $(awk -v a="$idx_bytes" -v b="$MAIL_BYTES" 'BEGIN { printf "%.0f", 100 * a / b }') % of mail; import+index peak RSS $rss MB"

QUERIES=(
	'quokka' 'from:dmitri@example.net' 'subject:Überweisung' 'date:2019'
	'袋鼠' '数据迁移已经完成' 'データ移行が完了しました' '회의'
	'"the migration is complete"' 'invoic*' 'has:attachment filename:pdf' 'folder:INBOX is:unread'
	'from:alice OR from:bob' 'size:>100k' 'after:2023-06-01 before:2024' 'subject:axolotl -folder:Sent'
	'to:alice@example.org' 'filename:pangolin' 'is:flagged has:attachment' 'Überweisung OR facture'
)
: >"$LOGS/mailark.ms"
for q in "${QUERIES[@]}"; do
	for ((i = 0; i < RUNS; i++)); do
		ms "$BIN" --archive "$ARCH" search --limit 50 -- "$q" >>"$LOGS/mailark.ms"
	done
	printf '%s\t%s\n' "$q" "$("$BIN" --archive "$ARCH" --json search --limit 100000 -- "$q" | grep -c '"id"')" >>"$LOGS/mailark.hits"
done
row mailark "20 queries x $RUNS, whole command" "p50 $(pct 50 "$LOGS/mailark.ms") ms" "p95 $(pct 95 "$LOGS/mailark.ms") ms" "hits per query in logs/search/mailark.hits"

# --- peers -----------------------------------------------------------------
if [[ $PEERS == 1 ]]; then
	missing=()
	command -v notmuch >/dev/null || missing+=(notmuch)
	command -v mu >/dev/null || missing+=(maildir-utils)
	if [[ ${#missing[@]} -gt 0 ]]; then
		[[ $(id -u) == 0 ]] || die "install ${missing[*]} first (or use --no-peers)"
		log "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } ||
			die "apt-get install ${missing[*]} failed"
	fi
	NMC=$RUN/notmuch-config
	cat >"$NMC" <<EOF
[database]
path=$RUN/notmuch
mail_root=$SRC
[user]
name=Bench
primary_email=bench@example.org
[new]
tags=unread;inbox
EOF
	mkdir -p "$RUN/notmuch"
	export NOTMUCH_CONFIG=$NMC
	log "notmuch new"
	/usr/bin/time -v notmuch new --quiet >"$LOGS/notmuch.out" 2>"$LOGS/notmuch.time"
	nm_s=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$LOGS/notmuch.time")
	nm_n=$(notmuch count --output=files '*')
	row notmuch "index $nm_n files" "$nm_s s" "$(awk -v n="$nm_n" -v s="$nm_s" 'BEGIN { printf "%.0f msg/s", n / s }')" \
		"db $(mb "$(du -sb "$RUN/notmuch" | cut -f1)") MB"

	mu init --muhome="$RUN/mu" --maildir="$SRC" --my-address=bench@example.org >"$LOGS/mu.init" 2>&1
	log "mu index"
	/usr/bin/time -v mu index --muhome="$RUN/mu" --quiet >"$LOGS/mu.out" 2>"$LOGS/mu.time"
	mu_s=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$LOGS/mu.time")
	row mu "index $N files" "$mu_s s" "$(awk -v n="$N" -v s="$mu_s" 'BEGIN { printf "%.0f msg/s", n / s }')" \
		"db $(mb "$(du -sb "$RUN/mu" | cut -f1)") MB"

	# The four queries every tool understands, each in its own syntax.
	SHARED_MA=('quokka' 'from:dmitri@example.net' 'subject:Überweisung' 'date:2019')
	SHARED_NM=('quokka' 'from:dmitri@example.net' 'subject:Überweisung' 'date:2019-01-01..2019-12-31')
	SHARED_MU=('quokka' 'from:dmitri@example.net' 'subject:Überweisung' 'date:20190101..20191231')
	# Printing every hit (mu: file names only, and its default fields), and
	# a first page of 50 (mailark's default; mu and notmuch print every hit
	# unless told).
	for t in mailark notmuch mu; do : >"$LOGS/shared.$t.ms"; : >"$LOGS/page.$t.ms"; done
	: >"$LOGS/shared.mu-dfs.ms"
	for i in 0 1 2 3; do
		for ((r = 0; r < RUNS; r++)); do
			ms "$BIN" --archive "$ARCH" search --limit 100000 -- "${SHARED_MA[$i]}" >>"$LOGS/shared.mailark.ms"
			ms notmuch search --output=files "${SHARED_NM[$i]}" >>"$LOGS/shared.notmuch.ms"
			ms mu find --muhome="$RUN/mu" --fields=l "${SHARED_MU[$i]}" >>"$LOGS/shared.mu.ms"
			ms mu find --muhome="$RUN/mu" "${SHARED_MU[$i]}" >>"$LOGS/shared.mu-dfs.ms"
			ms "$BIN" --archive "$ARCH" search --limit 50 -- "${SHARED_MA[$i]}" >>"$LOGS/page.mailark.ms"
			ms notmuch search --output=files --limit=50 "${SHARED_NM[$i]}" >>"$LOGS/page.notmuch.ms"
			ms mu find --muhome="$RUN/mu" --fields=l --maxnum=50 "${SHARED_MU[$i]}" >>"$LOGS/page.mu.ms"
		done
		printf '%s\tmailark %s\tnotmuch %s\tmu %s\n' "${SHARED_MA[$i]}" \
			"$("$BIN" --archive "$ARCH" --json search --limit 100000 -- "${SHARED_MA[$i]}" | grep -c '"id"')" \
			"$(notmuch count "${SHARED_NM[$i]}")" \
			"$(mu find --muhome="$RUN/mu" --fields=i "${SHARED_MU[$i]}" 2>/dev/null | sort -u | wc -l)" >>"$LOGS/shared.hits"
	done
	for t in mailark notmuch mu; do
		row "$t" "4 shared queries x $RUNS, all hits" "p50 $(pct 50 "$LOGS/shared.$t.ms") ms" "p95 $(pct 95 "$LOGS/shared.$t.ms") ms" "hits: logs/search/shared.hits"
	done
	# mu's default output (date, from, subject) is what mailark prints.
	row "mu" "4 shared queries x $RUNS, all hits, default fields (date, from, subject)" "p50 $(pct 50 "$LOGS/shared.mu-dfs.ms") ms" "p95 $(pct 95 "$LOGS/shared.mu-dfs.ms") ms" ""
	for t in mailark notmuch mu; do
		row "$t" "4 shared queries x $RUNS, first 50 hits" "p50 $(pct 50 "$LOGS/page.$t.ms") ms" "p95 $(pct 95 "$LOGS/page.$t.ms") ms" ""
	done
fi

echo
echo "## search.sh, N=$N ($(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores)"
echo
echo "| tool | what | time | rate / p95 | notes |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
[[ -f $LOGS/shared.hits ]] && { echo "Hits (unique messages; notmuch and mu count Message-IDs or files):"; sed 's/^/    /' "$LOGS/shared.hits"; }
exit 0
