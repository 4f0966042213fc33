"""The emulator's tests: real emulator subprocesses (the installed mim_cm_emulator package), real HTTP, TLS and NTLM.

The Kerberos tests need a real MIT KDC: the mim.cm repository's helper tests/kdc/kdc.py (a KDC on 127.0.0.1 for the
realm MIMCM.TEST), found next to this folder; without it, or without MIT Kerberos installed, they are skipped.
"""

import os
import pathlib
import sys

import pytest

KDC_DIR = pathlib.Path(__file__).resolve().parents[2] / "tests" / "kdc"
if (KDC_DIR / "kdc.py").is_file():
    sys.path.insert(0, str(KDC_DIR))
    import kdc as kdc_module  # noqa: E402 pylint: disable=wrong-import-position
else:
    kdc_module = None  # pylint: disable=invalid-name


@pytest.fixture(scope="session")
def kdc(tmp_path_factory):
    """A real MIT KDC for the realm MIMCM.TEST on 127.0.0.1, for the whole session; stopped by PID."""
    reason = "no tests/kdc/kdc.py" if kdc_module is None else kdc_module.unavailable_reason(os.environ.get("MIM_CM_KERBEROS_INSTALL_LOG"))
    if reason:
        pytest.skip(reason)
    server = kdc_module.MitKdc(tmp_path_factory.mktemp("kdc")).start()
    yield server
    server.stop()
