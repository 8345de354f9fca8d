#!/bin/sh
# Stands in for $(MAKE) in a kbuild dry run: runs the sub-make under `perf stat -e task-clock`
# (which counts it and everything it runs) and writes its obj= beside the count.
# Used by measure.sh; OUT is the directory for the counts.
tag=$(printf '%s\n' "$@" | grep '^obj=' | head -1 | sed 's/^obj=//')
f=$(mktemp "$OUT/m.XXXXXX")
echo "$tag" > "$f.tag"
exec perf stat -x, -e task-clock -o "$f" make "$@"
