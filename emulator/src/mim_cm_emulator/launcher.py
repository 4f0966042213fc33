# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Start and stop the MIM CM emulator as a separate process from Python tests, and read what it saw.

    from mim_cm_emulator.launcher import EmulatorProcess, read_users

    with EmulatorProcess(tmp_path / "state") as emulator:   # 127.0.0.1, a free port, TLS, NTLM
        ...  # emulator.url, emulator.ca_path, emulator.exchanges(), emulator.inject({...})

One place that knows the emulator's command line, its state directory and its log; used by mim.cm's
integration tests, the emulator's own tests, the demo and the benchmark.
"""

from __future__ import annotations

import json
import os
import pathlib
import select
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

DATA_DIR = pathlib.Path(__file__).resolve().parent / 'data'
# The emulator's command line with the Python running this (which must have the package installed).
EMULATOR_COMMAND = (sys.executable, '-m', 'mim_cm_emulator')
DEFAULT_SEED = DATA_DIR / 'seed.json'
USERS_FILE = DATA_DIR / 'users.txt'


def read_users(path=USERS_FILE):
    """{user name: (DOMAIN\\user login, password)} from a pyspnego NTLM_USER_FILE."""
    users = {}
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            domain, user, password = line.split(':', 2)
            users[user] = ('%s\\%s' % (domain, user), password)
    return users


def stop_by_pid(process, timeout=10):
    """Stop a server process we started by its PID: SIGTERM, then SIGKILL after `timeout` seconds. Return its exit code."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


