"""Canned snippets, Qt-free; the composer and palette in ui/ call these. This package's namespace is the
documented facade: callers write `snippets.render`, `snippets.import_snippets` and so on, whichever module
owns the name. Each module carries its own decisions:

- `text`: placeholders, `validate_body`, `render`, and reply classification (`classify_reply`,
  `needs_name_nudge`);
- `library`: create, update, delete/restore and usage of snippets, and the field rules;
- `ranking`: the palette's order (`rank_snippets`, `fts_query_from_text`);
- `transfer`: JSON/CSV import and export, and the starter pack.
"""

from __future__ import annotations

from socialdesk.core.snippets.library import (
    FIELDS,
    channel_problem,
    create_snippet,
    delete_snippet,
    find_by_abbreviation,
    record_use,
    restore_snippet,
    snippet_data,
    update_snippet,
)
from socialdesk.core.snippets.ranking import fts_query_from_text, rank_snippets
from socialdesk.core.snippets.text import (
    PLACEHOLDERS,
    RenderContext,
    SnippetError,
    SnippetProblem,
    classify_reply,
    contains_name,
    needs_name_nudge,
    render,
    validate_body,
)
from socialdesk.core.snippets.transfer import (
    IMPORT_FORMATS,
    STARTER_SETTING,
    STARTER_VERSION,
    STARTER_VERSION_SETTING,
    CheckedRows,
    ImportResult,
    SnippetImportError,
    export_csv,
    export_json,
    import_failure,
    import_format,
    import_snippets,
    load_starter_snippets,
    parse_csv,
    parse_import,
    parse_json,
    read_import_file,
)

__all__ = [
    "FIELDS", "IMPORT_FORMATS", "PLACEHOLDERS", "STARTER_SETTING", "STARTER_VERSION", "STARTER_VERSION_SETTING",
    "CheckedRows", "ImportResult", "RenderContext", "SnippetError", "SnippetImportError", "SnippetProblem",
    "channel_problem", "classify_reply", "contains_name", "create_snippet", "delete_snippet", "export_csv",
    "export_json", "fts_query_from_text", "find_by_abbreviation", "import_failure", "import_format",
    "import_snippets", "load_starter_snippets", "needs_name_nudge", "parse_csv", "parse_import", "parse_json",
    "rank_snippets", "read_import_file", "record_use", "render", "restore_snippet", "snippet_data",
    "update_snippet", "validate_body",
]
