"""A damaged or busy vault reads plainly at the desk, in the interface language."""

from __future__ import annotations

import pytest

from desktop.errors import HavenError
from desktop.session import Session
from tests.conftest import PASSWORD, Site
from tests.desktop.test_damaged_vault import damage
from ui.language import apply_language
from ui.messages import describe_failure


def test_a_damaged_page_reads_plainly_at_the_desk(site: Site) -> None:
    site.session.close()
    damage(site.data)
    with pytest.raises(HavenError) as refused:
        Session.open(site.data, "admin", PASSWORD)
    apply_language("uk")  # the autouse fixture restores English
    text = describe_failure(refused.value)
    assert text.startswith("Базу даних сховища пошкоджено")


def test_a_busy_vault_reads_plainly_at_the_desk() -> None:
    from db.vault import VaultBusy

    apply_language("uk")  # the autouse fixture restores English
    text = describe_failure(VaultBusy("the vault is busy"))
    assert text == ("Сховище зайняте: інший Haven на цьому комп’ютері зберігає до нього зміни."
                    " Нічого не змінено; спробуйте ще раз за мить.")


def test_an_account_left_half_added_is_not_called_a_wrong_password(site: Site) -> None:
    from desktop.errors import AuthenticationFailed
    from ui.messages import explain

    # What Session.open says when a key is stored for a name the vault has no account of
    # (tests/desktop/test_accounts.py makes it with a killed `user add`).
    problem = explain(AuthenticationFailed("there is no account 'carol'; add it again"))
    assert problem.field == "user"
    assert problem.text == (
        "There is no such account: adding it did not finish. An IT officer can add it again."
    )


def test_a_name_the_sheet_cannot_print_is_explained(qapp) -> None:  # type: ignore[no-untyped-def]
    from desktop.case_json import CaseInputError, parse_new_case
    from ui.messages import explain

    with pytest.raises(CaseInputError) as refused:
        parse_new_case({"kind": "surrender", "channel": "phone",
                        "persons": [{"full_name": "Олег 🙏"}]})
    apply_language("uk")  # the autouse fixture restores English
    problem = explain(refused.value)
    assert problem.field == "persons[0].full_name"
    assert problem.text.startswith("Акт приймання-передачі не може надрукувати")


def test_a_damaged_keyslot_reads_plainly_at_the_desk(site: Site) -> None:
    from desktop.errors import HavenError
    from desktop.session import Session
    from tests.conftest import spoil_slot
    from ui.messages import explain

    site.session.close()
    spoil_slot(site.data, "admin", nonce="@@@")
    with pytest.raises(HavenError) as refused:
        Session.open(site.data, "admin", site.password)
    apply_language("uk")  # the autouse fixture restores English
    problem = explain(refused.value)
    assert problem.field == "user"
    assert problem.text == (
        "Ключ admin у файлі ключів цього сховища пошкоджено, тож жоден пароль його не"
        " відкриє. ІТ-фахівець може дати admin новий пароль.")
