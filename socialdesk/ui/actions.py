"""Every user action declared once: id, title, menu, default keys, and the window method it calls.

Decisions (qutebrowser's bindings-as-data, Picard's action registry):
- `ACTIONS` is data. Menus, the command palette (Ctrl+K), the cheat sheet (?) and the README's
  shortcut table are all generated from it, so they can never disagree.
- Keys are shown by one function, `key_display` ("Ctrl+Enter", never Qt's "Ctrl+Return"; a triage key as
  typed, "j"). Menus show the same text: a menu entry's text is "title<TAB>keys" (`menu_text`), which
  QMenu draws as the right-aligned shortcut instead of formatting the QKeySequence itself.
- Each action belongs to one cheat-sheet group (`GROUPS`: Move, Answer, Organise, Views, App): set on the
  spec where the menu does not say it (`group_of`).
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
    group: str = ""  # one of GROUPS; empty: follows from the menu (`group_of`)

    @property
    def triage(self) -> bool:
        """True when every key is one plain character: such keys must not fire while typing."""
        return bool(self.keys) and all(len(k) == 1 or k in ("Return", "Enter", "Down", "Up") for k in self.keys)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("next", "Next conversation", "Go", ("j", "Down"), "select_next"),
    ActionSpec("previous", "Previous conversation", "Go", ("k", "Up"), "select_previous"),
    ActionSpec("open", "Open conversation", "Go", ("o", "Return"), "open_selected"),
    ActionSpec("reply", "Reply", "Conversation", ("r",), "focus_composer", group="Answer"),
    ActionSpec("send", "Send reply", "Conversation", ("Ctrl+Return",), "send_reply", group="Answer"),
    ActionSpec("send_done", "Send and mark done", "Conversation", ("Ctrl+Shift+Return",), "send_reply_done",
               group="Answer"),
    ActionSpec("done", "Mark done", "Conversation", ("e",), "mark_done"),
    ActionSpec("waiting", "Waiting on customer", "Conversation", ("w",), "mark_waiting"),
    ActionSpec("snooze", "Snooze…", "Conversation", ("s",), "snooze_menu"),
    ActionSpec("spam", "Mark as spam", "Conversation", ("!",), "mark_spam"),
    ActionSpec("reopen", "Reopen", "Conversation", ("Shift+U",), "reopen"),
    ActionSpec("undo", "Undo", "Conversation", ("Ctrl+Z",), "undo_last",
               "Reverse the last done, waiting, spam, snooze or merge (offered for a few seconds)"),
    ActionSpec("open_platform", "Open on platform", "Conversation", ("Ctrl+Shift+O",), "open_on_platform",
               group="Answer"),
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
# The cheat sheet's and the command palette's groups, in this order.
GROUPS = ("Move", "Answer", "Organise", "Views", "App")
_GROUP_OF_MENU = {"Go": "Move", "Conversation": "Organise", "View": "Views"}  # File, Tools, Help: App
_ARROWS = {"Down": "↓", "Up": "↑", "Left": "←", "Right": "→"}


def group_of(spec: ActionSpec) -> str:
    return spec.group or _GROUP_OF_MENU.get(spec.menu, "App")


def key_display(key: QKeySequence | str) -> str:
    """The one way a key is shown to the owner: "Ctrl+Enter", "Ctrl+Shift+O", "j", "↓", "Esc".

    Qt calls the main Enter key "Return"; every keyboard labels it Enter, so that is what is shown.
    A single character is a triage key, typed as shown (lower-case j, not Qt's "J").
    """
    text = key if isinstance(key, str) else key.toString(QKeySequence.SequenceFormat.PortableText)
    if len(text) == 1:
        return text.lower()
    if text in _ARROWS:
        return _ARROWS[text]
    native = QKeySequence(text).toString(QKeySequence.SequenceFormat.NativeText)
    return (native or text).replace("Return", "Enter")


def key_text(spec: ActionSpec) -> str:
    """All of an action's keys as shown: "j / ↓" (a key shown twice, Return and keypad Enter, once)."""
    names: list[str] = []
    for key in spec.keys:
        name = key_display(key)
        if name not in names:
            names.append(name)
    return " / ".join(names)


def menu_text(spec: ActionSpec, title: str | None = None) -> str:
    """A menu entry's text: the title, a tab, and the keys as `key_text` shows them (QMenu right-aligns
    what follows the tab and then does not format the shortcut itself)."""
    title = spec.title if title is None else title
    keys = key_text(spec)
    return f"{title}\t{keys}" if keys else title


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
            action = QAction(menu_text(spec), window)
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
