"""The metadata model and its serialisations; no I/O and no web."""
