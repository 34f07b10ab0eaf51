#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Make the cached kernel tree exactly the pristine source plus our files.

Our files are every file of the repository whose first path component is a
top-level directory of the kernel (drivers/, include/, Documentation/, ...),
and every hunks/<path>.patch (with its later stages, hunks/<path>@<tag>.patch),
applied to the pristine <path>. Anything else
that differs from the pristine commit in the tree is restored or deleted, so
a file removed or renamed in the repository never lingers. Files whose
content is already right are not touched, which keeps rebuilds incremental.

Usage: sync-tree.py REPO TREE        (prints what it changed)
       sync-tree.py --list REPO TREE (prints "path" per file we own)
"""

import os
import subprocess
import sys
import tempfile


def git(tree, *args, data=None):
    return subprocess.run(['git', '-C', tree, *args], input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def repo_files(repo):
    out = git(repo, 'ls-files', '-z', '--cached', '--others',
              '--exclude-standard')
    return sorted({p for p in out.decode().split('\0')
                   if p and os.path.isfile(os.path.join(repo, p))})


def apply_hunks(tree, path, hunks):
    """Return the pristine @path of @tree with the unified diffs @hunks applied
    in order."""
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'wb') as f:
            f.write(git(tree, 'show', f'pristine:{path}'))
        for hunk in hunks:
            subprocess.run(['git', 'apply', '--whitespace=nowarn', hunk],
                           cwd=tmp, check=True)
        with open(target, 'rb') as f:
            return f.read()


def hunk_stages(repo):
    """Map each path changed by hunks to its stages, in order of application.

    hunks/<path>.patch is the first stage; hunks/<path>@<tag>.patch files are
    later stages, applied in order of tag, each a diff against the stage
    before (so that several patches of the series can change one file). Each
    stage is a (unit, hunk file) pair: the unit is <path> for the first stage
    and <path>@<tag> for the others.
    """
    stages = {}
    for rel in repo_files(repo):
        if not (rel.startswith('hunks/') and rel.endswith('.patch')):
            continue
        unit = rel[len('hunks/'):-len('.patch')]
        path, _, tag = unit.partition('@')
        stages.setdefault(path, []).append((tag, unit,
                                            os.path.join(repo, rel)))
    return {path: [(unit, hunk) for _, unit, hunk in sorted(s)]
            for path, s in stages.items()}


def own_files(repo, tree):
    """Map each file of ours that is not a hunk to its content."""
    top = set(git(tree, 'ls-tree', '--name-only', '-d', 'pristine')
              .decode().split())
    files = {}
    for rel in repo_files(repo):
        if rel.split('/', 1)[0] in top:
            with open(os.path.join(repo, rel), 'rb') as f:
                files[rel] = f.read()
    return files


def desired_units(repo, tree):
    """Map each unit of ours to its content: a file of ours by its path, each
    hunk stage by its unit, with the file's content up to that stage."""
    units = own_files(repo, tree)
    for path, stages in hunk_stages(repo).items():
        for i, (unit, _) in enumerate(stages):
            units[unit] = apply_hunks(tree, path,
                                      [hunk for _, hunk in stages[:i + 1]])
    return units


def desired_files(repo, tree):
    """Map each tree path we own to the content it must have."""
    files = own_files(repo, tree)
    for path, stages in hunk_stages(repo).items():
        files[path] = apply_hunks(tree, path, [hunk for _, hunk in stages])
    return files


def sync(repo, tree):
    files = desired_files(repo, tree)
    changed = set(git(tree, 'diff', '--name-only', '-z', 'pristine')
                  .decode().split('\0'))
    untracked = set(git(tree, 'ls-files', '-z', '--others')
                    .decode().split('\0'))
    changed.discard('')
    untracked.discard('')

    stale = sorted((changed | untracked) - set(files))
    restore = [p for p in stale if p not in untracked]
    if restore:
        git(tree, 'checkout', 'pristine', '--', *restore)
    for path in stale:
        if path in untracked:
            os.unlink(os.path.join(tree, path))
        print(f'  restored {path}')

    for path, content in sorted(files.items()):
        target = os.path.join(tree, path)
        try:
            with open(target, 'rb') as f:
                if f.read() == content:
                    continue
        except FileNotFoundError:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'wb') as f:
            f.write(content)
        print(f'  updated {path}')


def main(argv):
    if len(argv) == 4 and argv[1] == '--list':
        for path in sorted(desired_files(os.path.abspath(argv[2]), argv[3])):
            print(path)
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sync(os.path.abspath(argv[1]), argv[2])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
