"""The staff access log of personal data (個人情報アクセス記録): append-only and hash-chained."""
