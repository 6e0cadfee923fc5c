#!/bin/bash
# govulncheck against a local copy of the Go vulnerability database, so CI
# needs no access to vuln.go.dev: only the module proxy (or a warm module
# cache) that `go mod download` already uses.
#
# The database comes from the module golang.org/x/vulndb, whose data/osv/
# holds one OSV file per vulnerability. The vulndb repository's own
# cmd/indexdb turns that directory into the v1 layout govulncheck's
# `-db file://` reads (ID/*.json, index/{db,modules,vulns}.json); the
# result is cached per database version. Should indexdb fail to build,
# data/osv is used as it is: govulncheck also reads a flat directory of
# OSV files (it indexes them in memory, which costs a few seconds).
#
# Policy: a vulnerability the code calls in a module we require fails the
# run (exit 3): go.mod is ours to fix. One in the standard library is
# printed as a warning with the Go release that fixes it, and does not fail
# the run: the toolchain is the builder's (the README says which Go to
# build releases with), and this machine offers no patched 1.26 release.
# MAILARK_VULN_STRICT=1 fails on those too. Exit 2: the scan could not run.
# Bump the versions below to take a newer database or tool.
set -euo pipefail
cd "$(dirname "$0")/.."

VULN_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
cache=${MAILARK_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailark-ci}
db=$cache/vulndb/$VULNDB_VERSION
mkdir -p "$cache/bin"
start=$(date +%s)

# Tools are built outside this module (GOFLAGS cleared, run from the cache
# dir) so that go.mod and go.sum are never touched.
if [ ! -x "$cache/bin/govulncheck-$VULN_VERSION" ]; then
    (cd "$cache" && GOFLAGS= GOBIN="$cache/bin" go install "golang.org/x/vuln/cmd/govulncheck@$VULN_VERSION")
    mv "$cache/bin/govulncheck" "$cache/bin/govulncheck-$VULN_VERSION"
fi

src=$(cd "$cache" && GOFLAGS= go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
    echo "govulncheck.sh: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv directory (got '${src}')" >&2
    exit 2
fi

if [ ! -f "$db/index/modules.json" ]; then
    rm -rf "$db.tmp"
    if (cd "$cache" && GOFLAGS= go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$db.tmp"); then
        rm -rf "$db" && mv "$db.tmp" "$db"
    else
        echo "govulncheck.sh: building the v1 database with indexdb failed; using the flat OSV directory" >&2
        rm -rf "$db.tmp"
        db=$src/data/osv
    fi
fi
echo "vulnerability database: golang.org/x/vulndb@$VULNDB_VERSION ($(ls "$src/data/osv" | wc -l) entries) in $db; ready in $(( $(date +%s) - start ))s"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# -format json exits 0 whatever it finds; the policy is applied below.
if ! "$cache/bin/govulncheck-$VULN_VERSION" -db "file://$db" -format json ./... > "$out"; then
    echo "govulncheck.sh: the scan failed" >&2
    exit 2
fi
echo "govulncheck: scanned in $(( $(date +%s) - start ))s"
python3 - "$out" "${MAILARK_VULN_STRICT:-0}" <<'PY'
import json, sys
path, strict = sys.argv[1], sys.argv[2] == "1"
text, dec, i = open(path).read(), json.JSONDecoder(), 0
called = {}  # osv id -> (module, version, fixed, symbol)
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    obj, i = dec.raw_decode(text, i)
    f = obj.get("finding")
    if not f or not f.get("trace") or not f["trace"][0].get("function"):
        continue  # imported or required only: the code never calls it
    top = f["trace"][0]
    sym = ".".join(x for x in (top.get("package", ""), top.get("receiver", ""), top["function"]) if x)
    called.setdefault(f["osv"], (top.get("module", "?"), top.get("version", "?"), f.get("fixed_version", "none"), sym))
mods = {k: v for k, v in called.items() if v[0] != "stdlib"}
std = {k: v for k, v in called.items() if v[0] == "stdlib"}
for k, (m, v, fx, sym) in sorted(mods.items()):
    print(f"VULNERABLE (called): {k} in {m}@{v}, fixed in {fx}, vulnerable symbol {sym}")
if std:
    need = max((v[2] for v in std.values()), key=lambda s: [int(x) for x in s.lstrip("v").split(".") if x.isdigit()])
    print(f"warning: the Go toolchain's standard library ({next(iter(std.values()))[1]}) has {len(std)} vulnerabilities the code calls; build releases with Go >= {need}:")
    for k, (m, v, fx, sym) in sorted(std.items()):
        print(f"  {k} fixed in {fx}, vulnerable symbol {sym}")
print(f"govulncheck: {len(mods)} called in required modules, {len(std)} called in the standard library")
sys.exit(3 if mods or (strict and std) else 0)
PY
