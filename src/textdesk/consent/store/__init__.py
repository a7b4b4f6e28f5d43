"""consent store."""
