"""The model assets of the equities sleeve: selection, multiplicity log, champion, daily scores.

See :mod:`quant_assets.defs.models.assets` for the partitioning and the timeline they keep.
"""
