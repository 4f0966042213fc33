# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cm_request with ids: workers and search-assisted reads change nothing but the round trips."""

from __future__ import annotations

import json

from helpers import SEED_USERS, connection

STATUS_CYCLE = (3, 8, 4, 16, 18, 17, 9)  # Approved, Completed, Denied, Pending, Executing, Canceled, Failed
MIXED = ['bbbbbbbb-0000-4000-8000-%012d' % number for number in range(42)]
UNKNOWN = 'bbbbbbbb-0000-4000-8000-00000000dead'


def mixed_seed(tmp_path):
    requests = [{'Uuid': request_id.upper() if number % 2 else request_id, 'Status': STATUS_CYCLE[number % len(STATUS_CYCLE)],
                 'Submitted': '2024-01-01T00:00:%02dZ' % number}
                for number, request_id in enumerate(MIXED)]
    path = tmp_path / 'mixed-seed.json'
    path.write_text(json.dumps({'users': SEED_USERS, 'requests': requests}))
    return path


def without_times(result):
    """The result without what differs from one server to another: the completion times set by the PUTs."""
    text = json.dumps({key: result[key] for key in ('changed', 'changed_ids', 'requests', 'failures', 'diff', 'msg') if key in result})
    data = json.loads(text)
    for request in data['requests']:
        request['completed'] = request['completed'] is not None
    for failure in data.get('failures', []):
        failure['msg'] = failure['msg'].split(' (correlation ID')[0].split('Correlation ID')[0]
    data.pop('msg', None)
    return data


def converge(run_playbook, emulator, **options):
    task = {'mim.cm.cm_request': dict(options, ids=MIXED + [UNKNOWN, MIXED[0].upper()], status='canceled')}
    return run_playbook([task], module_defaults=connection(emulator))[0]


def handshakes_and_connections(exchanges):
    handshakes = [exchange for exchange in exchanges if exchange['auth_leg'] and not exchange['authorization']]
    return len(handshakes), len(set(exchange['connection'] for exchange in exchanges))


def test_workers_and_search_reads_give_the_sequential_per_id_result(start_emulator, run_playbook, tmp_path):
    seed = mixed_seed(tmp_path)
    results = {}
    for workers, read_strategy in ((1, 'get'), (4, 'get'), (4, 'search'), (1, 'search')):
        emulator = start_emulator('--seed', seed)
        result = converge(run_playbook, emulator, workers=workers, read_strategy=read_strategy)
        assert result['failed'] is True
        results[(workers, read_strategy)] = without_times(result)

        calls = emulator.api_calls()
        searches = [call for call in calls if call['path'].lower().endswith('/requests')]
        assert len(searches) == (3 if read_strategy == 'search' else 0), 'Pending, Approved and Executing'
        changeable = [request_id for number, request_id in enumerate(MIXED) if STATUS_CYCLE[number % len(STATUS_CYCLE)] in (3, 16, 18)]
        assert sorted(call['path'].rsplit('/', 1)[1].lower() for call in calls if call['method'] == 'PUT') == sorted(changeable)
        handshakes, connections = handshakes_and_connections(emulator.exchanges())
        assert handshakes == connections <= workers

    baseline = results[(1, 'get')]
    assert len(baseline['changed_ids']) == 18 and len(baseline['failures']) == 19
    for key, result in results.items():
        assert result == baseline, key


def test_a_task_costs_one_handshake_per_connection(emulator, run_playbook):
    ids = ['5eed0003-0000-4000-8000-000000000001', '5EED0003-0000-4000-8000-000000000002', '5eed0018-0000-4000-8000-000000000001',
           '5EED0018-0000-4000-8000-000000000002', 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099']
    result = run_playbook([{'mim.cm.cm_request': {'ids': ids, 'status': 'completed', 'workers': 2, 'read_strategy': 'get'}}],
                          module_defaults=connection(emulator))[0]
    assert len(result['changed_ids']) == 5
    handshakes, connections = handshakes_and_connections(emulator.exchanges())
    assert handshakes == connections == 2
    assert len(emulator.api_calls()) == 10, 'a GET and a PUT per request, nothing else'
