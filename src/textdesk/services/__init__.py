"""Use cases: combine the rules, storage and the carrier."""
