#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An ansible_python_interpreter for tools/bench.py: runs the real interpreter and records what the module process cost.

Ansible runs `<interpreter> .../AnsiballZ_<module>.py`; this script runs the interpreter named by
BENCH_REAL_PYTHON (default: its own) with the same arguments, passes stdin and stdout through, and
appends one JSON line to BENCH_PROCESS_FILE: the module, when the process started and ended (epoch
seconds), its peak resident memory (ru_maxrss of the waited-for child, in KiB) and its CPU time.
With BENCH_IMPORTTIME_FILE set (a task's `environment:`), the child runs with `-X importtime` and
its stderr goes to that file.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time


def main():
    real_python = os.environ.get('BENCH_REAL_PYTHON') or sys.executable
    importtime_file = os.environ.get('BENCH_IMPORTTIME_FILE')
    command = [real_python] + (['-X', 'importtime'] if importtime_file else []) + sys.argv[1:]
    module = next((os.path.basename(arg)[len('AnsiballZ_'):-len('.py')] for arg in sys.argv[1:]
                   if os.path.basename(arg).startswith('AnsiballZ_')), None)
    start = time.time()
    if importtime_file:
        with open(importtime_file, 'wb') as stderr:
            returncode = subprocess.call(command, stderr=stderr)
    else:
        returncode = subprocess.call(command)
    end = time.time()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    record_file = os.environ.get('BENCH_PROCESS_FILE')
    if record_file:
        record = dict(module=module, start=start, end=end, max_rss_kib=usage.ru_maxrss, user_s=usage.ru_utime,
                      system_s=usage.ru_stime, returncode=returncode, importtime_file=importtime_file)
        with open(record_file, 'a', encoding='utf-8') as records:
            records.write(json.dumps(record) + '\n')
    return returncode


if __name__ == '__main__':
    sys.exit(main())
