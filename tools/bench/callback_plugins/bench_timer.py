# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Callback for tools/bench.py: one JSON line per task with its start and end (epoch seconds) and outcome.

Enabled by the benchmark only (ANSIBLE_CALLBACK_PLUGINS=tools/bench/callback_plugins,
ANSIBLE_CALLBACKS_ENABLED=bench_timer); writes to the file named by BENCH_TIMINGS_FILE. The times
are taken on the controller: from the moment the strategy starts the task to the moment its
result is back, so they hold everything a task costs (worker fork, templating, AnsiballZ, the
module process, result handling) and none of the playbook's own start-up.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Records each task's start and end for the mim.cm benchmark
description:
  - Writes one JSON line per task (name, start, end, status, items) to the file named by BENCH_TIMINGS_FILE.
  - With BENCH_WATCH_PID, also the CPU time that process (the emulator) had used at the task's start and end.
requirements:
  - enabled in callbacks_enabled
'''


def watched_cpu_seconds():
    """CPU seconds (user + system) used so far by the process BENCH_WATCH_PID names (the emulator), or None."""
    pid = os.environ.get('BENCH_WATCH_PID')
    if not pid:
        return None
    try:
        with open('/proc/%s/stat' % pid, encoding='ascii') as stat:
            fields = stat.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man proc).
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))


class CallbackModule(CallbackBase):
    """Times tasks; see the module docstring."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('BENCH_TIMINGS_FILE')
        self._task = None

    def _write(self, record):
        if self._path:
            with open(self._path, 'a', encoding='utf-8') as timings:
                timings.write(json.dumps(record) + '\n')

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task = {'name': task.get_name(), 'action': task.action, 'start': time.time(), 'items': 0,
                      'watched_cpu_start': watched_cpu_seconds()}

    def _end(self, status, result):
        if self._task is None:
            return
        record = dict(self._task, end=time.time(), status=status, watched_cpu_end=watched_cpu_seconds())
        data = getattr(result, 'result', None) or result._result  # pylint: disable=protected-access
        record['changed'] = bool(data.get('changed'))
        if status == 'failed':
            record['msg'] = str(data.get('msg', ''))[:2000]
        self._write(record)
        self._task = None

    def _item(self):
        if self._task is not None:
            self._task['items'] += 1

    def v2_runner_on_ok(self, result):
        self._end('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._end('failed', result)

    def v2_runner_on_skipped(self, result):
        self._end('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._end('failed', result)

    def v2_runner_item_on_ok(self, result):
        self._item()

    def v2_runner_item_on_failed(self, result):
        self._item()
