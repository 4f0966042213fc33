# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Put tools/get_pip_standin.py where the ansible-test of the running interpreter looks for its pip bootstrap script.

Each ansible-core line pins its own pip (24.2 for 2.19, 25.2 for 2.21) and caches the bootstrap script as
~/.ansible/test/cache/get_pip_<version>.py. Run this with the Python of the venv that holds the ansible-core
under test, so the matrix works for whatever version it is given instead of a hard-coded file name.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import sys

import ansible_test

STANDIN = pathlib.Path(__file__).resolve().parent / 'get_pip_standin.py'


def pinned_pip_version():
    """The pip version this ansible-test bootstraps into its venvs (default_packages in python_requirements.py)."""
    source = pathlib.Path(ansible_test.__file__).resolve().parent / '_internal' / 'python_requirements.py'
    match = re.search(r"pip\s*=\s*'([0-9][0-9.]*)'", source.read_text(encoding='utf-8'))
    if not match:
        raise SystemExit('install_get_pip_standin.py: cannot find the pinned pip version in %s' % source)
    return match.group(1)


def main():
    target = pathlib.Path(os.path.expanduser('~/.ansible/test/cache')) / ('get_pip_%s.py' % pinned_pip_version().replace('.', '_'))
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != STANDIN.read_bytes():
        shutil.copyfile(str(STANDIN), str(target))
    print('pip bootstrap stand-in for ansible-test: %s' % target)
    return 0


if __name__ == '__main__':
    sys.exit(main())
