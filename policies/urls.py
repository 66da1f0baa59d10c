"""Console URLs (the web console engineer fills these in)."""

urlpatterns: list = []
