"""Monitoring: ``/metrics`` for Prometheus, the security events page, staff alerts (see docs/operations.md)."""
