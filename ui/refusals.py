"""Why a transfer file was refused, in the IT officer's language.

The transfer core refuses a file with one English line (the CLI prints it as it is). Here
each kind of refusal becomes a sentence in the interface language that says what is
wrong with the file and, where there is one, what to do about it. A line not listed is
shown as the core wrote it.
"""

from __future__ import annotations

import re

from desktop.errors import HavenError, InputRejected
from desktop.i18n import N_, _
from ui.messages import describe_failure

# The first pattern that matches a refusal explains it; named groups fill the sentence.
_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^file #(?P<sequence>\d+) from '(?P<peer>.*)' was imported before"),
     N_("File #{sequence} from {peer} was imported before; a file is never imported twice.")),
    (re.compile(r"^the file is signed by a site that is not a known peer"),
     N_("The file is signed by a site that is not one of this site's peers. Add it under"
        " Transfer → Peers and keys… once its fingerprint is confirmed, then import the file"
        " again.")),
    (re.compile(r"^the file was written by this site: carry it to the sites it is for$"),
     N_("This site wrote the file: carry it to the sites it is for.")),
    (re.compile(r"^the file comes from '(?P<peer>.*)', whose keys were revoked$"),
     N_("The file comes from {peer}, whose keys were revoked.")),
    (re.compile(r"^the manifest was signed by '(?P<peer>.*)' but names another site as sender$"),
     N_("The file is signed by {peer} but names another site as its sender: it was altered.")),
    (re.compile(r"^the file is addressed to other sites, not to this one: it is for"
                r" (?P<sites>.+); carry it there$"),
     N_("The file is addressed to other sites, not to this one: it is for {sites}. Carry it"
        " there.")),
    (re.compile(r"^the file is addressed to other sites"),
     N_("The file is addressed to other sites, not to this one.")),
    (re.compile(r"^the payload is not encrypted to this site's key$"),
     N_("The file is not encrypted to this site's key.")),
    (re.compile(r"stamped more than a day ahead"),
     N_("The file holds changes stamped more than a day ahead of this computer's clock;"
        " check the clocks of both sites.")),
    (re.compile(r"^the file is larger than transfer files may be \((?P<limit>\d+) GiB\)$"),
     N_("The file is larger than transfer files may be ({limit} GiB).")),
    (re.compile(r"^this is not a Haven transfer file of a version|^the payload is of a format"),
     N_("The file was written by a version of Haven that this one cannot read.")),
    (re.compile(r"^the transfer file changed while it was being imported$"),
     N_("The file changed while it was being imported. Copy it again and retry.")),
    (re.compile(r"^the file is not a Haven transfer file"),
     N_("This is not a Haven transfer file. Check that you chose the file the sending site"
        " wrote (its name ends in .haven).")),
    (re.compile(r"^the transfer file is (?:damaged or )?truncated"),
     N_("The file is incomplete: it was cut short, perhaps while it was copied. Copy it"
        " again from the sending site's medium.")),
    # The payload matched its signed hash, so the sending site wrote what is wrong in it.
    (re.compile(r"^the transfer file holds an invalid record|^the transfer file's payload"
                r"|^the payload's (?:header|end)|^data after the end of the payload"
                r"|^the payload does not end with a complete line$|^the payload is incomplete$"
                r"|^the file holds one case on two lines$"),
     N_("What the sending site wrote into the file breaks Haven's format (a record or the"
        " header is invalid), so the whole file is refused. Tell that site's IT officer.")),
    (re.compile(r"^the manifest's signature|^the payload does not (?:decrypt|match its hash)"
                r"|^the transfer file(?:'s manifest)? (?:is|has|holds|lacks)"),
     N_("The file is damaged or was altered, or it is not a Haven transfer file.")),
    (re.compile(r"^this file is older than files already imported from the sender"),
     N_("The file is older than files already imported from its sender; its audit"
        " checkpoint can no longer be checked.")),
    (re.compile(r"^the sender's audit log has \d+ entries, fewer than it showed in its file"),
     N_("The sending site's audit log is shorter than in a file it wrote before: its last"
        " entries were cut off.")),
    (re.compile(r"^the file carries no proof that the sender's audit log extends"),
     N_("The file carries no proof that the sending site's audit log continues the one it"
        " showed before.")),
    (re.compile(r"history was rewritten|do not make the tree"
                r"|^entry \d+ of the sender's audit log differs"),
     N_("The sending site's audit log does not continue the one it showed before: its"
        " history was rewritten.")),
    # A reference code is no personal data: the IT officer looks the case up by it.
    (re.compile(r"^a case in the file has the reference code of another case here"
                r" \(case (?P<ref>[A-Za-z0-9-]+)\)$"),
     N_("A case in the file has the reference code {ref} of another case here.")),
    (re.compile(r"^the file creates a case that already exists here"
                r" \(case (?P<ref>[A-Za-z0-9-]+)\)$"),
     N_("The file creates case {ref} again, which already exists here.")),
    (re.compile(r"^the file creates a case twice$"),
     N_("A case in the file is created twice.")),
    (re.compile(r"^the file holds a change that differs from the one held here in kind or field"
                r" group \(case (?P<ref>[^)]+)\)$"),
     N_("The file turns a change of case {ref} held here into another kind of change, or"
        " moves it to other fields.")),
    (re.compile(r"^a case in the file would hold \d+ versions of its \w+ fields in conflict,"
                r" more than one change can replace \((?P<limit>\d+)\) \(case (?P<ref>[^)]+)\)$"),
     N_("Case {ref} would hold more versions of the same fields in conflict than one"
        " resolution can replace ({limit}). The whole file is refused; tell the sending"
        " site's IT officer.")),
    (re.compile(r"^the file holds two different changes"),
     N_("The file holds a change that clashes with one held here (one change, two"
        " contents).")),
    (re.compile(r"^a case would grow beyond what one transfer file can carry"),
     N_("A case in the file would grow beyond what one transfer file can carry, so this"
        " site could not pass it on. The whole file is refused; tell the sending site's IT"
        " officer.")),
    (re.compile(r"^the import stopped: the process checking the file was stopped"),
     N_("The import stopped: the process checking the file was stopped before it was done."
        " Nothing was changed; try again.")),
    (re.compile(r"^the import stopped: the process checking the file failed"),
     N_("The import stopped: the process checking the file failed. Nothing was changed.")),
    (re.compile(r"^cannot read (?P<name>.+?): (?P<reason>.+)$"),
     N_("Cannot read {name} ({reason}).")),
]

