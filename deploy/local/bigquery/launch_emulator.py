"""Starts bqemulator with GEOGRAPHY support made optional.

bqemulator loads DuckDB's `spatial` extension at boot and refuses to start
without it. DuckDB fetches extensions from its own download site, which these
machines cannot reach, and no PyPI package ships `spatial` for the DuckDB
release bqemulator needs (duckdb-ext-spatial exists only for DuckDB 1.4.4, whose
Python UDF API bqemulator 1.4 no longer matches). sluice writes no GEOGRAPHY
columns, so this launcher lets the emulator boot without the extension:
every other API (datasets, tables, insertAll, jobs.query) is the emulator's own,
unchanged. Queries that use ST_* functions fail, loudly, at query time.

Usage: python launch_emulator.py start [bqemulator start options]
"""

import sys

from bqemulator.cli import main
from bqemulator.domain.errors import InternalError
from bqemulator.storage.engine import DuckDBEngine

_load_spatial = DuckDBEngine._load_spatial


def _load_spatial_if_available(self: DuckDBEngine) -> None:
    try:
        _load_spatial(self)
    except InternalError as error:
        print(
            "sluice: DuckDB spatial extension unavailable offline; GEOGRAPHY disabled "
            f"({str(error).splitlines()[0][:160]})",
            file=sys.stderr,
            flush=True,
        )


DuckDBEngine._load_spatial = _load_spatial_if_available

if __name__ == "__main__":
    sys.exit(main())
