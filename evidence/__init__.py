"""Evidence: case-file database, capture, sealing, export, verification, reports, notices."""
