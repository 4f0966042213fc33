# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator launcher for the collection's tests, demo and benchmark: `from launcher import EmulatorProcess`.

The emulator is the mim-cm-emulator package (emulator/ at the repository root, installed into the test venv);
this re-exports its public launcher so the scripts that put tests/emulator on sys.path keep working.
"""

from mim_cm_emulator.launcher import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_SEED, EMULATOR_COMMAND, USERS_FILE, EmulatorProcess, read_users, stop_by_pid,
)
