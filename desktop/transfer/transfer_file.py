"""The ``*.haven`` transfer file: a plain POSIX tar of the manifest, its signature and the payload.

Written with tarfile in USTAR format, members in a fixed order with fixed owners, modes
and times, so ``tar -tf`` lists exactly ``manifest.json``, ``manifest.json.sig`` and
``payload.age``. Read with a strict parser of our own rather than tarfile, because a
hostile file must be refused before anything trusts it: the file size is checked first,
then every header's checksum, type, name and claimed size, and nothing may follow the
three members but the zero blocks that end a tar archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from desktop.errors import InputRejected
from desktop.files import write_whole
from desktop.transfer.identity import SITE_ID

FORMAT = "haven-transfer-v1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
PAYLOAD = "payload.age"
MEMBERS = (MANIFEST, SIGNATURE, PAYLOAD)

MAX_FILE_SIZE = 4 * 1024**3
MAX_MANIFEST_SIZE = 256 * 1024
MAX_SIGNATURE_SIZE = 4 * 1024
MAX_RECIPIENTS = 32
MAX_PROOFS = 16
MAX_PROOF_NODES = 64

_BLOCK = 512
_HEX64 = re.compile(r"[0-9a-f]{64}")
_EPOCH = re.compile(r"[0-9a-f]{16}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class TransferFileError(InputRejected):
    """The file is not a well-formed, untampered Haven transfer file."""


@dataclass(frozen=True, slots=True)
class Recipient:
    site_id: str
    sequence: int


@dataclass(frozen=True, slots=True)
class Consistency:
    from_size: int
    proof: tuple[str, ...]  # hex nodes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The sender's audit log as a Merkle tree: its size and root, with proofs from older sizes."""

    tree_size: int
    root: str
    consistency: tuple[Consistency, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """What the file says about itself; no personal data."""

    sender: str
    epoch: str
    recipients: tuple[Recipient, ...]
    created_at: str
    payload_sha256: str
    payload_size: int
    checkpoint: Checkpoint

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON data."""
        return {
            "format": FORMAT,
            "sender": self.sender,
            "epoch": self.epoch,
            "recipients": [{"site_id": r.site_id, "sequence": r.sequence} for r in self.recipients],
            "created_at": self.created_at,
            "payload": {"sha256": self.payload_sha256, "size": self.payload_size},
            "checkpoint": {
                "tree_size": self.checkpoint.tree_size,
                "root": self.checkpoint.root,
                "consistency": [
                    {"from_size": c.from_size, "proof": list(c.proof)}
                    for c in self.checkpoint.consistency
                ],
            },
        }

    def to_bytes(self) -> bytes:
        """The manifest as signed and stored: sorted keys, indented, ASCII."""
        return (json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n").encode("ascii")

    def sequence_for(self, site_id: str) -> int | None:
        """The sequence number this file has for a recipient, or None."""
        for recipient in self.recipients:
            if recipient.site_id == site_id:
                return recipient.sequence
        return None


# --- manifest parsing ------------------------------------------------------------------------


def _bad(what: str) -> TransferFileError:
    return TransferFileError(f"the transfer file's manifest is malformed ({what})")


def _object(value: Any, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise _bad(what)
    return value


def _count(value: Any, what: str, maximum: int = 2**53) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise _bad(what)
    return value


def _matching(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _bad(what)
    return value


def parse_manifest(data: bytes) -> Manifest:
    """Parse and check a manifest strictly: known keys only, right types, sane sizes."""
    if len(data) > MAX_MANIFEST_SIZE:
        raise _bad("too large")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, or a number too long
        raise _bad("not JSON") from None
    top = _object(
        raw,
        {"format", "sender", "epoch", "recipients", "created_at", "payload", "checkpoint"},
        "fields",
    )
    if top["format"] != FORMAT:
        raise TransferFileError("this is not a Haven transfer file of a version this Haven reads")
    recipients_raw = top["recipients"]
    if not isinstance(recipients_raw, list) or not 1 <= len(recipients_raw) <= MAX_RECIPIENTS:
        raise _bad("recipients")
    recipients = []
    for item in recipients_raw:
        entry = _object(item, {"site_id", "sequence"}, "recipient")
        recipients.append(
            Recipient(
                _matching(entry["site_id"], SITE_ID, "recipient site id"),
                _count(entry["sequence"], "sequence"),
            )
        )
    if len({r.site_id for r in recipients}) != len(recipients):
        raise _bad("a recipient is named twice")
    payload = _object(top["payload"], {"sha256", "size"}, "payload")
    checkpoint_raw = _object(top["checkpoint"], {"tree_size", "root", "consistency"}, "checkpoint")
    proofs_raw = checkpoint_raw["consistency"]
    if not isinstance(proofs_raw, list) or len(proofs_raw) > MAX_PROOFS:
        raise _bad("consistency proofs")
    proofs = []
    for item in proofs_raw:
        entry = _object(item, {"from_size", "proof"}, "consistency proof")
        nodes = entry["proof"]
        if not isinstance(nodes, list) or len(nodes) > MAX_PROOF_NODES:
            raise _bad("consistency proof")
        proofs.append(
            Consistency(
                _count(entry["from_size"], "consistency proof size"),
                tuple(_matching(node, _HEX64, "proof node") for node in nodes),
            )
        )
    if any(p.from_size < 1 for p in proofs) or any(n.sequence < 1 for n in recipients):
        raise _bad("numbering starts at 1")
    return Manifest(
        sender=_matching(top["sender"], SITE_ID, "sender"),
        epoch=_matching(top["epoch"], _EPOCH, "epoch"),
        recipients=tuple(recipients),
        created_at=_matching(top["created_at"], _TIME, "creation time"),
        payload_sha256=_matching(payload["sha256"], _HEX64, "payload hash"),
        payload_size=_count(payload["size"], "payload size", MAX_FILE_SIZE),
        checkpoint=Checkpoint(
            tree_size=_count(checkpoint_raw["tree_size"], "checkpoint size"),
            root=_matching(checkpoint_raw["root"], _HEX64, "checkpoint root"),
            consistency=tuple(proofs),
        ),
    )


# --- writing ---------------------------------------------------------------------------------


def _member(name: str, size: int) -> tarfile.TarInfo:
    # Fixed metadata: the file reveals nothing about who made it or when, beyond the manifest.
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def write_transfer_tar(
    handle: BinaryIO, manifest: bytes, signature: bytes, payload: BinaryIO, payload_size: int
) -> None:
    """Write the tar of a transfer file: its manifest, signature and payload, in that order."""
    with tarfile.open(fileobj=handle, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_member(MANIFEST, len(manifest)), io.BytesIO(manifest))
        tar.addfile(_member(SIGNATURE, len(signature)), io.BytesIO(signature))
        tar.addfile(_member(PAYLOAD, payload_size), payload)


def write_transfer_file(
    destination: Path, manifest: bytes, signature: bytes, payload: BinaryIO, payload_size: int
) -> None:
    """Write the tar beside ``destination`` and move it into place once complete."""
    write_whole(
        destination,
        lambda handle: write_transfer_tar(handle, manifest, signature, payload, payload_size),
    )


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """The members of a transfer file whose tar structure checked out."""

    manifest: bytes
    signature: bytes
    payload_offset: int
    payload_size: int


def _octal(field: bytes, what: str) -> int:
    text = field.rstrip(b"\0 ").lstrip(b" ")
    if not text or not re.fullmatch(rb"[0-7]+", text):
        raise TransferFileError(f"the transfer file is damaged (tar header: {what})")
    return int(text, 8)


def parse_ustar_header(block: bytes) -> tuple[str, int]:
    """(name, size) of a USTAR header block for a regular file, or TransferFileError."""
    stored = _octal(block[148:156], "checksum")
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:])
    if stored != computed:
        raise TransferFileError("the transfer file is damaged (a tar header checksum is wrong)")
    if block[257:265] != b"ustar\x0000":
        raise TransferFileError("the transfer file is not a POSIX (ustar) tar archive")
    if block[156:157] not in (b"0", b"\0"):
        raise TransferFileError("the transfer file holds something other than plain files")
    if block[345:500].strip(b"\0") or block[157:257].strip(b"\0"):
        raise TransferFileError("the transfer file has unexpected tar member names or links")
    raw_name = block[:100].split(b"\0", 1)[0]
    try:
        name = raw_name.decode("ascii")
    except UnicodeDecodeError:
        raise TransferFileError("the transfer file has an unexpected member") from None
    return name, _octal(block[124:136], "size")


_LIMITS = {MANIFEST: MAX_MANIFEST_SIZE, SIGNATURE: MAX_SIGNATURE_SIZE, PAYLOAD: MAX_FILE_SIZE}


def read_layout(handle: BinaryIO) -> Layout:
    """Check the tar structure of an open transfer file and read its small members."""
    size = os.fstat(handle.fileno()).st_size
    if size > MAX_FILE_SIZE:
        raise TransferFileError(
            f"the file is larger than transfer files may be ({MAX_FILE_SIZE // 1024**3} GiB)"
        )
    handle.seek(0)
    if not handle.read(_BLOCK).strip(b"\0"):  # what a copy cut short or never written leaves
        raise TransferFileError("the transfer file is truncated (it holds nothing but zeros)")
    if not _starts_like_ours(handle):
        raise TransferFileError("the file is not a Haven transfer file (not a tar archive)")
    # Our writer pads to whole tar records, so any cut, even in the padding, shows.
    if size < tarfile.RECORDSIZE or size % tarfile.RECORDSIZE:
        raise TransferFileError("the transfer file is truncated")
    found: dict[str, tuple[int, int]] = {}
    small: dict[str, bytes] = {}
    offset = 0
    handle.seek(0)
    while True:
        block = _read_exactly(handle, _BLOCK)
        if block == bytes(_BLOCK):
            break
        name, member_size = parse_ustar_header(block)
        if name not in _LIMITS:
            raise TransferFileError(f"the transfer file has an unexpected member {name[:40]!r}")
        if name in found:
            raise TransferFileError(f"the transfer file holds {name} twice")
        data_offset = offset + _BLOCK
        if member_size > _LIMITS[name] or data_offset + member_size > size:
            raise TransferFileError(
                f"the transfer file is damaged or truncated ({name} claims {member_size} bytes)"
            )
        found[name] = (data_offset, member_size)
        if name != PAYLOAD:
            small[name] = _read_exactly(handle, member_size)
        offset = data_offset + -(-member_size // _BLOCK) * _BLOCK
        handle.seek(offset)
    missing = [name for name in MEMBERS if name not in found]
    if missing:
        raise TransferFileError(f"the transfer file lacks {', '.join(missing)}")
    # After the end-of-archive block only zero padding may follow.
    while chunk := handle.read(1024 * 1024):
        if chunk.count(0) != len(chunk):
            raise TransferFileError("the transfer file has data after its end")
    if offset + 2 * _BLOCK > size:
        raise TransferFileError("the transfer file is truncated (no end-of-archive marker)")
    payload_offset, payload_size = found[PAYLOAD]
    return Layout(small[MANIFEST], small[SIGNATURE], payload_offset, payload_size)


def _starts_like_ours(handle: BinaryIO) -> bool:
    """Whether the file begins as a transfer file does: with a tar header, or, cut inside
    its first header, with the name of one of its members as far as it goes."""
    handle.seek(0)
    head = handle.read(_BLOCK)
    if len(head) >= _BLOCK:
        return head[257:262] == b"ustar"
    name = head[:100]
    return bool(name) and any(
        member.encode("ascii").ljust(100, b"\0").startswith(name) for member in MEMBERS
    )


def _read_exactly(handle: BinaryIO, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise TransferFileError("the transfer file is truncated")
    return data


class PayloadReader:
    """Reads the payload member from the open file, hashing what it hands out."""

    def __init__(self, handle: BinaryIO, layout: Layout) -> None:
        self._handle = handle
        self._remaining = layout.payload_size
        self.sha256 = hashlib.sha256()
        handle.seek(layout.payload_offset)

    def read(self, size: int = -1, /) -> bytes:
        if size < 0 or size > self._remaining:
            size = self._remaining
        data = self._handle.read(size)
        if len(data) != size:
            raise TransferFileError("the transfer file is truncated")
        self._remaining -= len(data)
        self.sha256.update(data)
        return data


def payload_sha256(handle: BinaryIO, layout: Layout) -> str:
    """SHA-256 (hex) of the payload member."""
    reader = PayloadReader(handle, layout)
    while reader.read(1024 * 1024):
        pass
    return reader.sha256.hexdigest()
