"""Fixtures the unit tests share: a throwaway certificate authority and a client certificate it issued."""

from __future__ import annotations

import pytest
import trustme


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("client.example")


def collapsed(pem: str, joiner: str = " ") -> str:
    """What Dify's single-line secret input makes of multi-line PEM."""
    return joiner.join(line for line in pem.splitlines() if line)
