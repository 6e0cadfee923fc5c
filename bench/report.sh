#!/usr/bin/env bash
# Renders 'mailark stats --html' of the bundled sample in headless Chromium
# and checks that each chart drew bars (a blank chart has no bar pixels).
# Installs Debian's chromium when missing (root). Prints the PNG's path.
set -euo pipefail
[[ ${1:-} == -h ]] && { echo "usage: bench/report.sh [OUTDIR]"; exit 0; }
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/var/tmp/mailark-report}
rm -rf "$OUT" && mkdir -p "$OUT"
if ! command -v chromium >/dev/null; then
	[[ $(id -u) == 0 ]] || { echo "install chromium first" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }
fi
(cd "$REPO" && go build -o "$OUT/mailark" ./cmd/mailark && go build -o "$OUT/pngbars" ./bench/tools/pngbars)
"$OUT/mailark" demo --keep "$OUT/demo" >/dev/null
"$OUT/mailark" --archive "$OUT/demo/archive" stats --html "$OUT/report.html"
# The flags keep Chromium off the network (this machine has none) and out of ~.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$OUT/chromium" --window-size=820,2400 --screenshot="$OUT/report.png" \
	"file://$OUT/report.html" 2>/dev/null
res=$("$OUT/pngbars" "$OUT/report.png")
echo "$OUT/report.png: $res"
rows=${res#*bar_rows=}; rows=${rows%% *}
# 4 charts: the month columns plus at least one row of bars in each other chart.
if [[ $rows -lt 60 ]]; then echo "FAIL: too few rows with bars ($rows)"; exit 1; fi
echo "PASS: charts drawn"
