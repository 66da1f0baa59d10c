"""Console views, one module per page: gateways, policy editor, preview, simulate, history, import."""
