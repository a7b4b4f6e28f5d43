"""The revisions, oldest first by their number; each one is frozen once released."""
