# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The password never shows: every failure path at -vvvv, grepped for the password in all the output and results."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

import pytest

from helpers import ADMIN_LOGIN, ADMIN_PASSWORD, READER_LOGIN, READER_PASSWORD, USERS_FILE, connection

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
    no_username = dict(options)
    no_username['username'] = None
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
        request(**no_username),  # no username
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


# --- a server that echoes the password, and a password in url (issue 12) ---------------------------

# A password with the characters that JSON, HTML, URLs and Python's repr each escape: a masked verbatim
# value would still show in any of those forms.
TRICKY_PASSWORD = 'Tr1cky"\\pass<&>\'x'


def tricky_forms(password=TRICKY_PASSWORD):
    """The password as a server or a message would show it."""
    json_form = json.dumps(password)[1:-1]
    return [password, json_form, repr(password)[1:-1], html.escape(password), html.escape(password, quote=False),
            repr(json_form)[1:-1], repr(html.escape(password))[1:-1], quote(password, safe='')]


@pytest.fixture
def tricky_emulator(start_emulator, tmp_path):
    users = tmp_path / 'users.txt'
    users.write_text(USERS_FILE.read_text() + 'CONTOSO:tricky:%s\n' % TRICKY_PASSWORD)
    return start_emulator('--users', str(users))


ECHOES = [
    # (request GUID, answer code, content type, body): each echoes the password its own way
    ('a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099', 200, 'text/plain', 'Login of CONTOSO\\tricky with %s refused' % TRICKY_PASSWORD),
    ('5eed0003-0000-4000-8000-000000000001', 500, 'application/json', json.dumps({'Message': 'Bad password %s.' % TRICKY_PASSWORD})),
    ('5EED0003-0000-4000-8000-000000000002', 200, 'text/html', '<html><body>Bad password %s</body></html>' % html.escape(TRICKY_PASSWORD)),
    ('5eed0018-0000-4000-8000-000000000001', 200, 'application/json', '{"Message": "Bad password %s' % json.dumps(TRICKY_PASSWORD)[1:-1]),
    ('5EED0018-0000-4000-8000-000000000002', 400, 'text/plain', '   %s   ' % TRICKY_PASSWORD),
]


def test_a_password_the_server_echoes_never_shows_in_any_form(tricky_emulator, run_playbook):
    for request_id, code, content_type, body in ECHOES:
        tricky_emulator.inject({'kind': 'raw', 'code': code, 'content_type': content_type, 'body': body, 'times': 0,
                                'path_contains': request_id.lower()})
    options = connection(tricky_emulator, 'CONTOSO\\tricky', TRICKY_PASSWORD)
    run = run_playbook([request(request_id, **options) for request_id, dummy, dummy, dummy in ECHOES], verbosity=4)
    everything = run.output + json.dumps(run.results)
    for form in tricky_forms():
        assert form not in everything, form
    assert all(result.get('failed') for result in run.results)
    warnings = [warning for result in run.results for warning in result.get('warnings', [])]
    assert len(warnings) >= 3 and all('********' in warning for warning in warnings), warnings
    assert '********' in run.results[1]['msg'] and '********' in run.results[4]['msg']


@pytest.mark.parametrize('userinfo, secret', [
    ('cmadmin:S3cret-In-The-Url', 'S3cret-In-The-Url'),
    ('CONTOSO%5Ccmadmin:S3cret%2FIn%3AUrl', 'S3cret/In:Url'),
    ('t0ken-In-The-Url', 't0ken-In-The-Url'),
])
def test_a_password_in_url_is_refused_and_never_shows(userinfo, secret, emulator, run_playbook):
    url = emulator.url.replace('://', '://%s@' % userinfo)
    run = run_playbook([request(**connection(emulator, url=url))], verbosity=4)
    assert 'url must not contain credentials' in run[0]['msg']
    assert_never_shown(run, secret, quote(secret, safe=''))
    assert emulator.exchanges() == []
    assert 'ESTABLISH LOCAL CONNECTION' in run.output, 'the run really was at -vvvv'
