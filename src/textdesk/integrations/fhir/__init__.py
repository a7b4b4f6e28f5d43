"""HL7 FHIR R4: its REST adapter and a simulator of the search and create interactions."""
