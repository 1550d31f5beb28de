"""Nightly journal maintenance: retention with a Parquet archive, backups, size records."""
