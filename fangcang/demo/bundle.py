"""Write generated columns as an import bundle (docs/data-contract.md): CSV files written with
pyarrow's CSV writer (several times faster than ``DataFrame.to_csv`` at millions of rows) and
``communities.geojson``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely


def to_arrow(values) -> pa.Array:
    """One column as an Arrow array; NaT, None and negative ints (our "no value") are null."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        unit = np.datetime_data(arr.dtype)[0]
        out = pa.array(arr, from_pandas=True)
        return out.cast(pa.date32()) if unit == "D" else out
    if arr.dtype.kind in "iu":
        return pa.array(arr, mask=arr < 0)
    if arr.dtype.kind == "S":
        return pa.array(arr).cast(pa.string())
    return pa.array(arr, from_pandas=True)


def strcat(*parts) -> pa.Array:
    """Element-wise concatenation of strings, numbers and literal text, done in Arrow (numpy's
    int-to-str conversions and object-array additions are an order of magnitude slower)."""
    arrays = []
    for part in parts:
        if isinstance(part, str):
            arrays.append(pa.scalar(part))
            continue
        arr = to_arrow(part)
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
        arrays.append(arr)
    return pc.binary_join_element_wise(*arrays, "")


def labels(pool, index, mask=None) -> pa.Array:
    """``pool[index]`` as an Arrow string array (null where ``mask``); far cheaper than
    building numpy object arrays of Python strings."""
    idx = pa.array(np.asarray(index, dtype=np.int64), mask=mask)
    return pc.take(pa.array(list(pool), pa.string()), idx)


def pick(mask, when_true, when_false) -> pa.Array:
    """``np.where`` for Arrow string arrays."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), when_true, when_false)


def write_csv(path: Path, columns: dict) -> int:
    """Write the public columns (names not starting with ``_``) of ``columns`` to ``path``."""
    table = pa.table({k: to_arrow(v) for k, v in columns.items() if not k.startswith("_")})
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return table.num_rows


def write_geojson(path: Path, frame, properties: list[str]) -> int:
    """Write a FeatureCollection of ``frame['geometry']`` (shapely) with the given columns."""
    features = []
    for row in frame.itertuples(index=False):
        props = {}
        for p in properties:
            v = getattr(row, p)
            props[p] = str(v) if isinstance(v, np.datetime64) else v
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": json.loads(shapely.to_geojson(row.geometry)),
            }
        )
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return len(features)
