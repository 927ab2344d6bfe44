"""Every bad transfer file is refused with exit 4, one line on stderr, and the vault unchanged."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.transfer import payload, sshsig, transfer_file
from tests.desktop.transfer.sites import (
    HavenSite,
    assert_refused,
    forge,
    header_line,
    make_site,
    make_sites,
    new_case,
    plain_payload,
    rewrite_audit_entry,
    run_import,
    vault_digest,
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, HavenSite]]:
    """North sends to South; West is another peer of South; East is a stranger."""
    north, south, west = make_sites(tmp_path, ["north", "south", "west"])
    east = make_site(tmp_path, "east")
    pair_one_way(east, south)
    new_case(north, "Коваленко Андрій", "+380671112233")
    new_case(north, "Иванов Сергей")
    sites = {"north": north, "south": south, "west": west, "east": east}
    yield sites
    for site in sites.values():
        site.close()


def pair_one_way(sender: HavenSite, recipient: HavenSite) -> None:
    keys = recipient.service.site_identity()
    sender.service.add_peer(recipient.name, keys.signing_key, keys.age_recipient,
                            keys.fingerprint)


def export(sender: HavenSite, recipient: str, path: Path, full: bool = False) -> Path:
    sender.service.export([recipient], path, full=full)
    return path


def rewrite(path: Path, change: Callable[[bytearray], None]) -> Path:
    data = bytearray(path.read_bytes())
    change(data)
    path.write_bytes(bytes(data))
    return path


def members(path: Path) -> dict[str, bytes]:
    with path.open("rb") as handle:
        layout = transfer_file.read_layout(handle)
        handle.seek(layout.payload_offset)
        payload = handle.read(layout.payload_size)
    return {"manifest.json": layout.manifest, "manifest.json.sig": layout.signature,
            "payload.age": payload}


def write_tar(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_good_file_imports(world: dict[str, HavenSite], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "south", tmp_path / "good.haven")
    code, err = run_import(world["south"], path, capsys)
    assert code == 0, err


@pytest.mark.parametrize("keep", [0, 100, 511, 512, 1024, 1536, -1024, -513, -1])
def test_truncated_file(world: dict[str, HavenSite], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str], keep: int) -> None:
    path = export(world["north"], "south", tmp_path / "cut.haven")
    size = path.stat().st_size
    rewrite(path, lambda data: data.__delitem__(slice(keep % size if keep < 0 else keep, None)))
    assert_refused(world["south"], path, capsys, "truncated")


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"hello\n", "the file is not a Haven transfer file"),
     (b"%PDF-1.4\n" + bytes(range(256)) * 40, "the file is not a Haven transfer file"),
     (b"", "the transfer file is truncated"),  # a copy that never got its bytes
     (bytes(10240), "the transfer file is truncated")],
    ids=["text", "pdf", "empty", "zeros"],
)
def test_a_file_that_is_no_transfer_file_is_called_so(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    content: bytes, said: str,
) -> None:
    path = tmp_path / "chosen.haven"
    path.write_bytes(content)
    assert_refused(world["south"], path, capsys, said)


@pytest.mark.parametrize("member", ["manifest.json", "manifest.json.sig", "payload.age"])
@pytest.mark.parametrize("where", [0.0, 0.5, 0.999])
def test_flipped_bit_in_each_member(world: dict[str, HavenSite], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str], member: str,
                                    where: float) -> None:
    path = export(world["north"], "south", tmp_path / "flip.haven")
    with path.open("rb") as handle:
        layout = transfer_file.read_layout(handle)
    offsets = {
        "manifest.json": (512, len(layout.manifest)),
        "manifest.json.sig": (512 * 2 + -(-len(layout.manifest) // 512) * 512,
                              len(layout.signature)),
        "payload.age": (layout.payload_offset, layout.payload_size),
    }
    start, length = offsets[member]
    at = start + min(length - 1, int(length * where))

    def flip(data: bytearray) -> None:
        data[at] ^= 0x04

    rewrite(path, flip)
    before = vault_digest(world["south"])
    code, err = run_import(world["south"], path, capsys)
    assert code == 4, err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert vault_digest(world["south"]) == before


def test_flipped_bit_in_a_tar_header(world: dict[str, HavenSite], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "south", tmp_path / "header.haven")
    rewrite(path, lambda data: data.__setitem__(3, data[3] ^ 1))
    assert_refused(world["south"], path, capsys, "checksum")


def test_extra_member(world: dict[str, HavenSite], tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "south", tmp_path / "extra.haven")
    parts = [*members(path).items(), ("notes.txt", b"hello")]
    assert_refused(world["south"], write_tar(path, parts), capsys, "unexpected member")


def test_missing_member(world: dict[str, HavenSite], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "south", tmp_path / "missing.haven")
    parts = [(name, data) for name, data in members(path).items() if name != "payload.age"]
    assert_refused(world["south"], write_tar(path, parts), capsys, "lacks payload.age")


def test_member_twice_or_a_directory(world: dict[str, HavenSite], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "south", tmp_path / "twice.haven")
    parts = list(members(path).items())
    assert_refused(world["south"], write_tar(path, [*parts, parts[0]]), capsys, "twice")
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    assert_refused(world["south"], path, capsys, "other than plain files")


def test_tar_header_claiming_ten_gigabytes(world: dict[str, HavenSite], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "south", tmp_path / "huge.haven")
    with path.open("rb") as handle:
        layout = transfer_file.read_layout(handle)
    header_at = layout.payload_offset - 512

    def claim(data: bytearray) -> None:
        block = data[header_at : header_at + 512]
        block[124:136] = f"{10 * 1024**3:012o}".encode()  # twelve octal digits fill the field
        block[148:156] = b"        "
        block[148:156] = f"{sum(block):06o}\0 ".encode()
        data[header_at : header_at + 512] = block

    rewrite(path, claim)
    assert_refused(world["south"], path, capsys, "claims 10737418240 bytes")


def test_unknown_signer(world: dict[str, HavenSite], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["east"], "south", tmp_path / "east.haven")
    assert_refused(world["south"], path, capsys,
                   "not a known peer: add it with 'peer add' once its fingerprint is"
                   " confirmed, then import the file again")


def test_a_sites_own_file_is_not_taken_for_a_strangers(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = export(world["north"], "south", tmp_path / "north.haven")
    assert_refused(world["north"], path, capsys,
                   "the file was written by this site: carry it to the sites it is for")


def test_revoked_signer(world: dict[str, HavenSite], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "south", tmp_path / "revoked.haven")
    world["south"].service.revoke_peer("north")
    assert_refused(world["south"], path, capsys, "revoked")


def test_one_peer_signing_another_peers_manifest(world: dict[str, HavenSite], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    genuine = export(world["north"], "south", tmp_path / "genuine.haven")
    plaintext = plain_payload(genuine, world["south"])
    path = tmp_path / "west-signed.haven"
    forge(path, world["north"], [world["south"]], plaintext, sequence=1, signer=world["west"])
    assert_refused(world["south"], path, capsys, "names another site as sender")


def test_file_for_another_site(world: dict[str, HavenSite], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "west", tmp_path / "for-west.haven")
    # Which site it is for, by the name South knows it by: the IT officer carries it there.
    assert_refused(world["south"], path, capsys,
                   "addressed to other sites, not to this one: it is for 'west'; carry it there")


def test_replay(world: dict[str, HavenSite], tmp_path: Path,
                capsys: pytest.CaptureFixture[str]) -> None:
    path = export(world["north"], "south", tmp_path / "once.haven")
    assert run_import(world["south"], path, capsys)[0] == 0
    assert_refused(world["south"], path, capsys, "imported before (a replay)")
    code, err = run_import(world["south"], path, capsys, "--dry-run")
    assert code == 4
    assert "replay" in err


def test_payload_hash_mismatch(world: dict[str, HavenSite], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    genuine = export(world["north"], "south", tmp_path / "a.haven")
    other = export(world["north"], "south", tmp_path / "b.haven", full=True)
    parts = members(genuine)
    parts["payload.age"] = members(other)["payload.age"]
    assert_refused(world["south"], write_tar(genuine, list(parts.items())), capsys,
                   "does not match its hash")


def test_inner_header_that_disagrees_with_the_manifest(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = world["north"], world["south"]
    for changes in ({"sender": world["west"].site_id}, {"created_at": "2026-01-02T00:00:00.000Z"},
                    {"recipients": [{"site_id": south.site_id, "sequence": 2}]}):
        path = tmp_path / "header.haven"
        payload = header_line(north, [south], 1, changes) + b'{"cases":0,"type":"end"}\n'
        forge(path, north, [south], payload, sequence=1)
        assert_refused(south, path, capsys, "does not match the manifest")


def _genuine_lines(world: dict[str, HavenSite], tmp_path: Path) -> list[bytes]:
    genuine = export(world["north"], "south", tmp_path / "lines.haven")
    return plain_payload(genuine, world["south"]).split(b"\n")[:-1]


def _case_record(lines: list[bytes]) -> dict[str, object]:
    return dict(json.loads(lines[1]))


@pytest.mark.parametrize(
    ("label", "make_line"),
    [
        ("deeply nested", lambda record: b'{"case":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("not JSON", lambda record: b"{not json"),
        ("unknown field", lambda record: json.dumps({**record, "extra": 1}).encode()),
        ("a bad case id", lambda record: json.dumps({**record, "case": "../../etc"}).encode()),
        ("an oversized name", lambda record: json.dumps(_with_name(record, "Я" * 5000)).encode()),
        ("a wrong type", lambda record: json.dumps(_with_name(record, 42)).encode()),
        ("a lone surrogate", lambda record: json.dumps(_with_name(record, "\ud800")).encode()),
        ("a set change without its group",
         lambda record: json.dumps(_with_op(record, kind="set")).encode()),
        ("an op of an unknown kind",
         lambda record: json.dumps(_with_op(record, kind="delete")).encode()),
        ("a stamp far in the future",
         lambda record: json.dumps(_with_op(record, op="9999999999999:0000:" + "a" * 32)).encode()),
        ("an oversized record", lambda record: b'{"case":"' + b"x" * (9 * 1024 * 1024) + b'"}'),
    ],
)
def test_malformed_or_oversized_records(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    label: str, make_line: Callable[[dict[str, object]], bytes],
) -> None:
    north, south = world["north"], world["south"]
    lines = _genuine_lines(world, tmp_path)
    record = _case_record(lines)
    payload = header_line(north, [south], 7) + make_line(record) + b"\n"
    payload += b'{"cases":1,"type":"end"}\n'
    path = tmp_path / "bad-record.haven"
    forge(path, north, [south], payload, sequence=7)
    before = vault_digest(south)
    code, err = run_import(south, path, capsys)
    assert code == 4, (label, err)
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert vault_digest(south) == before


def test_a_number_too_long_to_read(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python reads at most 4,300 digits of an integer; a longer one is a bad file too."""
    north, south = world["north"], world["south"]
    long_number = b"9" * 5000
    header = header_line(north, [south], 1).replace(
        b'"upto_lseq": 0', b'"upto_lseq": ' + long_number
    )
    path = tmp_path / "long-header.haven"
    forge(path, north, [south], header + b'{"cases":0,"type":"end"}\n', sequence=1)
    assert_refused(south, path, capsys, "a number is too long")

    parts = members(export(north, "south", tmp_path / "genuine.haven"))
    manifest = json.loads(parts["manifest.json"])
    size = manifest["checkpoint"]["tree_size"]
    parts["manifest.json"] = parts["manifest.json"].replace(
        f'"tree_size": {size}'.encode(), b'"tree_size": ' + long_number
    )
    assert long_number in parts["manifest.json"]
    parts["manifest.json.sig"] = sshsig.sign(
        parts["manifest.json"], north.session.vault.site_signing_key(), sshsig.TRANSFER_NAMESPACE
    ).encode()
    assert_refused(south, write_tar(tmp_path / "long-manifest.haven", list(parts.items())),
                   capsys, "manifest")


