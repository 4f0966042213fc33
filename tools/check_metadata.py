# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check meta/runtime.yml against the code and the test matrix.

- Every module in plugins/modules is in the `cm` action group (so `module_defaults: {group/mim.cm.cm: ...}`
  reaches it), the group names only modules that exist, and every module documents the membership
  (doc fragment mim.cm.attributes).
- `requires_ansible` admits every ansible-core the matrix tests, and its lowest admitted version is one
  the matrix tests: the collection claims no ansible-core that no test has run on.

    python tools/check_metadata.py COLLECTION_DIR --oldest ansible-core==2.19.0 --tested ansible-core==2.21.5 ...
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

GROUP = 'cm'
FQCN_PREFIX = 'mim.cm.'
GROUP_FRAGMENT = 'mim.cm.attributes'


def module_names(collection):
    """The modules of plugins/modules: every .py file but __init__.py."""
    return sorted(path.stem for path in (collection / 'plugins' / 'modules').glob('*.py') if path.stem != '__init__')


def documentation(module_path):
    """The parsed DOCUMENTATION string of a module, read without importing it."""
    tree = ast.parse(module_path.read_text(encoding='utf-8'))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, 'id', None) == 'DOCUMENTATION' for target in node.targets):
            return yaml.safe_load(ast.literal_eval(node.value)) or {}
    return {}


def group_members(entries):
    """The short module names of an action group's entries (a `metadata:` entry, extend_group, is not a module)."""
    return [entry[len(FQCN_PREFIX):] if entry.startswith(FQCN_PREFIX) else entry for entry in entries if isinstance(entry, str)]


def check_action_group(collection, runtime):
    problems = []
    groups = runtime.get('action_groups') or {}
    if GROUP not in groups:
        return ['meta/runtime.yml has no action group %r' % GROUP]
    members = group_members(groups[GROUP])
    modules = module_names(collection)
    if not modules:
        problems.append('no modules found in %s' % (collection / 'plugins' / 'modules'))
    for name in modules:
        if name not in members:
            problems.append('module %s is not in the %r action group of meta/runtime.yml' % (name, GROUP))
        fragments = documentation(collection / 'plugins' / 'modules' / ('%s.py' % name)).get('extends_documentation_fragment') or []
        if GROUP_FRAGMENT not in fragments:
            problems.append('module %s does not extend the doc fragment %s, so its docs do not show the action group' % (name, GROUP_FRAGMENT))
    for name in members:
        if name not in modules:
            problems.append('the %r action group names %s, which is not a module in plugins/modules' % (GROUP, name))
    duplicates = sorted(set(name for name in members if members.count(name) > 1))
    if duplicates:
        problems.append('the %r action group lists %s more than once' % (GROUP, ', '.join(duplicates)))
    return problems


def pinned_version(requirement):
    """2.19.14 from `ansible-core==2.19.14`."""
    name, separator, version = requirement.partition('==')
    if not separator or name.strip() != 'ansible-core':
        raise SystemExit('check_metadata.py: expected ansible-core==X.Y.Z, not %r' % requirement)
    return Version(version.strip())


def lowest_admitted(specifiers):
    """The lowest version the specifier set names as a lower bound (>=, ==, ~=), or None if it has none."""
    bounds = [Version(spec.version) for spec in specifiers if spec.operator in ('>=', '==', '~=', '===')]
    return min(bounds) if bounds else None


def check_requires_ansible(runtime, oldest, tested):
    requires = runtime.get('requires_ansible')
    if not requires:
        return ['meta/runtime.yml has no requires_ansible']
    specifiers = SpecifierSet(requires)
    problems = []
    for version in [oldest] + tested:
        if not specifiers.contains(version, prereleases=True):
            problems.append('requires_ansible %r does not admit ansible-core %s, which the matrix tests' % (requires, version))
    floor = lowest_admitted(specifiers)
    if floor is None:
        problems.append('requires_ansible %r has no lower bound: it admits ansible-core versions nothing tests' % requires)
    elif floor != oldest:
        problems.append('requires_ansible %r admits ansible-core %s and later, but the oldest the matrix tests is %s: '
                        'make them the same (OLDEST_ANSIBLE_CORE in mk/ecosystem.mk, or requires_ansible)' % (requires, floor, oldest))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('collection', type=pathlib.Path)
    parser.add_argument('--oldest', required=True, help='the oldest ansible-core the matrix tests, ansible-core==X.Y.Z')
    parser.add_argument('--tested', action='append', default=[], help='another ansible-core the matrix tests (repeat)')
    args = parser.parse_args(argv)

    with open(args.collection / 'meta' / 'runtime.yml', encoding='utf-8') as runtime_file:
        runtime = yaml.safe_load(runtime_file) or {}
    oldest = pinned_version(args.oldest)
    tested = [pinned_version(requirement) for requirement in args.tested]
    problems = check_action_group(args.collection, runtime) + check_requires_ansible(runtime, oldest, tested)
    for problem in problems:
        print('check_metadata.py: %s' % problem, file=sys.stderr)
    if problems:
        return 1
    print('meta/runtime.yml: action group %r holds every module (%s); requires_ansible %r, tested on ansible-core %s'
          % (GROUP, ', '.join(module_names(args.collection)), runtime['requires_ansible'],
             ', '.join(str(version) for version in sorted(set([oldest] + tested)))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
