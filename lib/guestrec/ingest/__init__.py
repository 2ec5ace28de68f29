"""Ingest adapters: each brings guests (a peer connection, a name, a control channel)."""
