"""Input/output: tables (CSV, Parquet, JSON; atomic writes) in :mod:`.tables`, figures in :mod:`.plots`."""
