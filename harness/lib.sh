# SPDX-License-Identifier: GPL-2.0-only
# Common settings of the harness scripts; sourced, not run.
#
# GPUSVM_CACHE: where the kernel source and build directories live (outside
# the repository). Everything below it is keyed on the version of Debian's
# linux-source-6.12 package.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS=$REPO/harness
OUT=$REPO/out
mkdir -p "$OUT"
CACHE=${GPUSVM_CACHE:-$HOME/.cache/gpusvm}
SRC_PKG=linux-source-6.12
SRC_TARBALL=/usr/src/$SRC_PKG.tar.xz
JOBS=${JOBS:-$(nproc)}

# The installed package version, e.g. 6.12.117-1~deb12u1; empty if missing.
src_version() {
	dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null || true
}

# Per-version paths; valid once setup.sh has run.
set_version_paths() {
	VERSION=$(src_version)
	[ -n "$VERSION" ] || { echo "harness: $SRC_PKG is not installed; run harness/setup.sh" >&2; exit 1; }
	VDIR=$CACHE/$VERSION
	TREE=$VDIR/linux
}

log() { printf '[harness] %s\n' "$*"; }
