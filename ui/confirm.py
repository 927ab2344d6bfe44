"""The second contact: verify the codeword, record the group, arrange the meeting.

Three pages: the codeword (every attempt logged by the service, repeated failure flags
the case), the confirmation fields, then the meeting point, receiving unit and window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from db.records import Case, Status
from desktop.i18n import _, ngettext
from desktop.permissions import Action
from desktop.session import CodewordResult, Session
from desktop.workflow import Transition, TransitionRejected
from ui.messages import explain
from ui.places import PlacesDialog
from ui.style import heading_font, mono_font
from ui.tasks import TaskRunner
from ui.transition_form import TransitionForm
from ui.widgets import BusyBar, ErrorLabel, discard_asked, focus, grow_to_fit

CODEWORD_PAGE, DETAILS_PAGE, ARRANGE_PAGE = 0, 1, 2


def _transition(session: Session, case: Case, target: Status) -> Transition | None:
    return next((t for t in session.allowed_transitions(case) if t.target == target), None)


class ConfirmDialog(QDialog):
    """Confirmation and arrangement of one case; emits `case_changed(case)` after each save."""

    case_changed = Signal(object)
    attempted = Signal()  # a codeword was checked: the case's attempts (and flag) changed

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        case: Case,
        places: Mapping[str, list[str]],
        arrange_only: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self.case = case
        self._places = dict(places)
        self._busy = False
        self._verified_codeword: str | None = None
        self._flagged = case.flagged
        self._arrangement_offered: dict[str, object] = {}
        self.setWindowTitle(_("Haven — confirm case {ref}").format(ref=case.ref))
        self.setMinimumWidth(560)
        self.busy = BusyBar()
        self.pages = QStackedWidget()
        self.pages.addWidget(self._codeword_page())
        self.pages.addWidget(self._details_page())
        self.pages.addWidget(self._arrange_page())
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        layout.addWidget(self.busy)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self._primary)
        QShortcut(QKeySequence("Ctrl+Enter"), self, activated=self._primary)
        self.show_page(ARRANGE_PAGE if arrange_only else CODEWORD_PAGE)

    # --- pages ---------------------------------------------------------------------------------

    def _header(self, text: str) -> QLabel:
        title = QLabel(text)
        title.setFont(heading_font(14))
        title.setWordWrap(True)
        return title

    def _codeword_page(self) -> QWidget:
        page = QWidget()
        self.codeword_edit = QLineEdit()
        self.codeword_edit.setObjectName("codeword")
        self.codeword_edit.setFont(mono_font(20, bold=True))
        self.codeword_error = ErrorLabel()
        self.codeword_error.setObjectName("codeword_error")
        self.check_button = QPushButton(_("&Check codeword"))
        self.check_button.clicked.connect(self.check_codeword)
        prompt = QLabel(_("Ask the caller for the codeword and type what they say."))
        prompt.setWordWrap(True)
        layout = QVBoxLayout(page)
        layout.addWidget(self._header(_("Case {ref}: codeword").format(ref=self.case.ref)))
        if self.case.flagged:
            warning = QLabel(_("This case is flagged: earlier codeword attempts failed "
                               "repeatedly. Possibly an impostor."))
            warning.setProperty("role", "warning")
            warning.setWordWrap(True)
            layout.addWidget(warning)
        layout.addWidget(prompt)
        layout.addWidget(self.codeword_edit)
        layout.addWidget(self.codeword_error)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.check_button)
        cancel = QPushButton(_("Cancel"))
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        row.addWidget(cancel)
        layout.addLayout(row)
        return page

    def _details_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self._header(_("Codeword correct. Record where the group is now.")))
        self.details_flag = QLabel(_("This case is flagged as a possible impostor: earlier "
                                     "codeword attempts failed. Tell the site manager before "
                                     "a meeting is arranged."))
        self.details_flag.setProperty("role", "warning")
        self.details_flag.setWordWrap(True)
        self.details_flag.hide()
        layout.addWidget(self.details_flag)
        transition = _transition(self._session, self.case, Status.CONFIRMED)
        self.details_form: TransitionForm | None = None
        if transition is not None:
            self.details_form = TransitionForm(
                transition, omit=("codeword",), defaults={"group_size": len(self.case.persons)}
            )
            layout.addWidget(self.details_form)
        layout.addStretch(1)
        self.confirm_button = QPushButton(_("C&onfirm the case (Ctrl+Enter)"))
        self.confirm_button.setAutoDefault(False)
        self.confirm_button.clicked.connect(self.confirm)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.confirm_button)
        layout.addLayout(row)
        return page

    def _arrange_page(self) -> QWidget:
        page = QWidget()
        self.arrange_layout = QVBoxLayout(page)
        self.arrange_layout.addWidget(self._header(_("Arrange the handoff")))
        self.arrange_form: TransitionForm | None = None
        self.arrange_error = ErrorLabel()
        self.arrange_layout.addWidget(self.arrange_error)
        # A new site has no lists yet: the fields take any place, and the hint says so.
        self.places_hint = QLabel(_(
            "This site has no list of meeting points or receiving units yet: type them in."
            " A manager can keep both lists (Site → Meeting points and receiving"
            " units…)."))
        self.places_hint.setObjectName("places_hint")
        self.places_hint.setProperty("role", "hint")
        self.places_hint.setWordWrap(True)
        self.places_hint.hide()
        self.arrange_layout.addWidget(self.places_hint)
        self.places_button = QPushButton(_("Edit site &lists…"))
        self.places_button.setAutoDefault(False)
        self.places_button.setVisible(self._session.can(Action.MANAGE_SITE_LISTS))
        self.places_button.clicked.connect(self._edit_places)
        self.arrange_button = QPushButton(_("&Arrange (Ctrl+Enter)"))
        self.arrange_button.setAutoDefault(False)
        self.arrange_button.clicked.connect(self.arrange)
        later = QPushButton(_("Arrange la&ter"))
        later.setAutoDefault(False)
        later.clicked.connect(self.accept)
        self.arrange_stretch_row = QHBoxLayout()
        self.arrange_stretch_row.addWidget(self.places_button)
        self.arrange_stretch_row.addStretch(1)
        self.arrange_stretch_row.addWidget(self.arrange_button)
        self.arrange_stretch_row.addWidget(later)
        self.arrange_layout.addStretch(1)
        self.arrange_layout.addLayout(self.arrange_stretch_row)
        return page

    def _build_arrange_form(self) -> None:
        if self.arrange_form is not None:
            return
        transition = _transition(self._session, self.case, Status.HANDOFF_ARRANGED)
        if transition is None:
            self.arrange_error.show_error(_("Your role does not allow arranging a handoff."))
            self.arrange_button.setEnabled(False)
            return
        defaults = {name: getattr(self.case, name) for name in
                    ("meeting_point", "receiving_unit", "window_start", "window_end")
                    if getattr(self.case, name) is not None}
        ended = self.case.window_end
        if ended is not None and ended <= datetime.now(UTC):
            # A window that has passed (a missed meeting): start from a new one, not it.
            defaults.pop("window_start", None)
            defaults.pop("window_end", None)
        self.arrange_form = TransitionForm(transition, self._places, defaults=defaults)
        self._arrangement_offered = self.arrange_form.values()  # what nobody typed
        self.arrange_layout.insertWidget(1, self.arrange_form)
        self.places_hint.setVisible(not any(self._places.values()))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        grow_to_fit(self)

    def show_page(self, page: int) -> None:
        if page == ARRANGE_PAGE:
            self._build_arrange_form()
        self.pages.setCurrentIndex(page)
        grow_to_fit(self)  # wrapped lines of the page (the window fields' hint) shown whole
        # Enter takes the page's main step.
        primary = (self.check_button, self.confirm_button, self.arrange_button)[page]
        primary.setDefault(True)
        target: QWidget | None
        if page == CODEWORD_PAGE:
            target = self.codeword_edit
        elif page == DETAILS_PAGE:
            target = self.details_form.first_field() if self.details_form else None
        else:
            target = self.arrange_form.first_field() if self.arrange_form else None
        if target is not None:
            focus(target)

    def _primary(self) -> None:
        page = self.pages.currentIndex()
        if page == CODEWORD_PAGE:
            self.check_codeword()
        elif page == DETAILS_PAGE:
            self.confirm()
        else:
            self.arrange()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        self.pages.currentWidget().setEnabled(not busy)

    # --- codeword ------------------------------------------------------------------------------

    def check_codeword(self) -> None:
        spoken = self.codeword_edit.text().strip()
        if self._busy:
            return
        if not spoken:
            self.codeword_error.show_error(_("Type the codeword the caller says."))
            focus(self.codeword_edit)
            return
        session, case_id = self._session, self.case.id
        self._set_busy(True)
        self._runner.run(
            lambda: session.verify_codeword(case_id, spoken),
            lambda result: self._checked(spoken, result),
            self._check_failed,
        )

    def _checked(self, spoken: str, result: CodewordResult) -> None:
        self._set_busy(False)
        self._flagged = self._flagged or result.flagged
        self.attempted.emit()
        if result.matched:
            self._verified_codeword = spoken
            self.codeword_error.clear_error()
            self.details_flag.setVisible(self._flagged)
            self.show_page(DETAILS_PAGE)
            return
        text = ngettext(
            "The codeword does not match ({count} failed attempt in a row).",
            "The codeword does not match ({count} failed attempts in a row).",
            result.failures_in_a_row,
        ).format(count=result.failures_in_a_row)
        if result.flagged:
            text += " " + _("The case is flagged as a possible impostor: do not arrange a "
                            "meeting; tell the site manager.")
        else:
            text += " " + _("Ask again, letter by letter.")
        self.codeword_error.show_error(text)
        focus(self.codeword_edit)

    def _check_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.codeword_error.show_error(explain(error).text)
        focus(self.codeword_edit)

    # --- confirming ----------------------------------------------------------------------------

    def confirm(self) -> None:
        form = self.details_form
        if self._busy or form is None or self._verified_codeword is None:
            return
        if not form.check_required():
            return
        fields = {"codeword": self._verified_codeword, **form.values()}
        session, case_id = self._session, self.case.id
        self._set_busy(True)
        self._runner.run(
            lambda: session.advance(case_id, Status.CONFIRMED, fields),
            self._confirmed,
            lambda error: self._step_failed(form, error),
        )

    def _confirmed(self, case: Case) -> None:
        self._set_busy(False)
        self.case = case
        self.case_changed.emit(case)
        self.show_page(ARRANGE_PAGE)

    def _step_failed(self, form: TransitionForm, error: BaseException) -> None:
        self._set_busy(False)
        problem = explain(error)
        if isinstance(error, TransitionRejected) and problem.field == "codeword":
            self._verified_codeword = None
            self.codeword_error.show_error(problem.text)
            self.show_page(CODEWORD_PAGE)
            return
        form.show_problem(problem)

    # --- arranging -----------------------------------------------------------------------------

    def arrange(self) -> None:
        form = self.arrange_form
        if self._busy or form is None or not form.check_required():
            return
        fields = form.values()
        session, case_id = self._session, self.case.id
        self._set_busy(True)
        self._runner.run(
            lambda: session.advance(case_id, Status.HANDOFF_ARRANGED, fields),
            self._arranged,
            lambda error: self._step_failed(form, error),
        )

    def _arranged(self, case: Case) -> None:
        self._set_busy(False)
        self.case = case
        self.case_changed.emit(case)
        self.accept()

    def _edit_places(self) -> None:
        dialog = PlacesDialog(self._session, self._runner, self)
        dialog.saved.connect(self._places_saved)
        dialog.open()

    def _places_saved(self, places: dict[str, list[str]]) -> None:
        self._places = places
        if self.arrange_form is not None:
            self.arrange_form.set_places(places)
        self.places_hint.setVisible(not any(places.values()))

    def has_unsaved_input(self) -> bool:
        return self.isVisible() and self.pages.currentIndex() != CODEWORD_PAGE

    def reject(self) -> None:
        """Esc, Cancel or closing: after a correct codeword, or with an arrangement typed,
        ask first; what was typed would be lost, and the codeword checked once more."""
        if self._busy:
            return
        page = self.pages.currentIndex()
        if page == DETAILS_PAGE:
            question = _("The case is not confirmed yet. Close and lose what was typed? The "
                         "codeword will have to be checked again.")
        elif page == ARRANGE_PAGE and self._arrangement_typed():
            question = _("The handoff is not arranged yet. Close and lose what was typed?")
        else:
            super().reject()
            return
        if discard_asked(self, _("Close without saving?"), question):
            super().reject()

    def _arrangement_typed(self) -> bool:
        """Whether the arrangement differs from what the page offered when it opened (the
        first listed places and the next hours): that much is not lost by closing."""
        form = self.arrange_form
        return form is not None and form.values() != self._arrangement_offered
