# Kerberos (HTTP Negotiate) against a real MIT KDC on 127.0.0.1; part of `make test` (MORE_TESTS):
#   kerberos          installs what the suite needs where it is missing, then runs it: the emulator's Kerberos tests
#                     and tests/integration/test_kerberos.py (the KDC is set up and torn down by the tests themselves).
#   kerberos-install  only the install step (tests/kdc/install.py): Debian's krb5-kdc krb5-admin-server krb5-user
#                     libkrb5-dev with apt-get (as root, non-interactive; `apt-get update` once), and gssapi + krb5
#                     (pinned in tests/kdc/requirements-kerberos.txt, built from source in about 2 minutes) into the venv.
# Where the install cannot run (no apt-get, not root, no network), the suite is SKIPPED and pytest's summary (-rs)
# says why, quoting the install step's outcome ($(KERBEROS_LOG)). Nothing is cached outside the project.

KERBEROS_LOG = $(COLLECTIONS)/kerberos-install.log
KERBEROS_REQUIREMENTS = tests/kdc/requirements-kerberos.txt

MORE_TESTS += kerberos
.PHONY: kerberos kerberos-install

kerberos-install: venv ## install the MIT Kerberos packages and gssapi/krb5 where missing
	$(BIN)/python tests/kdc/install.py --python $(BIN)/python --requirements $(KERBEROS_REQUIREMENTS) --log $(KERBEROS_LOG)

kerberos: kerberos-install collection ## the Kerberos suites against a real KDC on 127.0.0.1
	cd $(COLLECTION) && MIM_CM_KERBEROS_INSTALL_LOG=$(KERBEROS_LOG) \
	    $(BIN)/python -m pytest -rs -q tests/integration/test_kerberos.py emulator/tests/test_emulator.py -k kerberos
