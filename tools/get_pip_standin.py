# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Stand-in for the get-pip.py that `ansible-test --venv` downloads from a host these machines cannot reach.

The Makefile copies it to ~/.ansible/test/cache/get_pip_<version>.py. ansible-test runs it with pip's
install arguments; it bootstraps pip from the interpreter's own ensurepip, then installs what was asked
for from the package index.
"""

from __future__ import annotations

import subprocess
import sys

UNSUPPORTED = ('--no-setuptools', '--no-wheel')


def main():
    arguments = [argument for argument in sys.argv[1:] if argument not in UNSUPPORTED]
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + arguments)


if __name__ == '__main__':
    main()
