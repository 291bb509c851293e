"""Test support: a live server in a thread, database URLs for both backends."""
