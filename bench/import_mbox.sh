#!/usr/bin/env bash
# Benchmark: mbox import (mailark import mbox) of the corpus written as one
# mbox, into a fresh archive, then verify and a no-op rerun. See bench/README.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/import_mbox.sh [-h] [--big | --big-only] [--repeat R] [--seed S] [--cold] [--keep] [N] [WORKDIR]

Writes the deterministic gencorpus corpus of N messages (default 10000, seed 1)
as one mbox (bench/tools/maildir2mbox: every file, duplicates included, in
manifest order; mboxrd with LF line endings, as package mbox writes it),
imports it into a fresh archive under GNU time -v (everything lands in INBOX),
then runs verify and the same import again (it resumes at the end of the file:
a no-op), and prints one table like bench/import_maildir.sh.

  N            corpus size (default 10000). 100000 takes minutes (about 1 GB
               of corpus): run it only when you want that number.
  WORKDIR      work directory (default /var/tmp/mailark-bench). The corpus
               and its mbox are cached there per N/seed; archives are removed on exit.
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
	corpus_mbox
	import_case "mbox-n$N" mbox "$MBOX" "$MBOX.sum"
fi
if [[ $BIG == 1 ]]; then
	corpus "$N" "$SEED" "$BIGBYTES"
	corpus_mbox
	import_case "mbox-n$N+30MB" mbox "$MBOX" "$MBOX.sum"
fi
print_table
exit "$FAILED"
