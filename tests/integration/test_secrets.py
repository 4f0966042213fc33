# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The password never shows: every failure path at -vvvv, grepped for the password in all the output and results."""

from __future__ import annotations

import json

from helpers import ADMIN_LOGIN, ADMIN_PASSWORD, READER_LOGIN, READER_PASSWORD, connection

APPROVED = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'
COMPLETED = '5eed0008-0000-4000-8000-000000000001'
PENDING = '5eed0016-0000-4000-8000-000000000001'
FAST = {'retries': 1, 'retry_delay': 0.05, 'timeout': 2}


def request(request_id=APPROVED, status='completed', **options):
    return {'mim.cm.cm_request': dict(FAST, id=request_id, status=status, **options)}


def assert_never_shown(run, *secrets):
    everything = run.output + json.dumps(run.results)
    for secret in secrets:
        assert secret not in everything
    assert all(result.get('failed') for result in run.results), [result.get('msg') for result in run.results if not result.get('failed')]


def test_no_failure_shows_the_password(emulator, start_emulator, run_playbook):
    wrong = 'Wr0ng-%s' % ADMIN_PASSWORD
    down = start_emulator()
    down.stop()
    options = connection(emulator)
    untrusted = dict(options)
    del untrusted['ca_path']
    tasks = [
        request(**connection(emulator, password=wrong)),  # 401
        request(**connection(emulator, READER_LOGIN, READER_PASSWORD)),  # 403
        request(PENDING, **options),  # 500 refusal, with a correlation ID
        request(COMPLETED, 'canceled', **options),  # terminal, nothing sent
        request('dddddddd-0000-4000-8000-00000000dead', **options),  # unknown
        request('not-a-guid', **options),  # malformed, nothing sent
        request(**untrusted),  # TLS: untrusted certificate
        request(**connection(down)),  # connection refused, retries exhausted
        request(**dict(options, username=None)),  # no username
        {'mim.cm.cm_request': dict(FAST, ids=[APPROVED, COMPLETED, 'dddddddd-0000-4000-8000-00000000dead'], status='canceled', **options)},
        {'mim.cm.cm_request_info': dict(options, status='pending', older_than='a month')},
        {'mim.cm.cm_request_info': dict(connection(emulator, password=wrong), status='pending')},
    ]
    run = run_playbook(tasks, verbosity=4)
    assert len(run.results) == len(tasks)
    assert_never_shown(run, ADMIN_PASSWORD, READER_PASSWORD, wrong)
    assert 'ESTABLISH LOCAL CONNECTION' in run.output, 'the run really was at -vvvv'


def test_no_failure_shows_the_password_given_through_the_environment(emulator, run_playbook):
    env = {'MIM_CM_URL': emulator.url, 'MIM_CM_USERNAME': ADMIN_LOGIN, 'MIM_CM_PASSWORD': ADMIN_PASSWORD, 'MIM_CM_CA_PATH': emulator.ca_path}
    emulator.inject({'kind': 'status', 'code': 503, 'times': 0})
    run = run_playbook([request(), request(COMPLETED, 'canceled'), {'mim.cm.cm_request_info': {'status': 'approved'}}], env=env, verbosity=4)
    assert_never_shown(run, ADMIN_PASSWORD)
