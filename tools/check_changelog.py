# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check the changelog the antsibull-changelog way, without changing the tree.

1. `antsibull-changelog lint`: every fragment in changelogs/fragments is valid.
2. changelogs/changelog.yaml exists and `antsibull-changelog lint-changelog-yaml` accepts it.
3. The version in galaxy.yml is a release in changelog.yaml (so a tarball never ships without its notes).
4. CHANGELOG.rst is what `antsibull-changelog generate` makes of changelog.yaml (nobody edited it by hand,
   nobody forgot to regenerate it); generated in a scratch copy.

    python tools/check_changelog.py COLLECTION_DIR SCRATCH_DIR

antsibull-changelog (and ansible-doc, for the plugin list) must be on PATH.
"""

from __future__ import annotations

import argparse
import difflib
import pathlib
import shutil
import subprocess
import sys

import yaml


def run(command, cwd):
    print('+ %s' % ' '.join(command), flush=True)
    return subprocess.run(command, cwd=str(cwd), check=False).returncode == 0


def read_yaml(path):
    with open(path, encoding='utf-8') as yaml_file:
        return yaml.safe_load(yaml_file) or {}


def check(collection, scratch):
    problems = []
    if not run(['antsibull-changelog', 'lint'], collection):
        problems.append('antsibull-changelog lint found invalid fragments in changelogs/fragments')

    changes_file = collection / 'changelogs' / 'changelog.yaml'
    if not changes_file.is_file():
        return problems + ['changelogs/changelog.yaml is missing: the lead releases 0.1.0 once with `make changelog-release`']
    if not run(['antsibull-changelog', 'lint-changelog-yaml', str(changes_file)], collection):
        problems.append('antsibull-changelog lint-changelog-yaml rejects changelogs/changelog.yaml')

    version = str(read_yaml(collection / 'galaxy.yml').get('version'))
    releases = read_yaml(changes_file).get('releases') or {}
    if version not in releases:
        problems.append('galaxy.yml says version %s, but changelogs/changelog.yaml has no release %s (it has: %s); '
                        'release it with `make changelog-release`' % (version, version, ', '.join(sorted(releases)) or 'none'))

    if scratch.exists():
        shutil.rmtree(str(scratch))
    shutil.copytree(str(collection), str(scratch), ignore=shutil.ignore_patterns('.git', 'output', '.ansible', '__pycache__'))
    if not run(['antsibull-changelog', 'generate'], scratch):
        problems.append('antsibull-changelog generate failed')
    else:
        committed = collection / 'CHANGELOG.rst'
        generated = scratch / 'CHANGELOG.rst'
        if not committed.is_file():
            problems.append('CHANGELOG.rst is missing')
        elif committed.read_text(encoding='utf-8') != generated.read_text(encoding='utf-8'):
            diff = difflib.unified_diff(committed.read_text(encoding='utf-8').splitlines(), generated.read_text(encoding='utf-8').splitlines(),
                                        'CHANGELOG.rst (committed)', 'CHANGELOG.rst (generated)', lineterm='')
            print('\n'.join(diff))
            problems.append('CHANGELOG.rst differs from what antsibull-changelog generates from changelogs/changelog.yaml: '
                            'run `antsibull-changelog generate` instead of editing it')
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('collection', type=pathlib.Path)
    parser.add_argument('scratch', type=pathlib.Path, help='a directory this check may delete and recreate')
    args = parser.parse_args(argv)
    problems = check(args.collection.resolve(), args.scratch.resolve())
    for problem in problems:
        print('check_changelog.py: %s' % problem, file=sys.stderr)
    if problems:
        return 1
    print('changelog: fragments valid, changelog.yaml valid and has the galaxy.yml version, CHANGELOG.rst up to date')
    return 0


if __name__ == '__main__':
    sys.exit(main())
