"""`socialdesk snippets list | import FILE | export FILE`: the snippet library from the command line.

Decisions:
- The file format follows the extension (.json / .csv); without one we look at the content (a JSON
  list starts with "["). `--format` overrides both. `-` means standard input / standard output
  (JSON unless `--format csv`).
- Import is all-or-nothing (core/snippets.import_snippets runs one transaction); a bad file exits 1
  with one line (core/snippets.import_failure: the line and field from SnippetImportError, the same
  words the window shows) and leaves the library as it was. Reading, format detection and parsing
  are core/snippets.read_import_file, shared with the window.
- Export writes to a temporary file next to the target and renames it, so an interrupted export never
  leaves half a file where the owner's backup was.
- `snippets list --json` keys: abbreviation, title, body, tags, channels, favorite_slot, use_count,
  last_used_at (ISO UTC or null); sorted by abbreviation. Only ever extended, never renamed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from socialdesk import cli

FORMATS = ("json", "csv")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("snippets", parents=[common], help="list, import or export canned snippets")
    ssub = parser.add_subparsers(dest="snippets_command", metavar="ACTION", required=True)

    p = ssub.add_parser("list", parents=[common], help="the snippet library")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = ssub.add_parser("import", parents=[common], help="add or update snippets from a JSON or CSV file")
    p.add_argument("file", help="path, or - for standard input")
    p.add_argument("--format", choices=FORMATS, help="default: from the extension or the content")
    p.set_defaults(func=cmd_import)

    p = ssub.add_parser("export", parents=[common], help="write the library to a JSON or CSV file")
    p.add_argument("file", help="path ending in .json or .csv, or - for standard output")
    p.add_argument("--format", choices=FORMATS, help="default: from the extension (JSON for -)")
    p.set_defaults(func=cmd_export)


def snippet_json(snippet) -> dict:
    return {
        "abbreviation": snippet.abbreviation,
        "title": snippet.title,
        "body": snippet.body,
        "tags": list(snippet.tags or []),
        "channels": list(snippet.channels or []),
        "favorite_slot": snippet.favorite_slot,
        "use_count": snippet.use_count,
        "last_used_at": cli.iso(snippet.last_used_at),
    }


def cmd_list(args) -> int:
    from socialdesk.core.store import Snippet

    with cli.open_core(args, write=False):
        data = [snippet_json(s) for s in Snippet.select().order_by(Snippet.abbreviation)]
    if args.json:
        cli.emit_json(data)
        return 0
    if not data:
        print("No snippets yet. Import some with `socialdesk snippets import FILE`.")
        return 0
    width = max(len(s["abbreviation"]) for s in data)
    for s in data:
        slot = f"[{s['favorite_slot']}]" if s["favorite_slot"] is not None else "   "
        body = " ".join(s["body"].split())
        body = body if len(body) <= 60 else body[:59] + "…"
        print(f"{s['abbreviation']:<{width}}  {slot}  {s['title']} — {body}")
    return 0


def _format_for(path: str, given: str | None) -> str:
    """The export format: --format, else the extension (JSON for -)."""
    if given:
        return given
    suffix = Path(path).suffix.lower().lstrip(".") if path != "-" else ""
    if suffix in FORMATS:
        return suffix
    if path == "-":
        return "json"
    raise cli.UsageError(f"Cannot tell the format of {path!r}: name it .json or .csv, or pass --format.")


def cmd_import(args) -> int:
    from socialdesk.core import snippets

    try:
        if args.file == "-":
            try:
                text = sys.stdin.read()
            except UnicodeDecodeError:
                raise snippets.SnippetImportError(None, None, "the input is not UTF-8 text.") from None
            rows = snippets.parse_import(text, args.format or snippets.import_format("", text))
        else:
            rows = snippets.read_import_file(args.file, args.format)
        with cli.open_core(args, write=True) as core:
            result = snippets.import_snippets(core.store, rows, core.clock.now())
    except snippets.SnippetError as exc:
        raise cli.CliError(snippets.import_failure(args.file, exc)) from None
    print(f"Imported {result.total} snippet(s): {result.created} new, {result.updated} updated.")
    return 0


def cmd_export(args) -> int:
    from socialdesk.core import snippets

    fmt = _format_for(args.file, args.format)
    with cli.open_core(args, write=False) as core:
        text = snippets.export_json(core.store) if fmt == "json" else snippets.export_csv(core.store)
    if args.file == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.file)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".snippets-", dir=target.parent if str(target.parent) else ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise cli.CliError(f"Cannot write {target}: {exc.strerror or exc}") from None
    print(f"Exported the snippet library to {target} ({fmt.upper()}).")
    return 0
