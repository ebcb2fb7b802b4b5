"""Operations: the detailed health report for monitoring (``/healthz/detail``)."""