def _with_name(record: dict[str, object], name: object) -> dict[str, object]:
    ops = json.loads(json.dumps(record["ops"]))
    create = next(op for op in ops if op["kind"] == "create")
    create["values"]["persons"][0]["full_name"] = name
    return {**record, "ops": ops}


def _with_op(record: dict[str, object], **changes: object) -> dict[str, object]:
    ops = json.loads(json.dumps(record["ops"]))
    ops[-1].update(changes)
    return {**record, "ops": ops}


def test_a_bad_record_after_good_ones_changes_nothing(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = world["north"], world["south"]
    lines = _genuine_lines(world, tmp_path)
    good = lines[1:-1]
    payload = header_line(north, [south], 3) + b"\n".join(good) + b"\n"
    payload += json.dumps(_with_name(_case_record(lines), "")).encode() + b"\n"
    payload += json.dumps({"cases": len(good) + 1, "type": "end"}).encode() + b"\n"
    path = tmp_path / "late-bad.haven"
    forge(path, north, [south], payload, sequence=3)
    assert_refused(south, path, capsys, "invalid record")


def test_payload_not_encrypted_to_us(world: dict[str, HavenSite], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    north, south, west = world["north"], world["south"], world["west"]
    payload = header_line(north, [south], 1) + b'{"cases":0,"type":"end"}\n'
    path = tmp_path / "wrong-key.haven"
    forge(path, north, [south], payload, sequence=1,
          encrypted=__import__("desktop.transfer.age", fromlist=["encrypt"]).encrypt(
              payload, [west.service.site_identity().age_recipient]))
    assert_refused(south, path, capsys, "not encrypted to this site's key")


def test_inconsistent_audit_checkpoint(world: dict[str, HavenSite], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    north, south = world["north"], world["south"]
    first = export(north, "south", tmp_path / "first.haven")
    assert run_import(south, first, capsys)[0] == 0
    with south.session.vault.reading() as conn:
        first_size = conn.execute(
            "SELECT max(tree_size) FROM peer_checkpoints"
        ).fetchone()[0]
    # North rewrites an old audit entry (recomputing its hashes, so its own chain looks fine).
    rewrite_audit_entry(north)
    second = export(north, "south", tmp_path / "second.haven")
    # North goes on with its file numbering, as no restore from a backup does: so nothing
    # suggests resetting its checkpoint, which would take the rewritten history.
    assert_refused(south, second, capsys, "history was rewritten. 'north' was not restored"
                   " from a backup (its file numbering goes on): tell its IT officer, and do"
                   " not reset its checkpoint")
    # Nothing was taken, but the refusal is on record: evidence of what North sent.
    with south.session.vault.reading() as conn:
        refused = conn.execute(
            "SELECT detail FROM audit_log WHERE action = 'transfer_refused'"
        ).fetchall()
    assert [detail for (detail,) in refused] == [
        f"second.haven: the sender's audit log does not extend the one it showed before"
        f" ({first_size} entries): its history was rewritten. 'north' was not restored from"
        " a backup (its file numbering goes on): tell its IT officer, and do not reset its"
        " checkpoint"
    ]


def _south_took_a_file(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[HavenSite, HavenSite]:
    """North and South, once South imported a first file of North's (its checkpoint too)."""
    north, south = world["north"], world["south"]
    first = export(north, "south", tmp_path / "0.haven")
    assert run_import(south, first, capsys)[0] == 0
    return north, south


def test_a_log_cut_short_after_a_file_is_refused_as_such(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = _south_took_a_file(world, tmp_path, capsys)
    with north.session.vault.reading() as conn:
        shown = conn.execute("SELECT max(checkpoint_size) FROM sent_files").fetchone()[0]
    with north.session.vault.transaction() as conn:  # a key holder cuts North's log short
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (shown - 2,))
    second = export(north, "south", tmp_path / "second.haven")
    assert_refused(south, second, capsys, f"the sender's audit log has {shown - 1} entries,"
                   " fewer than it showed in its file #1: its last entries were cut off. 'north'"
                   " was not restored from a backup")


def test_files_imported_out_of_order_are_checked_or_refused_with_the_way_out(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    north, south = _south_took_a_file(world, tmp_path, capsys)
    # Eighteen files more, while nothing comes back from South.
    files = [export(north, "south", tmp_path / f"{n}.haven") for n in range(1, 19)]
    # South took the first only: the last still proves that it extends what South holds
    # (a proof from the oldest checkpoint South has not confirmed rides along).
    assert run_import(south, files[-1], capsys)[0] == 0
    # A file between can no longer be checked; its changes came with the last one.
    assert_refused(south, files[0], capsys, "can no longer be checked. Import the files of"
                   " 'north' in the order they were written; what this one carried came with"
                   " its newer files too")


def _persons(record: dict[str, object]) -> list[dict[str, object]]:
    ops = json.loads(json.dumps(record["ops"]))
    return list(next(op for op in ops if op["kind"] == "create")["values"]["persons"])


def _copies(record: dict[str, object], count: int) -> list[bytes]:
    """Case lines of ``record``'s case under other case ids and reference codes."""
    lines = []
    for number in range(count):
        ops = json.loads(json.dumps(record["ops"]))
        create = next(op for op in ops if op["kind"] == "create")
        create["values"]["ref"] = f"NO-{number:06d}"
        lines.append(json.dumps({"case": f"{number:032x}", "ops": ops}).encode())
    return lines


@pytest.mark.parametrize("flaw", [
    "none", "a bad last record", "a reference used twice early",
    "a case twice in one batch", "a case twice in two batches",
])
def test_a_file_of_several_batches_is_applied_whole_or_not_at_all(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str], flaw: str,
) -> None:
    north, south = world["north"], world["south"]
    lines = _genuine_lines(world, tmp_path)
    record = _case_record(lines)
    cases = _copies(record, 2_500)  # checked and written in batches
    if flaw == "a bad last record":
        cases.append(json.dumps(_with_name(record, "")).encode())
    elif flaw == "a reference used twice early":
        # Refused while the first batch is written, with the rest still being decrypted.
        cases[1] = cases[1].replace(b"NO-000001", b"NO-000000")
    elif flaw == "a case twice in one batch":
        cases[3] = cases[2]
    elif flaw == "a case twice in two batches":
        cases.append(cases[0])
    payload = header_line(north, [south], 5) + b"\n".join(cases) + b"\n"
    payload += json.dumps({"cases": len(cases), "type": "end"}).encode() + b"\n"
    path = tmp_path / "batches.haven"
    forge(path, north, [south], payload, sequence=5)
    if flaw == "a bad last record":
        assert_refused(south, path, capsys, "invalid record")
        return
    if flaw == "a reference used twice early":
        assert_refused(south, path, capsys, "reference code of another case")
        return
    if flaw.startswith("a case twice"):  # a case travels whole, on one line
        assert_refused(south, path, capsys, "one case on two lines")
        return
    before = south.session.count_cases()
    code, err = run_import(south, path, capsys)
    assert code == 0, err
    assert south.session.count_cases() == before + 2_500
    last = south.session.get_case(f"{2_499:032x}", audit_view=False)
    assert last.ref == "NO-002499"
    assert [p.full_name for p in last.persons] == [p["full_name"] for p in _persons(record)]


def test_a_case_that_would_outgrow_a_transfer_file(
    world: dict[str, HavenSite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ops that fit one file's limits but not beside those held: this site could not send
    the case on, so it is refused before it is taken."""
    north, south = world["north"], world["south"]
    lines = _genuine_lines(world, tmp_path)
    record = _case_record(lines)
    first = tmp_path / "first.haven"
    forge(first, north, [south], header_line(north, [south], 1) + lines[1]
          + b'\n{"cases":1,"type":"end"}\n', sequence=1)
    assert run_import(south, first, capsys)[0] == 0
    create = next(op for op in record["ops"] if op["kind"] == "create")  # type: ignore[attr-defined]
    held = len(record["ops"])  # type: ignore[arg-type]
    contacts = [
        {"op": f"{1_700_000_000_000 + n // 1000:013d}:{n % 1000:04d}:{north.site_id}",
         "kind": "contact", "at": create["at"], "by": "admin",
         "values": {"channel": "phone", "stage": "confirmation", "summary": f"call {n}"}}
        for n in range(payload.MAX_OPS_PER_CASE - held + 1)
    ]
    line = {"case": record["case"], "ops": [create, *contacts]}  # within the per-line limit
    text = header_line(north, [south], 2) + json.dumps(line).encode() + b"\n"
    path = tmp_path / "outgrow.haven"
    forge(path, north, [south], text + b'{"cases":1,"type":"end"}\n', sequence=2)
    assert_refused(south, path, capsys, "beyond what one transfer file can carry")

    contacts.pop()  # one change fewer: the case then holds exactly the most a line carries
    line = {"case": record["case"], "ops": [create, *contacts]}
    text = header_line(north, [south], 2) + json.dumps(line).encode() + b"\n"
    forge(path, north, [south], text + b'{"cases":1,"type":"end"}\n', sequence=2)
    code, err = run_import(south, path, capsys)
    assert code == 0, err
    assert run_import(
        world["west"], export(south, "west", tmp_path / "on.haven", full=True), capsys
    )[0] == 0
