"""desktop.transfer.sshsig: SSH signatures, checked against ssh-keygen and pyca's OpenSSH codec."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from desktop.transfer import sshsig
from desktop.transfer.sshsig import TRANSFER_NAMESPACE

MANIFEST = b'{"format": 1, "sender": "site-a", "sequence": 7}\n'
PRINCIPAL = "site-kyiv-01"

needs_ssh_keygen = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None,
    reason="ssh-keygen is not installed (Debian package 'openssh-client')",
)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_sign_and_verify(key: Ed25519PrivateKey) -> None:
    signature = sshsig.sign(MANIFEST, key, TRANSFER_NAMESPACE)
    assert signature.startswith("-----BEGIN SSH SIGNATURE-----\n")
    assert signature.endswith("-----END SSH SIGNATURE-----\n")
    assert all(len(line) <= 70 for line in signature.splitlines())
    sshsig.verify(MANIFEST, signature, key.public_key(), TRANSFER_NAMESPACE)
    sshsig.verify(io.BytesIO(MANIFEST), signature, key.public_key(), TRANSFER_NAMESPACE)


def test_streamed_data_signs_like_bytes(key: Ed25519PrivateKey) -> None:
    signature = sshsig.sign(io.BytesIO(MANIFEST), key, TRANSFER_NAMESPACE)
    sshsig.verify(MANIFEST, signature, key.public_key(), TRANSFER_NAMESPACE)


def test_altered_data_is_refused(key: Ed25519PrivateKey) -> None:
    signature = sshsig.sign(MANIFEST, key, TRANSFER_NAMESPACE)
    with pytest.raises(sshsig.BadSignatureError):
        sshsig.verify(MANIFEST + b" ", signature, key.public_key(), TRANSFER_NAMESPACE)


def test_other_key_is_refused(key: Ed25519PrivateKey) -> None:
    signature = sshsig.sign(MANIFEST, key, TRANSFER_NAMESPACE)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(sshsig.WrongKeyError):
        sshsig.verify(MANIFEST, signature, other, TRANSFER_NAMESPACE)


def test_other_namespace_is_refused(key: Ed25519PrivateKey) -> None:
    signature = sshsig.sign(MANIFEST, key, "file")
    with pytest.raises(sshsig.WrongNamespaceError):
        sshsig.verify(MANIFEST, signature, key.public_key(), TRANSFER_NAMESPACE)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: s.replace("SSH SIGNATURE", "PGP SIGNATURE"), id="wrong-label"),
        pytest.param(lambda s: s.replace("\n", "\n*", 1), id="bad-base64"),
        pytest.param(lambda s: s.replace("U1NIU0lH", "U1NIU0lI", 1), id="bad-magic"),
        pytest.param(lambda s: s.split("\n")[0] + "\nAAAA\n" + s.split("\n")[-2], id="short"),
    ],
)
def test_malformed_signatures_are_refused(key: Ed25519PrivateKey, mangle: object) -> None:
    signature = sshsig.sign(MANIFEST, key, TRANSFER_NAMESPACE)
    assert callable(mangle)
    with pytest.raises(sshsig.MalformedSignatureError):
        sshsig.verify(MANIFEST, mangle(signature), key.public_key(), TRANSFER_NAMESPACE)


def test_every_failure_is_an_sshsig_error() -> None:
    for error in (
        sshsig.BadSignatureError,
        sshsig.WrongKeyError,
        sshsig.WrongNamespaceError,
        sshsig.MalformedSignatureError,
    ):
        assert issubclass(error, sshsig.SSHSigError)


def test_public_key_line_round_trip(key: Ed25519PrivateKey) -> None:
    line = sshsig.format_public_key(key.public_key(), "site-a")
    assert line.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")
    assert line.endswith(" site-a")
    parsed = sshsig.parse_public_key(line)
    assert parsed.public_bytes_raw() == key.public_key().public_bytes_raw()
    assert sshsig.parse_public_key(sshsig.format_public_key(key.public_key())) == parsed


def test_public_key_line_agrees_with_pyca(key: Ed25519PrivateKey) -> None:
    ours = sshsig.format_public_key(key.public_key())
    theirs = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert ours.encode() == theirs
    loaded = serialization.load_ssh_public_key(ours.encode())
    assert loaded == sshsig.parse_public_key(ours)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x",
        "ssh-ed25519",
        "ssh-ed25519 not-base64!",
        # An ssh-rsa blob under an ssh-ed25519 label.
        "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAAAAQE=",
    ],
)
def test_bad_public_key_lines_are_refused(line: str) -> None:
    with pytest.raises(ValueError, match="ssh-ed25519"):
        sshsig.parse_public_key(line)


def test_allowed_signer_line(key: Ed25519PrivateKey) -> None:
    line = sshsig.format_allowed_signer(PRINCIPAL, key.public_key())
    expected_key = sshsig.format_public_key(key.public_key())
    assert line == f'{PRINCIPAL} namespaces="haven-transfer-v1@haven" {expected_key}'


@pytest.mark.parametrize("principal", ["", "two words", "a,b", "*", '"quoted"', "#comment"])
def test_unsafe_principals_are_refused(key: Ed25519PrivateKey, principal: str) -> None:
    with pytest.raises(ValueError, match="principal"):
        sshsig.format_allowed_signer(principal, key.public_key())


# --- Interop with ssh-keygen ----------------------------------------------------------


def ssh_keygen_verify(
    tmp_path: Path, allowed_signers: str, signature: str, data: bytes, namespace: str
) -> subprocess.CompletedProcess[bytes]:
    signers_file = tmp_path / "allowed_signers"
    signers_file.write_text(allowed_signers + "\n")
    signature_file = tmp_path / "manifest.json.sig"
    signature_file.write_text(signature)
    return subprocess.run(
        [
            "ssh-keygen", "-Y", "verify", "-f", str(signers_file), "-I", PRINCIPAL,
            "-n", namespace, "-s", str(signature_file),
        ],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )  # fmt: skip


@needs_ssh_keygen
def test_ssh_keygen_accepts_our_signature(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    signature = sshsig.sign(MANIFEST, key, TRANSFER_NAMESPACE)
    signers = sshsig.format_allowed_signer(PRINCIPAL, key.public_key())
    result = ssh_keygen_verify(tmp_path, signers, signature, MANIFEST, TRANSFER_NAMESPACE)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"Good" in result.stdout + result.stderr


@needs_ssh_keygen
def test_ssh_keygen_rejects_altered_data(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    signature = sshsig.sign(MANIFEST, key, TRANSFER_NAMESPACE)
    signers = sshsig.format_allowed_signer(PRINCIPAL, key.public_key())
    result = ssh_keygen_verify(tmp_path, signers, signature, MANIFEST + b" ", TRANSFER_NAMESPACE)
    assert result.returncode != 0


@needs_ssh_keygen
def test_allowed_signers_namespace_restriction_holds(
    key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    # Signed for another purpose, the key must not be accepted even for that purpose,
    # because the allowed_signers line limits it to transfer files.
    signature = sshsig.sign(MANIFEST, key, "file")
    signers = sshsig.format_allowed_signer(PRINCIPAL, key.public_key())
    result = ssh_keygen_verify(tmp_path, signers, signature, MANIFEST, "file")
    assert result.returncode != 0


@needs_ssh_keygen
def test_we_verify_ssh_keygen_signature(tmp_path: Path) -> None:
    key_file = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "site-b", "-f", str(key_file)],
        check=True,
        timeout=60,
    )
    data_file = tmp_path / "manifest.json"
    data_file.write_bytes(MANIFEST)
    subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-f", str(key_file), "-n", TRANSFER_NAMESPACE, str(data_file)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    public_line = key_file.with_suffix(".pub").read_text()
    public_key = sshsig.parse_public_key(public_line)
    signature = (tmp_path / "manifest.json.sig").read_text()

    sshsig.verify(MANIFEST, signature, public_key, TRANSFER_NAMESPACE)
    with pytest.raises(sshsig.BadSignatureError):
        sshsig.verify(MANIFEST + b" ", signature, public_key, TRANSFER_NAMESPACE)
    with pytest.raises(sshsig.WrongNamespaceError):
        sshsig.verify(MANIFEST, signature, public_key, "file")
    assert sshsig.format_public_key(public_key, "site-b") == public_line.strip()


@needs_ssh_keygen
def test_fingerprint_matches_ssh_keygen(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    public_file = tmp_path / "key.pub"
    public_file.write_text(sshsig.format_public_key(key.public_key(), "site-a") + "\n")
    result = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(public_file)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split()[1].decode() == sshsig.public_key_fingerprint(key.public_key())
