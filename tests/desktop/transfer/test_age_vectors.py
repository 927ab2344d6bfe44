"""The C2SP CCTV age test vectors (see shared/testdata/README.md), run against our age."""

from __future__ import annotations

import hashlib
import io
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from desktop.transfer import age

# The repository is <x>/main and the shared data <x>/shared; CI clones main into another
# folder but keeps shared/ as its sibling, so locate it from this file, not the cwd.
VECTORS = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "age-cctv"

PQ_IDENTITY_PREFIX = "AGE-SECRET-KEY-PQ-1"
PQ_SKIP_REASON = "the ML-KEM-768+X25519 hybrid (post-quantum) recipient is not implemented"
KNOWN_KEYS = {
    "expect",
    "payload",
    "file key",
    "identity",
    "passphrase",
    "armored",
    "comment",
    "compressed",
}
FAILURES: dict[str, type[age.AgeError]] = {
    "header failure": age.HeaderError,
    "no match": age.NoIdentityMatch,
    "HMAC failure": age.HMACError,
    "payload failure": age.PayloadError,
    "armor failure": age.ArmorError,
}
# Counts stated in shared/testdata/README.md, so a partial copy cannot pass quietly.
EXPECTED_COUNTS = {
    "success": 26,
    "header failure": 62,
    "armor failure": 22,
    "payload failure": 19,
    "no match": 13,
    "HMAC failure": 1,
}


@dataclass
class Vector:
    expect: str
    body: bytes
    payload: str | None = None
    file_key: bytes | None = None
    armored: bool = False
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)
    unknown_keys: list[str] = field(default_factory=list)

    @property
    def is_post_quantum(self) -> bool:
        return any(i.startswith(PQ_IDENTITY_PREFIX) for i in self.identities)

    def decryption_identities(self) -> list[age.Identity]:
        return [age.X25519Identity.parse(i) for i in self.identities] + [
            age.ScryptIdentity(p) for p in self.passphrases
        ]


def load_vector(path: Path) -> Vector:
    head, _, body = path.read_bytes().partition(b"\n\n")
    fields: dict[str, str] = {}
    vector = Vector(expect="", body=body)
    for line in head.decode("utf-8").splitlines():
        key, _, value = line.partition(": ")
        if key == "identity":
            vector.identities.append(value)
        elif key == "passphrase":
            vector.passphrases.append(value)
        elif key in KNOWN_KEYS:
            fields[key] = value
        else:
            vector.unknown_keys.append(key)
    vector.expect = fields["expect"]
    vector.payload = fields.get("payload")
    if "file key" in fields:
        vector.file_key = bytes.fromhex(fields["file key"])
    vector.armored = fields.get("armored") == "yes"
    if fields.get("compressed") == "zlib":
        vector.body = zlib.decompress(vector.body)
    return vector


def vector_names() -> list[str]:
    if not VECTORS.is_dir():
        return []
    return sorted(p.name for p in VECTORS.iterdir() if p.is_file() and not p.name.startswith("."))


def vector_params() -> list[object]:
    names = vector_names()
    if names:
        return list(names)
    reason = f"the age test vectors are missing: {VECTORS} (shared/ must sit next to main/)"
    return [pytest.param("", marks=pytest.mark.skip(reason=reason))]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def usable_vector(name: str) -> Vector:
    vector = load_vector(VECTORS / name)
    if vector.unknown_keys:
        pytest.skip(f"vector has keys this runner does not know: {vector.unknown_keys}")
    if vector.is_post_quantum:
        pytest.skip(PQ_SKIP_REASON)
    return vector


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"the age test vectors are missing: {VECTORS}")
def test_vector_set_is_complete() -> None:
    vectors = [load_vector(VECTORS / name) for name in vector_names()]
    assert Counter(v.expect for v in vectors) == EXPECTED_COUNTS
    assert sum(v.is_post_quantum for v in vectors) == 19


@pytest.mark.parametrize("name", vector_params())
def test_vector_stream(name: str) -> None:
    """Decrypting through the stream API gives exactly the expected outcome."""
    vector = usable_vector(name)
    released = io.BytesIO()

    def run() -> None:
        age.decrypt_stream(
            io.BytesIO(vector.body),
            released,
            vector.decryption_identities(),
            armored=vector.armored,
        )

    if vector.expect == "success":
        run()
        assert sha256_hex(released.getvalue()) == vector.payload
        return
    with pytest.raises(FAILURES[vector.expect]):
        run()
    if vector.expect == "payload failure":
        # The chunks authenticated before the failure, as the reference releases them.
        assert sha256_hex(released.getvalue()) == vector.payload
    else:
        assert released.getvalue() == b""


@pytest.mark.parametrize("name", vector_params())
def test_vector_to_path(name: str, tmp_path: Path) -> None:
    """Decrypting to a file gives the plaintext, or no file at all."""
    vector = usable_vector(name)
    destination = tmp_path / "plaintext.bin"
    # Let the armor be detected wherever the data allows it, so detection is tested too.
    detectable = not vector.armored or vector.body.lstrip(b" \t\r\n").startswith(b"-----")
    armored = None if detectable else True

    def run() -> None:
        age.decrypt_to_path(
            io.BytesIO(vector.body),
            destination,
            vector.decryption_identities(),
            armored=armored,
        )

    if vector.expect == "success":
        run()
        assert sha256_hex(destination.read_bytes()) == vector.payload
        assert [p.name for p in tmp_path.iterdir()] == [destination.name]
    else:
        with pytest.raises(FAILURES[vector.expect]):
            run()
        assert list(tmp_path.iterdir()) == []


def split_binary_file(body: bytes) -> tuple[bytes, bytes]:
    """Return (payload nonce, payload ciphertext) of a binary age file."""
    mac_line = body.index(b"\n--- ") + 1
    payload = body[body.index(b"\n", mac_line) + 1 :]
    return payload[:16], payload[16:]


def rebuildable_params() -> list[object]:
    """Successful binary vectors with a file key: their payload can be rebuilt exactly."""
    names = [
        name
        for name in vector_names()
        if (vector := load_vector(VECTORS / name)).expect == "success"
        and not vector.armored
        and vector.file_key is not None
        and not vector.is_post_quantum
        and not vector.unknown_keys
    ]
    return list(names) or vector_params()


@pytest.mark.parametrize("name", rebuildable_params())
def test_vector_stream_encryption(name: str) -> None:
    """Re-encrypting a vector's plaintext with its file key and nonce gives its payload."""
    vector = usable_vector(name)
    assert vector.file_key is not None
    plaintext = age.decrypt(vector.body, vector.decryption_identities(), armored=False)
    nonce, ciphertext = split_binary_file(vector.body)
    rebuilt = io.BytesIO()
    age._write_payload(io.BytesIO(plaintext), rebuilt, vector.file_key, nonce)
    assert rebuilt.getvalue() == ciphertext
