"""Integrations with the practice's own system (Open Dental): sync in, write-back out."""
