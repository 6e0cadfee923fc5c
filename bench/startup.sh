#!/usr/bin/env bash
# bench/startup.sh: what a mailark process costs before its own code runs,
# and what Bleve's eager package initialisation adds to a search.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/startup.sh [-h] [--runs R] ARCHIVE [QUERY]

Times, as whole commands (median of R runs, default 40, after 5 warm-ups):
  - an empty Go program (the Go runtime's own start),
  - mailark --help,
  - mailark search --limit 50 QUERY on ARCHIVE (default query: quokka),
and the last two again with mailark built against a copy of Bleve whose
index/scorch package builds its two Levenshtein automaton builders (for
fuzzy queries, which mailark never makes) on first use instead of in init.
The copy is made from the module cache in a temporary directory and used
through a temporary go.mod (go build -modfile); the tree is not changed. With mu installed and MU_HOME set to an mu
database, also times 'mu find --fields=l --maxnum=50 QUERY' for scale.

Each time includes this script's own timing (a fork of date): the empty
program's row shows that floor. ARCHIVE must have an index of this version
(run 'mailark reindex' first).
EOF
}

RUNS=40
pos=()
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--runs) RUNS=${2:?--runs needs a value}; shift ;;
	-*) usage >&2; exit 2 ;;
	*) pos+=("$1") ;;
	esac
	shift
done
[[ ${#pos[@]} -ge 1 && ${#pos[@]} -le 2 && $RUNS =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
ARCH=${pos[0]}
QUERY=${pos[1]:-quokka}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TMP=$(mktemp -d)
# shellcheck disable=SC2034 # read by machine_line (lib.sh)
WORK=$TMP
trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT

# median COMMAND...: median wall milliseconds of RUNS runs after 5
# warm-ups, output discarded.
median() {
	local i
	for ((i = 0; i < 5; i++)); do "$@" >/dev/null 2>&1 || true; done
	: >"$TMP/times"
	for ((i = 0; i < RUNS; i++)); do ms "$@" >>"$TMP/times"; done
	pct 50 "$TMP/times"
}

cd "$REPO"
log "building"
mkdir -p "$TMP/empty"
printf 'package main\n\nfunc main() {}\n' >"$TMP/empty/main.go"
(cd "$TMP/empty" && go mod init empty >/dev/null 2>&1 && go build -o "$TMP/empty.bin" .)
go build -o "$TMP/mailark" ./cmd/mailark

# The patched copy of Bleve.
bleve_dir=$(go list -m -f '{{.Dir}}' github.com/blevesearch/bleve/v2)
cp -r "$bleve_dir" "$TMP/bleve"
chmod -R u+w "$TMP/bleve"
python3 - "$TMP/bleve/index/scorch/snapshot_index.go" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
eager = '''	var err error
	lb1, err = lev.NewLevenshteinAutomatonBuilder(1, true)
	if err != nil {
		panic(fmt.Errorf("levenshtein automaton ed1 builder err: %v", err))
	}
	lb2, err = lev.NewLevenshteinAutomatonBuilder(2, true)
	if err != nil {
		panic(fmt.Errorf("levenshtein automaton ed2 builder err: %v", err))
	}
'''
use = '''	switch fuzziness {
	case 1:
		return lb1.BuildDfa(term, fuzziness)'''
if eager not in s or use not in s:
    sys.exit("bench/startup.sh: this Bleve's scorch/snapshot_index.go is not the one the patch knows")
s = s.replace(eager, '')
s = s.replace(use, '''	levOnce.Do(func() {
		var err error
		if lb1, err = lev.NewLevenshteinAutomatonBuilder(1, true); err != nil {
			panic(fmt.Errorf("levenshtein automaton ed1 builder err: %v", err))
		}
		if lb2, err = lev.NewLevenshteinAutomatonBuilder(2, true); err != nil {
			panic(fmt.Errorf("levenshtein automaton ed2 builder err: %v", err))
		}
	})
''' + use)
s = s.replace('var lb1, lb2 *lev.LevenshteinAutomatonBuilder', 'var lb1, lb2 *lev.LevenshteinAutomatonBuilder\nvar levOnce sync.Once')
if '"sync"' not in s:
    s = s.replace('import (', 'import (\n\t"sync"', 1)
open(p, 'w').write(s)
EOF
# Built from this tree with a go.mod copy that points at the patched Bleve.
cp go.mod "$TMP/go.mod"
cp go.sum "$TMP/go.sum"
go mod edit -modfile="$TMP/go.mod" -replace "github.com/blevesearch/bleve/v2=$TMP/bleve"
go build -modfile="$TMP/go.mod" -o "$TMP/mailark-lazy" ./cmd/mailark

rows=()
row() { rows+=("$(printf '| %s | %s ms |' "$1" "$2")"); }
log "timing ($RUNS runs each)"
row "empty Go program" "$(median "$TMP/empty.bin")"
row "mailark --help" "$(median "$TMP/mailark" --help)"
row "mailark --help, Bleve without eager automata" "$(median "$TMP/mailark-lazy" --help)"
row "mailark search --limit 50 $QUERY" "$(median "$TMP/mailark" --archive "$ARCH" search --limit 50 -- "$QUERY")"
row "mailark search --limit 50 $QUERY, Bleve without eager automata" "$(median "$TMP/mailark-lazy" --archive "$ARCH" search --limit 50 -- "$QUERY")"
if [[ -n ${MU_HOME:-} ]] && command -v mu >/dev/null; then
	row "mu find --fields=l --maxnum=50 $QUERY" "$(median mu find --muhome="$MU_HOME" --fields=l --maxnum=50 "$QUERY")"
fi
machine_line
printf '| what | median |\n|---|---:|\n'
printf '%s\n' "${rows[@]}"
