"""Every number each page shows, for a before/after comparison of a refactoring.

Runs each page of ``ui.nav.PAGES`` through ``streamlit.testing`` AppTest (via app.py, signed in
as each given demo account, for the pages its role may open) against the database of
``FANGCANG_DB_URL``, and writes what the page shows to JSON: metrics (label, value, delta),
table cells, the numbers in titles, captions, markdown, text and alerts, and the numeric
arrays of plotly charts. A ``diff`` compares two such files and lists every difference.

Usage::

    FANGCANG_DB_URL=sqlite:////path/copy.db python bench/page_figures.py run OUT.json \
        [--users admin,station,officer] [--pages overview,trends]
    python bench/page_figures.py diff BEFORE.json AFTER.json

Pages that write (audit entries of person-level views) change the database: run each side on
a fresh copy of the same file. The community page opens the first community (by id) of each
account's scope. Times of day (the data's "now" does not move, but audit and
session timestamps do) may differ between runs; the diff lists them like any other change.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?%?")
TEXT_TYPES = (
    "title",
    "header",
    "subheader",
    "caption",
    "markdown",
    "text",
    "info",
    "warning",
    "error",
    "success",
)


def _plain(v):
    """A JSON-safe cell value (numbers stay numbers; NaN/None -> None; others -> str)."""
    try:
        import numpy as np

        if isinstance(v, np.generic):
            v = v.item()
    except ImportError:  # numpy always ships with pandas; kept for a bare interpreter
        pass
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 6)
    s = str(v)
    return None if s in ("NaT", "nan", "None", "<NA>") else s


def _table(value) -> dict:
    data = getattr(value, "data", value)  # a Styler carries its frame in .data
    try:
        frame = data.reset_index(drop=True)
    except AttributeError:
        return {"repr": str(data)[:2000]}
    return {
        "columns": [str(c) for c in frame.columns],
        "rows": [[_plain(v) for v in row] for row in frame.itertuples(index=False)],
    }


def _chart_numbers(spec: str) -> list:
    fig = json.loads(spec)
    out = []
    for trace in fig.get("data", []):
        entry = {"name": trace.get("name"), "type": trace.get("type")}
        for key in ("x", "y", "z", "values", "text"):
            if key in trace:
                vals = trace[key]
                if isinstance(vals, dict):  # plotly's binary arrays ({"dtype", "bdata"})
                    vals = _decode(vals)
                entry[key] = vals
        out.append(entry)
    return out


def _decode(arr: dict):
    import base64

    import numpy as np

    if "bdata" not in arr:
        return arr
    data = np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"])
    if "shape" in arr:
        data = data.reshape([int(x) for x in str(arr["shape"]).split(",")])
    return [_plain(v) for v in data.ravel().tolist()]


def _walk(node, out: list) -> None:
    kind = getattr(node, "type", None)
    if kind == "metric":
        out.append(
            {
                "kind": "metric",
                "label": node.label,
                "value": node.value,
                "delta": node.proto.delta or None,
            }
        )
    elif kind in ("dataframe", "table"):
        out.append({"kind": kind, **_table(node.value)})
    elif kind == "plotly_chart":
        out.append({"kind": "chart", "traces": _chart_numbers(node.proto.spec)})
    elif kind in TEXT_TYPES or (kind == "alert"):
        text = str(getattr(node, "value", "") or "")
        numbers = NUMBER.findall(text)
        if numbers:
            out.append({"kind": kind, "numbers": numbers, "text": text[:300]})
    children = getattr(node, "children", None)
    if children:
        for key in sorted(children):
            _walk(children[key], out)


def run_page(page: str, viewer, lang: str = "zh", **params) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["viewer"] = viewer
    at.session_state["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    items: list = []
    _walk(at._tree, items)
    return {
        "exception": [str(e.value)[:500] for e in at.exception],
        "seconds": round(seconds, 1),
        "items": items,
    }


def cmd_run(args) -> None:
    from sqlalchemy import select

    from fangcang import auth, db
    from fangcang.models import Community, User
    from ui.nav import PAGES

    if not os.environ.get("FANGCANG_DB_URL"):
        sys.exit("set FANGCANG_DB_URL to the database to read")
    engine = db.make_engine(os.environ["FANGCANG_DB_URL"])
    viewers, first_community = {}, {}
    with db.session_factory(engine)() as s:
        for name in args.users.split(","):
            user = s.get(User, name)
            if user is None:
                sys.exit(f"no account {name!r} in this database")
            viewers[name] = auth.viewer_for(s, user)
            # the community page shows a community chosen in the URL: the first in scope
            first_community[name] = s.scalar(
                select(Community.community_id)
                .where(viewers[name].scope.clause(Community.community_id))
                .order_by(Community.community_id)
                .limit(1)
            )
    engine.dispose()
    wanted = set(args.pages.split(",")) if args.pages else None
    out = Path(args.out)
    result: dict = {"db": os.environ["FANGCANG_DB_URL"], "pages": {}}
    if args.append and out.exists():
        result = json.loads(out.read_text())
    for name, viewer in viewers.items():
        for spec in PAGES:
            if viewer.role not in spec.roles or (wanted and spec.id not in wanted):
                continue
            print(f"{name} {spec.id} ...", end=" ", flush=True)
            params = {"community": first_community[name]} if spec.id == "community" else {}
            got = run_page(spec.id, viewer, **params)
            print(f"{got['seconds']} s, {len(got['items'])} items", flush=True)
            result["pages"][f"{name}/{spec.id}"] = got
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))


def _shape(item: dict) -> str:
    """What an item is, without its numbers: kind + label, table columns or text with the
    digits taken out (pairs an item before with the same item after when others were added
    or removed around it)."""
    kind = item.get("kind")
    if kind == "metric":
        return f"metric|{item.get('label')}"
    if "columns" in item:
        return f"{kind}|{item['columns']}"
    if kind == "chart":
        return "chart|" + "|".join(
            f"{t.get('type')}:{t.get('name')}:{len(t.get('y') or t.get('z') or t.get('values') or [])}"
            for t in item.get("traces", [])
        )
    return f"{kind}|{NUMBER.sub('#', item.get('text', ''))}"


def _normal(value):
    """Floats to 6 decimals and thousands separators out of numbers in text, recursively (a
    chart sent as a binary array or a list, "1594" or "1,594", show the same figure)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, str):
        return re.sub(r"(?<=\d),(?=\d{3})", "", value)
    return value


