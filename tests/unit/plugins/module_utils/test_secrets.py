# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import html
import json
from urllib.parse import quote

import pytest

from ansible_collections.mim.cm.plugins.module_utils._secrets import MASK, Scrubber, protect_secrets, secret_forms, url_password

SECRET = 'Tr1cky"\\pass<&>\'x '


@pytest.mark.parametrize('url, expected', [
    ('https://user:S3cret@cm.example.com/', 'S3cret'),
    ('https://EXAMPLE%5Cuser:S3%2Fcret@cm.example.com', 'S3%2Fcret'),
    ('https://t0ken@cm.example.com', 't0ken'),
    ('https://cm.example.com/a@b', None),
    ('https://cm.example.com', None),
    (None, None),
])
def test_url_password(url, expected):
    assert url_password(url) == expected


def test_every_form_of_the_secret_is_masked():
    scrubber = Scrubber([SECRET, None, ''])
    for form in (SECRET, SECRET.strip(), json.dumps(SECRET)[1:-1], repr(SECRET)[1:-1], html.escape(SECRET), quote(SECRET, safe=''),
                 repr(json.dumps(SECRET.strip())[1:-1])[1:-1]):
        scrubbed = scrubber.scrub('before %s after' % form)
        assert scrubbed.startswith('before %s' % MASK) and form.strip() not in scrubbed, form
    assert scrubber.scrub(None) is None and scrubber.scrub(3) == 3
    assert secret_forms('') == set()


def test_protect_secrets_masks_results_and_warnings():
    warned = []

    class Module(object):
        params = {'password': SECRET, 'url': 'https://u:S3cret%21@cm.example.com'}
        no_log_values = set()

        def warn(self, message):
            warned.append(message)

    module = Module()
    protect_secrets(module)
    assert {SECRET.strip(), 'S3cret%21', 'S3cret!', repr(SECRET)[1:-1]} <= module.no_log_values
    module.warn('server said %r and S3cret!' % SECRET)
    assert warned == ['server said \'%s\' and %s' % (MASK, MASK)]
