# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check that the guides still say what the code does.

- Troubleshooting: each section title of docs/docsite/rst/troubleshooting.rst that is a literal (``...``) is a
  message fragment; `<...>` stands for a part that varies and matches a %-format placeholder (%s, %r, %d, %.1f).
  Every fragment must match a string constant of plugins/ (implicit concatenation included), or of ansible-core's
  module_utils/basic.py for the messages ansible-core writes (missing_required_lib).
- Authentication: the login methods table of docs/docsite/rst/authentication_and_tls.rst marks as "supported"
  exactly the choices of the `auth` option (doc fragment plugins/doc_fragments/connection.py).

    python tools/check_guide_messages.py COLLECTION_DIR
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import re
import sys

import ansible.module_utils.basic
import yaml

GUIDE = pathlib.Path('docs') / 'docsite' / 'rst' / 'troubleshooting.rst'
AUTH_GUIDE = pathlib.Path('docs') / 'docsite' / 'rst' / 'authentication_and_tls.rst'
CONNECTION_FRAGMENT = pathlib.Path('plugins') / 'doc_fragments' / 'connection.py'
TITLE_UNDERLINE = re.compile(r'^([=\-~^"\'`#*+])\1+$')
LITERAL_TITLE = re.compile(r'^``(.+)``$')
PLACEHOLDER = re.compile(r'<[^<>]+>')
FORMAT_SPEC = r'%[-#0 +]*[0-9]*(?:\.[0-9]+)?[sdrfgi]'


def fragments(guide_text):
    """The literal section titles of the guide, in order."""
    lines = guide_text.splitlines()
    found = []
    for title, underline in zip(lines, lines[1:]):
        match = LITERAL_TITLE.match(title.strip())
        if match and TITLE_UNDERLINE.match(underline.strip()) and len(underline.strip()) >= len(title.strip()):
            found.append(match.group(1))
    return found


def pattern(fragment):
    """A regular expression for a fragment: its text literally, each <...> a %-placeholder."""
    parts = PLACEHOLDER.split(fragment)
    return re.compile(FORMAT_SPEC.join(re.escape(part) for part in parts))


def string_constants(paths):
    constants = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.append(node.value)
    return constants


def auth_choices(collection):
    """The choices of the `auth` option, from the connection doc fragment."""
    tree = ast.parse((collection / CONNECTION_FRAGMENT).read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(target, 'id', None) == 'DOCUMENTATION' for target in node.targets):
            return set(yaml.safe_load(ast.literal_eval(node.value))['options']['auth']['choices'])
    raise SystemExit('check_guide_messages.py: no DOCUMENTATION in %s' % CONNECTION_FRAGMENT)


def documented_methods(guide_text):
    """{method: state} from the guide's list-table rows: first cell ``method`` ..., second cell the state."""
    methods = {}
    lines = guide_text.splitlines()
    for first, second in zip(lines, lines[1:]):
        cell = re.match(r'^\s*\* - ``([a-z0-9_-]+)``', first)
        state = re.match(r'^\s*- (.*)$', second)
        if cell and state:
            methods[cell.group(1)] = state.group(1).strip()
    return methods


def check_auth_guide(collection):
    choices = auth_choices(collection)
    methods = documented_methods((collection / AUTH_GUIDE).read_text(encoding='utf-8'))
    supported = set(name for name, state in methods.items() if state == 'supported')
    problems = ['%s does not mark auth=%s as supported, but the auth option accepts it' % (AUTH_GUIDE, name)
                for name in sorted(choices - supported)]
    problems += ['%s marks auth=%s as supported, but the auth option does not accept it' % (AUTH_GUIDE, name)
                 for name in sorted(supported - choices)]
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('collection', type=pathlib.Path)
    args = parser.parse_args(argv)

    titles = fragments((args.collection / GUIDE).read_text(encoding='utf-8'))
    if not titles:
        print('check_guide_messages.py: %s has no message titles' % GUIDE, file=sys.stderr)
        return 1
    sources = sorted((args.collection / 'plugins').rglob('*.py')) + [pathlib.Path(ansible.module_utils.basic.__file__)]
    constants = string_constants(sources)
    missing = [title for title in titles if not any(pattern(title).search(constant) for constant in constants)]
    problems = ['%s explains the message %r, which no code in plugins/ says any more' % (GUIDE, title) for title in missing]
    problems += check_auth_guide(args.collection)
    for problem in problems:
        print('check_guide_messages.py: %s' % problem, file=sys.stderr)
    if problems:
        return 1
    print('%s: all %d messages it explains are in the code; %s: the supported login methods are the auth choices (%s)'
          % (GUIDE, len(titles), AUTH_GUIDE, ', '.join(sorted(auth_choices(args.collection)))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
