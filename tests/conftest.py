# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Make `ansible_collections.mim.cm` importable for pytest, from the copy the tests run in; and the fixtures
that both the emulator's tests and the integration tests use."""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[1]

if COLLECTION_ROOT.parts[-3:-1] != ('ansible_collections', 'mim'):
    raise RuntimeError(
        'the tests must run inside a copy of the collection at .../ansible_collections/mim/cm, not in %s: '
        'run them with `make test` (or `make units` / `make integration`)' % COLLECTION_ROOT
    )

COLLECTIONS_PATH = COLLECTION_ROOT.parents[2]
if str(COLLECTIONS_PATH) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_PATH))


@pytest.fixture(scope='session')
def kdc(tmp_path_factory):
    """A real MIT KDC for the realm MIMCM.TEST on 127.0.0.1 (tests/kdc/kdc.py), for the whole session; stopped by PID.

    Skipped, with the reason pytest shows, where MIT Kerberos or gssapi could not be installed (make kerberos-install).
    """
    sys.path.insert(0, str(COLLECTION_ROOT / 'tests' / 'kdc'))
    import kdc as kdc_module  # pylint: disable=import-outside-toplevel

    reason = kdc_module.unavailable_reason(os.environ.get('MIM_CM_KERBEROS_INSTALL_LOG'))
    if reason:
        pytest.skip(reason)
    server = kdc_module.MitKdc(tmp_path_factory.mktemp('kdc')).start()
    yield server
    server.stop()
