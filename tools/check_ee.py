# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check that an execution environment built with mim.cm gets what the modules need, without a container engine.

1. Write an execution environment definition (ansible-builder schema 3) that installs the collection tarball,
   the way an AWX or Automation Platform admin would, and run `ansible-builder create` on it.
2. Check the build context: the Containerfile installs the collections and runs introspection, and
   _build/requirements.yml lists the tarball, which is in the context.
3. Run the two build stages that matter here on this machine: the galaxy stage (`ansible-galaxy collection
   install -r requirements.yml` in a copy of _build, as WORKDIR /build does), then the builder stage's
   `introspect.py` from the context on what it installed. The Python requirements it writes must hold every
   line of our requirements.txt, attributed to mim.cm (so meta/execution-environment.yml is read and shipped);
   the system (bindep) requirements, every line of our bindep.txt when there is one, and none otherwise.
4. `pip install --dry-run` of those requirements: they resolve.

    python tools/check_ee.py TARBALL WORK_DIR --ansible-core ansible-core==X.Y.Z --requirements requirements.txt [--bindep bindep.txt]

ansible-builder and ansible-galaxy must be on PATH. WORK_DIR is deleted and recreated.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

# Only a name: `ansible-builder create` pulls nothing. Admins use their own (for example the minimal EE image).
BASE_IMAGE = 'registry.example.com/ansible/ee-minimal:latest'


def run(command, **kwargs):
    print('+ %s' % ' '.join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], check=False, **kwargs).returncode == 0


def requirement_name(line):
    """`requests-ntlm` from `requests-ntlm>=1.2  # from collection mim.cm`, normalised."""
    match = re.match(r'\s*([A-Za-z0-9][A-Za-z0-9._-]*)', line)
    return re.sub(r'[-_.]+', '-', match.group(1)).lower() if match else None


def our_requirements(path):
    names = []
    for line in path.read_text(encoding='utf-8').splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            names.append(requirement_name(line))
    return names


def definition(tarball, ansible_core):
    return {
        'version': 3,
        'images': {'base_image': {'name': BASE_IMAGE}},
        'dependencies': {
            'ansible_core': {'package_pip': ansible_core},
            'ansible_runner': {'package_pip': 'ansible-runner'},
            'galaxy': {'collections': [{'name': 'collections/%s' % tarball.name, 'type': 'file'}]},
        },
        'additional_build_files': [{'src': str(tarball), 'dest': 'collections'}],
    }


def check_context(context, tarball):
    problems = []
    containerfiles = [path for path in (context / 'Containerfile', context / 'Dockerfile') if path.is_file()]
    if not containerfiles:
        return ['ansible-builder create wrote no Containerfile or Dockerfile in %s' % context]
    text = containerfiles[0].read_text(encoding='utf-8')
    for needed in ('ansible-galaxy collection install', 'introspect', 'COPY _build /build'):
        if needed not in text:
            problems.append('%s has no %r step' % (containerfiles[0].name, needed))
    galaxy = yaml.safe_load((context / '_build' / 'requirements.yml').read_text(encoding='utf-8')) or {}
    names = [entry.get('name') for entry in galaxy.get('collections') or []]
    if 'collections/%s' % tarball.name not in names:
        problems.append('_build/requirements.yml does not list collections/%s: %s' % (tarball.name, names))
    if not (context / '_build' / 'collections' / tarball.name).is_file():
        problems.append('the build context lacks _build/collections/%s' % tarball.name)
    return problems


def check_introspection(written, wanted, kind):
    """Every requirement of ours must be in the introspected requirements of this kind, from mim.cm; none when we have none."""
    lines = written.read_text(encoding='utf-8').splitlines() if written.is_file() else []
    lines = [line for line in lines if line.strip()]
    print('introspected %s requirements:%s' % (kind, ''.join('\n  ' + line for line in lines) or ' none'))
    if not wanted:
        return ['introspection found %s requirements that mim.cm does not declare: %s' % (kind, lines)] if lines else []
    if not lines:
        return ['introspection wrote no %s requirements: meta/execution-environment.yml was not found or names nothing' % kind]
    problems = []
    for name in wanted:
        if not any(requirement_name(line) == name and 'mim.cm' in line for line in lines):
            problems.append('introspection lists no %s requirement %s from mim.cm' % (kind, name))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('tarball', type=pathlib.Path)
    parser.add_argument('work', type=pathlib.Path, help='a directory this check deletes and recreates')
    parser.add_argument('--ansible-core', required=True, help='the ansible-core the EE gets, ansible-core==X.Y.Z')
    parser.add_argument('--requirements', type=pathlib.Path, required=True, help="the collection's requirements.txt")
    parser.add_argument('--bindep', type=pathlib.Path, help="the collection's bindep.txt, if it has one")
    args = parser.parse_args(argv)
    tarball, work = args.tarball.resolve(), args.work.resolve()
    wanted = our_requirements(args.requirements)
    if not wanted:
        return fail(['%s names no requirement' % args.requirements])
    wanted_system = our_requirements(args.bindep) if args.bindep else []

    if work.exists():
        shutil.rmtree(str(work))
    work.mkdir(parents=True)
    ee_file, context = work / 'execution-environment.yml', work / 'context'
    ee_file.write_text(yaml.safe_dump(definition(tarball, args.ansible_core), sort_keys=False), encoding='utf-8')
    if not run(['ansible-builder', 'create', '--file', ee_file, '--context', context], cwd=str(work)):
        return fail(['ansible-builder create failed'])
    problems = check_context(context, tarball)
    if problems:
        return fail(problems)

    # The galaxy stage: COPY _build /build; WORKDIR /build; ansible-galaxy collection install -r requirements.yml.
    build, collections = work / 'stage' / 'build', work / 'stage' / 'collections'
    shutil.copytree(str(context / '_build'), str(build))
    # Only the stage's own path, as in the image: a mim.cm found anywhere else would count as installed already.
    env = dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY='1', ANSIBLE_COLLECTIONS_PATH=str(collections))
    if not run(['ansible-galaxy', 'collection', 'install', '-r', 'requirements.yml', '--collections-path', collections], cwd=str(build), env=env):
        return fail(['the galaxy stage (ansible-galaxy collection install -r requirements.yml) failed'])
    # The builder stage: the context's own introspect.py over what the galaxy stage installed.
    written_pip, written_bindep = work / 'stage' / 'requirements.txt', work / 'stage' / 'bindep.txt'
    if not run([sys.executable, build / 'scripts' / 'introspect.py', 'introspect', collections,
                '--write-pip', written_pip, '--write-bindep', written_bindep]):
        return fail(['introspect.py failed'])
    problems = check_introspection(written_pip, wanted, 'Python') + check_introspection(written_bindep, wanted_system, 'system')
    if problems:
        return fail(problems)

    if not run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--quiet', '--disable-pip-version-check',
                '-r', written_pip]):
        return fail(['the introspected requirements do not resolve (pip install --dry-run)'])
    print('execution environment: build context valid; it installs %s and gets %s from mim.cm'
          % (tarball.name, ', '.join(wanted + wanted_system)))
    return 0


def fail(problems):
    for problem in problems:
        print('check_ee.py: %s' % problem, file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
