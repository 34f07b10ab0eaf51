#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs what the harness needs from Debian's packages (when missing) and
# unpacks the pristine kernel source into the cache as a git repository whose
# only commit is the pristine tree (tag "pristine"). Idempotent and quick
# when everything is already there.

. "$(dirname "$0")/lib.sh"

# libc6-dev: the guest's static binaries (guest.sh, demo.sh).
PACKAGES=(linux-source-6.12 qemu-system-x86 flex bison bc cpio kmod libelf-dev
	  libssl-dev python3 python3-ply python3-git sparse git xz-utils perl
	  binutils dwarves libc6-dev)
# What a target needs beyond that (docs.sh: Sphinx).
read -ra extra <<< "${EXTRA_PACKAGES:-}"
PACKAGES+=("${extra[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	start=$SECONDS
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
	log "installed in $((SECONDS - start)) s"
fi

set_version_paths
log "kernel source: $SRC_PKG $VERSION"

if [ ! -f "$VDIR/.pristine-ok" ]; then
	log "unpacking $SRC_TARBALL into $TREE"
	start=$SECONDS
	rm -rf "$TREE" "$VDIR/unpack"
	mkdir -p "$VDIR/unpack"
	tar -xaf "$SRC_TARBALL" -C "$VDIR/unpack"
	mv "$VDIR/unpack/$SRC_PKG" "$TREE"
	rmdir "$VDIR/unpack"
	# Debian's top-level .gitignore ignores everything: add with -f.
	git -C "$TREE" init -q
	git -C "$TREE" add -Af
	git -C "$TREE" -c user.name=harness -c user.email=harness@localhost \
		commit -q -m "$SRC_PKG $VERSION"
	git -C "$TREE" tag pristine
	touch "$VDIR/.pristine-ok"
	log "unpacked in $((SECONDS - start)) s"
fi
