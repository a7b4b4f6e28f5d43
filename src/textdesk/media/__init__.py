"""Texts' pictures and PDFs (MMS): uploads, patients' files fetched from the carrier, links."""
