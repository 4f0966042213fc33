# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`python tests/emulator/cm_emulator.py ...`: the same as `mim-cm-emulator ...` (the installed package), for
scripts that name the emulator by path (the request_lifecycle role's molecule scenario)."""

import sys

from mim_cm_emulator.cli import main

if __name__ == '__main__':
    sys.exit(main())
