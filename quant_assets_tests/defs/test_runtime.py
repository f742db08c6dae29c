"""The helpers of asset bodies: images inlined as metadata and the lineage of rows."""

import base64

import pandas as pd

from quant_assets.defs.lib.runtime import png_markdown, stamp_rows, transform_id

PNG = b"\x89PNG\r\n\x1a\n-not-a-real-image"


def test_png_markdown_inlines_bytes_and_files_alike(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(PNG)
    expected = f"![a plot](data:image/png;base64,{base64.b64encode(PNG).decode()})"
    assert png_markdown(PNG, "a plot").value == expected
    assert png_markdown(path, "a plot").value == expected


def test_stamp_rows_names_the_domain_asset_and_configuration():
    df = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"]), "x": [1.0, 2.0]})
    out = stamp_rows(df, "research", "universe", "date", "cfg")
    assert set(out["source_uri"]) == {"quant_assets://research/universe"}
    assert set(out["transform_id"]) == {transform_id("universe", "cfg")}
    assert out["x"].tolist() == [1.0, 2.0]
