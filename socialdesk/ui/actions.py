"""Every user action declared once: id, title, menu, default keys, and the window method it calls.

Decisions (qutebrowser's bindings-as-data, Picard's action registry):
- `ACTIONS` is data. Menus, the command palette (Ctrl+K), the cheat sheet (?) and the README's
  shortcut table are all generated from it, so they can never disagree.
- Keys that are a single printable character (j, k, e, !, /, ?) are "triage keys": they are bound to the
  queue and thread views only (`Qt.WidgetWithChildrenShortcut`), so they never fire while typing in the
  composer or the search box. Keys with a modifier work everywhere in the window.
- A handler is the name of a method on the main window; `build_actions` fails loudly if one is missing,
  so a typo is caught by the first GUI test, not by a user pressing a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class ActionSpec:
    id: str
    title: str
    menu: str  # "Conversation", "Go", "View", "Tools", "Help", "File"
    keys: tuple[str, ...]
    handler: str
    description: str = ""

    @property
    def triage(self) -> bool:
        """True when every key is one plain character: such keys must not fire while typing."""
        return bool(self.keys) and all(len(k) == 1 or k in ("Return", "Enter", "Down", "Up") for k in self.keys)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("next", "Next conversation", "Go", ("j", "Down"), "select_next"),
    ActionSpec("previous", "Previous conversation", "Go", ("k", "Up"), "select_previous"),
    ActionSpec("open", "Open conversation", "Go", ("o", "Return"), "open_selected"),
    ActionSpec("reply", "Reply", "Conversation", ("r",), "focus_composer"),
    ActionSpec("send", "Send reply", "Conversation", ("Ctrl+Return",), "send_reply"),
    ActionSpec("send_done", "Send and mark done", "Conversation", ("Ctrl+Shift+Return",), "send_reply_done"),
    ActionSpec("done", "Mark done", "Conversation", ("e",), "mark_done"),
    ActionSpec("waiting", "Waiting on customer", "Conversation", ("w",), "mark_waiting"),
    ActionSpec("snooze", "Snooze…", "Conversation", ("s",), "snooze_menu"),
    ActionSpec("spam", "Mark as spam", "Conversation", ("!",), "mark_spam"),
    ActionSpec("reopen", "Reopen", "Conversation", ("Shift+U",), "reopen"),
    ActionSpec("undo", "Undo", "Conversation", ("Ctrl+Z",), "undo_last",
               "Reverse the last done, waiting, spam, snooze or merge (offered for a few seconds)"),
    ActionSpec("open_platform", "Open on platform", "Conversation", ("Ctrl+Shift+O",), "open_on_platform"),
    ActionSpec("same_person", "Same person as…", "Conversation", ("Ctrl+Shift+M",), "same_person",
               "Link this customer with their conversations on other channels"),
    ActionSpec("search", "Search", "Go", ("/", "Ctrl+F"), "focus_search"),
    ActionSpec("back", "Back to the queue", "Go", ("Escape",), "back_to_queue"),
    ActionSpec("view_awaiting", "Show awaiting", "View", ("Alt+A",), "show_awaiting"),
    ActionSpec("view_overdue", "Show overdue", "View", ("Alt+O",), "show_overdue"),
    ActionSpec("view_done", "Show done", "View", ("Alt+D",), "show_done"),
    ActionSpec("view_sent", "Show sent", "View", ("Alt+S",), "show_sent", "Conversations you answered, latest first"),
    ActionSpec("view_all", "Show all", "View", ("Alt+L",), "show_all", "Every conversation; a search here covers spam too"),
    ActionSpec("palette", "Command palette", "Help", ("Ctrl+K",), "command_palette"),
    ActionSpec("cheatsheet", "Keyboard shortcuts", "Help", ("?",), "cheat_sheet"),
    ActionSpec("sync_now", "Sync now", "File", ("F5", "Ctrl+R"), "sync_now"),
    ActionSpec("hide", "Hide to tray", "File", ("Ctrl+W",), "hide_to_tray"),
    ActionSpec("quit", "Quit", "File", ("Ctrl+Q",), "quit_app"),
)

MENU_ORDER = ("File", "Conversation", "Go", "View", "Tools", "Help")


def key_text(spec: ActionSpec) -> str:
    """Human-readable keys, e.g. "j / ↓" (native text for modifiers)."""
    names = []
    for key in spec.keys:
        if len(key) == 1:  # triage keys are typed as shown: lower-case j, not "J"
            names.append(key)
            continue
        native = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
        names.append({"Down": "↓", "Up": "↑"}.get(key, (native or key).replace("Return", "Enter")))
    return " / ".join(names)


def build_actions(
    window: QWidget,
    triage_widgets: list[QWidget],
    providers: list[tuple[tuple[ActionSpec, ...], object]],
) -> dict[str, QAction]:
    """Create a QAction per spec, connected to `<target>.<handler>`; triage keys only on `triage_widgets`.

    `providers` pairs a tuple of specs with the object whose methods handle them: the window for
    ACTIONS, and each feature (snippets, hours, ...) for its own specs.
    """
    from PySide6.QtCore import Qt

    actions: dict[str, QAction] = {}
    for specs, target in providers:
        for spec in specs:
            handler = getattr(target, spec.handler)  # AttributeError here = a typo in a spec
            action = QAction(spec.title, window)
            action.setObjectName(f"action_{spec.id}")
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
            if spec.description:
                action.setStatusTip(spec.description)
            action.triggered.connect(handler)
            if spec.triage:
                action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                for widget in triage_widgets:
                    widget.addAction(action)
            else:
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
                window.addAction(action)
            actions[spec.id] = action
    return actions
