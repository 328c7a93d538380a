"""Logs that never print personal data in clear (`logs`), Prometheus metrics (`metrics`)."""
