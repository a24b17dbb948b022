"""Import options of a bundle: coordinate systems and columns declared as not wanted.

Options come from an optional ``bundle.toml`` in the bundle folder and from the caller (CLI
flags, the data hub's upload form); the caller's win::

    coord_system = "gcj02"            # every file of the bundle (default "wgs84")

    [files.places]
    coord_system = "bd09"             # this file only
    ignore_columns = ["备用电话", "录入人"]   # not wanted: never "did you mean ..."
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .coords import WGS84, check_system

#: The options file of a bundle folder.
OPTIONS_FILE = "bundle.toml"


@dataclass
class BundleOptions:
    """Options for one import.

    Attributes
    ----------
    coord_system : str
        Default coordinate system of every file's points (``wgs84``, ``gcj02``, ``bd09``).
    files : dict
        File kind (``places``) -> ``{"coord_system": ..., "ignore_columns": [...]}``.
    source : str
        Where the options came from (for the report), e.g. ``bundle.toml``.
    """

    coord_system: str = WGS84
    files: dict[str, dict] = field(default_factory=dict)
    source: str = ""
    #: The coordinate system was declared (``--coord-system``, the upload's choice or a
    #: top-level ``coord_system`` in bundle.toml), not assumed: see ``coord_declared``.
    coord_given: bool = False

    def coord_system_for(self, kind: str) -> str:
        return self.files.get(kind, {}).get("coord_system") or self.coord_system

    def coord_declared(self, kind: str) -> bool:
        """Whether ``kind``'s system was declared by the user (then the points are read in it
        even when another system would explain them better: the report says so)."""
        return self.coord_given or bool(self.files.get(kind, {}).get("coord_system"))

    def ignore_columns_for(self, kind: str) -> list[str]:
        return list(self.files.get(kind, {}).get("ignore_columns", ()))

    def describe(self) -> str:
        parts = []
        if self.coord_system != WGS84:
            parts.append(f"coordinates {self.coord_system}")
        for kind, opts in sorted(self.files.items()):
            if opts.get("coord_system"):
                parts.append(f"{kind}: coordinates {opts['coord_system']}")
            if opts.get("ignore_columns"):
                parts.append(f"{kind}: ignored columns {', '.join(opts['ignore_columns'])}")
        return "; ".join(parts)


def load_options(
    folder: Path,
    *,
    coord_system: str | None = None,
    ignore_columns: dict[str, list[str]] | None = None,
) -> BundleOptions:
    """Read ``bundle.toml`` (if any) and apply the caller's options on top.

    Raises
    ------
    ValueError
        The options file is not valid TOML, or names an unknown coordinate system or file.
    """
    from .kinds import KINDS

    opts = BundleOptions()
    path = Path(folder) / OPTIONS_FILE
    if path.is_file():
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{OPTIONS_FILE}: not valid TOML ({exc})") from None
        opts.source = OPTIONS_FILE
        if "coord_system" in doc:
            opts.coord_system = _system(doc["coord_system"], "coord_system")
            opts.coord_given = True
        known = {k.name for k in KINDS}
        for kind, sub in (doc.get("files") or {}).items():
            if kind not in known:
                raise ValueError(
                    f"{OPTIONS_FILE}: [files.{kind}] is not a bundle file "
                    f"(one of {', '.join(sorted(known))})"
                )
            if not isinstance(sub, dict):
                raise ValueError(f"{OPTIONS_FILE}: [files.{kind}] must be a table")
            entry: dict = {}
            if "coord_system" in sub:
                entry["coord_system"] = _system(sub["coord_system"], f"files.{kind}.coord_system")
            cols = sub.get("ignore_columns", [])
            if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
                raise ValueError(f"{OPTIONS_FILE}: files.{kind}.ignore_columns must be a list")
            if cols:
                entry["ignore_columns"] = cols
            opts.files[kind] = entry
    if coord_system:
        opts.coord_system = check_system(coord_system)
        opts.coord_given = True
        for entry in opts.files.values():
            entry.pop("coord_system", None)
    for kind, cols in (ignore_columns or {}).items():
        entry = opts.files.setdefault(kind, {})
        entry["ignore_columns"] = [*entry.get("ignore_columns", []), *cols]
    return opts


def _system(value, where: str) -> str:
    try:
        return check_system(str(value))
    except ValueError as exc:
        raise ValueError(f"{OPTIONS_FILE}: {where}: {exc}") from None
