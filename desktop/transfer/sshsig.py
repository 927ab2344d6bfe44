"""SSH signatures (OpenSSH ``PROTOCOL.sshsig``) with Ed25519 keys.

Signatures made here verify with ``ssh-keygen -Y verify``, and signatures made by
``ssh-keygen -Y sign`` with an Ed25519 key verify here, so an IT officer can check a
transfer file with standard tools and no secret.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import struct
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "TRANSFER_NAMESPACE",
    "BadSignatureError",
    "MalformedSignatureError",
    "SSHSigError",
    "WrongKeyError",
    "WrongNamespaceError",
    "format_allowed_signer",
    "format_public_key",
    "parse_public_key",
    "public_key_fingerprint",
    "sign",
    "verify",
]

TRANSFER_NAMESPACE = "haven-transfer-v1@haven"

_MAGIC = b"SSHSIG"
_VERSION = 1
_KEY_TYPE = b"ssh-ed25519"
_HASH_ALGORITHM = "sha512"
# ssh-keygen signs with sha512 but also accepts sha256 signatures, so verify both.
_HASHES = frozenset({"sha512", "sha256"})
_ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_ARMOR_END = "-----END SSH SIGNATURE-----"
# ssh-keygen wraps at 70 columns; matching it keeps our output byte-identical in form.
_ARMOR_COLUMNS = 70
_READ_SIZE = 1024 * 1024
_PRINCIPAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")
_NAMESPACE = re.compile(r"[\x21-\x7e]+")


class SSHSigError(Exception):
    """Base class for every signature verification failure."""


class MalformedSignatureError(SSHSigError):
    """The text is not a well-formed SSHSIG Ed25519 signature."""


class WrongKeyError(SSHSigError):
    """The signature was made by a different key than the one expected."""


class WrongNamespaceError(SSHSigError):
    """The signature was made for a different purpose (namespace)."""


class BadSignatureError(SSHSigError):
    """The signature does not match the data: the data or the signature was altered."""


class BinaryReader(Protocol):
    """Anything with a binary ``read(size)``, such as an open file."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes; an empty result means end of file."""
        ...


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class _WireReader:
    """Reads SSH wire-format fields (RFC 4251), raising MalformedSignatureError."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._offset = 0
        self._what = what

    def raw(self, size: int) -> bytes:
        end = self._offset + size
        if end > len(self._data):
            raise MalformedSignatureError(f"{self._what} is truncated")
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.raw(4))[0]
        return value

    def string(self) -> bytes:
        return self.raw(self.uint32())

    def finish(self) -> None:
        if self._offset != len(self._data):
            raise MalformedSignatureError(f"{self._what} has trailing data")


def _public_key_blob(key: Ed25519PublicKey) -> bytes:
    return _string(_KEY_TYPE) + _string(key.public_bytes_raw())


def _key_from_blob(blob: bytes, what: str) -> bytes:
    reader = _WireReader(blob, what)
    if reader.string() != _KEY_TYPE:
        raise MalformedSignatureError(f"{what} is not an ssh-ed25519 key")
    raw = reader.string()
    reader.finish()
    if len(raw) != 32:
        raise MalformedSignatureError(f"{what} has the wrong length")
    return raw


def _message_digest(data: bytes | BinaryReader, algorithm: str) -> bytes:
    digest = hashlib.new(algorithm)
    if isinstance(data, bytes | bytearray | memoryview):
        digest.update(data)
    else:
        while chunk := data.read(_READ_SIZE):
            digest.update(chunk)
    return digest.digest()


def _signed_data(namespace: str, algorithm: str, message_digest: bytes) -> bytes:
    return (
        _MAGIC
        + _string(namespace.encode("utf-8"))
        + _string(b"")
        + _string(algorithm.encode("ascii"))
        + _string(message_digest)
    )


def _check_namespace(namespace: str) -> None:
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError("a signature namespace must be non-empty printable ASCII")


def sign(data: bytes | BinaryReader, private_key: Ed25519PrivateKey, namespace: str) -> str:
    """Sign ``data`` (bytes or a binary stream) and return the armored SSH signature."""
    _check_namespace(namespace)
    digest = _message_digest(data, _HASH_ALGORITHM)
    signature = private_key.sign(_signed_data(namespace, _HASH_ALGORITHM, digest))
    blob = (
        _MAGIC
        + struct.pack(">I", _VERSION)
        + _string(_public_key_blob(private_key.public_key()))
        + _string(namespace.encode("utf-8"))
        + _string(b"")
        + _string(_HASH_ALGORITHM.encode("ascii"))
        + _string(_string(_KEY_TYPE) + _string(signature))
    )
    encoded = binascii.b2a_base64(blob, newline=False).decode("ascii")
    lines = [encoded[i : i + _ARMOR_COLUMNS] for i in range(0, len(encoded), _ARMOR_COLUMNS)]
    return "\n".join([_ARMOR_BEGIN, *lines, _ARMOR_END]) + "\n"


def _dearmor(armored: str) -> bytes:
    lines = armored.strip().splitlines()
    if len(lines) < 3 or lines[0].strip() != _ARMOR_BEGIN or lines[-1].strip() != _ARMOR_END:
        raise MalformedSignatureError("not an armored SSH signature")
    encoded = "".join(line.strip() for line in lines[1:-1])
    try:
        return binascii.a2b_base64(encoded.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise MalformedSignatureError("SSH signature is not valid base64") from None


def verify(
    data: bytes | BinaryReader, armored_signature: str, public_key: Ed25519PublicKey, namespace: str
) -> None:
    """Check that ``armored_signature`` is ``public_key``'s signature of ``data`` in ``namespace``.

    Returns nothing on success and raises a subclass of :class:`SSHSigError` otherwise.
    """
    _check_namespace(namespace)
    reader = _WireReader(_dearmor(armored_signature), "SSH signature")
    if reader.raw(len(_MAGIC)) != _MAGIC:
        raise MalformedSignatureError("SSH signature has no SSHSIG preamble")
    if reader.uint32() != _VERSION:
        raise MalformedSignatureError("unsupported SSH signature version")
    signer = _key_from_blob(reader.string(), "signing key")
    signed_namespace = reader.string()
    reader.string()  # reserved; ssh-keygen ignores its contents too
    algorithm = reader.string().decode("ascii", errors="replace")
    signature_blob = reader.string()
    reader.finish()

    if algorithm not in _HASHES:
        raise MalformedSignatureError(f"unsupported signature hash {algorithm!r}")
    signature_reader = _WireReader(signature_blob, "signature")
    if signature_reader.string() != _KEY_TYPE:
        raise MalformedSignatureError("signature is not an ssh-ed25519 signature")
    signature = signature_reader.string()
    signature_reader.finish()
    if len(signature) != 64:
        raise MalformedSignatureError("ssh-ed25519 signature has the wrong length")

    if signer != public_key.public_bytes_raw():
        raise WrongKeyError("signature was made by a different key")
    if signed_namespace != namespace.encode("utf-8"):
        raise WrongNamespaceError(
            f"signature is for namespace {signed_namespace.decode('utf-8', 'replace')!r}, "
            f"not {namespace!r}"
        )
    digest = _message_digest(data, algorithm)
    try:
        public_key.verify(signature, _signed_data(namespace, algorithm, digest))
    except InvalidSignature:
        raise BadSignatureError("signature does not match the data") from None


def format_public_key(public_key: Ed25519PublicKey, comment: str = "") -> str:
    """Return the OpenSSH ``ssh-ed25519 AAAA... comment`` line for ``public_key``."""
    if "\n" in comment or "\r" in comment:
        raise ValueError("a key comment must be a single line")
    encoded = binascii.b2a_base64(_public_key_blob(public_key), newline=False).decode("ascii")
    line = f"{_KEY_TYPE.decode()} {encoded}"
    return f"{line} {comment}" if comment else line


def parse_public_key(line: str) -> Ed25519PublicKey:
    """Parse an OpenSSH ``ssh-ed25519 AAAA... [comment]`` line; raises ValueError."""
    fields = line.strip().split(maxsplit=2)
    if len(fields) < 2 or fields[0] != _KEY_TYPE.decode():
        raise ValueError("not an ssh-ed25519 public key line")
    try:
        blob = binascii.a2b_base64(fields[1].encode("ascii"), strict_mode=True)
        raw = _key_from_blob(blob, "public key")
    except (binascii.Error, UnicodeEncodeError, MalformedSignatureError) as exc:
        raise ValueError(f"malformed ssh-ed25519 public key: {exc}") from None
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """Return the ``SHA256:...`` fingerprint that ``ssh-keygen -l`` shows for the key."""
    digest = hashlib.sha256(_public_key_blob(public_key)).digest()
    return "SHA256:" + binascii.b2a_base64(digest, newline=False).decode("ascii").rstrip("=")


def format_allowed_signer(
    principal: str, public_key: Ed25519PublicKey, namespace: str = TRANSFER_NAMESPACE
) -> str:
    """Return an ``allowed_signers`` line trusting ``public_key`` as ``principal``.

    The principal is restricted to letters, digits and ``._@+-`` so that it can never be
    read as a pattern, a list, or an option by ``ssh-keygen``.
    """
    if not _PRINCIPAL.fullmatch(principal):
        raise ValueError("a principal must be letters, digits and ._@+- only")
    if not _NAMESPACE.fullmatch(namespace) or '"' in namespace or "," in namespace:
        raise ValueError("a namespace in allowed_signers cannot contain quotes or commas")
    return f'{principal} namespaces="{namespace}" {format_public_key(public_key)}'
