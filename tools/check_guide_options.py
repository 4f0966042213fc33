# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check that the guides name only options the modules and roles have.

The option reference is the modules' and roles' own documentation (ansible-doc reads it, with the doc fragments
merged in); the guides (docs/docsite/rst/*.rst, README.md, roles/*/README.md) must not drift from it:

- YAML examples (``.. code:: yaml`` blocks, ```yaml fences): a task of a mim.cm module passes only that module's
  options (or aliases); `module_defaults` for a mim.cm module or for an action group of meta/runtime.yml sets only
  options of those modules (of every module of the group); a role's variables (`<role>_...` keys set in `vars:` or
  beside `role:`) are that role's options, with their suboptions.
- Literals: a ``name: value`` literal names an option, a role variable, a returned value, or an Ansible keyword;
  a literal next to the word "option" (``name`` option, option ``name``) names an option.
The :ansopt: references are checked by antsibull-docs lint-collection-docs (make docs-lint).

    python tools/check_guide_options.py COLLECTION_DIR    (ansible-doc must find mim.cm through ANSIBLE_COLLECTIONS_PATH)
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import sys

import yaml
from ansible.playbook.block import Block
from ansible.playbook.play import Play
from ansible.playbook.role_include import IncludeRole
from ansible.playbook.task import Task

COLLECTION = 'mim.cm'
RST_YAML = re.compile(r'^( *)\.\. code(?:-block)?:: (?:yaml|yaml\+jinja)\n((?:\1 {2,}.*\n|[ \t]*\n)+)', re.M)
MD_YAML = re.compile(r'^( *)```ya?ml\n(.*?)^\1```', re.M | re.S)
KEY_LITERAL = re.compile(r'``([a-z_][a-z0-9_]*): [^`]*``')
OPTION_LITERAL = re.compile(r'``([a-z_][a-z0-9_]*)`` options?\b|\boptions? ``([a-z_][a-z0-9_]*)``')
# Keys a guide may show beside options: what every module returns, what --diff prints, and the prefixes of the
# Kerberos tools' messages (``kinit: Preauthentication failed``).
OTHER_KEYS = {'changed', 'failed', 'msg', 'warnings', 'skipped', 'before', 'after', 'kinit', 'kvno', 'klist'}
# Pages about something else than the modules' options: the emulator's own switches and fault parameters.
OWN_PARAMETERS = {'emulator.rst'}


def ansible_doc(plugin_type, names):
    command = [str(pathlib.Path(sys.executable).with_name('ansible-doc')), '--json', '-t', plugin_type] + names
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def option_names(options):
    """{name or alias: suboptions (dict, maybe empty)} of an option table."""
    names = {}
    for name, spec in (options or {}).items():
        for key in [name] + list(spec.get('aliases') or []):
            names[key] = spec.get('options') or spec.get('suboptions') or {}
    return names


def nested_names(table, key='options'):
    """Every name in an option or return table, at any depth."""
    found = set()
    for name, spec in (table or {}).items():
        found.add(name)
        found.update(spec.get('aliases') or [])
        found.update(nested_names(spec.get(key) or spec.get('suboptions') or spec.get('contains'), key))
    return found


class Reference(object):
    """What the collection documents: module options, action groups, role options, returned values."""

    def __init__(self, collection):
        modules = sorted(path.stem for path in (collection / 'plugins' / 'modules').glob('*.py') if path.stem != '__init__')
        roles = sorted(path.name for path in (collection / 'roles').iterdir() if path.is_dir())
        module_docs = ansible_doc('module', ['%s.%s' % (COLLECTION, name) for name in modules])
        self.modules = {name: option_names(doc['doc']['options']) for name, doc in module_docs.items()}
        self.returns = set().union(*(nested_names(doc.get('return'), 'contains') for doc in module_docs.values()))
        self.roles = {}
        for name, doc in (ansible_doc('role', ['%s.%s' % (COLLECTION, role) for role in roles]) if roles else {}).items():
            options = {}
            for entry_point in doc['entry_points'].values():
                options.update(entry_point.get('options') or {})
            self.roles[name.split('.')[-1]] = options
        runtime = yaml.safe_load((collection / 'meta' / 'runtime.yml').read_text(encoding='utf-8')) or {}
        self.groups = {'group/%s.%s' % (COLLECTION, group): ['%s.%s' % (COLLECTION, member) for member in members]
                       for group, members in (runtime.get('action_groups') or {}).items()}
        self.keywords = set()
        for cls in (Play, Block, Task, IncludeRole):
            self.keywords.update(cls.fattributes)

    def all_options(self):
        names = set(OTHER_KEYS) | self.returns | self.keywords
        for options in self.modules.values():
            names.update(options)
        for options in self.roles.values():
            names.update(nested_names(options))
        return names

    def module_options(self):
        return set().union(*(set(options) for options in self.modules.values()))


