"""The embedded local backend: both tenants mirrored in a workspace folder (default .mlops/)."""
