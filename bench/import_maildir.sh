#!/usr/bin/env bash
# Benchmark: local Maildir import (mailark import maildir) into a fresh
# archive, then verify and a no-op rerun. See bench/README.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/import_maildir.sh [-h] [--big | --big-only] [--repeat R] [--seed S] [--cold] [--keep] [N] [WORKDIR]

Imports a deterministic gencorpus Maildir++ tree of N messages (default 10000,
seed 1) into a fresh archive under GNU time -v, then runs verify and the same
import again (a no-op), and prints one table: throughput, peak RSS, archive
size on disk vs the unique message bytes, verify time and result.

  N            corpus size (default 10000). 100000 takes minutes (about 1 GB
               of corpus): run it only when you want that number.
  WORKDIR      work directory (default /var/tmp/mailark-bench). The corpus
               is cached there per N/seed; archives are removed on exit.
               Avoid /tmp on the project VM: same disk, but file creation
               measured slower there (see bench/README.md).
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

N=10000 WORKDIR=/var/tmp/mailark-bench SEED=1 BIG=0 MAIN=1 COLD=0 KEEP=0 REPEAT=${REPEAT:-1}
pos=()
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

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_time
setup_work "$WORKDIR"
trap cleanup EXIT
warn_recent_cleanup
build

BIGBYTES=31457280
if [[ $MAIN == 1 ]]; then
	corpus "$N" "$SEED" 0
	import_case "maildir-n$N" maildir "$CORPUS/maildir" "$CORPUS/manifest.sum"
fi
if [[ $BIG == 1 ]]; then
	corpus "$N" "$SEED" "$BIGBYTES"
	import_case "maildir-n$N+30MB" maildir "$CORPUS/maildir" "$CORPUS/manifest.sum"
fi
print_table
exit "$FAILED"
