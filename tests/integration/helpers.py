# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the integration tests share besides fixtures: paths, the emulator's users, the connection options of a
task, the outcome of a playbook run. Tests import from here (`from helpers import connection`); conftest.py
holds only the fixtures and pytest hooks."""

from __future__ import annotations

import json
import pathlib

TESTS_DIR = pathlib.Path(__file__).resolve().parents[1]

# EmulatorProcess is for conftest.py's start_emulator fixture.
from mim_cm_emulator.launcher import DEFAULT_SEED, USERS_FILE, EmulatorProcess, read_users  # noqa: F401 pylint: disable=unused-import

COLLECTIONS_PATH = TESTS_DIR.parents[3]
# The requests and users the emulator starts with (its API field names).
SEED = json.loads(DEFAULT_SEED.read_text())
SEED_USERS = SEED['users']
USERS = read_users()
ADMIN_LOGIN, ADMIN_PASSWORD = USERS['cmadmin']
READER_LOGIN, READER_PASSWORD = USERS['cmreader']

# Filled by test_reliability.py's fault cases, printed at the end of the run (docs/docsite/rst/reliability.rst quotes the line).
RELIABILITY_COUNTS = {'faults injected': 0, 'survived': 0, 'changes lost': 0, 'changes doubled': 0}


class PlaybookRun(object):
    """The outcome of one ansible-playbook run: each task's registered result, and everything it printed."""

    def __init__(self, completed, results):
        self.returncode = completed.returncode
        self.output = completed.stdout + completed.stderr
        self.results = results

    def __getitem__(self, index):
        return self.results[index]


def connection(emulator, login=ADMIN_LOGIN, password=ADMIN_PASSWORD, **overrides):
    """The connection options for `emulator`, as a task or module_defaults would give them."""
    options = dict(url=emulator.url, username=login, password=password, ca_path=emulator.ca_path)
    options.update(overrides)
    return options


def info(**options):
    """A cm_request_info task with these options."""
    return {'mim.cm.cm_request_info': options}


def found_ids(result):
    """The GUIDs a cm_request_info result found, sorted; the task must have succeeded without a change."""
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is False
    return sorted(request['uuid'] for request in result['requests'])
