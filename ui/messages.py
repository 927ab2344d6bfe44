"""Service errors as the operator reads them: which field, and what to do, in her language.

The services speak one English line naming the field (`persons[0].phone: not a phone
number`, `'group_size' must be a whole number from 1 to 500`). The forms need the field,
to put the message next to it and move the focus there, and a translated sentence.
A message not listed here is shown as the service wrote it.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable
from dataclasses import dataclass

from db.vault import VaultBusy, VaultDamaged, VaultFull
from desktop.errors import AuthenticationFailed, HavenError, PermissionDenied
from desktop.i18n import N_, _


@dataclass(frozen=True, slots=True)
class Problem:
    """A service error, explained: the field it concerns (a path such as persons[1].phone)."""

    field: str | None
    text: str


# Text refused for a character not shown as itself (desktop.text_rules), in any field.
_HIDDEN = N_("Remove the control or invisible character (it may have come with pasted text).")
_UNPRINTABLE = N_("The handoff sheet cannot print a character of this (an emoji, or a script"
                  " such as Chinese); write it in Cyrillic or Latin letters.")

_PATH_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^required$"), N_("Required.")),
    (re.compile(r"^must be a date as YYYY-MM-DD$"),
     N_("Enter the date as DD.MM.YYYY or YYYY-MM-DD.")),
    (re.compile(r"^a birth date needs its day and month"),
     N_("Only the year or the month is known? Leave the date empty and write it under Features.")),
    (re.compile(r"not a plausible birth date \(in the future, or before 1900\)$"),
     N_("This birth date is not plausible.")),
    (re.compile(r"the calendar has no such day$"),
     N_("There is no such day; check the day and the month.")),
    (re.compile(r"^not a phone number$"), N_("Not a phone number; include the country code.")),
    (re.compile(r"^an extension cannot be stored with a phone number"),
     N_("An extension cannot be stored with the number: enter the number alone and write the"
        " extension in the notes.")),
    (re.compile(r"^longer than (?P<limit>\d+) characters$"), N_("At most {limit} characters.")),
    (re.compile(r"^must be one of"), N_("Choose one of the listed values.")),
    (re.compile(r"^at least one person is required$"), N_("Add at least one person.")),
    (re.compile(r"^holds a control or invisible character$"), _HIDDEN),
    (re.compile(r"^holds a character the handoff sheet cannot print$"), _UNPRINTABLE),
]

_QUOTED_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"must be non-empty text$"), N_("Required.")),
    (re.compile(r"is longer than (?P<limit>\d+) characters$"), N_("At most {limit} characters.")),
    (re.compile(r"must be a whole number from 1 to 500$"), N_("A whole number from 1 to 500.")),
    (re.compile(r"must be a date and time|needs a UTC offset"), N_("Enter a date and time.")),
    (re.compile(r"must be after 'window_start'$"), N_("The window must end after it starts.")),
    (re.compile(r"is not on the site's list"), N_("Not on the site's list; choose from the list.")),
    (re.compile(r"must be one of"), N_("Choose one of the listed values.")),
    (re.compile(r"holds a control or invisible character$"), _HIDDEN),
    (re.compile(r"holds a character the handoff sheet cannot print$"), _UNPRINTABLE),
]

_WHOLE_MESSAGES: list[tuple[re.Pattern[str], str | None, str]] = [
    (re.compile(r"^wrong user name or password$"), "password",
     N_("Wrong user name or password.")),
    (re.compile(r"^wrong password$"), "password", N_("Wrong password.")),
    (re.compile(r"^the account .* is disabled$"), "user", N_("This account is disabled.")),
    (re.compile(r"^the keyslot of '(?P<user>.+)' is damaged"), "user",
     N_("The key of {user} in this vault's keyslot file is damaged, so no password opens it."
        " An IT officer can give {user} a new password.")),
    (re.compile(r"^the keyslot file \S+ is damaged"), None,
     N_("The vault's keyslot file is damaged. Restore the latest backup into a new folder.")),
    (re.compile(r"^the database does not open with this key"), None,
     N_("The vault's database does not open with its key: it is damaged, or belongs to"
        " another vault. If it is damaged, restore the latest backup into a new folder.")),
    (re.compile(r"^there is no account .*; add it again$"), "user",
     N_("There is no such account: adding it did not finish. An IT officer can add it again.")),
    (re.compile(r"^user names"), "user",
     N_("User names are 1 to 64 characters, without spaces, not starting with @.")),
    (re.compile(r"^the password must be at least"), "password",
     N_("The password must be at least 10 characters long.")),
    (re.compile(r"^the site needs a name$"), "site_name", N_("The site needs a name.")),
    (re.compile(r"^the site's name is at most (?P<limit>\d+) characters"), "site_name",
     N_("The site's name is at most {limit} characters, with no control or invisible"
        " character.")),
    (re.compile(r"^the summary holds a control or invisible character$"), "summary", _HIDDEN),
    (re.compile(r"^a name on the list holds a control or invisible character$"), None,
     _HIDDEN),
    (re.compile(r"^a name on the list holds a character the handoff sheet cannot print$"),
     None, _UNPRINTABLE),
    (re.compile(r"^a name on the list is longer than (?P<limit>\d+) characters$"), None,
     N_("A name on the list is longer than {limit} characters.")),
    (re.compile(r"^the site's name holds a character the handoff sheet cannot print$"),
     "site_name", _UNPRINTABLE),
    (re.compile(r"^a contact entry needs a summary$"), "summary", N_("Write what was said.")),
    (re.compile(r"^the summary is longer than (?P<limit>\d+) characters$"), "summary",
     N_("At most {limit} characters: shorten the summary, or save it as two entries.")),
    (re.compile(r"^the codeword does not match.*flagged"), "codeword",
     N_("The codeword does not match. The case is flagged as a possible impostor.")),
    (re.compile(r"^the codeword does not match"), "codeword",
     N_("The codeword does not match; the case was not confirmed.")),
    (re.compile(r"^a case cannot be a duplicate of itself$"), "duplicate_of",
     N_("A case cannot be a duplicate of itself.")),
    (re.compile(r"^case (?P<ref>\S+) is itself marked a duplicate; name the case it"),
     "duplicate_of", N_("{ref} is itself a duplicate; enter the case it duplicates instead.")),
    (re.compile(r"^case (?P<ref>\S+) is itself marked a duplicate; name (?P<original>\S+)"),
     "duplicate_of", N_("{ref} is itself a duplicate of {original}; enter {original} instead.")),
    (re.compile(r"^case (?P<ref>\S+) is withdrawn: a new request"), "duplicate_of",
     N_("{ref} was withdrawn: a new request is not its duplicate. Keep this case open.")),
    (re.compile(r"^case (?P<ref>\S+) is closed: a new request"), "duplicate_of",
     N_("{ref} is closed: a new request is not its duplicate. Keep this case open.")),
    (re.compile(r"^no case with that reference$"), "duplicate_of",
     N_("No case has this reference.")),
    (re.compile(r"^a \w+ case cannot go from"), None,
     N_("This step is not possible from the case's current status; reopen the case.")),
    # Adding and revoking peers (desktop.transfer.service, desktop.keycard).
    (re.compile(r"^a peer name is 1-(?P<limit>\d+) letters"), "peer_name",
     N_("A peer's name is 1 to {limit} letters, digits, '-', '_' or '.': no spaces or"
        " commas.")),
    (re.compile(r"^a peer with this name or site id is already known \((?P<peer>.*)\)$"),
     "peer_name", N_("The peer '{peer}' has this name or these keys already; the peer was"
                     " not added.")),
    (re.compile(r"^the signing key has no 'haven:<site id>' comment"), "signing_key",
     N_("The signing key lacks its ending 'haven:…', which names the site: copy the whole"
        " line as the other site's Haven shows it, or scan its key card.")),
    (re.compile(r"^the signing key is not usable"), "signing_key",
     N_("This is not a usable signing key. It is one line, 'ssh-ed25519 AAAA… haven:…'.")),
    (re.compile(r"^the recipient is not usable"), "recipient",
     N_("This is not a usable encryption key. It is one word starting with 'age1'.")),
    (re.compile(r"^a site id is 32 lower-case hexadecimal characters$"), "signing_key",
     N_("The site id after 'haven:' is damaged: copy the whole line again, or scan the key"
        " card.")),
    (re.compile(r"^--site-id differs from the site id in the signing key's comment$"), "card",
     N_("The key card names another site than its signing key does: it is not a card"
        " Haven printed.")),
    (re.compile(r"^these are this site's own keys$"), "signing_key",
     N_("These are this site's own keys, not another site's.")),
    (re.compile(r"^the fingerprint does not match these keys"), "fingerprint",
     N_("The fingerprint does not match: these keys are not the ones on the other site's"
        " card. The peer was not added. Check the keys, and read the fingerprint again"
        " with the other site.")),
    (re.compile(r"this is not the text of a Haven key card's QR code$"), "card",
     N_("This is not the text of a Haven key card's QR code.")),
    (re.compile(r"^no peer named '(?P<peer>.*)'$"), None,
     N_("There is no peer '{peer}' any more.")),
    (re.compile(r"^peer '(?P<peer>.+)' is revoked already$"), None,
     N_("The peer '{peer}' is revoked already.")),
    (re.compile(r"^(?P<path>.+) exists; choose a new file name$"), None,
     N_("{path} exists already; choose a new file name.")),
    (re.compile(r"^the folder (?P<path>.+) does not exist$"), None,
     N_("The folder {path} does not exist.")),
    (re.compile(r"^cannot write (?P<path>.+): No space left on device; nothing was written$"),
     None, N_("There is no room left for {path}; nothing was written. Free some space or"
              " choose another medium.")),
    (re.compile(r"^cannot write (?P<path>.+): (?P<reason>.+); nothing was written$"), None,
     N_("{path} could not be written ({reason}); nothing was written.")),
]

_NEEDS = re.compile(r"^the move to '[a-z_]+' needs: (?P<fields>[a-z_, ]+)$")
_QUOTED_FIELD = re.compile(r"^'(?P<field>[a-z_]+)'")


def _translate(template: str, match: re.Match[str]) -> str:
    return _(template).format(**match.groupdict())


# Why a chosen file could not be written, in the desk's language (the OS says it in English).
_OS_REASONS = {
    errno.ENOSPC: N_("the disk is full"),
    errno.EDQUOT: N_("the disk is full"),
    errno.EROFS: N_("the disk or stick is read-only"),
    errno.EACCES: N_("this folder may not be written to"),
    errno.EPERM: N_("this folder may not be written to"),
    errno.ENOENT: N_("the folder is not there (was the stick taken out?)"),
    errno.EIO: N_("the disk or stick could not be written (was it taken out?)"),
    errno.ENAMETOOLONG: N_("the file name is too long"),
}


def explain(error: BaseException) -> Problem:
    """The field an error concerns and a translated sentence about it."""
    if isinstance(error, PermissionDenied):
        return Problem(None, _("Your role does not allow this."))
    if isinstance(error, VaultDamaged) or str(error).startswith("the vault's database is damaged"):
        return Problem(None, _(
            "The vault's database is damaged: a part of it fails its check (the file was"
            " altered, or its disk is failing). Nothing was changed. Ask the IT officer to"
            " restore the latest backup."))
    if isinstance(error, VaultBusy):
        return Problem(None, _(
            "The vault is busy: another Haven on this computer is saving to it. Nothing was"
            " changed; try again in a moment."))
    if isinstance(error, VaultFull):
        return Problem(None, _(
            "The disk that holds the vault is full: nothing was changed. Free some space, then"
            " try again."))
    if isinstance(error, OSError):  # writing a file the person chose
        reason = _OS_REASONS.get(error.errno or 0)
        return Problem(None, _("The file was not saved: {reason}.").format(
            reason=_(reason) if reason else error.strerror or type(error).__name__))
    if not isinstance(error, HavenError):
        # Not a message meant for a person (and it may quote stored data): name the kind only.
        return Problem(
            None, _("Unexpected error ({kind}); tell the IT officer.").format(
                kind=type(error).__name__)
        )
    text = str(error).strip()
    for pattern, field, template in _WHOLE_MESSAGES:
        match = pattern.search(text)
        if match:
            return Problem(field, _translate(template, match))
    if isinstance(error, AuthenticationFailed):
        return Problem("password", _("Wrong user name or password."))
    needs = _NEEDS.match(text)
    if needs:
        return Problem(needs["fields"].split(",")[0].strip(), _("Required."))
    quoted = _QUOTED_FIELD.match(text)
    if quoted:
        return Problem(quoted["field"], first_translation(_QUOTED_MESSAGES, text, default=text))
    path, sep, rest = text.partition(": ")
    if sep and re.fullmatch(r"[a-z_]+(\[\d+\])?(\.[a-z_]+)?", path):
        return Problem(path, first_translation(_PATH_MESSAGES, rest, default=rest))
    return Problem(None, text)


def first_translation(table: list[tuple[re.Pattern[str], str]], text: str, default: str) -> str:
    """The template of the first pattern found in ``text``, translated and filled from it."""
    for pattern, template in table:
        match = pattern.search(text)
        if match:
            return _translate(template, match)
    return default


def describe_failure(error: BaseException, fallback: Callable[[], str] | None = None) -> str:
    """One line for a status bar or a message box."""
    problem = explain(error)
    return problem.text or (fallback() if fallback else _("Something went wrong."))