def _diff_items(a: list, b: list, where: str, out: list) -> None:
    """Align the two item lists (difflib on exact items), then pair what differs by shape:
    a pair is a changed figure; an item without a partner was added or removed (usually a
    page change of another kind than figures)."""
    a, b = _normal(a), _normal(b)
    matcher = difflib.SequenceMatcher(
        a=[json.dumps(x, sort_keys=True) for x in a],
        b=[json.dumps(y, sort_keys=True) for y in b],
        autojunk=False,
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        after = list(range(j1, j2))
        for i in range(i1, i2):
            x = a[i]
            k = next((j for j in after if _shape(b[j]) == _shape(x)), None)
            if k is None:
                out.append(f"{where} only before: {json.dumps(x, ensure_ascii=False)[:300]}")
                continue
            after.remove(k)
            y = b[k]
            if "rows" in x and "rows" in y:
                if len(x["rows"]) != len(y["rows"]):
                    out.append(
                        f"{where} table {x['columns'][:4]} rows: {len(x['rows'])} -> {len(y['rows'])}"
                    )
                for r, (ra, rb) in enumerate(zip(x["rows"], y["rows"], strict=False)):
                    if ra != rb:
                        out.append(f"{where} table {x['columns'][:2]} row {r}: {ra} -> {rb}")
                continue
            out.append(f"{where} changed: {json.dumps(x, ensure_ascii=False)[:300]}")
            out.append(f"{' ' * len(where)}      -> {json.dumps(y, ensure_ascii=False)[:300]}")
        for j in after:
            out.append(f"{where} only after: {json.dumps(b[j], ensure_ascii=False)[:300]}")


def cmd_diff(args) -> None:
    a = json.loads(Path(args.before).read_text())["pages"]
    b = json.loads(Path(args.after).read_text())["pages"]
    out: list[str] = []
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            out.append(f"{key}: only {'after' if key in b else 'before'}")
            continue
        if a[key]["exception"] != b[key]["exception"]:
            out.append(f"{key}: exception {a[key]['exception']} -> {b[key]['exception']}")
        _diff_items(a[key]["items"], b[key]["items"], key, out)
    n_items = sum(len(p["items"]) for p in a.values())
    print(f"{len(a)} page runs, {n_items} items before; {len(out)} difference line(s)")
    for line in out[: args.most]:
        print(line)
    if len(out) > args.most:
        print(f"... {len(out) - args.most} more")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the pages and write their figures to OUT")
    r.add_argument("out")
    r.add_argument("--users", default="admin,station,officer")
    r.add_argument("--pages", default="", help="comma-separated page ids (default: all)")
    r.add_argument("--append", action="store_true", help="update OUT instead of replacing it")
    d = sub.add_parser("diff", help="compare two files written by run")
    d.add_argument("before")
    d.add_argument("after")
    d.add_argument("--most", type=int, default=200)
    args = p.parse_args(argv)
    cmd_run(args) if args.cmd == "run" else cmd_diff(args)


if __name__ == "__main__":
    main()
