"""Carrier line-type lookups: asked once per practice and phone, kept with their date."""
