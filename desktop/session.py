"""A signed-in user's session: every case operation, permission-checked and audited.

The CLI and the GUI both work through this class; it never touches a widget.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from db import audit, audit_tree, audit_union, cases, login_journal, peers, search, sync, users
from db.keyslots import RECOVERY_USER, KdfParams, KeyslotError, WrongPassword
from db.migrate import MigrationError
from db.names import names_similar
from db.records import (
    Case,
    CaseSummary,
    Channel,
    CodewordAttempt,
    ContactEntry,
    ContactStage,
    NewCase,
    Person,
    Role,
    SiteInfo,
    Status,
    StatusChange,
    User,
)
from db.vault import (
    Rekeyed,
    RekeyUnfinished,
    Vault,
    VaultError,
    VaultFull,
    VaultInUse,
    VaultPlaceError,
    now_utc,
)
from desktop import refcode, workflow
from desktop.errors import (
    AuthenticationFailed,
    HavenError,
    InputRejected,
    NotFound,
    PermissionDenied,
    WrongPlace,
)
from desktop.files import remove_left_folders
from desktop.i18n import ngettext
from desktop.permissions import Action, allowed, require
from desktop.text_rules import (
    HIDDEN_CHARACTERS,
    UNPRINTABLE,
    holds_hidden_characters,
    printable,
)

# After this many wrong codewords in a row the case is flagged as a possible impostor.
CODEWORD_FLAG_AFTER = 3
JUST_VERIFIED_WINDOW = timedelta(minutes=15)
MAX_USER_NAME = 64
MAX_SITE_NAME = 100
MAX_PLACE_NAME = 200  # a meeting point or receiving unit on the site's lists


@dataclass(frozen=True, slots=True)
class IntakeResult:
    case_id: str
    ref: str
    codeword: str  # read to the caller once; only a salted digest is stored


@dataclass(frozen=True, slots=True)
class ListedAuditEntry:
    """An audit entry of this site's log or another site's, as listed for a person."""

    site: str  # the site's name (a peer's, or this site's)
    site_id: str
    seq: int
    at: str
    actor: str
    action: str
    case_id: str | None
    ref: str | None
    detail: str
    set_aside: bool  # its site was restored from a backup after it: an earlier history


@dataclass(frozen=True, slots=True)
class PreparedCodeword:
    """A codeword with its salted digest, made ahead so saving an intake stays quick."""

    codeword: str
    salt: bytes
    digest: bytes


@dataclass(frozen=True, slots=True)
class CodewordResult:
    matched: bool
    failures_in_a_row: int
    flagged: bool


@dataclass(frozen=True, slots=True)
class DuplicateHint:
    case_id: str
    ref: str
    status: Status
    full_name: str
    reason: str  # "phone" or "name and birth date"
    persons: tuple[int, ...] = ()  # the positions of the persons asked about it is like


def _validate_user_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_USER_NAME or cleaned.startswith("@"):
        raise InputRejected(f"user names are 1-{MAX_USER_NAME} characters and do not start with @")
    if any(ch.isspace() for ch in cleaned):
        raise InputRejected("user names cannot contain spaces")
    if holds_hidden_characters(cleaned):
        raise InputRejected("user names cannot contain a control or invisible character")
    return cleaned


def validate_new_password(password: str) -> str:
    if len(password) < 10:
        raise InputRejected("the password must be at least 10 characters long")
    return password


def _open_failure(exc: Exception) -> HavenError:
    if isinstance(exc, WrongPassword):
        return AuthenticationFailed("wrong user name or password")
    return HavenError(str(exc))


class Session:
    """The unlocked vault plus who is signed in."""

    def __init__(self, vault: Vault, user: User) -> None:
        self.vault = vault
        self.user = user
        with vault.reading() as conn:
            self.site: SiteInfo = users.site_info(conn)

    # --- opening -------------------------------------------------------------------------------

    @classmethod
    def create_site(
        cls, data_dir: Path, site_name: str, admin: str, password: str, kdf: KdfParams
    ) -> tuple[Session, str]:
        """A new site with its admin; returns the session and the one-time recovery key."""
        admin = _validate_user_name(admin)
        validate_new_password(password)
        if not site_name.strip():
            raise InputRejected("the site needs a name")
        if len(site_name.strip()) > MAX_SITE_NAME or holds_hidden_characters(site_name.strip()):
            raise InputRejected(
                f"the site's name is at most {MAX_SITE_NAME} characters, with no control or"
                " invisible character"
            )
        if not printable(site_name):  # on every handoff sheet and key card
            raise InputRejected(f"the site's name {UNPRINTABLE}")
        site_id = uuid.uuid4().hex
        try:
            created = Vault.create(
                data_dir,
                site_name=site_name.strip(),
                ref_prefix=refcode.site_prefix_for(site_id),
                site_id=site_id,
                admin=admin,
                password=password,
                kdf=kdf,
            )
        except VaultFull:
            raise  # said as such by every front end
        except VaultPlaceError as exc:
            raise WrongPlace(str(exc)) from None
        except (VaultError, KeyslotError, OSError) as exc:
            raise HavenError(str(exc)) from None
        with created.vault.transaction() as conn:
            audit.append(conn, admin, "site_created", detail=site_name.strip())
        session = cls(created.vault, users.get_user(created.vault.conn, admin))  # type: ignore[arg-type]
        return session, created.recovery_key

    @classmethod
    def open(
        cls, data_dir: Path, user: str, password: str, decoy_kdf: KdfParams | None = None
    ) -> Session:
        """Unlock the vault as `user`; AuthenticationFailed if the password or account is bad."""
        try:
            vault = Vault.unlock(data_dir, user, password, decoy_kdf=decoy_kdf)
        except VaultFull:
            raise  # said as such by every front end
        except VaultPlaceError as exc:
            raise WrongPlace(str(exc)) from None
        except (WrongPassword, KeyslotError, VaultError, MigrationError) as exc:
            raise _open_failure(exc) from None
        try:
            with vault.transaction() as conn:
                for failure in vault.pending_failed_logins:
                    audit.append(
                        conn, failure.user, "login_failed", detail=failure.at.isoformat()
                    )
                account = users.get_user(conn, user)
                if account is None or account.disabled:
                    audit.append(conn, user, "login_refused", detail="disabled or unknown account")
                else:
                    audit.append(conn, user, "login")
        except BaseException:
            vault.close()
            raise
        login_journal.clear(vault.claimed_journals)
        if account is None or account.disabled:
            vault.close()
            if account is None:  # a key was stored, but adding the account did not finish
                raise AuthenticationFailed(f"there is no account {user!r}; add it again")
            raise AuthenticationFailed(f"the account {user!r} is disabled")
        return cls(vault, account)

    def close(self) -> None:
        self.vault.close()

    @property
    def role(self) -> Role:
        return self.user.role

    def can(self, action: Action) -> bool:
        return allowed(self.user.role, action)

    def _require(self, action: Action) -> None:
        require(self.user.role, action)

    # --- intake --------------------------------------------------------------------------------

    @staticmethod
    def prepare_codeword() -> PreparedCodeword:
        """A fresh codeword and its digest; slow on purpose (scrypt), so run it early."""
        codeword = refcode.new_codeword(secrets.SystemRandom())
        salt = secrets.token_bytes(16)
        return PreparedCodeword(codeword, salt, refcode.codeword_digest(codeword, salt))

    def register_case(self, new: NewCase, prepared: PreparedCodeword | None = None) -> IntakeResult:
        """Save a first contact with its audit entry; returns the reference and codeword."""
        self._require(Action.REGISTER_CASE)
        if not new.persons:
            raise InputRejected("a case needs at least one person")
        prepared = prepared or self.prepare_codeword()
        codeword, salt, digest = prepared.codeword, prepared.salt, prepared.digest
        moment = now_utc()
        case_id = uuid.uuid4().hex
        with self.vault.transaction() as conn:
            ref = self._unused_reference(conn)
            cases.insert_case(
                conn,
                new,
                cases.CaseInsert(
                    id=case_id,
                    ref=ref,
                    codeword_salt=salt,
                    codeword_digest=digest,
                    created_at=moment,
                    created_by=self.user.name,
                    origin_site=self.site.site_id,
                    hlc=hlc_stamp(moment, self.site.site_id),
                ),
            )
            cases.add_contact(
                conn,
                ContactEntry(
                    case_id=case_id,
                    at=moment,
                    channel=new.channel,
                    operator=self.user.name,
                    stage=ContactStage.FIRST_CONTACT,
                    summary=ngettext(
                        "First contact: {count} person",
                        "First contact: {count} persons",
                        len(new.persons),
                    ).format(count=len(new.persons)),
                ),
            )
            audit.append(conn, self.user.name, "case_registered", case_id, ref)
        return IntakeResult(case_id=case_id, ref=ref, codeword=codeword)

    def _unused_reference(self, conn: Any) -> str:
        rng = secrets.SystemRandom()
        for _ in range(100):
            ref = refcode.new_reference(self.site.ref_prefix, rng)
            if not cases.ref_exists(conn, ref):
                return ref
        raise HavenError("could not find an unused reference code; the site is full")

    def possible_duplicates(self, persons: Sequence[Person]) -> list[DuplicateHint]:
        """Cases with a person of the same phone, or a similar name and the same birth date;
        each hint names which of the persons given it is like, in their order."""
        self._require(Action.VIEW_CASES)
        by_phone: dict[str, list[int]] = {}
        by_birth: dict[str, list[int]] = {}
        for position, person in enumerate(persons):
            if person.phone:
                by_phone.setdefault(person.phone, []).append(position)
            if person.birth_date and person.full_name:
                by_birth.setdefault(person.birth_date, []).append(position)
        found: dict[tuple[str, str], tuple[str, set[int]]] = {}  # (case, name): reason, persons
        with self.vault.reading() as conn:
            for case_id, name, phone in cases.persons_with_phone(conn, list(by_phone)):
                found.setdefault((case_id, name), ("phone", set()))[1].update(by_phone[phone])
            for case_id, name, born in cases.persons_born(conn, list(by_birth)):
                alike = [i for i in by_birth[born] if names_similar(persons[i].full_name, name)]
                if alike:
                    found.setdefault((case_id, name), ("name and birth date", set()))[1].update(
                        alike)
            hints = [self._hint(conn, case_id, name, reason, tuple(sorted(positions)))
                     for (case_id, name), (reason, positions) in list(found.items())[:20]]
        return sorted(hints, key=lambda hint: hint.persons)

    @staticmethod
    def _hint(conn: Any, case_id: str, name: str, reason: str, persons: tuple[int, ...]
              ) -> DuplicateHint:
        summary = cases.summaries_for_rowids(conn, [cases.case_rowid(conn, case_id)])[0]
        return DuplicateHint(case_id, summary.ref, summary.status, name, reason, persons)

    # --- finding and reading -------------------------------------------------------------------

    def resolve(self, ref_or_id: str) -> str:
        """The case id for a reference code (as typed) or an id; NotFound otherwise."""
        self._require(Action.VIEW_CASES)
        return self._case_id_for(ref_or_id)

    def _case_id_for(self, ref_or_id: str) -> str:
        canonical = refcode.normalize_reference(ref_or_id)
        with self.vault.reading() as conn:
            if canonical is not None:
                found = cases.find_by_ref(conn, canonical)
                if found is not None:
                    return found
            try:
                cases.case_rowid(conn, ref_or_id.strip().lower())
                return ref_or_id.strip().lower()
            except cases.CaseNotFound:
                pass
        # Not echoed: what was typed where a reference belongs may be a person's name,
        # and this line ends up in logs.
        raise NotFound("no case with that reference")

    def get_case(self, case_id: str, *, audit_view: bool = True) -> Case:
        self._require(Action.VIEW_CASES)
        try:
            if audit_view:
                with self.vault.transaction() as conn:
                    found = cases.get_case(conn, case_id)
                    audit.append(conn, self.user.name, "case_viewed", case_id)
                return found
            with self.vault.reading() as conn:
                return cases.get_case(conn, case_id)
        except cases.CaseNotFound:
            raise NotFound(f"no case {case_id!r}") from None

    def search(self, text: str, limit: int = 100) -> list[CaseSummary]:
        """Cases matching a reference, phone or name (any script), most urgent first."""
        self._require(Action.VIEW_CASES)
        with self.vault.reading() as conn:
            ref_keys: list[str] = []
            if refcode.is_reference_like(text):  # the peers are read only for a code
                prefixes = [self.site.ref_prefix] + [
                    refcode.site_prefix_for(peer.site_id) for peer in peers.list_peers(conn)]
                ref_keys = refcode.reference_search_keys(text, prefixes)
            query = search.parse_query(text, ref_keys)
            rowids = search.matching_case_rowids(conn, query, limit)
            return cases.summaries_for_rowids(conn, rowids)

    def queue_page(
        self,
        statuses: Iterable[Status] | None,
        after: cases.QueueCursor | None = None,
        limit: int = 200,
    ) -> tuple[list[CaseSummary], cases.QueueCursor | None]:
        self._require(Action.VIEW_CASES)
        with self.vault.reading() as conn:
            return cases.queue_page(conn, statuses, after, limit)

    def count_cases(self, statuses: Iterable[Status] | None = None) -> int:
        self._require(Action.VIEW_CASES)
        with self.vault.reading() as conn:
            return cases.count_cases(conn, statuses)

    def view_cases(self, case_ids: Sequence[str]) -> list[Case]:
        """Cases read in full at once (a listing with every field): each view is audited."""
        self._require(Action.VIEW_CASES)
        try:
            with self.vault.transaction() as conn:
                found = [cases.get_case(conn, case_id) for case_id in case_ids]
                for case_id in case_ids:
                    audit.append(conn, self.user.name, "case_viewed", case_id, "listed in full")
        except cases.CaseNotFound:
            raise NotFound("a listed case is gone; list again") from None
        return found

    def cases_full(self, statuses: Iterable[Status] | None = None) -> Iterable[Case]:
        """Every case (optionally of some statuses), loaded page by page."""
        self._require(Action.VIEW_CASES)
        after = None
        while True:
            page, after = self.queue_page(statuses, after, 500)
            with self.vault.reading() as conn:
                for summary in page:
                    yield cases.get_case(conn, summary.id)
            if after is None:
                return

    def contacts(self, case_id: str) -> list[ContactEntry]:
        self._require(Action.VIEW_CASES)
        with self.vault.reading() as conn:
            return cases.contacts(conn, case_id)

    def status_history(self, case_id: str) -> list[StatusChange]:
        self._require(Action.VIEW_CASES)
        with self.vault.reading() as conn:
            return cases.status_history(conn, case_id)

    def codeword_attempts(self, case_id: str) -> list[CodewordAttempt]:
        self._require(Action.VIEW_CASES)
        with self.vault.reading() as conn:
            return cases.codeword_attempts(conn, case_id)

    def conflicted_groups(self, case_id: str) -> list[str]:
        """The field groups of the case (``arrangement``, ``status``, …) that two sites
        changed without seeing each other, as long as no manager has kept one version."""
        self._require(Action.VIEW_CASES)
        with self.vault.reading() as conn:
            return sorted({c.group for c in sync.list_case_conflicts(conn, case_id)})

    # --- working a case ------------------------------------------------------------------------

    def verify_codeword(self, case_id: str, spoken: str) -> CodewordResult:
        """Check what the caller said; every attempt is logged, repeated failure flags the case."""
        self._require(Action.WORK_CASE)
        with self.vault.transaction() as conn:
            salt, digest = cases.codeword_secret(conn, case_id)
            matched = refcode.codeword_matches(spoken, salt, digest)
            failures = cases.record_codeword_attempt(
                conn,
                CodewordAttempt(case_id, now_utc(), self.user.name, matched),
                CODEWORD_FLAG_AFTER,
            )
            flagged = failures >= CODEWORD_FLAG_AFTER
            action = "codeword_verified" if matched else "codeword_failed"
            audit.append(conn, self.user.name, action, case_id, f"failures in a row: {failures}")
            if flagged and failures == CODEWORD_FLAG_AFTER:
                audit.append(conn, self.user.name, "case_flagged", case_id, "possible impostor")
        return CodewordResult(matched, failures, flagged)

    def _just_verified(self, case_id: str, spoken: str) -> bool:
        """Whether this user's last attempt on the case matched this codeword moments ago.

        The desk checks the codeword first and confirms a minute later with the same
        words; logging that second check as another attempt would double the record.
        """
        with self.vault.reading() as conn:
            attempts = cases.codeword_attempts(conn, case_id)
            if not attempts:
                return False
            last = attempts[-1]
            fresh = now_utc() - last.at < JUST_VERIFIED_WINDOW
            if not (last.success and last.by == self.user.name and fresh):
                return False
            salt, digest = cases.codeword_secret(conn, case_id)
        return refcode.codeword_matches(spoken, salt, digest)

    def add_contact(
        self, case_id: str, channel: Channel, stage: ContactStage, summary: str
    ) -> ContactEntry:
        self._require(Action.WORK_CASE)
        text = summary.strip()
        if not text:
            raise InputRejected("a contact entry needs a summary")
        if holds_hidden_characters(text, lines=True):
            raise InputRejected(f"the summary {HIDDEN_CHARACTERS}")
        if len(text) > workflow.MAX_TEXT:
            raise InputRejected(f"the summary is longer than {workflow.MAX_TEXT} characters")
        entry = ContactEntry(case_id, now_utc(), channel, self.user.name, stage, text)
        with self.vault.transaction() as conn:
            cases.add_contact(conn, entry)
            audit.append(conn, self.user.name, "contact_added", case_id, stage.value)
        return entry

    def allowed_transitions(self, case: Case) -> list[workflow.Transition]:
        """Transitions from the case's status that this user's role may take."""
        return [t for t in workflow.transitions_from(case) if self.can(t.action)]

    def advance(self, case_id: str, target: Status, fields: Mapping[str, Any]) -> Case:
        """One workflow transition with its fields, all or nothing, audited."""
        self._require(Action.VIEW_CASES)
        case = self.get_case(case_id, audit_view=False)
        transition = workflow.find_transition(case, target)
        self._require(transition.action)
        cleaned = workflow.validate_fields(transition, fields)
        if target == Status.CONFIRMED:
            spoken = cleaned.pop("codeword")
            if self._just_verified(case_id, spoken):
                result = CodewordResult(matched=True, failures_in_a_row=0, flagged=case.flagged)
            else:
                result = self.verify_codeword(case_id, spoken)
            if not result.matched:
                raise workflow.TransitionRejected(
                    "the codeword does not match; the case was not confirmed"
                    + (" and is flagged as a possible impostor" if result.flagged else "")
                )
        if target == Status.DUPLICATE:
            original = self.resolve(str(cleaned["duplicate_of"]))
            if original == case_id:
                raise workflow.TransitionRejected("a case cannot be a duplicate of itself")
            first = self.get_case(original, audit_view=False)
            if first.status in (Status.WITHDRAWN, Status.CLOSED):
                # Both would leave the open queue, and the caller's new request with them.
                raise workflow.TransitionRejected(
                    f"case {first.ref} is {first.status.value}: a new request is not its"
                    " duplicate; keep this case open"
                )
            if first.status == Status.DUPLICATE:
                # Else two cases could name each other and both leave the open queue.
                try:
                    earlier = self.get_case(first.duplicate_of or "", audit_view=False).ref
                except NotFound:  # a case of another site that has not reached this one
                    earlier = "the case it duplicates"
                raise workflow.TransitionRejected(
                    f"case {first.ref} is itself marked a duplicate; name {earlier} instead"
                )
            cleaned["duplicate_of"] = original
        if target == Status.HANDOFF_ARRANGED:
            self._check_site_list("meeting_point", cleaned["meeting_point"])
            self._check_site_list("receiving_unit", cleaned["receiving_unit"])
        history_only: dict[str, Any] = {
            k: cleaned.pop(k) for k in ("notes", "received_by") if k in cleaned
        }
        moment = now_utc()
        with self.vault.transaction() as conn:
            cases.update_fields(conn, case_id, cleaned, moment, by=self.user.name)
            everything: dict[str, Any] = {**cleaned, **history_only}
            recorded = {k: str(v) for k, v in everything.items()}
            cases.set_status(
                conn,
                case_id,
                StatusChange(case_id, case.status, target, moment, self.user.name, recorded),
            )
            audit.append(
                conn,
                self.user.name,
                "case_advanced",
                case_id,
                f"{case.status.value}->{target.value}",
            )
        return self.get_case(case_id, audit_view=False)

    def _check_site_list(self, kind: str, name: str) -> None:
        with self.vault.reading() as conn:
            known = users.site_places(conn, kind)
        if known and name not in known:
            # The field, not what was given: a name typed in the wrong field would be repeated.
            raise workflow.TransitionRejected(
                f"'{kind}' is not on the site's list of {kind.replace('_', ' ')}s"
            )

    # --- site lists ----------------------------------------------------------------------------

    def site_places(self, kind: str) -> list[str]:
        with self.vault.reading() as conn:
            return users.site_places(conn, kind)

    def set_site_places(self, kind: str, names: Sequence[str]) -> None:
        self._require(Action.MANAGE_SITE_LISTS)
        cleaned = sorted({name.strip() for name in names if name.strip()})
        if any(holds_hidden_characters(name) for name in cleaned):
            raise InputRejected(f"a name on the list {HIDDEN_CHARACTERS}")
        if any(len(name) > MAX_PLACE_NAME for name in cleaned):
            raise InputRejected(f"a name on the list is longer than {MAX_PLACE_NAME} characters")
        if not all(printable(name) for name in cleaned):
            raise InputRejected(f"a name on the list {UNPRINTABLE}")
        with self.vault.transaction() as conn:
            users.set_site_places(conn, kind, cleaned)
            audit.append(conn, self.user.name, "site_list_changed", detail=kind)

    # --- accounts ------------------------------------------------------------------------------

    @staticmethod
    def unlock_with_recovery_key(data_dir: Path, recovery_key: str) -> Vault:
        """Break-glass: the vault opened with the recovery key that init printed; a wrong
        key is journaled as a failed login of the recovery slot."""
        try:
            return Vault.unlock_with_recovery_key(data_dir, recovery_key)
        except (WrongPassword, KeyslotError) as exc:
            raise AuthenticationFailed(str(exc)) from None
        except VaultFull:
            raise
        except VaultPlaceError as exc:
            raise WrongPlace(str(exc)) from None
        except (VaultError, MigrationError) as exc:
            raise _open_failure(exc) from None

    @staticmethod
    def recover(
        data_dir: Path, recovery_key: str, admin: str, password: str, kdf: KdfParams
    ) -> None:
        """Break-glass: open the vault with the recovery key and give an admin account a
        new password (taking it back into use if it was disabled), audited."""
        validate_new_password(password)
        vault = Session.unlock_with_recovery_key(data_dir, recovery_key)
        try:
            with vault.reading() as conn:
                account = users.get_user(conn, admin)
            if account is None or account.role != Role.ADMIN:
                raise InputRejected(f"{admin!r} is not an admin account of this site")
            slot = vault.seal_slot(admin, password, kdf)  # the KDF's second, outside the lock
            with vault.transaction() as conn:
                if account.disabled:
                    users.set_disabled(conn, admin, False)
                audit.append(conn, RECOVERY_USER, "recovery_key_used",
                             detail=f"new password for {admin}")
                vault.store_slot(slot)
        finally:
            vault.close()

    def list_users(self) -> list[User]:
        self._require(Action.MANAGE_USERS)
        with self.vault.reading() as conn:
            return users.list_users(conn)

    def _require_over(self, role: Role) -> None:
        """Account managers manage accounts; an admin account only another admin.

        Else an IT officer, who may not read cases, could make an admin account, or take
        over the admin's, and read them.
        """
        self._require(Action.MANAGE_USERS)
        if role == Role.ADMIN and self.role != Role.ADMIN:
            raise PermissionDenied("only an admin may add, change or disable an admin account")

    def _account(self, name: str) -> User:
        with self.vault.reading() as conn:
            account = users.get_user(conn, name)
        if account is None:
            raise NotFound(f"no user {name!r}")
        return account

    def add_user(self, name: str, role: Role, password: str, kdf: KdfParams) -> None:
        self._require_over(role)
        name = _validate_user_name(name)
        validate_new_password(password)
        slot = self.vault.seal_slot(name, password, kdf)  # the KDF's second, outside the lock
        with self.vault.transaction() as conn:
            try:
                users.add_user(conn, name, role)
            except users.UserExists as exc:
                raise InputRejected(str(exc)) from None
            audit.append(conn, self.user.name, "user_added", detail=f"{name} ({role.value})")
            # Inside the transaction: a slot that cannot be written takes the account back.
            self.vault.store_slot(slot)

    def disable_user(
        self,
        name: str,
        progress: Callable[[int, int], None] | None = None,
        new_recovery_key: Callable[[str], None] | None = None,
    ) -> Rekeyed:
        """Disable an account, remove its keyslot and re-key the vault (see rekey_vault)."""
        self._require(Action.MANAGE_USERS)
        account = self._account(name)
        self._require_over(account.role)
        if name == self.user.name:
            raise InputRejected("you cannot disable your own account")
        if account.disabled:
            raise InputRejected(
                f"{name!r} is disabled already; to re-key the vault, run 'haven-admin site rekey'"
            )
        with self.vault.transaction() as conn:
            try:
                users.set_disabled(conn, name, True)
            except users.UnknownUser as exc:
                raise NotFound(str(exc)) from None
            audit.append(conn, self.user.name, "user_disabled", detail=name)
            users.set_rekey_owed(conn, True)
            # Inside the write transaction, like every other change of the keyslot file: one
            # written meanwhile by another process (a user added) is not overwritten.
            self.vault.remove_slots(name)
        done = f"{name!r} is disabled and their keyslot removed"
        try:
            return self.rekey_vault(progress, new_recovery_key)
        except RekeyUnfinished as exc:
            raise HavenError(f"{done}; {exc}") from None
        except VaultInUse:
            reason = "it is open in another Haven or haven-admin on this computer; close it"
        except VaultError as exc:
            reason = f"{exc}; once that is mended"
        raise HavenError(
            f"{done}, but the vault was not re-encrypted: {reason} and run 'haven-admin site"
            " rekey'. Until then an old copy of the keyslot file with their password still"
            " opens the vault"
        )

    def rekey_vault(
        self,
        progress: Callable[[int, int], None] | None = None,
        new_recovery_key: Callable[[str], None] | None = None,
    ) -> Rekeyed:
        """Re-encrypt the vault under a new database key (see Vault.rekey), audited."""
        self._require(Action.MANAGE_USERS)
        rekeyed = self.vault.rekey(progress, new_recovery_key)
        # A killed backup's snapshot would go on opening with the key just retired.
        remove_left_folders(self.vault.data_dir)
        detail = "; ".join(
            [
                "sealed to " + ", ".join(rekeyed.sealed),
                *rekeyed.dropped,
                *(["new recovery key"] if rekeyed.recovery_key else []),
            ]
        )
        with self.vault.transaction() as conn:
            audit.append(conn, self.user.name, "vault_rekeyed", detail=detail)
            users.set_rekey_owed(conn, False)
        return rekeyed

    @property
    def rekey_unfinished(self) -> bool:
        """Whether an account was disabled, or a re-keying begun, without the vault being
        re-keyed to the end since: an old copy of the key may still open it."""
        if self.vault.rekey_unfinished:
            return True
        with self.vault.reading() as conn:
            return users.rekey_owed(conn)

    def change_password(self, name: str, password: str, kdf: KdfParams) -> None:
        """Users change their own password; account managers may set anyone's."""
        if name != self.user.name:
            self._require(Action.MANAGE_USERS)
        account = self._account(name)
        if name != self.user.name:
            self._require_over(account.role)
        validate_new_password(password)
        if account.disabled:
            raise NotFound(f"no active user {name!r}")
        slot = self.vault.seal_slot(name, password, kdf)  # the KDF's second, outside the lock
        with self.vault.transaction() as conn:
            audit.append(conn, self.user.name, "password_changed", detail=name)
            # Inside the transaction, as for a new account: written just before the commit,
            # and a slot that cannot be written takes the audit entry back.
            self.vault.store_slot(slot)

    # --- audit ---------------------------------------------------------------------------------

    def count_audit_entries(self, case: str | None = None) -> int:
        """How many audit entries are held, of every site (or about one case)."""
        self._require(Action.VERIFY_AUDIT)
        # The log names cases by reference to whoever may read it, IT officers included.
        case_id = None if case is None else self._case_id_for(case)
        with self.vault.reading() as conn:
            return audit_union.count(conn, case_id)

    def audit_entries(
        self, case: str | None = None, newest: int | None = None
    ) -> list[ListedAuditEntry]:
        """Audit entries held, this site's and other sites', oldest first.

        ``case`` keeps those about one case; ``newest`` only that many of the latest.
        """
        self._require(Action.VERIFY_AUDIT)
        case_id = None if case is None else self._case_id_for(case)
        with self.vault.transaction() as conn:
            names = {peer.site_id: peer.name for peer in peers.list_peers(conn)}
            names[self.site.site_id] = self.site.name
            entries = audit_union.union(conn, self.site.site_id, case_id, newest)
            refs = cases.refs_for_ids(conn, {e.case_id for e, _ in entries if e.case_id})
            audit.append(conn, self.user.name, "audit_listed", case_id)
        return [
            ListedAuditEntry(
                site=names.get(e.origin, e.origin[:8]), site_id=e.origin, seq=e.seq, at=e.at,
                actor=e.actor, action=e.action, case_id=e.case_id,
                ref=refs.get(e.case_id) if e.case_id else None, detail=e.detail,
                set_aside=set_aside,
            )
            for e, set_aside in entries
        ]

    def verify_audit(self) -> audit.AuditReport:
        self._require(Action.VERIFY_AUDIT)
        with self.vault.reading() as conn:
            report = audit.verify(conn)
            names = {peer.site_id: peer.name for peer in peers.list_peers(conn)}
            held = audit_union.verify_held(conn, names)
        report = dataclasses.replace(report, problems=report.problems + tuple(held))
        with self.vault.transaction() as conn:
            found = "intact" if report.ok else f"{len(report.problems)} problem(s) found"
            audit.append(conn, self.user.name, "audit_verified",
                         detail=f"{report.entries} entries, {found}")
        return report

    def audit_root_at(self, size: int) -> bytes:
        """The RFC 6962 root of this site's audit log over its first ``size`` entries: what
        a handoff sheet printed at that size shows, if the log was not rewritten since."""
        self._require(Action.VERIFY_AUDIT)
        with self.vault.reading() as conn:
            held = audit_tree.local_size(conn)
            tree = (
                audit_tree.tree(conn, audit_tree.LOCAL, size, store=False)
                if 0 <= size <= held
                else None
            )
        if tree is None:
            raise InputRejected(
                f"this site's audit log holds {held} entries, not {size}: a sheet that shows a"
                " root after more entries than the log holds was printed before the log was"
                " cut short, or by another site"
            )
        return tree.root()


def hlc_stamp(moment: Any, site_id: str) -> str:
    """A hybrid logical clock stamp: milliseconds, a counter, and the origin site."""
    return f"{int(moment.timestamp() * 1000):013d}:0000:{site_id}"
