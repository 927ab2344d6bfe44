"""desktop.transfer.age: keys, round trips, failure handling, streaming, and the age CLI."""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import pytest

from desktop.transfer import age
from tests.conftest import run_at_terminal

CHUNK = 64 * 1024
# From the C2SP age spec, section "The X25519 recipient type".
SPEC_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
SPEC_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
# Small enough to keep tests fast; the CLI's default (18) is used only in interop.
FAST_WORK_FACTOR = 10
PASSPHRASE = "correct horse battery staple"

needs_age = pytest.mark.skipif(
    shutil.which("age") is None or shutil.which("age-keygen") is None,
    reason="the age and age-keygen tools are not installed (Debian package 'age')",
)


@pytest.fixture
def identity() -> age.X25519Identity:
    return age.X25519Identity.generate()


def payload_size(ciphertext: bytes) -> int:
    """Bytes after the header: the payload nonce and the chunks."""
    return len(ciphertext) - ciphertext.index(b"\n", ciphertext.index(b"\n--- ") + 1) - 1


# --- Keys -----------------------------------------------------------------------------


def test_spec_identity_gives_spec_recipient() -> None:
    identity = age.X25519Identity.parse(SPEC_IDENTITY)
    assert identity.recipient().encode() == SPEC_RECIPIENT
    assert identity.encode() == SPEC_IDENTITY
    assert str(age.X25519Recipient.parse(SPEC_RECIPIENT)) == SPEC_RECIPIENT


def test_generated_keys_round_trip() -> None:
    secret, public = age.generate_identity()
    assert secret.startswith("AGE-SECRET-KEY-1")
    assert secret == secret.upper()
    assert public.startswith("age1")
    assert age.X25519Identity.parse(secret).recipient() == age.X25519Recipient.parse(public)


def test_identity_repr_hides_the_secret(identity: age.X25519Identity) -> None:
    assert identity.encode() not in repr(identity)
    assert identity.recipient().encode() in repr(identity)


@pytest.mark.parametrize(
    "text",
    [
        SPEC_RECIPIENT[:-1] + ("q" if SPEC_RECIPIENT[-1] != "q" else "p"),  # checksum
        SPEC_RECIPIENT[:10] + SPEC_RECIPIENT[10:].upper(),  # mixed case
        SPEC_RECIPIENT.replace("age1", "agf1"),  # prefix
        SPEC_IDENTITY,  # an identity is not a recipient
        "age1",
        "",
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwjb",  # extra char
    ],
)
def test_bad_recipient_strings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="recipient"):
        age.X25519Recipient.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        SPEC_RECIPIENT,
        SPEC_IDENTITY.lower().replace("age-secret-key-1g", "age-secret-key-1G"),
        "AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR",
        SPEC_IDENTITY[:-1] + "Y",
    ],
)
def test_bad_identity_strings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="identity"):
        age.X25519Identity.parse(text)


def test_parse_identities_reads_age_keygen_style_files() -> None:
    text = f"# created: 2024-01-01T00:00:00Z\n# public key: {SPEC_RECIPIENT}\n\n{SPEC_IDENTITY}\n"
    [identity] = age.parse_identities(text)
    assert identity.recipient().encode() == SPEC_RECIPIENT
    with pytest.raises(ValueError, match="line 2"):
        age.parse_identities(f"{SPEC_IDENTITY}\nnot a key\n")


