# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mim.cm.cm_request_info run by ansible-playbook against the emulator."""

from __future__ import annotations

import json

from helpers import READER_LOGIN, READER_PASSWORD, SEED, connection, found_ids, info


def seeded_ids(*status_codes):
    return sorted(request['Uuid'].lower() for request in SEED['requests'] if request['Status'] in status_codes)


def test_search_by_one_status(emulator, run_playbook):
    result = run_playbook([info(status='pending')], module_defaults=connection(emulator))[0]
    assert found_ids(result) == seeded_ids(16)
    assert all(request['status'] == 'Pending' for request in result['requests'])
    assert [call['query'] for call in emulator.api_calls()] == ['status=Pending']


def test_search_by_several_statuses(emulator, run_playbook):
    result = run_playbook([info(status=['approved', 'executing', 'denied'])], module_defaults=connection(emulator))[0]
    assert found_ids(result) == seeded_ids(3, 18, 4)
    assert len(emulator.api_calls()) == 3


def test_search_for_everything(emulator, run_playbook):
    assert found_ids(run_playbook([info()], module_defaults=connection(emulator))[0]) == seeded_ids(0, 3, 4, 8, 9, 16, 17, 18)


def test_a_search_answered_with_204_is_an_empty_list(emulator, run_playbook):
    result = run_playbook([info(status='none')], module_defaults=connection(emulator))[0]
    assert found_ids(result) == []
    assert [call['status'] for call in emulator.api_calls()] == [204]


def test_a_search_answered_with_an_empty_array_is_an_empty_list(start_emulator, run_playbook):
    emulator = start_emulator('--empty-search', 'array')
    assert found_ids(run_playbook([info(status='none')], module_defaults=connection(emulator))[0]) == []
    assert [call['status'] for call in emulator.api_calls()] == [200]


def test_target_user_current_is_the_logged_in_account(emulator, run_playbook):
    reader_uuid = SEED['users']['CONTOSO\\cmreader'].lower()
    expected = sorted(request['Uuid'].lower() for request in SEED['requests'] if request['TargetUserUuid'].lower() == reader_uuid)
    result = run_playbook([info(target_user='current')], module_defaults=connection(emulator, READER_LOGIN, READER_PASSWORD))[0]
    assert expected and found_ids(result) == expected


def test_submission_bounds_are_inclusive_after_and_exclusive_before(emulator, run_playbook):
    boundary = '2024-03-02T09:15:30.5Z'  # when 5EED0016-...-000000000002 was submitted
    run = run_playbook([
        info(status='pending', submitted_after=boundary),
        info(status='pending', submitted_before=boundary),
        info(status='pending', submitted_after='2024-03-02T09:15:30.501Z'),
    ], module_defaults=connection(emulator))
    assert found_ids(run[0]) == ['5eed0016-0000-4000-8000-000000000002', '5eed0042-0000-4000-8000-000000000001']
    assert found_ids(run[1]) == ['5eed0016-0000-4000-8000-000000000001']
    assert found_ids(run[2]) == ['5eed0042-0000-4000-8000-000000000001']


def test_older_than_at_the_boundary(start_emulator, run_playbook, tmp_path):
    seed = {'users': SEED['users'], 'requests': [
        {'Uuid': 'aaaaaaaa-0000-4000-8000-000000000031', 'Status': 16, 'Submitted': 'now-30d-5m'},
        {'Uuid': 'aaaaaaaa-0000-4000-8000-000000000029', 'Status': 16, 'Submitted': 'now-29d-23h-55m'},
        {'Uuid': 'aaaaaaaa-0000-4000-8000-000000000001', 'Status': 16, 'Submitted': 'now-1m'},
    ]}
    seed_file = tmp_path / 'seed.json'
    seed_file.write_text(json.dumps(seed))
    emulator = start_emulator('--seed', seed_file)
    run = run_playbook([info(status='pending', older_than='30d'), info(status='pending', older_than='12h'), info(status='pending', older_than='90m')],
                       module_defaults=connection(emulator))
    assert found_ids(run[0]) == ['aaaaaaaa-0000-4000-8000-000000000031']
    assert found_ids(run[1]) == ['aaaaaaaa-0000-4000-8000-000000000029', 'aaaaaaaa-0000-4000-8000-000000000031']
    assert found_ids(run[2]) == ['aaaaaaaa-0000-4000-8000-000000000029', 'aaaaaaaa-0000-4000-8000-000000000031']


def test_read_one_and_an_unknown_one(emulator, run_playbook):
    run = run_playbook([info(id='5EED0003-0000-4000-8000-000000000001'), info(id='dddddddd-0000-4000-8000-00000000dead')],
                       module_defaults=connection(emulator))
    assert found_ids(run[0]) == ['5eed0003-0000-4000-8000-000000000001']
    assert run[0]['requests'][0]['status'] == 'Approved'
    assert found_ids(run[1]) == []


def test_check_mode_reads_the_same(emulator, run_playbook):
    result = run_playbook([dict(info(status='pending'), check_mode=True)], module_defaults=connection(emulator))[0]
    assert found_ids(result) == seeded_ids(16)


def test_bad_input_fails_before_any_network_traffic(emulator, run_playbook):
    run = run_playbook([info(status='pending', older_than='a month'), info(id='nope'), info(status='pending', submitted_after='31/01/2026'),
                        info(id='5eed0003-0000-4000-8000-000000000001', status='pending')], module_defaults=connection(emulator))
    assert "older_than 'a month' is not a duration" in run[0]['msg']
    assert "id 'nope' is not a GUID" in run[1]['msg']
    assert "submitted_after '31/01/2026' is not a date" in run[2]['msg']
    assert 'mutually exclusive' in run[3]['msg']
    assert emulator.exchanges() == []
