"""The embedded local backend: both tenants mirrored in a workspace folder (default .mlops/).

DuckDB for BigQuery, folders for buckets, JSON state for the registry, endpoint and
monitoring; each module implements one port of promotion.ports.
"""