# --- Round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize(
    "size", [0, 1, 47, 48, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5]
)
def test_round_trip(identity: age.X25519Identity, size: int, armor: bool) -> None:
    plaintext = random.Random(size).randbytes(size)
    ciphertext = age.encrypt(plaintext, [identity.recipient()], armor=armor)
    assert age.decrypt(ciphertext, [identity]) == plaintext
    assert age.decrypt(ciphertext, [identity], armored=armor) == plaintext
    if not armor:
        chunks = max(1, -(-size // CHUNK))
        assert payload_size(ciphertext) == 16 + size + 16 * chunks


def test_armored_output_is_strict_pem(identity: age.X25519Identity) -> None:
    text = age.encrypt(b"x" * 1000, [identity.recipient()], armor=True).decode("ascii")
    lines = text.split("\n")
    assert lines[0] == "-----BEGIN AGE ENCRYPTED FILE-----"
    assert lines[-2:] == ["-----END AGE ENCRYPTED FILE-----", ""]
    body = lines[1:-2]
    assert all(len(line) == 64 for line in body[:-1])
    assert 0 < len(body[-1]) <= 64


def test_many_recipients_each_decrypt() -> None:
    identities = [age.X25519Identity.generate() for _ in range(3)]
    ciphertext = age.encrypt(b"hello", [i.recipient().encode() for i in identities])
    for identity in identities:
        assert age.decrypt(ciphertext, [identity.encode()]) == b"hello"


def test_passphrase_round_trip() -> None:
    recipient = age.ScryptRecipient(PASSPHRASE, work_factor=FAST_WORK_FACTOR)
    ciphertext = age.encrypt(b"secret", [recipient])
    assert b"-> scrypt " in ciphertext
    assert age.decrypt(ciphertext, [age.ScryptIdentity(PASSPHRASE)]) == b"secret"
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt(ciphertext, [age.ScryptIdentity("wrong")])
    with pytest.raises(age.HeaderError, match="work factor"):
        age.decrypt(ciphertext, [age.ScryptIdentity(PASSPHRASE, max_work_factor=9)])


def test_passphrase_must_be_the_only_recipient(identity: age.X25519Identity) -> None:
    with pytest.raises(ValueError, match="only recipient"):
        age.encrypt(b"x", [identity.recipient(), age.ScryptRecipient(PASSPHRASE)])


def test_encrypting_to_nobody_is_refused() -> None:
    with pytest.raises(ValueError, match="recipient"):
        age.encrypt(b"x", [])


# --- Failures -------------------------------------------------------------------------


def test_wrong_identity_is_no_match(identity: age.X25519Identity) -> None:
    ciphertext = age.encrypt(b"hello", [identity.recipient()])
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt(ciphertext, [age.X25519Identity.generate()])
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt(ciphertext, [])


def test_added_stanza_breaks_the_header_mac(identity: age.X25519Identity) -> None:
    ciphertext = age.encrypt(b"hello", [identity.recipient()])
    tampered = ciphertext.replace(b"\n--- ", b"\n-> grease\n\n--- ", 1)
    with pytest.raises(age.HMACError):
        age.decrypt(tampered, [identity])


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda c: c[:-1], id="truncated"),
        pytest.param(lambda c: c[: -(CHUNK + 16) // 2], id="truncated-mid-chunk"),
        pytest.param(lambda c: c + b"\x00", id="trailing-byte"),
        pytest.param(lambda c: c[:-200] + bytes([c[-200] ^ 1]) + c[-199:], id="flipped-bit"),
    ],
)
def test_altered_payload_is_refused(identity: age.X25519Identity, tamper: object) -> None:
    ciphertext = age.encrypt(os.urandom(2 * CHUNK + 300), [identity.recipient()])
    assert callable(tamper)
    with pytest.raises(age.PayloadError):
        age.decrypt(tamper(ciphertext), [identity])


def test_dropped_final_chunk_is_refused(identity: age.X25519Identity) -> None:
    ciphertext = age.encrypt(os.urandom(2 * CHUNK + 300), [identity.recipient()])
    without_last = ciphertext[: -(300 + 16)]
    with pytest.raises(age.PayloadError, match="final chunk"):
        age.decrypt(without_last, [identity])


def test_damaged_files_fail_only_with_age_errors(identity: age.X25519Identity) -> None:
    """Seeded random damage gives an AgeError or the true plaintext, never anything else."""
    rng = random.Random(7)
    plaintext = rng.randbytes(CHUNK + 100)
    passphrase = age.ScryptIdentity(PASSPHRASE)
    originals = [
        age.encrypt(plaintext, [identity.recipient()]),
        age.encrypt(plaintext, [identity.recipient()], armor=True),
        age.encrypt(plaintext, [age.ScryptRecipient(PASSPHRASE, work_factor=2)], armor=True),
    ]
    for _ in range(300):
        damaged = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 3)):
            # Most damage goes to the header and armor, where the parsing is.
            position = rng.randrange(min(len(damaged), 400))
            action = rng.randrange(4)
            if action == 0:
                damaged[position] = rng.randrange(256)
            elif action == 1:
                del damaged[position]
            elif action == 2:
                damaged.insert(position, rng.choice(b"\n\r =-A/+\x00\xff"))
            else:
                damaged = damaged[:position] or bytearray(b"-")
        for armored in (None, True, False):
            try:
                result = age.decrypt(bytes(damaged), [identity, passphrase], armored=armored)
            except age.AgeError:
                continue
            assert result == plaintext


def test_not_an_age_file() -> None:
    with pytest.raises(age.HeaderError):
        age.decrypt(b"hello world\n", [age.X25519Identity.generate()])
    with pytest.raises(age.HeaderError):
        age.decrypt(b"", [age.X25519Identity.generate()])


# --- Decrypting to a file -------------------------------------------------------------


def test_decrypt_to_path_writes_the_plaintext(identity: age.X25519Identity, tmp_path: Path) -> None:
    plaintext = os.urandom(3 * CHUNK)
    destination = tmp_path / "out.jsonl"
    source = io.BytesIO(age.encrypt(plaintext, [identity.recipient()]))
    age.decrypt_to_path(source, destination, [identity])
    assert destination.read_bytes() == plaintext
    assert list(tmp_path.iterdir()) == [destination]


def test_failed_decrypt_to_path_leaves_no_plaintext(
    identity: age.X25519Identity, tmp_path: Path
) -> None:
    ciphertext = bytearray(age.encrypt(os.urandom(3 * CHUNK + 10), [identity.recipient()]))
    ciphertext[-5] ^= 1
    # The stream API does release the chunks before the bad one, so the file helper
    # really has something to clean up.
    released = io.BytesIO()
    with pytest.raises(age.PayloadError):
        age.decrypt_stream(io.BytesIO(ciphertext), released, [identity])
    assert len(released.getvalue()) == 3 * CHUNK

    destination = tmp_path / "out.jsonl"
    with pytest.raises(age.PayloadError):
        age.decrypt_to_path(io.BytesIO(ciphertext), destination, [identity])
    assert list(tmp_path.iterdir()) == []


