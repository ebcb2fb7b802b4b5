# Copy to instance/config.py. Every name can also be set as an environment variable of the same name.

# ELIBRARY_ENV = "production"            # refuses development secrets, secure cookies
# ELIBRARY_DATABASE_URL = "postgresql+psycopg://elibrary@db.example.lg.jp/elibrary"
# ELIBRARY_SECRET_KEY = "..."            # same value on every app server behind a load balancer
# ELIBRARY_DATA_KEY = "..."              # encrypts personal data at rest; back it up
ELIBRARY_LIBRARY_NAME = "みなと市電子図書館"
ELIBRARY_LIBRARY_NAME_EN = "Minato City e-Library"

# Where patrons are authenticated: "local", "sip2" or "http"
# ELIBRARY_ILS = "sip2"
# ELIBRARY_SIP2_HOST = "ils.example.lg.jp"
# ELIBRARY_SIP2_PORT = 6001
# ELIBRARY_SIP2_ENCODING = "cp932"

# ELIBRARY_SMTP_HOST = "smtp.example.lg.jp"
# ELIBRARY_SMTP_PORT = 25
# ELIBRARY_SMTP_FROM = "elibrary@example.lg.jp"
