# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A real MIT Kerberos KDC on 127.0.0.1 for the tests: a realm in a temporary directory, started and stopped by PID.

Everything lives in one directory: a private krb5.conf (KRB5_CONFIG) and kdc.conf (KRB5_KDC_PROFILE), the
database, the KDC's log, the service keytab and the ticket caches. Nothing outside it is read or written: not
/etc/krb5.conf, not the user's ticket cache, not /var/tmp's replay cache. DNS is never asked (rdns = false,
dns_canonicalize_hostname = false, no DNS lookups of KDCs or realms).

    kdc = MitKdc(tmp_dir).start()           # realm MIMCM.TEST, users cmadmin and cmreader, HTTP/localhost in kdc.keytab
    kdc.env()                               # KRB5_CONFIG (and a private default ticket cache) for any Kerberos client
    kdc.emulator_env()                      # + KRB5_KTNAME and a private replay cache, for the emulator (the acceptor)
    kdc.kinit('cmadmin', cache_path)        # a ticket cache filled by kinit, the password sent on its stdin
    kdc.stop()

Also a command, to try the collection by hand against the emulator (docs/docsite/rst/kerberos.rst):

    python tests/kdc/kdc.py DIR             # starts the KDC, prints the environment to use, stops on Ctrl-C
"""

from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

from mim_cm_emulator.launcher import stop_by_pid

REALM = 'MIMCM.TEST'
# The users of the emulator's users file (the package's data/users.txt), as Kerberos principals with their own passwords
# (made up, for loopback tests only), and one the KDC knows but the emulator does not (no CM account).
USERS = {
    'cmadmin': 'NotASecret-Krb-Admin-2026',
    'cmreader': 'NotASecret-Krb-Reader-2026',
    'outsider': 'NotASecret-Krb-Outsider-2026',
}
# The service the emulator runs as (its keytab), and one the KDC knows but the emulator's keytab does not hold.
SERVICE_HOSTS = ('localhost',)
FOREIGN_SERVICE_HOST = 'other.mimcm.test'
# The Debian packages that provide what this module runs; libkrb5-dev is what gssapi and krb5 build against.
DEBIAN_PACKAGES = ('krb5-kdc', 'krb5-admin-server', 'krb5-user', 'libkrb5-dev')
PROGRAMS = ('krb5kdc', 'kdb5_util', 'kadmin.local', 'kinit', 'klist')
SEARCH_PATH = ('/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin')


class KdcError(RuntimeError):
    """The KDC could not be set up or started; the message says which step failed and where its log is."""


def find_program(name):
    """The path of an MIT Kerberos program, looked up in PATH and the sbin directories (kadmin.local is in /usr/sbin)."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SEARCH_PATH))


def missing_programs():
    """The MIT Kerberos programs this module needs that are not installed."""
    return [name for name in PROGRAMS if not find_program(name)]


def missing_python_libraries():
    """The Python libraries pyspnego needs for Kerberos (gssapi, krb5) that this Python cannot import."""
    missing = []
    for name in ('gssapi', 'krb5'):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    return missing


def unavailable_reason(install_log=None):
    """Why the Kerberos tests cannot run here (a sentence for pytest's skip), or None when they can.

    install_log: the file `make kerberos` wrote the outcome of its install step into, quoted when present.
    """
    problems = []
    programs = missing_programs()
    if programs:
        problems.append('the MIT Kerberos program%s %s %s not installed (Debian packages: %s)'
                        % ('s' if len(programs) > 1 else '', ', '.join(programs), 'are' if len(programs) > 1 else 'is',
                           ' '.join(DEBIAN_PACKAGES)))
    libraries = missing_python_libraries()
    if libraries:
        problems.append('the Python %s %s %s not importable by %s (pip install "pyspnego[kerberos]", built against libkrb5-dev)'
                        % ('libraries' if len(libraries) > 1 else 'library', ' and '.join(libraries),
                           'are' if len(libraries) > 1 else 'is', sys.executable))
    if not problems:
        return None
    reason = 'Kerberos tests need a real MIT KDC: ' + '; '.join(problems) + '. `make kerberos` installs them (as root, with apt-get)'
    if install_log and os.path.exists(install_log):
        with open(install_log, encoding='utf-8') as handle:
            outcome = ' '.join(handle.read().split())
        if outcome:
            reason += '; its install step said: ' + outcome[:400]
    return reason


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (the KDC listens on both)."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(('127.0.0.1', 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(('127.0.0.1', port))
                except OSError:
                    continue
                return port
    raise KdcError('no port free for both TCP and UDP on 127.0.0.1')


