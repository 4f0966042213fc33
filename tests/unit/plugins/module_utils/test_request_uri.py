# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils._client import request_id_from_uri

GUID = '5b0e8a43-0c6f-4a57-9f0a-7a1c3e2d4b10'


@pytest.mark.parametrize('answer', [
    'api/v1.0/requests/' + GUID,                                   # the reference page's form
    '/CertificateManagement/api/v1.0/requests/' + GUID,            # the walkthrough's form
    'https://cm.example.com/certificatemanagement/api/v1.0/requests/' + GUID.upper(),
    'api/v1.0/requests/{%s}/' % GUID,
    '  api/v1.0/requests/%s\n' % GUID,
])
def test_the_new_request_guid_is_taken_from_every_uri_form_the_docs_show(answer):
    assert request_id_from_uri(answer) == GUID


@pytest.mark.parametrize('answer', [
    None, '', GUID + 'x', 'api/v1.0/requests/', 'api/v1.0/requests/not-a-guid',
    'api/v1.0/profiletemplates/' + GUID, {'Uuid': GUID}, ['api/v1.0/requests/' + GUID],
    'api/v1.0/requests/%s/extra' % GUID,
])
def test_anything_else_is_not_taken_for_a_new_request(answer):
    assert request_id_from_uri(answer) is None
