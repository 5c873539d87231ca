from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence.signing import Signer, generate_keypair
from evidence.timestamp import TsaSpec, timestamper_for
from tests.support.local_tsa import LocalTsa, local_tsa


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path_factory.mktemp("tsa")) as server:
        yield server


@pytest.fixture(scope="session")
def second_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    with local_tsa(tmp_path_factory.mktemp("tsa2")) as server:
        yield server


@pytest.fixture(scope="session")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("keys")
    pair = generate_keypair(base / "signing.pem", base / "signing.pub.pem")
    return pair.private_path, pair.public_path


@pytest.fixture
def signer(keypair: tuple[Path, Path]) -> Signer:
    return Signer.from_file(keypair[0])


@pytest.fixture
def stampers(tsa: LocalTsa):  # type: ignore[no-untyped-def]
    return [timestamper_for(TsaSpec(tsa.url, tsa.ca_pem))]
