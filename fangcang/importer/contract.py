"""The data contract's column tables, rendered from the registered specs.

``docs/data-contract.md`` embeds ``file_table(spec)`` for every bundle file; a test checks the
document still matches the code, so the contract cannot drift from what the importer accepts.
"""

from __future__ import annotations

import enum

from .aliases import EXTRA
from .kinds import COMMUNITY_SPEC, KINDS
from .spec import (
    BOOL,
    DATE,
    DATETIME,
    ENUM,
    FLOAT,
    ID_NUMBER,
    INT,
    LAT,
    LAT_RANGE,
    LON,
    LON_RANGE,
    PHONE,
    Field,
    FileSpec,
)

_TYPE_TEXT = {
    "string": "text",
    INT: "whole number",
    FLOAT: "number",
    DATE: "date `YYYY-MM-DD`",
    DATETIME: "local time `YYYY-MM-DD HH:MM:SS`",
    BOOL: "yes/no (`1`/`0`, `true`/`false`, `是`/`否`)",
    ENUM: "one of the allowed values",
    ID_NUMBER: "18-character ID number, check digit verified",
    LON: f"longitude ({LON_RANGE[0]:g}..{LON_RANGE[1]:g})",
    LAT: f"latitude ({LAT_RANGE[0]:g}..{LAT_RANGE[1]:g})",
    PHONE: "phone: mobile or landline, stored as `13800138000` / `0577-88886666`",
}


def _allowed(f: Field) -> str:
    if f.choices is None:
        return ""
    if isinstance(f.choices, type) and issubclass(f.choices, enum.Enum):
        from .. import i18n

        prefix = "".join("_" + c.lower() if c.isupper() else c for c in f.choices.__name__).lstrip(
            "_"
        )
        parts = []
        for m in f.choices:
            zh = i18n.catalogue().get(f"{prefix}.{m.value}", ("",))[0]
            extra = [k for k, v in EXTRA.get(f.choices, {}).items() if v == m.value and k != zh]
            names = "/".join([zh, *extra[:2]]) if zh else "/".join(extra[:2])
            parts.append(f"`{m.value}` ({names})" if names else f"`{m.value}`")
        return ", ".join(parts)
    values = sorted(set(f.choices.values()))
    return ", ".join(f"`{v}`" for v in values)


def file_table(spec: FileSpec) -> str:
    """Markdown table of a file's columns: field, type, required, allowed values, aliases."""
    lines = [
        "| column | type | required | allowed values / notes | accepted header aliases |",
        "|---|---|---|---|---|",
    ]
    for f in spec.fields:
        notes = _allowed(f)
        if f.description:
            notes = f"{notes}; {f.description}" if notes else f.description
        if f.default not in (None, ""):
            notes = f"{notes} (default `{f.default}`)" if notes else f"default `{f.default}`"
        if f.max_length:
            notes = (
                f"{notes} (at most {f.max_length} characters)"
                if notes
                else (f"at most {f.max_length} characters")
            )
        key = " (id: unique in the file)" if f.name == spec.key else ""
        req = "yes" if f.required else "no"
        aliases = ", ".join(f.aliases)
        lines.append(f"| `{f.name}`{key} | {_TYPE_TEXT[f.type]} | {req} | {notes} | {aliases} |")
    return "\n".join(lines)


def all_tables() -> dict[str, str]:
    """File name -> its column table, for every file of the bundle."""
    out = {"communities.geojson": file_table(COMMUNITY_SPEC)}
    for kind in KINDS:
        out[f"{kind.name}.csv"] = file_table(kind.spec)
    return out


if __name__ == "__main__":  # print the tables (to paste into docs/data-contract.md)
    for name, table in all_tables().items():
        print(f"### {name}\n\n{table}\n")
