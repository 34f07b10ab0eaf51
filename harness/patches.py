#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""make patches: write our change as a git format-patch series.

Builds one commit per block of harness/series on top of the pristine tree
(in the cache's git repository, without touching its work tree), writes the
series with a cover letter into out/patches/, runs checkpatch.pl --strict on
each patch and applies the series with git am to a pristine work tree.

Usage: patches.py REPO VDIR
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

HARNESS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HARNESS)
sync_tree = __import__('sync-tree')


def git(cwd, *args, env=None, data=None):
    return subprocess.run(['git', '-C', cwd, *args], check=True, env=env,
                          input=data, stdout=subprocess.PIPE).stdout.decode()


def checkpatch_env():
    """checkpatch runs spdxcheck.py with python3 from PATH: use Debian's,
    which has the ply and git modules the harness installs."""
    return dict(os.environ, PATH='/usr/bin:' + os.environ['PATH'])


def read_series(path):
    patches = []
    with open(path) as f:
        text = ''.join(line for line in f if not line.startswith('#'))
    for block in text.split('%%'):
        head, _, body = block.strip().partition('\n\n')
        subject = files = None
        for line in head.replace('\n       ', ' ').splitlines():
            key, _, value = line.partition(':')
            if key == 'Subject':
                subject = value.strip()
            elif key == 'Files':
                files = value.split()
        if not subject or not files:
            sys.exit(f'series: a block without Subject: or Files:\n{block}')
        patches.append((subject, files, body.strip()))
    return patches


def maintainers_before(maintainers, later):
    """MAINTAINERS without the F: lines of files that later patches add.

    Each patch that adds files then also adds their MAINTAINERS lines, so
    checkpatch sees every new file covered by the patch that creates it.
    """
    drop = {f'F:\t{path}'.encode() for path in later}
    return b''.join(line for line in maintainers.splitlines(keepends=True)
                    if line.rstrip(b'\n') not in drop)


def main(repo, vdir):
    tree = os.path.join(vdir, 'linux')
    out = os.path.join(repo, 'out', 'patches')
    name = git(repo, 'config', 'user.name').strip()
    email = git(repo, 'config', 'user.email').strip()
    signoff = f'Signed-off-by: {name} <{email}>'

    contents = sync_tree.desired_units(repo, tree)
    patches = read_series(os.path.join(HARNESS, 'series'))
    listed = [f for _, files, _ in patches for f in files
              if f != 'MAINTAINERS']
    unlisted = sorted(set(contents) - set(listed) - {'MAINTAINERS'})
    unknown = sorted(set(listed) - set(contents))
    twice = sorted({f for f in listed if listed.count(f) > 1})
    if unlisted or unknown or twice:
        sys.exit(f'series: not in a patch: {unlisted}; not ours: {unknown}; '
                 f'in two patches: {twice}')

    maintainers = contents.get('MAINTAINERS', b'')
    previous = git(tree, 'show', 'pristine:MAINTAINERS').encode()
    env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
               GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email)
    with tempfile.TemporaryDirectory() as tmp:
        env['GIT_INDEX_FILE'] = os.path.join(tmp, 'index')
        git(tree, 'read-tree', 'pristine', env=env)
        parent = git(tree, 'rev-parse', 'pristine^{commit}').strip()
        for i, (subject, files, body) in enumerate(patches):
            later = [f for _, fs, _ in patches[i + 1:] for f in fs]
            contents['MAINTAINERS'] = maintainers_before(maintainers, later)
            if contents['MAINTAINERS'] != previous:
                files = files + ['MAINTAINERS']
                previous = contents['MAINTAINERS']
            for path in files:
                blob = git(tree, 'hash-object', '-w', '--stdin',
                           data=contents[path]).strip()
                # A hunk stage (<path>@<tag>) updates <path>.
                git(tree, 'update-index', '--add', '--cacheinfo',
                    f'100644,{blob},{path.partition("@")[0]}', env=env)
            treeid = git(tree, 'write-tree', env=env).strip()
            msg = f'{subject}\n\n{body}\n\n{signoff}\n'
            parent = git(tree, 'commit-tree', treeid, '-p', parent,
                         '-m', msg, env=env).strip()
    del env['GIT_INDEX_FILE']
    git(tree, 'update-ref', 'refs/heads/series', parent)

    shutil.rmtree(out, ignore_errors=True)
    git(tree, 'format-patch', '-q', '--cover-letter', '-o', out,
        'pristine..series')
    cover = glob.glob(os.path.join(out, '0000-*.patch'))[0]
    with open(cover) as f:
        text = f.read()
    with open(os.path.join(HARNESS, 'cover-letter')) as f:
        title, _, blurb = f.read().partition('\n\n')
    text = text.replace('*** SUBJECT HERE ***', title.strip())
    text = text.replace('*** BLURB HERE ***', blurb.strip())
    with open(cover, 'w') as f:
        f.write(text)

    series = sorted(p for p in glob.glob(os.path.join(out, '*.patch'))
                    if p != cover)
    ok = True
    for patch in series:
        # MACRO_ARG_REUSE: see harness/check.sh (for_each iterators).
        res = subprocess.run([os.path.join(tree, 'scripts/checkpatch.pl'),
                              '--strict', '--quiet',
                              '--ignore', 'MACRO_ARG_REUSE', patch], cwd=tree,
                             env=checkpatch_env())
        print(f'  checkpatch {os.path.basename(patch)}: '
              f'{"ok" if res.returncode == 0 else "FAILED"}')
        ok &= res.returncode == 0

    # Apply the series with git am to a pristine work tree of the cache.
    check = os.path.join(vdir, 'am-check')
    if not os.path.isdir(check):
        git(tree, 'worktree', 'add', '-q', '--detach', check, 'pristine')
    subprocess.run(['git', '-C', check, 'am', '--abort'],
                   stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    git(check, 'reset', '-q', '--hard', 'pristine')
    git(check, 'clean', '-q', '-fdx')
    res = subprocess.run(['git', '-C', check, 'am', '-q', *series], env=env)
    if res.returncode:
        print('  git am: the series does not apply to the pristine tree')
        ok = False
    else:
        print(f'  git am: {len(series)} patches apply to the pristine tree')
    print(f'series: {out} ({len(series)} patches and a cover letter)')
    return 0 if ok else 1


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(os.path.abspath(sys.argv[1]), sys.argv[2]))
