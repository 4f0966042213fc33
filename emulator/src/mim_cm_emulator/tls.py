"""TLS: a throw-away trustme CA, the server certificate, and the tls-server-end-point channel bindings it implies."""

import os
import ssl

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from spnego.channel_bindings import GssChannelBindings


class TlsMaterial:
    """A trustme CA (written to ca.pem and ca-bundle.pem), an SSL context and the tls-server-end-point bindings.

    The server certificate is for 127.0.0.1, localhost and host, or only for cert_hostnames when given.
    """

    def __init__(self, state_dir, host, cert_hostnames=None):
        ca = trustme.CA(organization_name="MIM CM emulator test CA")
        identities = ["127.0.0.1", "localhost"] + ([host] if host not in ("127.0.0.1", "localhost") else [])
        self.identities = list(cert_hostnames) if cert_hostnames else identities
        leaf = ca.issue_cert(*self.identities)
        self.ca_path = os.path.join(state_dir, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        # A bundle of two CAs, the test CA last: proves a client reads a whole bundle file, not its first certificate.
        unrelated = trustme.CA(organization_name="MIM CM emulator unrelated CA")
        with open(os.path.join(state_dir, "ca-bundle.pem"), "wb") as handle:
            handle.write(unrelated.cert_pem.bytes() + ca.cert_pem.bytes())
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(self.context)
        certificate = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
        self.channel_bindings = GssChannelBindings(application_data=b"tls-server-end-point:" + end_point_hash(certificate))


def end_point_hash(certificate):
    """RFC 5929 tls-server-end-point: the certificate's signature hash, SHA-256 instead of MD5/SHA-1."""
    algorithm = certificate.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(certificate.public_bytes(serialization.Encoding.DER))
    return digest.finalize()
