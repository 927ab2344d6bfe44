"""A full disk and a file that cannot be written read as such, in the interface language."""

from __future__ import annotations

import errno

from db.vault import VaultFull
from ui.language import apply_language
from ui.messages import describe_failure


def _in(language: str, error: BaseException) -> str:
    try:
        apply_language(language)
        return describe_failure(error)
    finally:
        apply_language("en")


def test_a_full_vault_disk_is_said_plainly_in_both_languages() -> None:
    error = VaultFull("the disk that holds the vault is full")
    assert _in("en", error) == (
        "The disk that holds the vault is full: nothing was changed. Free some space, then try"
        " again."
    )
    assert _in("uk", error) == (
        "Диск, на якому зберігається сховище, заповнено: нічого не змінено. Звільніть місце"
        " й спробуйте ще раз."
    )


def test_a_file_that_could_not_be_saved_names_the_reason_in_the_desks_language() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/media/usb/card.pdf")
    assert _in("en", full) == "The file was not saved: the disk is full."
    assert _in("uk", full) == "Файл не збережено: диск заповнено."
    read_only = OSError(errno.EROFS, "Read-only file system", "/media/usb/card.pdf")
    assert _in("uk", read_only) == "Файл не збережено: диск або флешка лише для читання."
    odd = OSError(errno.ETXTBSY, "Text file busy", "/media/usb/card.pdf")
    assert _in("en", odd) == "The file was not saved: Text file busy."  # as the OS says it


def test_an_export_target_that_exists_or_has_no_folder_reads_in_ukrainian() -> None:
    from desktop.errors import InputRejected

    exists = InputRejected("/media/usb/to-south.haven exists; choose a new file name")
    assert _in("en", exists) == "/media/usb/to-south.haven exists already; choose a new file name."
    assert _in("uk", exists) == "/media/usb/to-south.haven уже існує; виберіть нову назву файлу."
    missing = InputRejected("the folder /media/usb2 does not exist")
    assert _in("uk", missing) == "Теки /media/usb2 не існує."
