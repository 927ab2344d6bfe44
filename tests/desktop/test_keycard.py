"""The site key card, read back with poppler and zbar."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from desktop.errors import InputRejected
from desktop.keycard import (
    CardKeys,
    group_fingerprint,
    key_card_payload,
    read_key_card,
    render_key_card,
)
from tests.desktop.test_handoff import needs, page_count, pdf_fonts, pdf_text, qr_codes_per_page

SITE_NAME = "Пункт «Хочу жити» — Київ"
SITE_ID = "9a1c0d6e5b4f4a3b8c7d6e5f4a3b2c1d"
AGE_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"


@pytest.fixture(scope="module")
def identity() -> tuple[str, str]:
    """A real OpenSSH signing key line and a SHA256 fingerprint of it."""
    public = Ed25519PrivateKey.generate().public_key()
    openssh = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    blob = base64.b64decode(openssh.split()[1])
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return openssh, fingerprint


@pytest.fixture
def card_path(identity: tuple[str, str], tmp_path: Path) -> Path:
    openssh, fingerprint = identity
    path = tmp_path / "card.pdf"
    path.write_bytes(render_key_card(SITE_NAME, SITE_ID, openssh, AGE_RECIPIENT, fingerprint))
    return path


def test_fingerprint_is_grouped_for_reading_aloud() -> None:
    assert group_fingerprint("SHA256:abcdEFGH1234ijkl") == ["SHA256:", "abcd EFGH 1234 ijkl"]
    lines = group_fingerprint("0123456789abcdef" * 4)
    assert [len(group) for line in lines for group in line.split()] == [4] * 16
    assert all(len(line.split()) <= 6 for line in lines)
    assert group_fingerprint("alpha bravo charlie") == ["alpha bravo charlie"]
    assert group_fingerprint("ab:cd:ef:01") == ["ab cd ef 01"]
    # A site's fingerprint: seven groups read as two even lines, none left alone.
    assert [len(line.split()) for line in group_fingerprint("ABCD" * 7)] == [4, 3]


def test_payload_is_json_with_both_keys(identity: tuple[str, str]) -> None:
    openssh, fingerprint = identity
    payload = json.loads(key_card_payload(SITE_ID, openssh, AGE_RECIPIENT, fingerprint))
    assert payload == {
        "format": "haven-site-keys-v1",
        "site_id": SITE_ID,
        "signing_key": openssh,
        "recipient": AGE_RECIPIENT,
        "fingerprint": fingerprint,
    }


@needs("pdftotext", "pdfinfo")
def test_card_shows_site_keys_and_fingerprint(identity: tuple[str, str], card_path: Path) -> None:
    openssh, fingerprint = identity
    assert page_count(card_path) == 1
    text = pdf_text(card_path)
    assert SITE_NAME in text
    assert SITE_ID in text
    assert "Відбиток" in text
    assert "Fingerprint" in text
    # Keys are broken into fixed-width lines; compare them without the breaks.
    compact = re.sub(r"\s+", "", text)
    assert openssh.replace(" ", "") in compact
    assert AGE_RECIPIENT in compact
    assert fingerprint in compact
    for group in group_fingerprint(fingerprint)[1].split():
        assert group in text


@needs("pdffonts")
def test_card_embeds_every_font(card_path: Path) -> None:
    fonts = pdf_fonts(card_path)
    assert fonts
    assert all(embedded == "yes" for _, embedded in fonts), fonts
    assert all(name.startswith("DejaVu") for name, _ in fonts), fonts


@needs("pdftoppm", "zbarimg")
def test_card_qr_holds_the_public_identity(identity: tuple[str, str], card_path: Path) -> None:
    openssh, fingerprint = identity
    (codes,) = qr_codes_per_page(card_path)
    assert codes == [key_card_payload(SITE_ID, openssh, AGE_RECIPIENT, fingerprint)]


def test_card_renders_in_memory(identity: tuple[str, str]) -> None:
    openssh, fingerprint = identity
    pdf = render_key_card("<Site & Co>", SITE_ID, openssh, AGE_RECIPIENT, fingerprint)
    assert pdf.startswith(b"%PDF-")


@needs("pdftotext")
def test_markup_in_a_site_name_is_printed_literally(
    identity: tuple[str, str], tmp_path: Path
) -> None:
    openssh, fingerprint = identity
    path = tmp_path / "card.pdf"
    path.write_bytes(render_key_card("<Site & Co>", SITE_ID, openssh, AGE_RECIPIENT, fingerprint))
    assert "<Site & Co>" in pdf_text(path)


def test_a_manager_is_told_what_the_key_card_needs(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from db.records import Role
    from desktop.errors import PermissionDenied
    from desktop.session import Session
    from desktop.transfer.service import TransferService
    from tests.conftest import FAST_KDF, PASSWORD

    site.session.add_user("mira", Role.MANAGER, PASSWORD, FAST_KDF)
    manager = Session.open(site.data, "mira", PASSWORD)
    try:
        with pytest.raises(PermissionDenied) as refused:
            TransferService(manager).key_card()
    finally:
        manager.close()
    assert str(refused.value) == (
        "a user with role 'manager' may not exchange transfer files or keys with other sites"
    )


def test_the_qr_text_gives_back_the_keys_but_not_the_fingerprint(
    identity: tuple[str, str],
) -> None:
    openssh, fingerprint = identity
    text = key_card_payload(SITE_ID, openssh, AGE_RECIPIENT, fingerprint)
    assert read_key_card(text) == CardKeys(openssh, AGE_RECIPIENT, SITE_ID)
    assert read_key_card(f"  {text}\n") == CardKeys(openssh, AGE_RECIPIENT, SITE_ID)


@pytest.mark.parametrize("text", [
    "", "not json", "[]", '{"site_id": "x"}',
    '{"format": "haven-site-keys-v0", "site_id": "x", "signing_key": "k", "recipient": "r"}',
    '{"format": "haven-site-keys-v1", "site_id": "x", "signing_key": 1, "recipient": "r"}',
])
def test_other_text_is_no_key_card(text: str) -> None:
    with pytest.raises(InputRejected, match=r"^this is not the text of a Haven key card"):
        read_key_card(text)


@needs("pdftotext")
def test_the_steps_name_the_site_whose_fingerprint_is_compared(card_path: Path) -> None:
    """The card is read at the other site: the comparison is made at the site on the card,
    by name, not "here" or at "your site" (the reader's own, whose fingerprint differs)."""
    text = " ".join(pdf_text(card_path).split())
    assert f"checks it against “haven-admin site show” at {SITE_NAME}." in text
    assert f"ІТ-фахівець пункту «{SITE_NAME}» звіряє його з «haven-admin site show»" in text
    # The role as the desk names it (its Ukrainian catalogue), not another word for it.
    assert "офіцер" not in text
    assert "на вашому пункті" not in text
    assert "site show” here" not in text
