#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make docs: builds the HTML of Documentation/gpu in the prepared tree with
# the kernel's own Sphinx build (make SPHINXDIRS=gpu htmldocs, Sphinx from
# Debian's packages), fails on any warning about our files, checks that the
# GPU SVM page has every section it must have, and copies the HTML to
# out/docs/gpu/ (the page: out/docs/gpu/rfc/gpusvm.html).
#
# The build also renders every DRM driver's kernel-doc, whose warnings are
# not ours: only warnings naming one of our files count.

. "$(dirname "$0")/lib.sh"

EXTRA_PACKAGES="python3-sphinx python3-sphinx-rtd-theme" "$HARNESS/setup.sh"
set_version_paths
"$HARNESS/sync-tree.py" "$REPO" "$TREE"

build=$VDIR/build-docs
logfile=$OUT/docs/htmldocs.log
mkdir -p "$build" "$OUT/docs"

# Sphinx reports a page's warnings only when it reads the page: have it
# read ours every time (its kernel-doc sources are dependencies already).
touch "$TREE/Documentation/gpu/rfc/gpusvm.rst"

start=$SECONDS
log "docs: make SPHINXDIRS=gpu htmldocs in $build"
# Debian's sphinx-build runs on /usr/bin/python3, with its modules.
if ! PATH=/usr/bin:$PATH make -C "$TREE" O="$build" SPHINXDIRS=gpu htmldocs \
	> "$logfile" 2>&1; then
	tail -n 30 "$logfile"
	echo "docs: the build failed (log: out/docs/htmldocs.log)"
	exit 1
fi
log "docs: built in $((SECONDS - start)) s"

status=0
# Our files: the rst page, the headers and sources it pulls kernel-doc from,
# and the reference driver it quotes; not the kernel's files our hunks
# change (the warnings of the rest of such a file are the kernel's).
mapfile -t ours < <(cd "$REPO" && git ls-files --cached --others --exclude-standard \
	-- 'Documentation/*' 'drivers/*' 'include/*')
pattern=$(printf '%s\n' "${ours[@]}" | sed 's/[.]/\\./g' | paste -sd '|')
if grep -iE 'warning|error' "$logfile" | grep -E "$pattern|rfc/gpusvm" \
	> "$OUT/docs/ours.log"; then
	cat "$OUT/docs/ours.log"
	echo "docs: warnings about our files"
	status=1
fi

html=$build/Documentation/output/gpu/rfc/gpusvm.html
"$HARNESS/docs-check.py" "$html" || status=1

rm -rf "$OUT/docs/gpu"
cp -r "$build/Documentation/output/gpu" "$OUT/docs/gpu"
[ "$status" -eq 0 ] && log "docs: clean; the page is out/docs/gpu/rfc/gpusvm.html"
exit "$status"
