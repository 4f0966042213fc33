# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Integration tests: ansible-playbook runs the modules, as Ansible runs them, against the emulator
over real HTTP with NTLM over TLS. Nothing is mocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# The old names, for tests that still import them from here: import them from helpers.py instead.
from helpers import (  # noqa: F401 pylint: disable=unused-import
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    COLLECTIONS_PATH,
    READER_LOGIN,
    READER_PASSWORD,
    RELIABILITY_COUNTS,
    SEED_USERS,
    TESTS_DIR,
    USERS,
    EmulatorProcess,
    PlaybookRun,
    connection,
)


def pytest_terminal_summary(terminalreporter):
    if RELIABILITY_COUNTS['faults injected']:
        terminalreporter.write_line('reliability: %s' % ', '.join('%s %d' % item for item in RELIABILITY_COUNTS.items()))


@pytest.fixture
def start_emulator(tmp_path):
    """Start an emulator with the given command-line options (and environment); every one started is stopped by PID afterwards."""
    started = []

    def start(*options, env=None):
        emulator = EmulatorProcess(tmp_path / ('emulator-%d' % len(started)), *options, env=env)
        started.append(emulator)
        return emulator.start()

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(start_emulator):
    """An emulator with the default seed, TLS and NTLM."""
    return start_emulator()


@pytest.fixture
def run_playbook(tmp_path):
    """Run tasks in one play on localhost; every task is registered and may fail without stopping the play.

    Returns a PlaybookRun: run[i] is the i-th task's result (`failed`, `changed`, `msg`, ...).
    """
    counter = [0]

    def run(tasks, module_defaults=None, extra_args=(), env=None, verbosity=0):
        counter[0] += 1
        results_file = tmp_path / ('results-%d.json' % counter[0])
        play_tasks = []
        for index, task in enumerate(tasks):
            play_tasks.append(dict(task, register='result_%d' % index, ignore_errors=True))
        play_tasks.append({
            'name': 'Save the results for the test',
            'ansible.builtin.copy': {
                'content': '{{ [%s] | to_json }}' % ', '.join('result_%d' % index for index in range(len(tasks))),
                'dest': str(results_file),
                'mode': '0600',
            },
            'check_mode': False,
            'diff': False,
        })
        play = {'name': 'mim.cm integration test', 'hosts': 'localhost', 'gather_facts': False, 'tasks': play_tasks}
        if module_defaults:
            play['module_defaults'] = {'group/mim.cm.cm': module_defaults}
        playbook = tmp_path / ('playbook-%d.yml' % counter[0])
        playbook.write_text(json.dumps([play], indent=2))

        run_env = dict((key, value) for key, value in os.environ.items() if not key.startswith('MIM_CM_'))
        run_env.update(
            ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH),
            ANSIBLE_NOCOLOR='1',
            ANSIBLE_LOCALHOST_WARNING='false',
            ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
            ANSIBLE_RETRY_FILES_ENABLED='false',
        )
        run_env.update(env or {})
        command = [
            os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
            '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable,
            str(playbook),
        ] + list(extra_args)
        if verbosity:
            command.append('-' + 'v' * verbosity)
        completed = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=300, check=False)
        if not results_file.exists():
            raise AssertionError('ansible-playbook did not finish its play (rc %s):\n%s%s' % (completed.returncode, completed.stdout, completed.stderr))
        return PlaybookRun(completed, json.loads(results_file.read_text()))

    return run
