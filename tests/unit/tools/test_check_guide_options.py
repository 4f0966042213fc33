# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tools/check_guide_options.py finds the options a guide names that the modules and roles do not have."""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / 'tools'))

import check_guide_options  # noqa: E402 pylint: disable=wrong-import-position


class Reference(check_guide_options.Reference):
    """What ansible-doc would say about a small collection: one module in one action group, one role."""

    def __init__(self):  # pylint: disable=super-init-not-called
        self.modules = {'mim.cm.cm_request': check_guide_options.option_names({
            'id': {'aliases': ['uuid']}, 'status': {}, 'url': {}, 'workers': {}})}
        self.returns = {'request', 'changed_ids'}
        self.roles = {'request_lifecycle': {'request_lifecycle_rules': {'options': {'name': {}, 'older_than': {}}}}}
        self.groups = {'group/mim.cm.cm': ['mim.cm.cm_request']}
        self.keywords = {'name', 'register', 'hosts', 'vars', 'tasks', 'roles', 'role', 'module_defaults'}


def check(tmp_path, text, name='guide.rst'):
    path = tmp_path / name
    path.write_text(text)
    return check_guide_options.check_guide(path, name, Reference())


GOOD = '''
Title
=====

Use ``workers: 4`` and the ``url`` option.

.. code:: yaml

   - name: Complete it
     mim.cm.cm_request:
       uuid: a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099
       status: completed
     register: result
   - hosts: localhost
     module_defaults:
       group/mim.cm.cm:
         url: https://cm.example.com
     roles:
       - role: mim.cm.request_lifecycle
         vars:
           request_lifecycle_rules:
             - name: stale
               older_than: 30d
'''


def test_a_guide_that_names_only_real_options_passes(tmp_path):
    assert check(tmp_path, GOOD) == []


@pytest.mark.parametrize('wrong, named', [
    ('       status: completed\n', '       status: completed\n       kerberos_realm: X\n'),
    ('         url: https://cm.example.com\n', '         url: https://cm.example.com\n         worker: 4\n'),
    ('               older_than: 30d\n', '               older_then: 30d\n'),
    ('         vars:\n           request_lifecycle_rules:', '         vars:\n           request_lifecycle_rule:'),
    ('Use ``workers: 4``', 'Use ``worker: 4``'),
    ('the ``url`` option', 'the ``uri`` option'),
])
def test_a_guide_that_names_an_option_nobody_has_fails(tmp_path, wrong, named):
    assert wrong in GOOD
    problems = check(tmp_path, GOOD.replace(wrong, named))
    assert len(problems) == 1, problems


def test_a_yaml_example_that_does_not_parse_fails(tmp_path):
    problems = check(tmp_path, '.. code:: yaml\n\n   - name: [unclosed\n')
    assert problems and 'does not parse' in problems[0]


def test_markdown_fences_are_read_too(tmp_path):
    text = '```yaml\n- mim.cm.cm_request:\n    idd: x\n```\n'
    assert 'idd' in check(tmp_path, text, 'README.md')[0]