def test_failed_decrypt_to_path_keeps_an_existing_file(
    identity: age.X25519Identity, tmp_path: Path
) -> None:
    destination = tmp_path / "out.jsonl"
    destination.write_bytes(b"previous")
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt_to_path(
            io.BytesIO(age.encrypt(b"new", [identity.recipient()])),
            destination,
            [age.X25519Identity.generate()],
        )
    assert destination.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [destination]


# --- Streaming ------------------------------------------------------------------------


class GeneratedReader:
    """Deterministic pseudo-random bytes, produced on demand and never held whole."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.digest = hashlib.sha256()
        self._random = random.Random(20)

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self._random.randbytes(size)
        self.remaining -= size
        self.digest.update(data)
        return data


class HashingWriter:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_streaming_keeps_memory_flat(
    identity: age.X25519Identity, tmp_path: Path, armor: bool
) -> None:
    size = 20 * 1024 * 1024
    encrypted = tmp_path / "big.age"
    source = GeneratedReader(size)
    sink = HashingWriter()

    tracemalloc.start()
    try:
        with encrypted.open("wb") as out:
            age.encrypt_stream(source, out, [identity.recipient()], armor=armor)
        _, encrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with encrypted.open("rb") as stream:
            age.decrypt_stream(stream, sink, [identity])
        _, decrypt_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert sink.size == size
    assert sink.digest.digest() == source.digest.digest()
    assert encrypt_peak < 2 * 1024 * 1024
    assert decrypt_peak < 2 * 1024 * 1024


# --- Interop with the age command-line tools -------------------------------------------


def run_tool(*args: str, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(args, input=stdin, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


@needs_age
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_age_cli_decrypts_our_file(tmp_path: Path, armor: bool) -> None:
    secret, public = age.generate_identity()
    key_file = tmp_path / "key.txt"
    key_file.write_text(secret + "\n")
    plaintext = os.urandom(2 * CHUNK + 123)
    encrypted = tmp_path / "file.age"
    encrypted.write_bytes(age.encrypt(plaintext, [public], armor=armor))
    assert run_tool("age", "-d", "-i", str(key_file), str(encrypted)) == plaintext


@needs_age
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_we_decrypt_age_cli_file(tmp_path: Path, armor: bool) -> None:
    key_file = tmp_path / "key.txt"
    run_tool("age-keygen", "-o", str(key_file))
    recipient = run_tool("age-keygen", "-y", str(key_file)).decode().strip()
    plaintext = os.urandom(CHUNK + 7)
    source = tmp_path / "plain.bin"
    source.write_bytes(plaintext)
    encrypted = tmp_path / "file.age"
    flags = ["-a"] if armor else []
    run_tool("age", *flags, "-r", recipient, "-o", str(encrypted), str(source))
    identities = age.parse_identities(key_file.read_text())
    assert age.decrypt(encrypted.read_bytes(), identities) == plaintext


@needs_age
def test_age_keygen_derives_the_same_recipient(tmp_path: Path) -> None:
    secret, public = age.generate_identity()
    key_file = tmp_path / "key.txt"
    key_file.write_text(secret + "\n")
    assert run_tool("age-keygen", "-y", str(key_file)).decode().strip() == public


def run_with_passphrase(args: list[str], passphrase: str, timeout: float = 120) -> int:
    """Run a tool that reads a passphrase from its terminal, answering every prompt."""
    answered = [0]

    def answer(output: bytes) -> bytes | None:
        prompts = output.lower().count(b"passphrase")
        typed = (passphrase.encode() + b"\n") * (prompts - answered[0])
        answered[0] = prompts
        return typed

    return run_at_terminal(args, answer, timeout=timeout)[0]


@needs_age
def test_age_cli_decrypts_our_passphrase_file(tmp_path: Path) -> None:
    encrypted = tmp_path / "file.age"
    encrypted.write_bytes(age.encrypt(b"by passphrase", [age.ScryptRecipient(PASSPHRASE)]))
    decrypted = tmp_path / "plain.txt"
    code = run_with_passphrase(["age", "-d", "-o", str(decrypted), str(encrypted)], PASSPHRASE)
    assert code == 0
    assert decrypted.read_bytes() == b"by passphrase"


@needs_age
def test_we_decrypt_age_cli_passphrase_file(tmp_path: Path) -> None:
    source = tmp_path / "plain.txt"
    source.write_bytes(b"by passphrase")
    encrypted = tmp_path / "file.age"
    code = run_with_passphrase(["age", "-p", "-o", str(encrypted), str(source)], PASSPHRASE)
    assert code == 0
    assert age.decrypt(encrypted.read_bytes(), [age.ScryptIdentity(PASSPHRASE)]) == (
        b"by passphrase"
    )
