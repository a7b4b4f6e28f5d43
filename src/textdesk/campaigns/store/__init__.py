"""campaigns store."""
