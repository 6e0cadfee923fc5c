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
EOF
	import_options_help
}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_import_args "$@"
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
