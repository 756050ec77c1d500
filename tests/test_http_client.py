"""The shared httpx clients: a plain-HTTP client never completes a TLS handshake it should not
make, and clients that may meet ``https://`` verify with the CAs as httpx's default does."""

from __future__ import annotations

import ssl

from connectors.http_client import context_for, http_client, plain_http_context, tls_context


def test_a_plain_http_client_trusts_no_certificate_authority() -> None:
    context = plain_http_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs() == [] and context.cert_store_stats()["x509_ca"] == 0


def test_clients_that_may_reach_https_verify_with_the_shared_cas() -> None:
    assert context_for("https://prometheus.example:9090") is tls_context()
    assert context_for("") is tls_context()  # absolute URLs may be anything
    assert tls_context().verify_mode == ssl.CERT_REQUIRED and tls_context().cert_store_stats()["x509_ca"] > 0
    assert context_for("http://127.0.0.1:9901") is plain_http_context()
    with http_client("http://127.0.0.1:1") as client:
        assert client.base_url.host == "127.0.0.1" and not client.follow_redirects
