"""haven-admin site, peer, export, verify, import and conflict commands, as IT officers run them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, answering, cli_env, cli_runner, run_at_terminal


def init(run_cli, data: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("init", "--site-name", name, "--admin", "admin",
                     "--new-password-file", str(run_cli.password_file),
                     "--kdf-memory", "19", "--kdf-passes", "2", data=data, user=None)
    assert result.returncode == 0, result.stderr


def show(run_cli, data: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    result = run_cli("site", "show", "--json", data=data)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def add_peer(run_cli, data: Path, name: str, keys: dict[str, str],  # type: ignore[no-untyped-def]
             fingerprint: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("peer", "add", name, "--signing-key", keys["signing_key"],
                   "--recipient", keys["age_recipient"],
                   "--fingerprint", fingerprint or keys["fingerprint"], data=data)


@pytest.fixture(scope="module")
def two_sites_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two sites made by haven-admin init, once for the module; each test takes copies."""
    folder = tmp_path_factory.mktemp("two-sites")
    run_cli = cli_runner(folder)
    north, south = folder / "north", folder / "south"
    init(run_cli, north, "Північ")
    init(run_cli, south, "Південь")
    return north, south


@pytest.fixture
def two_sites(two_sites_once: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    copies = tmp_path / "north", tmp_path / "south"
    for made, copy in zip(two_sites_once, copies, strict=True):
        shutil.copytree(made, copy)
    return copies


@pytest.mark.slow
def test_site_show_prints_the_public_identity(two_sites, run_cli) -> None:  # type: ignore[no-untyped-def]
    north, _ = two_sites
    info = show(run_cli, north)
    assert {"site_id", "name", "signing_key", "age_recipient", "fingerprint"} <= set(info)
    assert re.fullmatch(r"[0-9a-f]{32}", info["site_id"])
    assert re.fullmatch(r"ssh-ed25519 AAAA[A-Za-z0-9+/=]+ haven:" + info["site_id"],
                        info["signing_key"])
    assert info["age_recipient"].startswith("age1")
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4} ){6}[0-9A-HJKMNP-TV-Z]{4}", info["fingerprint"])
    text = run_cli("site", "show", data=north).stdout
    assert info["fingerprint"] in text
    assert info["signing_key"] in text


@pytest.mark.slow
def test_peer_add_needs_the_matching_fingerprint(two_sites, run_cli) -> None:  # type: ignore[no-untyped-def]
    north, south = two_sites
    theirs = show(run_cli, south)
    wrong = theirs["fingerprint"][:-1] + ("0" if theirs["fingerprint"][-1] != "0" else "1")
    refused = add_peer(run_cli, north, "south", theirs, wrong)
    assert refused.returncode == 4
    assert "fingerprint does not match" in refused.stderr
    assert json.loads(run_cli("peer", "list", "--json", data=north).stdout) == []
    # Read back over the phone: any case, dashes instead of spaces.
    spoken = theirs["fingerprint"].lower().replace(" ", "-")
    assert add_peer(run_cli, north, "south", theirs, spoken).returncode == 0
    [listed] = json.loads(run_cli("peer", "list", "--json", data=north).stdout)
    assert (listed["name"], listed["site_id"], listed["revoked"]) == (
        "south", theirs["site_id"], False)
    assert add_peer(run_cli, north, "south", theirs).returncode == 4  # twice


@pytest.mark.slow
@pytest.mark.parametrize("name", ["c,x", "south;x"])
def test_peer_add_refuses_a_name_export_could_not_take(  # type: ignore[no-untyped-def]
    two_sites, run_cli, tmp_path: Path, name: str
) -> None:
    north, south = two_sites
    refused = add_peer(run_cli, north, name, show(run_cli, south))
    assert (refused.returncode, refused.stderr) == (
        4,
        "haven-admin: a peer name is 1-64 letters, digits, '-', '_' or '.' (no spaces or"
        " commas)\n",
    )
    assert json.loads(run_cli("peer", "list", "--json", data=north).stdout) == []
    assert add_peer(run_cli, north, "Південь-2_b.c", show(run_cli, south)).returncode == 0
    exported = run_cli("export", "--to", "Південь-2_b.c", "-o", str(tmp_path / "a.haven"),
                       data=north)
    assert exported.returncode == 0, exported.stderr


