"""The dispatcher process: relays texts between textdesk and the carrier."""
