"""Transfer files checked with tools nobody here wrote: tar, ssh-keygen, sha256sum, age."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop import cli
from desktop.session import Session
from desktop.transfer import age
from tests.conftest import FAST_KDF, PASSWORD
from tests.desktop.transfer.sites import (
    HavenSite,
    forge,
    make_sites,
    new_case,
    plain_payload,
)
from tests.desktop.transfer.test_age import PASSPHRASE, run_with_passphrase

needs_tools = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("tar", "ssh-keygen", "age", "sha256sum")),
    reason="needs tar, ssh-keygen, age and sha256sum (Debian packages tar, openssh-client, age)",
)
NAME = "Шевчук Марʼяна"
PHONE = "+380502223344"


@pytest.fixture
def pair_of_sites(tmp_path: Path) -> Iterator[tuple[HavenSite, HavenSite]]:
    north, south = make_sites(tmp_path, ["north", "south"])
    new_case(north, NAME, PHONE)
    yield north, south
    north.close()
    south.close()


def exported(north: HavenSite, tmp_path: Path) -> Path:
    path = tmp_path / "north-to-south.haven"
    north.service.export(["south"], path, full=False)
    return path


def extract(path: Path, folder: Path) -> None:
    folder.mkdir()
    subprocess.run(["tar", "-xf", str(path), "-C", str(folder)], check=True)


@needs_tools
def test_tar_lists_exactly_the_three_members(
    pair_of_sites: tuple[HavenSite, HavenSite], tmp_path: Path
) -> None:
    path = exported(pair_of_sites[0], tmp_path)
    listing = subprocess.run(["tar", "-tvf", str(path)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    names = [line.split()[-1] for line in listing]
    assert names == ["manifest.json", "manifest.json.sig", "payload.age"]
    assert all(line.startswith("-rw-r--r--") for line in listing)


@needs_tools
def test_ssh_keygen_verifies_the_manifest_signature(
    pair_of_sites: tuple[HavenSite, HavenSite], tmp_path: Path
) -> None:
    north, south = pair_of_sites
    path = exported(north, tmp_path)
    extract(path, tmp_path / "x")
    signers = tmp_path / "allowed_signers"
    signers.write_text("\n".join(south.service.allowed_signers()) + "\n")
    command = ["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", north.site_id,
               "-n", "haven-transfer-v1@haven", "-s", str(tmp_path / "x" / "manifest.json.sig")]
    manifest = (tmp_path / "x" / "manifest.json").read_bytes()
    result = subprocess.run(command, input=manifest, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    assert b"Good" in result.stdout
    # The same signature does not pass for another site, nor for an altered manifest.
    other = [*command[:5], south.site_id, *command[6:]]
    assert subprocess.run(other, input=manifest, capture_output=True).returncode != 0
    altered = manifest.replace(b'"format"', b'"formax"')
    assert subprocess.run(command, input=altered, capture_output=True).returncode != 0


@needs_tools
def test_sha256sum_matches_the_manifest(
    pair_of_sites: tuple[HavenSite, HavenSite], tmp_path: Path
) -> None:
    path = exported(pair_of_sites[0], tmp_path)
    extract(path, tmp_path / "x")
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    output = subprocess.run(["sha256sum", str(tmp_path / "x" / "payload.age")],
                            capture_output=True, text=True, check=True).stdout
    assert output.split()[0] == manifest["payload"]["sha256"]


def export_identity(site: HavenSite, identity: Path, passphrase: str | None = None) -> int:
    """``haven-admin site export-identity --age`` as the site's admin; its exit code."""
    folder = identity.parent
    (folder / "password.txt").write_text(PASSWORD + "\n")
    args = ["--data", str(site.data), "--user", "admin", "--password-file",
            str(folder / "password.txt"), "site", "export-identity", "--age", "-o", str(identity)]
    if passphrase is not None:
        (folder / "passphrase.txt").write_text(passphrase + "\n")
        args += ["--passphrase-file", str(folder / "passphrase.txt")]
    return cli.main(args)


@pytest.fixture
def payload_to_south(pair_of_sites: tuple[HavenSite, HavenSite], tmp_path: Path) -> Path:
    """payload.age of a file from north to south, taken out of its tar."""
    extract(exported(pair_of_sites[0], tmp_path), tmp_path / "x")
    return tmp_path / "x" / "payload.age"