@pytest.mark.slow
def test_peer_add_with_a_separate_site_id(two_sites, run_cli) -> None:  # type: ignore[no-untyped-def]
    north, south = two_sites
    theirs = show(run_cli, south)
    bare = " ".join(theirs["signing_key"].split()[:2])
    missing = run_cli("peer", "add", "south", "--signing-key", bare, "--recipient",
                      theirs["age_recipient"], "--fingerprint", theirs["fingerprint"], data=north)
    assert missing.returncode == 4
    assert "--site-id" in missing.stderr
    given = run_cli("peer", "add", "south", "--signing-key", bare, "--recipient",
                    theirs["age_recipient"], "--fingerprint", theirs["fingerprint"],
                    "--site-id", theirs["site_id"], data=north)
    assert given.returncode == 0, given.stderr


@pytest.mark.slow
def test_export_verify_import_end_to_end(two_sites, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    north, south = two_sites
    mine, theirs = show(run_cli, north), show(run_cli, south)
    assert add_peer(run_cli, north, "south", theirs).returncode == 0
    assert add_peer(run_cli, south, "north", mine).returncode == 0
    case = {"kind": "surrender", "channel": "phone", "location": "Херсон",
            "persons": [{"full_name": "Бондаренко Юрій", "phone": "067 765 43 21"}]}
    ref = run_cli("case", "add", "--json", "-", data=north, stdin=json.dumps(case)).stdout.strip()
    path = tmp_path / "north.haven"
    exported = run_cli("export", "--to", "south", "-o", str(path), data=north)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(
        f"Wrote {path} for south (file #1): 1 case with changes not yet acknowledged;")
    # "confirmed" is a case's status: the summary does not use the word for what peers hold.
    assert "confirmed" not in exported.stdout
    verified = run_cli("verify", str(path), data=south)
    assert verified.returncode == 0, verified.stderr
    assert "OK: file #1 from 'north'" in verified.stdout
    dry = run_cli("import", str(path), "--dry-run", data=south)
    assert dry.returncode == 0
    assert "Would import" in dry.stdout
    assert "nothing was changed" in dry.stdout
    assert json.loads(run_cli("case", "list", "--json", data=south).stdout) == []
    done = run_cli("import", str(path), data=south)
    assert done.returncode == 0, done.stderr
    assert "1 new cases" in done.stdout
    [copied] = json.loads(run_cli("case", "list", "--json", data=south).stdout)
    assert copied["ref"] == ref
    assert copied["origin_site"] == mine["site_id"]
    again = run_cli("import", str(path), data=south)
    assert again.returncode == 4
    assert "replay" in again.stderr
    assert again.stderr.count("\n") == 1
    assert run_cli("verify", str(path), data=south).returncode == 4
    audit = run_cli("audit", "verify", data=south)
    assert audit.returncode == 0
    assert run_cli("conflict", "list", data=south).stdout.strip() == "No open conflicts."
    revoked = run_cli("peer", "revoke", "north", data=south)
    assert revoked.returncode == 0
    listed = json.loads(run_cli("peer", "list", "--json", data=south).stdout)
    assert listed[0]["revoked"] is True


@pytest.mark.slow
def test_conflict_list_names_each_version_and_resolve_keeps_any_of_them(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    from tests.desktop.transfer.sites import edited_everywhere, make_sites

    sites = make_sites(tmp_path / "sites", ["north", "south", "west"])
    try:
        case_id = edited_everywhere(sites, ["Пункт А", "Пункт Б", "Пункт В"], tmp_path)
    finally:
        for site in sites:
            site.close()
    north = sites[0].data
    [listed] = json.loads(run_cli("conflict", "list", "--json", data=north).stdout)
    assert listed["case_id"] == case_id
    versions = {v["values"]["location"]: v for v in listed["versions"]}
    assert sorted(versions) == ["Пункт А", "Пункт Б", "Пункт В"]
    text = run_cli("conflict", "list", data=north).stdout.splitlines()
    assert text[0].startswith(listed["id"])
    for place, site in (("Пункт А", "this site"), ("Пункт Б", "south"), ("Пункт В", "west")):
        [line] = [line for line in text if place in line]
        side = "local" if site == "this site" else "incoming"
        assert line.split()[:2] == [side, versions[place]["op"]]
        assert f"  {site}, " in line

    # The older incoming version is neither the local one nor the newest incoming one: only
    # its id reaches it.
    older = min((v for v in listed["versions"] if not v["local"]), key=lambda v: v["op"])
    missing = older["op"][:-1] + "x"
    refused = run_cli("conflict", "resolve", listed["id"], "--keep", missing, data=north)
    assert refused.returncode == 4
    assert refused.stderr == (f"haven-admin: {missing} is not a version of conflict"
                              f" {listed['id']} ('conflict list' shows its versions)\n")
    assert json.loads(run_cli("conflict", "list", "--json", data=north).stdout) == [listed]
    kept = run_cli("conflict", "resolve", listed["id"], "--keep", older["op"], data=north)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout == f"Conflict {listed['id']} resolved: kept version {older['op']}.\n"
    assert run_cli("conflict", "list", data=north).stdout.strip() == "No open conflicts."
    shown = json.loads(run_cli("case", "show", listed["ref"], "--json", data=north).stdout)
    assert shown["location"] == older["values"]["location"]


@pytest.mark.slow
def test_roles_and_usage(two_sites, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    north, south = two_sites
    for role in ("operator", "it"):
        added = run_cli("user", "add", role, "--role", role, "--new-password-file",
                        str(run_cli.password_file), data=north)
        assert added.returncode == 0, added.stderr
    assert add_peer(run_cli, north, "south", show(run_cli, south)).returncode == 0
    denied = run_cli("export", "--to", "south", "-o", str(tmp_path / "x.haven"), data=north,
                     user="operator")
    assert denied.returncode == 3
    allowed = run_cli("export", "--to", "south", "-o", str(tmp_path / "x.haven"), data=north,
                      user="it")
    assert allowed.returncode == 0, allowed.stderr
    secret = run_cli("site", "export-identity", "--age", "-o", str(tmp_path / "k"), data=north,
                     user="it")
    assert secret.returncode == 3
    assert not (tmp_path / "k").exists()
    # The role is checked before a passphrase is asked for (there is no terminal here).
    for command in (["backup"], ["site", "export-identity", "--age", "--passphrase"]):
        refused = run_cli(*command, "-o", str(tmp_path / "b.age"), data=north, user="operator")
        assert refused.returncode == 3, refused.stderr
        assert not (tmp_path / "b.age").exists()
    unknown = run_cli("export", "--to", "nobody", "-o", str(tmp_path / "y.haven"), data=north)
    assert unknown.returncode == 4
    assert "no peer named" in unknown.stderr
    typo = run_cli("conflict", "resolve", "abc", "--keep", "both", data=north)
    assert typo.returncode == 2
    assert "say local, incoming or a version's id" in typo.stderr
    signers = run_cli("peer", "allowed-signers", data=north).stdout.splitlines()
    assert len(signers) == 2
    assert all('namespaces="haven-transfer-v1@haven"' in s for s in signers)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_key_card(two_sites, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    north, _ = two_sites
    card = tmp_path / "card.pdf"
    result = run_cli("site", "key-card", "-o", str(card), data=north)
    assert result.returncode == 0, result.stderr
    text = subprocess.run(["pdftotext", str(card), "-"], capture_output=True, text=True,
                          check=True).stdout
    info = show(run_cli, north)
    assert info["site_id"] in text.replace("\n", "").replace(" ", "")
    for group in info["fingerprint"].split():
        assert group in text
    assert PASSWORD not in text


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
                    reason="zbarimg (zbar-tools) or pdftoppm (poppler-utils) is not installed")
def test_peer_add_takes_the_keys_from_the_key_cards_qr_code(  # type: ignore[no-untyped-def]
    two_sites, run_cli, tmp_path: Path
) -> None:
    north, south = two_sites
    card = tmp_path / "south-card.pdf"
    assert run_cli("site", "key-card", "-o", str(card), data=south).returncode == 0
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(card), str(tmp_path / "card")],
                   check=True)
    scanned = subprocess.run(["zbarimg", "--raw", "-q", *map(str, tmp_path.glob("card*.png"))],
                             capture_output=True, text=True, check=True).stdout.strip()
    theirs = show(run_cli, south)

    no_fingerprint = run_cli("peer", "add", "south", "--card", "-", data=north, stdin=scanned)
    assert no_fingerprint.returncode == 2  # the fingerprint, read off the card, confirms it
    wrong = theirs["fingerprint"][:-1] + ("0" if theirs["fingerprint"][-1] != "0" else "1")
    refused = run_cli("peer", "add", "south", "--card", "-", "--fingerprint", wrong,
                      data=north, stdin=scanned)
    assert refused.returncode == 4
    assert "fingerprint does not match" in refused.stderr
    not_a_card = run_cli("peer", "add", "south", "--card", '{"site_id": "x"}', "--fingerprint",
                         theirs["fingerprint"], data=north)
    assert (not_a_card.returncode, not_a_card.stderr) == (
        4, "haven-admin: --card: this is not the text of a Haven key card's QR code\n")
    no_keys = run_cli("peer", "add", "south", "--fingerprint", theirs["fingerprint"],
                      data=north)
    assert no_keys.returncode == 2
    assert "give the peer's keys" in no_keys.stderr

    added = run_cli("peer", "add", "south", "--card", "-", "--fingerprint",
                    theirs["fingerprint"], data=north, stdin=scanned)
    assert added.returncode == 0, added.stderr
    [listed] = json.loads(run_cli("peer", "list", "--json", data=north).stdout)
    assert (listed["site_id"], listed["signing_key"].split()[:2], listed["recipient"]) == (
        theirs["site_id"], theirs["signing_key"].split()[:2], theirs["age_recipient"])


def test_peer_revoke_asks_at_a_terminal_and_a_no_changes_nothing(  # type: ignore[no-untyped-def]
    two_sites, run_cli
) -> None:
    north, south = two_sites
    assert add_peer(run_cli, south, "north", show(run_cli, north)).returncode == 0

    def replies(reply: bytes) -> dict[bytes, bytes]:
        return {b"Password for admin: ": PASSWORD.encode() + b"\n",
                b"Revoke 'north'? [y/N] ": reply}

    def revoked() -> bool:
        listed = json.loads(run_cli("peer", "list", "--json", data=south).stdout)
        return bool(next(p for p in listed if p["name"] == "north")["revoked"])

    command = [sys.executable, "-m", "desktop.cli", "--data", str(south), "--user", "admin",
               "peer", "revoke", "north"]
    code, output = run_at_terminal(command, answering(replies(b"n\n")), env=cli_env(),
                                   timeout=60)
    assert code == 1, output
    assert b"refuses every file from it from now on" in output
    assert not revoked()
    code, output = run_at_terminal(command, answering(replies(b"y\n")), env=cli_env(),
                                   timeout=60)
    assert code == 0, output
    assert revoked()


@pytest.mark.slow
def test_conflict_resolve_asks_at_a_terminal_and_no_keeps_every_version(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    from tests.desktop.transfer.sites import edited_everywhere, make_sites

    sites = make_sites(tmp_path / "sites", ["north", "south"])
    try:
        edited_everywhere(sites, ["Пункт А", "Пункт Б"], tmp_path)
    finally:
        for site in sites:
            site.close()
    north = sites[0].data
    [listed] = json.loads(run_cli("conflict", "list", "--json", data=north).stdout)
    command = [sys.executable, "-m", "desktop.cli", "--data", str(north), "--user", "admin",
               "--password-file", str(run_cli.password_file), "conflict", "resolve",
               listed["id"], "--keep", "incoming"]

    code, output = run_at_terminal(command, answering({b"[y/N] ": b"\n"}), env=cli_env())
    assert code == 1, output
    assert b"discards its other versions, here and at every site the decision reaches" in output
    assert b"not confirmed; nothing was changed" in output
    assert json.loads(run_cli("conflict", "list", "--json", data=north).stdout) == [listed]

    code, output = run_at_terminal(command, answering({b"[y/N] ": b"y\n"}), env=cli_env())
    assert code == 0, output
    assert f"Conflict {listed['id']} resolved: kept the incoming version.".encode() in output
    assert json.loads(run_cli("conflict", "list", "--json", data=north).stdout) == []