def check_suboptions(where, value, options, problems):
    """Keys of a dict (or of each dict of a list) against an option table with suboptions."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, sub in item.items():
            if key not in options:
                problems.append('%s sets %r, which is not one of its options (%s)' % (where, key, ', '.join(sorted(options))))
            elif options[key] is not None and option_names(options[key]):
                check_suboptions('%s.%s' % (where, key), sub, option_names(options[key]), problems)


def check_yaml(node, reference, problems, where):
    """Walk one YAML example: module tasks, module_defaults, role variables."""
    if isinstance(node, list):
        for item in node:
            check_yaml(item, reference, problems, where)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        key = str(key)
        if key in reference.modules and isinstance(value, dict):
            check_suboptions('%s: %s' % (where, key), value, reference.modules[key], problems)
        elif key == 'module_defaults' and isinstance(value, dict):
            for target, defaults in value.items():
                members = reference.groups.get(target) or ([target] if target in reference.modules else [])
                for member in members:
                    check_suboptions('%s: module_defaults %s (for %s)' % (where, target, member), defaults,
                                     reference.modules[member], problems)
        elif key == 'vars' and isinstance(value, dict) or key == 'role':
            check_role_variables(value if key == 'vars' else node, reference, problems, where)
        check_yaml(value, reference, problems, where)


def check_role_variables(variables, reference, problems, where):
    for key, value in variables.items():
        for role, options in reference.roles.items():
            if str(key).startswith(role + '_'):
                check_suboptions('%s: role %s' % (where, role), {key: value}, option_names(options), problems)


def yaml_examples(path, text):
    """(line number, text) of every YAML example of a guide."""
    if path.suffix == '.rst':
        for match in RST_YAML.finditer(text):
            body = match.group(2)
            indent = min(len(line) - len(line.lstrip()) for line in body.splitlines() if line.strip())
            yield text.count('\n', 0, match.start()) + 1, '\n'.join(line[indent:] for line in body.splitlines())
    else:
        for match in MD_YAML.finditer(text):
            yield text.count('\n', 0, match.start()) + 1, match.group(2)


def check_guide(path, name, reference):
    text = path.read_text(encoding='utf-8')
    problems = []
    for line, example in yaml_examples(path, text):
        where = '%s:%d' % (name, line)
        try:
            data = yaml.safe_load(example)
        except yaml.YAMLError as error:
            problems.append('%s: the YAML example does not parse: %s' % (where, str(error).splitlines()[0]))
            continue
        check_yaml(data, reference, problems, where)
    known, options = reference.all_options(), reference.module_options()
    for match in KEY_LITERAL.finditer(text) if path.name not in OWN_PARAMETERS else ():
        if match.group(1) not in known:
            problems.append('%s:%d: ``%s`` names %r, which no module or role has as an option (nor returns)'
                            % (name, text.count('\n', 0, match.start()) + 1, match.group(0).strip('`'), match.group(1)))
    for match in OPTION_LITERAL.finditer(text):
        option = match.group(1) or match.group(2)
        if option not in options:
            problems.append('%s:%d: %r is called an option, but no module has it' % (name, text.count('\n', 0, match.start()) + 1, option))
    return problems


def guides(collection):
    found = sorted((collection / 'docs' / 'docsite' / 'rst').glob('*.rst'))
    found += [collection / 'README.md'] + sorted((collection / 'roles').glob('*/README.md'))
    return [path for path in found if path.is_file()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('collection', type=pathlib.Path)
    args = parser.parse_args(argv)
    reference = Reference(args.collection)
    paths = guides(args.collection)
    problems = []
    for path in paths:
        problems += check_guide(path, str(path.relative_to(args.collection)), reference)
    for problem in problems:
        print('check_guide_options.py: %s' % problem, file=sys.stderr)
    if problems:
        return 1
    print('%d guides name only options that %d modules and %d roles have' % (len(paths), len(reference.modules), len(reference.roles)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
