# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The onboarding and offboarding playbooks of docs/docsite/rst/onboarding_and_offboarding.rst, taken from the page
as printed and run with ansible-playbook against the emulator: a person approves in the "portal" (the emulator's
admin door) while the onboarding playbook waits, and a second run of each changes nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

from helpers import ADMIN_LOGIN, ADMIN_PASSWORD, COLLECTIONS_PATH, TESTS_DIR

GUIDE = TESTS_DIR.parent / 'docs' / 'docsite' / 'rst' / 'onboarding_and_offboarding.rst'
NEW_HIRE = 'a0000000-0000-4000-8000-0000000000a1'   # no request in the seed
LEAVER = 'a0000000-0000-4000-8000-000000000003'     # the seed's third person: open Unblock, Executing Enroll, ...
TEMPLATE = '0f1e2d3c-4b5a-4697-8877-665544332211'    # "User Certificate" in the seed
EMULATOR_RETIRE_CODE = 108                           # the emulator's own number for Retire (its guide lists them)
OPEN = (16, 3, 18)


def playbook_from_guide(caption):
    """The YAML code block of the guide that starts with `---` and `# <caption>:`, dedented: the playbook as printed."""
    text = GUIDE.read_text()
    match = re.search(r'^\.\. code:: yaml\n\n(   ---\n   # %s: .*\n(?:   .*\n|\n)+)' % re.escape(caption), text, re.MULTILINE)
    assert match, 'no YAML block starting with "# %s:" in %s' % (caption, GUIDE)
    return '\n'.join(line[3:] for line in match.group(1).splitlines()).strip() + '\n'


def run_playbook_file(tmp_path, emulator, caption, *extra_vars):
    """ansible-playbook on the guide's playbook, with the connection in MIM_CM_* as the guide says; (rc, recap, output)."""
    path = tmp_path / caption
    path.write_text(playbook_from_guide(caption))
    env = dict((key, value) for key, value in os.environ.items() if not key.startswith('MIM_CM_'))
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH), ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_RETRY_FILES_ENABLED='false',
               MIM_CM_URL=emulator.url, MIM_CM_USERNAME=ADMIN_LOGIN, MIM_CM_PASSWORD=ADMIN_PASSWORD,
               MIM_CM_CA_PATH=str(emulator.ca_path))
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
               '-e', 'ansible_python_interpreter=%s' % sys.executable, str(path)]
    for extra in extra_vars:
        command += ['-e', extra]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = completed.stdout + completed.stderr
    recap = re.search(r'^localhost\s*:\s*(.*)$', output, re.MULTILINE)
    counts = dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', recap.group(1))) if recap else {}
    return completed.returncode, counts, output


def requests_of(emulator, user):
    return [request for request in emulator._admin('requests') if request['TargetUserUuid'].lower() == user]  # pylint: disable=protected-access


def posts_and_puts(emulator):
    return [call['method'] for call in emulator.api_calls() if call['method'] in ('POST', 'PUT')]


class Approver(object):
    """A person who approves the new hire's request in the CM portal once the playbook is waiting for it."""

    def __init__(self, emulator, user):
        self.emulator = emulator
        self.user = user
        self.approved = None
        self.thread = threading.Thread(target=self._approve, daemon=True)

    def _waiting_rounds(self):
        """Searches for Pending requests after the POST: the purpose search of the completing task, then the wait's rounds."""
        calls = self.emulator.api_calls()
        posts = [index for index, call in enumerate(calls) if call['method'] == 'POST']
        return len([call for call in calls[posts[0]:] if call.get('query') == 'status=Pending']) if posts else 0

    def _approve(self):
        deadline = time.monotonic() + 120
        while self._waiting_rounds() < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        pending = [request for request in requests_of(self.emulator, self.user) if request['Status'] == 16]
        if len(pending) == 1:
            self.approved = self.emulator.approve(pending[0]['Uuid'])

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.thread.join(130)


