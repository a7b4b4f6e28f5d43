"""SQLAlchemy tables and every query textdesk makes."""
