"""A site's public identity: its signing key, its age recipient and a fingerprint of both.

The signing key is shown in OpenSSH form with the site id as its comment,
``ssh-ed25519 AAAA… haven:<site id>``, so one line carries both into ``peer add`` and
into an ``allowed_signers`` file. The fingerprint is what two IT officers read to each
other over the phone before trusting a key: 140 bits of SHA-256 over the site id and both
public keys, in Crockford base32 (no I, L, O or U to mishear), in seven groups of four.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from desktop.transfer import age, sshsig

KEY_COMMENT_PREFIX = "haven:"
_FINGERPRINT_LABEL = b"haven site fingerprint v1\x00"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FINGERPRINT_CHARS = 28  # 140 bits
_GROUP = 4
SITE_ID = re.compile(r"[0-9a-f]{32}")


class IdentityError(ValueError):
    """A key, recipient, site id or fingerprint that cannot be used."""


@dataclass(frozen=True, slots=True)
class SiteIdentity:
    """Everything another site needs to trust this one; nothing secret."""

    site_id: str
    name: str
    signing_key: str  # "ssh-ed25519 AAAA… haven:<site id>"
    age_recipient: str
    fingerprint: str


def fingerprint(site_id: str, signing_key: Ed25519PublicKey, recipient: age.X25519Recipient) -> str:
    """The grouped, speakable fingerprint of a site's id and public keys."""
    digest = hashlib.sha256(
        _FINGERPRINT_LABEL
        + site_id.encode("ascii")
        + b"\x00"
        + signing_key.public_bytes_raw()
        + recipient.public_key
    ).digest()
    number = int.from_bytes(digest, "big") >> (256 - 5 * _FINGERPRINT_CHARS)
    chars = [
        _CROCKFORD[(number >> (5 * (_FINGERPRINT_CHARS - 1 - i))) & 31]
        for i in range(_FINGERPRINT_CHARS)
    ]
    text = "".join(chars)
    return " ".join(text[i : i + _GROUP] for i in range(0, len(text), _GROUP))


def normalize_fingerprint(text: str) -> str:
    """What was typed or read back, in canonical form: any spacing, dashes or case."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    # Crockford base32 reads the look-alikes as the digits they resemble.
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    return " ".join(cleaned[i : i + _GROUP] for i in range(0, len(cleaned), _GROUP))


def site_identity(
    site_id: str, name: str, signing: Ed25519PrivateKey, encryption: X25519PrivateKey
) -> SiteIdentity:
    """The public identity of this site, from its private keys."""
    public = signing.public_key()
    recipient = age.X25519Recipient.from_key(encryption.public_key())
    return SiteIdentity(
        site_id=site_id,
        name=name,
        signing_key=sshsig.format_public_key(public, KEY_COMMENT_PREFIX + site_id),
        age_recipient=recipient.encode(),
        fingerprint=fingerprint(site_id, public, recipient),
    )


@dataclass(frozen=True, slots=True)
class PeerKeys:
    site_id: str
    signing_key: Ed25519PublicKey
    recipient: age.X25519Recipient

    @property
    def signing_key_line(self) -> str:
        """The OpenSSH line without a comment, as stored."""
        return sshsig.format_public_key(self.signing_key)

    @property
    def fingerprint(self) -> str:
        """The fingerprint these keys should have."""
        return fingerprint(self.site_id, self.signing_key, self.recipient)


def parse_peer_keys(signing_key: str, recipient: str, site_id: str | None = None) -> PeerKeys:
    """Read another site's keys; its site id comes from the key comment or ``site_id``.

    When both are given they must agree.
    """
    try:
        public = sshsig.parse_public_key(signing_key)
    except ValueError as exc:
        raise IdentityError(f"the signing key is not usable: {exc}") from None
    try:
        parsed_recipient = age.X25519Recipient.parse(recipient)
    except ValueError as exc:
        raise IdentityError(f"the recipient is not usable: {exc}") from None
    fields = signing_key.strip().split(maxsplit=2)
    comment = fields[2].strip() if len(fields) == 3 else ""
    from_comment = (
        comment[len(KEY_COMMENT_PREFIX) :] if comment.startswith(KEY_COMMENT_PREFIX) else None
    )
    if site_id is not None and from_comment is not None and site_id != from_comment:
        raise IdentityError("--site-id differs from the site id in the signing key's comment")
    chosen = site_id or from_comment
    if chosen is None:
        raise IdentityError(
            "the signing key has no 'haven:<site id>' comment; give the site id with --site-id"
        )
    if not SITE_ID.fullmatch(chosen):
        raise IdentityError("a site id is 32 lower-case hexadecimal characters")
    return PeerKeys(chosen, public, parsed_recipient)


def age_identity_file(site_id: str, name: str, encryption: X25519PrivateKey) -> str:
    """The site's X25519 key as an age identity file (``age -d -i FILE``). SECRET."""
    identity = age.X25519Identity(encryption)
    return (
        f"# Haven site {name} ({site_id}): break-glass decryption key. SECRET.\n"
        "# Anyone holding this file can read every transfer file sent to this site.\n"
        f"# public key: {identity.recipient().encode()}\n"
        f"{identity.encode()}\n"
    )
