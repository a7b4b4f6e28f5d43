"""Open Dental: its REST API adapter and a simulator of the documented endpoints."""
