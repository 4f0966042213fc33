# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Build the Galaxy tarball as a user would, check what is in it, install it into an empty path and use it.

1. `ansible-galaxy collection build` of the checkout.
2. The tarball's file list: nothing generated or local (tests/output, venvs, .build, .git, caches), none of the
   developer tooling that build_ignore keeps out; and every file a user needs: the plugins, roles, meta, docs,
   changelog, README, LICENSE and requirements.txt, each compared with the checkout. The emulator is not in it:
   it is a Python package of its own (emulator/, pip install).
3. `ansible-galaxy collection install` into an empty collections path; `ansible-doc` of every module and role
   from there.
4. With --demo: demo/demo.py from the checkout against the installed copy (MIM_CM_DEMO_COLLECTIONS_PATH), so
   the playbook runs the tarball's code, not the checkout's.

    python tools/check_galaxy_build.py SOURCE_DIR WORK_DIR [--demo]

Run it with the Python of the test venv: ansible-galaxy, ansible-doc and ansible-playbook are taken from
its bin directory. WORK_DIR is deleted and recreated.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

BIN = pathlib.Path(sys.executable).parent

# Never in a tarball: what tools, tests and editors leave in a checkout.
JUNK_PARTS = frozenset(['.git', '.build', '.cache', '.ansible', '.pytest_cache', '__pycache__', '.tox', '.mypy_cache', '.ruff_cache'])
JUNK_SUFFIXES = ('.pyc', '.pyo', '.retry', '.tar.gz', '.swp')
JUNK_PREFIXES = ('.venv', 'tests/output/', 'changelogs/.plugin-cache.yaml')
# For the developers of mim.cm, not for its users: kept out by build_ignore in galaxy.yml.
DEV_ONLY = ('Makefile', 'mk/', 'tools/', 'demo/', '.ci/', '.gitignore', '.ansible-lint', 'ruff.toml', 'mypy.ini',
            'requirements-dev.txt', 'requirements-ecosystem.txt', 'emulator/', 'tests/emulator/')
# Every file below these directories of the checkout must be in the tarball, as must these files.
SHIPPED_TREES = ('plugins', 'roles', 'meta', 'docs', 'changelogs')
SHIPPED_FILES = ('README.md', 'LICENSE', 'requirements.txt', 'CHANGELOG.rst', 'meta/runtime.yml', 'meta/execution-environment.yml')
# Shipped when the checkout has them.
SHIPPED_IF_PRESENT = ('bindep.txt',)


def run(command, **kwargs):
    print('+ %s' % ' '.join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], check=False, **kwargs).returncode == 0


def is_junk(path):
    return bool(JUNK_PARTS.intersection(path.split('/'))) or path.endswith(JUNK_SUFFIXES) or path.startswith(JUNK_PREFIXES)


def is_dev_only(path):
    return any(path == entry.rstrip('/') or (entry.endswith('/') and path.startswith(entry)) for entry in DEV_ONLY)


def checkout_files(source):
    """The files of the checkout that users need (relative paths), junk left out."""
    wanted = set(SHIPPED_FILES).union(name for name in SHIPPED_IF_PRESENT if (source / name).is_file())
    for tree in SHIPPED_TREES:
        for path in (source / tree).rglob('*'):
            relative = path.relative_to(source).as_posix()
            if path.is_file() and not is_junk(relative) and not is_dev_only(relative):
                wanted.add(relative)
    return wanted


def check_file_list(source, tarball):
    with tarfile.open(str(tarball)) as archive:
        members = set(member.name[2:] if member.name.startswith('./') else member.name for member in archive.getmembers() if member.isfile())
        manifest = json.load(archive.extractfile('MANIFEST.json'))
    problems = []
    for path in sorted(members):
        if is_junk(path):
            problems.append('the tarball holds %s, which is generated or local and never belongs in it' % path)
        elif is_dev_only(path):
            problems.append('the tarball holds %s, developer tooling that galaxy.yml build_ignore should keep out' % path)
    for path in sorted(checkout_files(source) - members):
        problems.append('the tarball lacks %s, which users need' % path)
    for path in sorted(members.intersection(checkout_files(source))):
        with tarfile.open(str(tarball)) as archive:
            if archive.extractfile(path).read() != (source / path).read_bytes():
                problems.append('%s in the tarball differs from the checkout' % path)
    return problems, manifest['collection_info']


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', type=pathlib.Path)
    parser.add_argument('work', type=pathlib.Path, help='a directory this check deletes and recreates')
    parser.add_argument('--demo', action='store_true', help='also run demo/demo.py against the installed copy')
    args = parser.parse_args(argv)
    source, work = args.source.resolve(), args.work.resolve()

    if work.exists():
        shutil.rmtree(str(work))
    dist, collections = work / 'dist', work / 'collections'
    dist.mkdir(parents=True)
    collections.mkdir()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), MIM_CM_DEMO_COLLECTIONS_PATH=str(collections))

    if not run([BIN / 'ansible-galaxy', 'collection', 'build', source, '--output-path', dist], cwd=str(work), env=env):
        return fail(['ansible-galaxy collection build failed'])
    tarballs = sorted(dist.glob('*.tar.gz'))
    if len(tarballs) != 1:
        return fail(['expected one tarball in %s, found %s' % (dist, [path.name for path in tarballs])])
    problems, info = check_file_list(source, tarballs[0])
    if problems:
        return fail(problems)
    print('%s: %d files, nothing generated or for developers only, nothing users need left out'
          % (tarballs[0].name, len(checkout_files(source))))

    problems = install_and_render(tarballs[0], info, work, collections, env)
    if problems:
        return fail(problems)

    if args.demo:
        if not run([sys.executable, source / 'demo' / 'demo.py'], cwd=str(work), env=env):
            return fail(['demo/demo.py failed against the installed copy in %s' % collections])
        print('the demo passed against the installed copy')
    return 0


def install_and_render(tarball, info, work, collections, env):
    """Install the tarball into an empty collections path; ansible-doc must render every module and role. Problems, or []."""
    problems = []
    # An empty collections path: nothing but the tarball can provide mim.cm there.
    if not run([BIN / 'ansible-galaxy', 'collection', 'install', tarball, '-p', collections], cwd=str(work), env=env):
        return ['ansible-galaxy collection install of %s into an empty path failed' % tarball.name]
    installed = collections / 'ansible_collections' / info['namespace'] / info['name']
    if not (installed / 'MANIFEST.json').is_file():
        return ['the install left no %s/MANIFEST.json' % installed]
    fqcn = '%s.%s' % (info['namespace'], info['name'])
    modules = sorted(path.stem for path in (installed / 'plugins' / 'modules').glob('*.py') if path.stem != '__init__')
    roles = sorted(path.name for path in (installed / 'roles').iterdir() if path.is_dir()) if (installed / 'roles').is_dir() else []
    for kind, names in (('module', modules), ('role', roles)):
        for name in names:
            if not run([BIN / 'ansible-doc', '-t', kind, '%s.%s' % (fqcn, name)], cwd=str(work), env=env, stdout=subprocess.DEVNULL):
                problems.append('ansible-doc -t %s %s.%s fails on the installed copy' % (kind, fqcn, name))
    if problems:
        return problems
    print('installed %s %s into an empty collections path; ansible-doc renders %s'
          % (fqcn, info['version'], ', '.join(modules + roles)))
    return []


def fail(problems):
    for problem in problems:
        print('check_galaxy_build.py: %s' % problem, file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
