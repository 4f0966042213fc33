"""An emulator of the MIM CM (Certificate Management) REST API, for tests, CI and demos.

A real HTTP/1.1 server on loopback: keep-alive connections served by threads, real NTLM
authentication (a pyspnego acceptor per TCP connection, users from a DOMAIN:USER:PASSWORD file) and
HTTP Negotiate (SPNEGO: Kerberos with a keytab, or NTLM inside it), TLS with a throw-away trustme CA
and channel binding checks, the documented routes, codes, JSON shapes and enum numbers, per-user
permissions, a JSON-lines log of every API exchange, deterministic fault injection, and an admin API
that stands in for the CM portal.

Where things are:
    cli       the command line (`mim-cm-emulator`, `python -m mim_cm_emulator`)
    control   the ready signal, --detach and --stop
    server    the HTTP server and the per-connection handler
    auth      NTLM, Negotiate/Kerberos and channel binding
    tls       the test CA, the server certificate and its channel bindings
    api       the /CertificateManagement/api/v1.0/ routes
    store     the seed, the Request model, the request store and the users
    faults    fault rules and what they send
    admin     the /_emulator/ admin API
    replies   HTTP answers and the error shapes of ASP.NET and IIS
    launcher  start and stop it from Python tests (EmulatorProcess)
"""

# Kept equal to the version in the collection's galaxy.yml (a test checks it): one release, one number.
__version__ = "0.2.0"
