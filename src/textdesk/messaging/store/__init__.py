"""messaging store."""