class EmulatorProcess(object):
    """One emulator process on 127.0.0.1 with a free port; stop it by PID with stop().

    env: variables to add to the emulator's environment, e.g. KRB5_CONFIG and KRB5_KTNAME for Kerberos
    (tests/kdc/kdc.py's MitKdc.emulator_env()).
    """

    def __init__(self, state_dir, *options, env=None):
        self.state_dir = pathlib.Path(state_dir)
        self.options = [str(option) for option in options]
        self.env = dict(env or {})
        self.process = None
        self.url = None

    @property
    def ca_path(self):
        return str(self.state_dir / 'ca.pem')

    @property
    def ca_bundle_path(self):
        """A bundle file of two CA certificates, an unrelated one first, then the emulator's test CA."""
        return str(self.state_dir / 'ca-bundle.pem')

    @property
    def log_path(self):
        return self.state_dir / 'exchanges.jsonl'

    def start(self, timeout=30):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        command = list(EMULATOR_COMMAND) + ['--state-dir', str(self.state_dir), '--port', '0'] + self.options
        env = dict(os.environ, **self.env) if self.env else None
        with open(self.state_dir / 'emulator.stderr', 'ab') as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
        self.url = self._read_url(timeout)
        return self

    def _read_url(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, dummy, dummy = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                line = self.process.stdout.readline().decode().strip()
                if line:
                    return line
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError('the emulator did not print its URL within %s s; see %s' % (timeout, self.state_dir / 'emulator.stderr'))

    def stop(self):
        """Stop the emulator by its PID (SIGTERM, then SIGKILL after 10 s); return its exit code."""
        if self.process is None:
            return None
        returncode = stop_by_pid(self.process)
        self.process.stdout.close()
        return returncode

    def stderr(self):
        """What the emulator wrote to stderr (its own log of refusals and failed logins)."""
        return (self.state_dir / 'emulator.stderr').read_text()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # --- what the emulator saw and holds --------------------------------------------------------

    def exchanges(self):
        """Every logged HTTP exchange on an API path, in order."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def api_calls(self):
        """The exchanges that were API calls, not authentication legs."""
        return [exchange for exchange in self.exchanges() if not exchange['auth_leg']]

    def applied_puts(self, request_id=None, since=0):
        """How many PUTs changed a request (log lines with applied true), for one GUID (any case) or all.

        Counts the changes the emulator made, whatever the client saw: a PUT whose answer was lost
        (reset_after, truncated, malformed_json, a stall the client gave up on) counts once. since
        skips the log's first lines (pass len(exchanges()) taken earlier) on an emulator shared by tests.
        """
        wanted = None if request_id is None else '/requests/%s' % str(request_id).lower()
        return len([
            exchange for exchange in self.exchanges()[since:]
            if exchange['method'] == 'PUT' and exchange.get('applied')
            and (wanted is None or exchange['path'].lower().rstrip('/').endswith(wanted))
        ])

    def applied_posts(self, since=0):
        """How many POSTs created a request (log lines with applied true), whatever the client saw (see applied_puts)."""
        return len([exchange for exchange in self.exchanges()[since:] if exchange['method'] == 'POST' and exchange.get('applied')])

    def _admin(self, path, method='GET', body=None):
        """One call to the admin side door; the decoded JSON answer, or None for an empty one (204)."""
        parts = urlsplit(self.url)
        context = ssl.create_default_context(cafile=self.ca_path) if parts.scheme == 'https' else None
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request('%s://%s/_emulator/%s' % (parts.scheme, parts.netloc, path), data=data, method=method,
                                         headers={'Content-Type': 'application/json'} if data is not None else {})
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            message = error.read().decode(errors='replace')
            try:
                message = json.loads(message)['Message']
            except (ValueError, KeyError, TypeError):
                pass
            if error.code in (400, 409):  # an invalid call, or a request not in a status the action needs
                raise ValueError(message) from None
            raise
        return json.loads(text) if text else None

    def stored_request(self, request_id):
        """The request as the emulator holds it now (API shape), read through the admin side door."""
        return self._admin('requests/%s' % request_id)

    def stored_requests(self):
        """Every request the emulator holds now (API shape), in seed then creation order."""
        return self._admin('requests')

    # --- the CM portal's part, through the admin side door ----------------------------------------

    def approve(self, request_id):
        """Approve a Pending request as an approver in the CM portal would; return it (now Approved)."""
        return self._admin('requests/%s/approve' % request_id, 'POST', {})

    def deny(self, request_id):
        """Deny a Pending request; return it (now Denied)."""
        return self._admin('requests/%s/deny' % request_id, 'POST', {})

    def execute(self, request_id, complete=False):
        """Start executing an Approved request (now Executing); with complete, finish it too (now Completed)."""
        return self._admin('requests/%s/execute' % request_id, 'POST', {'complete': complete})

    def seed_request(self, request):
        """Store one more request, given as in the seed file (PascalCase fields; a Uuid is made up if absent); return it."""
        return self._admin('requests', 'POST', request)

    # --- fault injection and state, through the admin side door (see the emulator guide) ----------

    def inject(self, rule_or_rules):
        """Append one fault rule (a dict) or a list of them; return every rule now held, with its counts.

        An invalid rule raises ValueError with the emulator's reason, and none of the given rules is added.
        """
        return self._admin('faults', 'POST', rule_or_rules)

    def faults(self):
        """The fault rules in order, each with its fields, 'hits', 'matched' and 'remaining' (None: unlimited)."""
        return self._admin('faults')

    def clear_faults(self):
        """Forget every fault rule (also those given with --fault)."""
        self._admin('faults', 'DELETE')

    def reset(self):
        """Every request back to the seed, and no fault rules (the exchange log is kept)."""
        self._admin('reset', 'POST')

    def in_flight(self):
        """How many API exchanges the emulator is handling right now (a stalled call counts until it is answered)."""
        return self._admin('in-flight')['in_flight']

    def wait_idle(self, timeout=30):
        """Wait until no API exchange is in flight (e.g. a stall the client gave up on has been processed)."""
        deadline = time.monotonic() + timeout
        while self.in_flight():
            if time.monotonic() > deadline:
                raise RuntimeError('the emulator still handles %d exchange(s) after %s s' % (self.in_flight(), timeout))
            time.sleep(0.05)
