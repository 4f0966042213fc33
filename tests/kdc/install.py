# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Install what the Kerberos tests need, when it is missing: `make kerberos` runs this before the suite.

1. Debian's MIT Kerberos packages (krb5-kdc krb5-admin-server krb5-user libkrb5-dev), with apt-get as root
   (or passwordless sudo), non-interactively: `apt-get update` once, then `apt-get install --no-install-recommends`.
2. pyspnego's Kerberos libraries, gssapi and krb5 (pinned in requirements-kerberos.txt), into the test venv. They
   build from source against libkrb5-dev (about 2 minutes, the two built side by side); nothing is cached outside
   the project (pip runs with --no-cache-dir and builds in a temporary directory it removes).

Whatever happens, the outcome goes to the log file (--log) in one or two lines, and the exit code is 0: where
the install cannot run (no apt-get, not root, no network), the tests skip and quote this log as their reason.
--strict makes a failed install exit 1 instead.

    python tests/kdc/install.py --python .venv/bin/python --requirements tests/kdc/requirements-kerberos.txt --log FILE
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from kdc import DEBIAN_PACKAGES, missing_programs  # noqa: E402 pylint: disable=wrong-import-position

PYTHON_LIBRARIES = ('gssapi', 'krb5')


class InstallError(RuntimeError):
    """A step failed; the message says which and why, in a line."""


def say(text):
    sys.stdout.write('kerberos-install: %s\n' % text)
    sys.stdout.flush()


def tail(text, limit=600):
    return ' '.join((text or '').split())[-limit:]


def run(command, what, env=None, timeout=900):
    started = time.monotonic()
    completed = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False)
    if completed.returncode != 0:
        raise InstallError('%s failed (exit %d): %s' % (what, completed.returncode, tail(completed.stderr or completed.stdout)))
    return time.monotonic() - started


def debian_packages_missing():
    """The Debian packages to install: all of them when a program or the development files are missing, else none."""
    if missing_programs() or not (shutil.which('krb5-config') or os.path.exists('/usr/bin/krb5-config.mit')):
        return list(DEBIAN_PACKAGES)
    return []


def install_debian_packages(packages):
    apt_get = shutil.which('apt-get')
    if not apt_get:
        raise InstallError('apt-get is not available on this machine (not Debian or Ubuntu): install %s by hand' % ' '.join(packages))
    prefix = []
    if os.geteuid() != 0:
        sudo = shutil.which('sudo')
        if not sudo or subprocess.run([sudo, '-n', 'true'], capture_output=True, check=False).returncode != 0:
            raise InstallError('installing %s needs root (apt-get), and this user is not root and has no passwordless sudo'
                               % ' '.join(packages))
        prefix = [sudo, '-n', 'env', 'DEBIAN_FRONTEND=noninteractive']
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    seconds = run(prefix + [apt_get, 'update', '-qq'], 'apt-get update', env=env)
    seconds += run(prefix + [apt_get, 'install', '-y', '-qq', '--no-install-recommends'] + list(packages),
                   'apt-get install %s' % ' '.join(packages), env=env)
    still_missing = missing_programs()
    if still_missing:
        raise InstallError('apt-get installed %s, but %s still cannot be found' % (' '.join(packages), ', '.join(still_missing)))
    return seconds


def python_libraries_missing(python):
    missing = []
    for name in PYTHON_LIBRARIES:
        if subprocess.run([python, '-c', 'import %s' % name], capture_output=True, check=False).returncode != 0:
            missing.append(name)
    return missing


def pinned(requirements, names):
    """The requirement lines (name==version) of requirements-kerberos.txt for these names."""
    lines = [line.split('#', 1)[0].strip() for line in pathlib.Path(requirements).read_text().splitlines()]
    found = {}
    for line in lines:
        for name in names:
            if line.lower().startswith(name.lower()) and line[len(name):len(name) + 1] in ('=', '<', '>', '~', '!', ''):
                found[name] = line
    return [found.get(name, name) for name in names]


def install_python_libraries(python, requirements, missing):
    """Build the missing libraries' wheels side by side (two cores: about half the time), then install them."""
    pip = [python, '-m', 'pip', '--disable-pip-version-check']
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='mim-cm-kerberos-wheels-') as wheels:
        builds = []
        for requirement in pinned(requirements, missing):
            log = open(os.path.join(wheels, '%s.log' % requirement.split('=')[0]), 'w+')  # pylint: disable=consider-using-with
            process = subprocess.Popen(pip + ['wheel', '--quiet', '--no-deps', '--no-cache-dir', '--wheel-dir', wheels, requirement],
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            builds.append((requirement, process, log))
        failures = []
        for requirement, process, log in builds:
            if process.wait(timeout=900) != 0:
                log.seek(0)
                failures.append('%s: %s' % (requirement, tail(log.read(), 400)))
            log.close()
        if failures:
            raise InstallError('building %s failed (are gcc, the Python headers and libkrb5-dev installed?): %s'
                               % (' and '.join(missing), '; '.join(failures)))
        run(pip + ['install', '--quiet', '--no-cache-dir', '--find-links', wheels, '-r', str(requirements)],
            'pip install -r %s' % requirements)
    still_missing = python_libraries_missing(python)
    if still_missing:
        raise InstallError('pip installed %s, but %s cannot import %s' % (requirements, python, ', '.join(still_missing)))
    return time.monotonic() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--python', default=sys.executable, help="the test venv's python (default: this one)")
    parser.add_argument('--requirements', default=str(HERE / 'requirements-kerberos.txt'), help='the pinned gssapi and krb5')
    parser.add_argument('--log', required=True, help='where the outcome goes (the tests quote it when they skip)')
    parser.add_argument('--strict', action='store_true', help='exit 1 when the install fails (default: 0, and the tests skip)')
    args = parser.parse_args(argv)

    outcome = []
    failed = False
    try:
        packages = debian_packages_missing()
        if packages:
            say('installing the Debian packages %s (apt-get)' % ' '.join(packages))
            outcome.append('installed %s in %.0f s' % (' '.join(packages), install_debian_packages(packages)))
        else:
            outcome.append('the MIT Kerberos programs and development files were installed already')
        libraries = python_libraries_missing(args.python)
        if libraries:
            say('building and installing %s into %s (from source: about 2 minutes)' % (' and '.join(libraries), args.python))
            outcome.append('built and installed %s in %.0f s' % (' and '.join(libraries), install_python_libraries(args.python, args.requirements, libraries)))
        else:
            outcome.append('gssapi and krb5 were installed already')
    except (InstallError, OSError, subprocess.SubprocessError) as error:
        failed = True
        outcome.append('FAILED: %s' % error)
    pathlib.Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.log).write_text('; '.join(outcome) + '\n')
    for line in outcome:
        say(line)
    if failed:
        say('the Kerberos tests will be skipped, saying why')
    return 1 if failed and args.strict else 0


if __name__ == '__main__':
    sys.exit(main())