@needs_tools
def test_age_decrypts_the_payload_with_the_exported_identity(
    pair_of_sites: tuple[HavenSite, HavenSite], payload_to_south: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    north, south = pair_of_sites
    identity = tmp_path / "south.key"
    code = export_identity(south, identity)
    err = capsys.readouterr().err
    assert code == 0
    assert "SECRET" in err
    assert identity.stat().st_mode & 0o777 == 0o600
    # Plaintext goes to a pipe, never to a file.
    result = subprocess.run(["age", "-d", "-i", str(identity), str(payload_to_south)],
                            capture_output=True, check=True)
    lines = result.stdout.decode().splitlines()
    header = json.loads(lines[0])
    assert header["type"] == "header"
    assert header["sender"] == north.site_id
    assert header["recipients"] == [{"site_id": south.site_id, "sequence": 1}]
    assert NAME in lines[1]
    assert json.loads(lines[-1]) == {"type": "end", "cases": 1}


@needs_tools
def test_an_identity_exported_with_a_passphrase_opens_the_payload_in_age_after_asking(
    pair_of_sites: tuple[HavenSite, HavenSite], payload_to_south: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    south = pair_of_sites[1]
    identity = tmp_path / "south.key.age"
    code = export_identity(south, identity, PASSPHRASE)
    assert code == 0, capsys.readouterr().err
    text = identity.read_text()
    assert text.startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    assert "AGE-SECRET-KEY" not in text
    assert identity.stat().st_mode & 0o777 == 0o600
    # The key inside is the site's, and opens only with the passphrase.
    inner = age.decrypt(identity.read_bytes(), [age.ScryptIdentity(PASSPHRASE)]).decode()
    assert south.service.site_identity().age_recipient in inner
    with pytest.raises(age.AgeError):
        age.decrypt(identity.read_bytes(), [age.ScryptIdentity("another passphrase")])

    opened = tmp_path / "payload.jsonl"  # synthetic cases of the test sites only
    status = run_with_passphrase(["age", "-d", "-i", str(identity), "-o", str(opened),
                                  str(payload_to_south)], PASSPHRASE)
    assert status == 0
    lines = opened.read_text().splitlines()
    assert json.loads(lines[0])["recipients"] == [{"site_id": south.site_id, "sequence": 1}]
    assert NAME in lines[1]


@needs_tools
def test_a_site_named_in_cyrillic_writes_an_identity_that_age_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, _recovery = Session.create_site(tmp_path / "site", "Пункт «Північ»", "admin",
                                             PASSWORD, FAST_KDF)
    site = HavenSite("north", tmp_path / "site", session)
    try:
        identity = tmp_path / "north.key"
        assert export_identity(site, identity) == 0, capsys.readouterr().err
        assert identity.read_text("utf-8").startswith("# Haven site Пункт «Північ» (")
        public = subprocess.run(["age-keygen", "-y", str(identity)], capture_output=True,
                                text=True, check=True).stdout.strip()
        assert public == site.service.site_identity().age_recipient
    finally:
        site.close()


def test_a_weak_or_doubled_identity_passphrase_writes_nothing(
    pair_of_sites: tuple[HavenSite, HavenSite], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, south = pair_of_sites
    identity = tmp_path / "south.key.age"
    for weak in ("short", " " * 12 + "x"):
        assert export_identity(south, identity, weak) == 4
        assert "at least 12 characters" in capsys.readouterr().err
        assert not identity.exists()
    # Asked for twice over (a prompt and a file): a usage error, before anything is asked.
    password_file = tmp_path / "password.txt"
    code = cli.main(["--data", str(south.data), "--user", "admin", "--password-file",
                     str(password_file), "site", "export-identity", "--age", "-o",
                     str(identity), "--passphrase", "--passphrase-file", str(password_file)])
    assert code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    # A target that exists is refused before the passphrase is asked for (no terminal here).
    identity.write_text("kept\n")
    code = cli.main(["--data", str(south.data), "--user", "admin", "--password-file",
                     str(password_file), "site", "export-identity", "--age", "-o",
                     str(identity), "--passphrase"])
    assert code == 4
    assert "exists" in capsys.readouterr().err
    assert identity.read_text() == "kept\n"


@needs_tools
def test_haven_imports_a_payload_the_age_cli_encrypted(
    pair_of_sites: tuple[HavenSite, HavenSite], tmp_path: Path
) -> None:
    north, south = pair_of_sites
    plaintext = plain_payload(exported(north, tmp_path), south)
    recipient = south.service.site_identity().age_recipient
    encrypted = subprocess.run(["age", "-r", recipient], input=plaintext, capture_output=True,
                               check=True).stdout
    path = tmp_path / "age-cli.haven"
    created_at = json.loads(plaintext.split(b"\n", 1)[0])["created_at"]
    forge(path, north, [south], plaintext, sequence=1, encrypted=encrypted,
          manifest_changes={"created_at": created_at})
    report = south.service.import_file(path)
    assert report.cases_new == 1
    assert [hit.names for hit in south.session.search("Shevchuk")] == [NAME]


def test_nothing_personal_is_readable_in_the_file(
    pair_of_sites: tuple[HavenSite, HavenSite], tmp_path: Path
) -> None:
    path = exported(pair_of_sites[0], tmp_path)
    data = path.read_bytes()
    for secret in (NAME, "Шевчук", PHONE, "502223344", "Херсонська"):
        assert secret.encode() not in data
    manifest = json.loads(data[512 : data.index(b"\0", 512)])
    assert set(manifest) == {"format", "sender", "epoch", "recipients", "created_at",
                             "payload", "checkpoint"}


def test_the_tar_metadata_is_fixed(pair_of_sites: tuple[HavenSite, HavenSite],
                                   tmp_path: Path) -> None:
    import tarfile

    path = exported(pair_of_sites[0], tmp_path)
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    assert [(m.name, m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members] == [
        (name, 0, 0, 0, "", "", 0o644)
        for name in ("manifest.json", "manifest.json.sig", "payload.age")
    ]
    assert hashlib.sha256(path.read_bytes()).hexdigest()  # readable by tarfile too
