"""Extraction and loading: the four feeds of docs/feeds.md into the ``raw`` schema, with the
bookkeeping (batch log, rejects, file ledger, incremental state) in ``etl``."""
