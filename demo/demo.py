# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make demo`: start the emulator (HTTPS, NTLM), run demo/playbook.yml twice, show what went over the wire, stop.

While the playbook waits for the approval, this script plays the approver in the CM portal: it approves the
Pending request through the emulator's admin door.

Run from the collection copy that `make demo` builds (.build/ansible_collections/mim/cm), or from anywhere with
MIM_CM_DEMO_COLLECTIONS_PATH naming the collections path to take mim.cm from.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

from mim_cm_emulator.launcher import EmulatorProcess, read_users

DEMO_DIR = pathlib.Path(__file__).resolve().parent


def run_playbook(emulator, login, password):
    env = dict(os.environ)
    env.update(
        MIM_CM_URL=emulator.url,
        MIM_CM_USERNAME=login,
        MIM_CM_PASSWORD=password,
        MIM_CM_CA_PATH=emulator.ca_path,
        ANSIBLE_LOCALHOST_WARNING='false',
        ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
        # The copy demo.py sits in, unless the caller names another (make galaxy-check: the installed tarball).
        ANSIBLE_COLLECTIONS_PATH=os.environ.get('MIM_CM_DEMO_COLLECTIONS_PATH') or str(DEMO_DIR.parents[3]),
    )
    command = [
        os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
        '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable,
        str(DEMO_DIR / 'playbook.yml'),
    ]
    return subprocess.run(command, env=env, check=False).returncode


def approve_like_a_person(emulator, stop):
    """The approver in the CM portal: approve each Pending request of the demo once it shows up."""
    approved = set()
    while not stop.is_set():
        for request in emulator.stored_requests():
            if request['Status'] == PENDING and request['Uuid'] not in approved:
                time.sleep(1)  # a person takes a moment
                emulator.approve(request['Uuid'])
                approved.add(request['Uuid'])
                print('    (the approver approves request %s in the CM portal)' % request['Uuid'].lower(), flush=True)
        stop.wait(0.2)


PENDING = 16


def api_calls(exchanges):
    return ', '.join('%s %s' % (exchange['method'], exchange['status']) for exchange in exchanges if not exchange['auth_leg']) or 'none'


def main():
    login, password = read_users()['cmadmin']
    with tempfile.TemporaryDirectory(prefix='mim-cm-demo-') as state_dir:
        with EmulatorProcess(state_dir) as emulator:
            print('MIM CM emulator (HTTPS, NTLM) listening on %s, logged in as %s\n' % (emulator.url, login), flush=True)
            seen = []
            stop = threading.Event()
            approver = threading.Thread(target=approve_like_a_person, args=(emulator, stop), daemon=True)
            approver.start()
            try:
                for attempt in ('first', 'second'):
                    print('=== %s run of demo/playbook.yml ===' % attempt, flush=True)
                    already_logged = len(emulator.exchanges())
                    if run_playbook(emulator, login, password) != 0:
                        return 1
                    seen.append(emulator.exchanges()[already_logged:])
            finally:
                stop.set()
                approver.join(10)
            print('API calls the emulator answered: first run: %s; second run: %s' % (api_calls(seen[0]), api_calls(seen[1])))
            changes = [[exchange['method'] for exchange in run if exchange['method'] in ('POST', 'PUT') and not exchange['auth_leg']]
                       for run in seen]
            if changes != [['POST', 'PUT'], []]:
                print('demo FAILED: expected one POST and one PUT in the first run and nothing sent in the second, got %s' % changes)
                return 1
    print('demo OK: submitted, approved, completed on the first run (changed); ok with nothing sent on the second')
    return 0


if __name__ == '__main__':
    sys.exit(main())
