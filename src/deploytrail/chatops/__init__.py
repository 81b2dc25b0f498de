"""Chat faces of deploytrail: transport-free commands and the thin Errbot plugin shell."""