class MitKdc(object):
    """One MIT KDC for the realm REALM on 127.0.0.1, in `directory` (created; left in place for the logs)."""

    def __init__(self, directory, realm=REALM, users=None):
        self.directory = pathlib.Path(directory).resolve()
        self.realm = realm
        self.users = dict(USERS if users is None else users)
        self.port = None
        self.process = None
        self.krb5_conf = self.directory / 'krb5.conf'
        self.kdc_conf = self.directory / 'kdc.conf'
        self.keytab = self.directory / 'kdc.keytab'
        self.log_path = self.directory / 'krb5kdc.log'

    # --- the environment clients and the acceptor need ------------------------------------------

    def env(self):
        """What a Kerberos client needs: the private krb5.conf, and a default ticket cache inside the directory.

        KRB5CCNAME is set too, so a client that falls back to "the default cache" never touches the user's own.
        """
        return {
            'KRB5_CONFIG': str(self.krb5_conf),
            'KRB5CCNAME': 'FILE:%s' % (self.directory / 'ccache-default'),
        }

    def emulator_env(self):
        """What the emulator (the acceptor) needs besides env(): the service keytab and a private replay cache."""
        env = self.env()
        env.update(KRB5_KTNAME='FILE:%s' % self.keytab, KRB5RCACHEDIR=str(self.directory))
        return env

    def principal(self, user):
        return '%s@%s' % (user, self.realm)

    # --- setup ------------------------------------------------------------------------------------

    def start(self, timeout=15):
        """Write the configuration, create the realm and its principals, start krb5kdc; return self once it answers."""
        missing = missing_programs()
        if missing:
            raise KdcError('MIT Kerberos programs not found: %s (Debian packages: %s)' % (', '.join(missing), ' '.join(DEBIAN_PACKAGES)))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._write_config()
        # The master key's password is random and never written down: the stash file (-s) is what the KDC reads.
        self._run([find_program('kdb5_util'), 'create', '-s', '-r', self.realm, '-P', secrets.token_urlsafe(24)], 'create the realm database')
        commands = []
        for user, password in self.users.items():
            commands.append('addprinc -pw %s %s' % (password, self.principal(user)))
        for host in SERVICE_HOSTS + (FOREIGN_SERVICE_HOST,):
            commands.append('addprinc -randkey HTTP/%s@%s' % (host, self.realm))
        for host in SERVICE_HOSTS:
            commands.append('ktadd -k %s HTTP/%s@%s' % (self.keytab, host, self.realm))
        # On stdin, so the passwords are not on a command line any other process could read.
        self._run([find_program('kadmin.local'), '-r', self.realm], 'add the principals and the keytab', stdin='\n'.join(commands) + '\nquit\n')
        with open(self.log_path, 'ab') as log:
            self.process = subprocess.Popen(
                [find_program('krb5kdc'), '-n', '-r', self.realm, '-P', str(self.directory / 'krb5kdc.pid')],
                env=self._tool_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        self._wait_until_listening(timeout)
        return self

    def _write_config(self):
        self.krb5_conf.write_text('\n'.join([
            '# A private configuration for the mim.cm tests: realm %s on 127.0.0.1 only; DNS is never asked.' % self.realm,
            '[libdefaults]',
            '    default_realm = %s' % self.realm,
            '    dns_lookup_kdc = false',
            '    dns_lookup_realm = false',
            '    dns_canonicalize_hostname = false',
            '    rdns = false',
            '    udp_preference_limit = 1',
            '    forwardable = false',
            '    default_ccache_name = FILE:%s' % (self.directory / 'ccache-default'),
            '    default_keytab_name = FILE:%s' % self.keytab,
            '    kdc_timesync = 0',
            '',
            '[realms]',
            '    %s = {' % self.realm,
            '        kdc = 127.0.0.1:%d' % self.port,
            '    }',
            '',
            '[domain_realm]',
            '    localhost = %s' % self.realm,
            '    .mimcm.test = %s' % self.realm,
            '    mimcm.test = %s' % self.realm,
            '',
        ]))
        self.kdc_conf.write_text('\n'.join([
            '[kdcdefaults]',
            '    kdc_listen = 127.0.0.1:%d' % self.port,
            '    kdc_tcp_listen = 127.0.0.1:%d' % self.port,
            '',
            '[realms]',
            '    %s = {' % self.realm,
            '        database_name = %s' % (self.directory / 'principal'),
            '        key_stash_file = %s' % (self.directory / 'stash'),
            '        acl_file = %s' % (self.directory / 'kadm5.acl'),
            '        max_life = 1h 0m 0s',
            '        max_renewable_life = 0',
            '        default_principal_flags = +preauth',
            '        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
            '    }',
            '',
            '[logging]',
            '    kdc = FILE:%s' % self.log_path,
            '    admin_server = FILE:%s' % (self.directory / 'kadmin.log'),
            '    default = FILE:%s' % self.log_path,
            '',
        ]))
        (self.directory / 'kadm5.acl').write_text('')

    def _tool_env(self):
        env = dict(os.environ)
        env.update(self.env())
        env['KRB5_KDC_PROFILE'] = str(self.kdc_conf)
        return env

    def _run(self, command, what, stdin=None):
        completed = subprocess.run(command, input=stdin, env=self._tool_env(), capture_output=True, text=True, timeout=60, check=False)
        if completed.returncode != 0:
            output = (completed.stderr or completed.stdout).strip()[-800:]
            raise KdcError('%s: %s failed (exit %d): %s' % (what, os.path.basename(command[0]), completed.returncode, output))
        return completed

    def _wait_until_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise KdcError('krb5kdc exited with code %s at start; see %s:\n%s' % (self.process.returncode, self.log_path, self.log_tail()))
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise KdcError('krb5kdc did not listen on 127.0.0.1:%d within %s s; see %s' % (self.port, timeout, self.log_path))

    def log_tail(self, lines=20):
        try:
            return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-lines:])
        except OSError:
            return ''

    # --- use ------------------------------------------------------------------------------------

    def kinit(self, user, cache, password=None):
        """Fill the ticket cache file `cache` with a TGT for `user`, as a person would with kinit (password on stdin)."""
        env = self._tool_env()
        env['KRB5CCNAME'] = 'FILE:%s' % cache
        completed = subprocess.run([find_program('kinit'), self.principal(user)], input=(password or self.users[user]) + '\n',
                                   env=env, capture_output=True, text=True, timeout=30, check=False)
        if completed.returncode != 0:
            raise KdcError('kinit %s failed (exit %d): %s' % (self.principal(user), completed.returncode, completed.stderr.strip()))
        return 'FILE:%s' % cache

    def klist(self, cache):
        """klist's listing of a ticket cache file (empty when there is none)."""
        env = self._tool_env()
        env['KRB5CCNAME'] = 'FILE:%s' % cache
        completed = subprocess.run([find_program('klist')], env=env, capture_output=True, text=True, timeout=30, check=False)
        return completed.stdout if completed.returncode == 0 else ''

    # --- teardown -------------------------------------------------------------------------------

    def stop(self):
        """Stop krb5kdc by its PID (SIGTERM, SIGKILL after 10 s); return its exit code."""
        if self.process is None:
            return None
        return stop_by_pid(self.process)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def main(argv=None):
    """Start a KDC in DIR, print the environment for the emulator and for ansible-playbook, stop on Ctrl-C or SIGTERM."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0].startswith('-'):
        sys.stderr.write('usage: python tests/kdc/kdc.py DIR\n')
        return 2
    kdc = MitKdc(argv[0])
    try:
        kdc.start()
    except KdcError as error:
        sys.stderr.write('error: %s\n' % error)
        return 1

    def stop(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    print('KDC for realm %s on 127.0.0.1:%d (pid %d), files in %s' % (kdc.realm, kdc.port, kdc.process.pid, kdc.directory))
    print('users: %s' % ', '.join('%s (password %s)' % (kdc.principal(user), password) for user, password in kdc.users.items()))
    print('# for the emulator:')
    print(' '.join('%s=%s' % item for item in sorted(kdc.emulator_env().items())))
    print('# for kinit, klist and ansible-playbook:')
    print(' '.join('%s=%s' % item for item in sorted(kdc.env().items())))
    sys.stdout.flush()
    try:
        while kdc.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        kdc.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