def test_onboarding_submits_waits_for_the_approval_completes_and_then_changes_nothing(emulator, tmp_path):
    with Approver(emulator, NEW_HIRE) as approver:
        rc, recap, output = run_playbook_file(tmp_path, emulator, 'onboarding.yml', 'new_hire_guid=%s' % NEW_HIRE.upper(),
                                              'cm_approval_timeout=60', 'cm_approval_interval=0.3')
    assert rc == 0, output
    assert approver.approved is not None and approver.approved['Status'] == 3  # it waited until the person approved
    assert recap['changed'] == 2 and recap['failed'] == 0
    requests = requests_of(emulator, NEW_HIRE)
    assert len(requests) == 1
    request = requests[0]
    assert (request['RequestType'], request['Status'], request['ProfileTemplateUuid'].lower()) == (1, 8, TEMPLATE)
    assert [item['Name'] for item in request['DataCollection']] == ['Reason'] and request['Comment'] == 'Onboarding'
    assert 'its template asks for 1 approval(s) in the CM portal' in output
    assert posts_and_puts(emulator) == ['POST', 'PUT']

    rc, recap, output = run_playbook_file(tmp_path, emulator, 'onboarding.yml', 'new_hire_guid=%s' % NEW_HIRE,
                                          'cm_approval_timeout=60', 'cm_approval_interval=0.3')
    assert rc == 0, output
    assert recap['changed'] == 0 and 'submitted before' in output
    assert posts_and_puts(emulator) == ['POST', 'PUT']  # nothing sent the second time
    assert len(requests_of(emulator, NEW_HIRE)) == 1


def test_offboarding_cancels_what_is_open_retires_and_then_changes_nothing(emulator, tmp_path):
    open_before = sorted(request['Uuid'].lower() for request in requests_of(emulator, LEAVER) if request['Status'] in OPEN)
    assert len(open_before) >= 2  # the seed gives the leaver open requests of several types
    others_before = dict((request['Uuid'], request['Status']) for request in emulator._admin('requests')  # pylint: disable=protected-access
                         if request['TargetUserUuid'].lower() != LEAVER)

    rc, recap, output = run_playbook_file(tmp_path, emulator, 'offboarding.yml', 'leaver_guid=%s' % LEAVER,
                                          'cm_retire_type_code=%d' % EMULATOR_RETIRE_CODE, 'cm_approval_interval=0.3')
    assert rc == 0, output
    assert recap['changed'] == 2 and recap['failed'] == 0
    after = dict((request['Uuid'].lower(), request) for request in requests_of(emulator, LEAVER))
    assert all(after[request_id]['Status'] == 17 for request_id in open_before)  # every open one Canceled
    retired = [request for request in after.values() if request['RequestType'] == EMULATOR_RETIRE_CODE]
    assert len(retired) == 1 and retired[0]['Status'] == 8 and retired[0]['ProfileTemplateUuid'].lower() == TEMPLATE
    assert 'Canceled %d open request(s)' % len(open_before) in output
    assert posts_and_puts(emulator) == ['PUT'] * len(open_before) + ['POST', 'PUT']
    # Nobody else's requests were touched.
    assert dict((request['Uuid'], request['Status']) for request in emulator._admin('requests')  # pylint: disable=protected-access
                if request['TargetUserUuid'].lower() != LEAVER) == others_before

    rc, recap, output = run_playbook_file(tmp_path, emulator, 'offboarding.yml', 'leaver_guid=%s' % LEAVER,
                                          'cm_retire_type_code=%d' % EMULATOR_RETIRE_CODE, 'cm_approval_interval=0.3')
    assert rc == 0, output
    assert recap['changed'] == 0 and recap.get('skipped') == 1  # nothing open to cancel
    assert posts_and_puts(emulator) == ['PUT'] * len(open_before) + ['POST', 'PUT']


def test_the_guides_playbooks_are_the_ones_tested():
    for caption in ('onboarding.yml', 'offboarding.yml'):
        playbook = playbook_from_guide(caption)
        assert playbook.startswith('---\n') and 'hosts: localhost' in playbook
        assert 'password' not in playbook.lower().replace('mim_cm_password', '')  # the connection stays in the environment
