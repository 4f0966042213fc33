# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Make `ansible_collections.mim.cm` importable for pytest, from the copy the tests run in."""

from __future__ import annotations

import pathlib
import sys

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[1]

if COLLECTION_ROOT.parts[-3:-1] != ('ansible_collections', 'mim'):
    raise RuntimeError(
        'the tests must run inside a copy of the collection at .../ansible_collections/mim/cm, not in %s: '
        'run them with `make test` (or `make units` / `make integration`)' % COLLECTION_ROOT
    )

COLLECTIONS_PATH = COLLECTION_ROOT.parents[2]
if str(COLLECTIONS_PATH) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_PATH))
