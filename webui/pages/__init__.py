"""The web UI's pages, one module per area; each keeps its routes thin over server/services."""