# What to do about a refused audit checkpoint, the last sentence of the refusal.
_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"If '(?P<peer>.*)' was restored from a backup, confirm it with that site,"
                r" then run: (?P<command>haven-admin peer reset-checkpoint .+)$"),
     N_("If {peer} was restored from a backup, confirm it with that site, then run:"
        " {command}")),
    (re.compile(r"\. '(?P<peer>.*)' was not restored from a backup \(its file numbering goes"
                r" on\): tell its IT officer, and do not reset its checkpoint$"),
     N_("{peer} was not restored from a backup (its file numbering goes on): tell its IT"
        " officer, and do not reset its checkpoint.")),
    (re.compile(r"Import the files of '(?P<peer>.*)' in the order they were written; what"
                r" this one carried came with its newer files too$"),
     N_("Import the files of {peer} in the order they were written; what this one carried"
        " came with its newer files too.")),
    (re.compile(r"Send '(?P<peer>.*)' a file from this site: its next file then carries the"
                r" proof$"),
     N_("Send {peer} a file from this site: its next file then carries the proof.")),
]


# A site a file is for that this site has no name for is given by its id ("site 0f3a…").
_UNNAMED_SITE = re.compile(r"(?<![\w'])site (?P<site_id>[0-9a-f]{32})\b")


def _fields(match: re.Match[str]) -> dict[str, str]:
    """The named groups of a refusal, with the words in them said in the interface language."""
    fields = match.groupdict()
    if "sites" in fields:
        fields["sites"] = _UNNAMED_SITE.sub(
            # Translators: one of the sites a file is for, after "it is for".
            lambda found: _("site {site_id}").format(site_id=found["site_id"]), fields["sites"])
    return fields


def explain_refusal(message: str) -> str | None:
    """The refusal in the interface language, or None for a line not listed."""
    for pattern, template in _REASONS:
        match = pattern.search(message)
        if match:
            text = _(template).format(**_fields(match))
            for hint, advice in _HINTS:
                found = hint.search(message)
                if found:
                    text += "\n" + _(advice).format(**found.groupdict())
            return text
    return None


def refusal_text(error: BaseException) -> str:
    """A refused file (bad, tampered, replayed, foreign) is said plainly; other errors as usual."""
    reason = explain_refusal(str(error)) if isinstance(error, HavenError) else None
    if isinstance(error, InputRejected):
        return _("The file was refused; nothing was changed.\n{reason}").format(
            reason=reason or str(error))
    return reason or describe_failure(error)
