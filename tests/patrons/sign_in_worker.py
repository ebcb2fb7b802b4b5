"""A worker process for ``test_concurrent_sign_in``: sign in each card once, at the same moment as the others.

    python -m tests.patrons.sign_in_worker CONFIG_JSON START_AT PATH CARD...

Prints one JSON list of [card, status] pairs. Each process is a separate Python with its own
connections to the same database, as two gunicorn workers are.
"""
from __future__ import annotations

import base64
import json
import sys
import time


def main(config_json: str, start_at: str, path: str, cards: list[str]) -> None:
    """Wait for ``start_at`` (a Unix time), then request ``path`` once per card with Basic credentials."""
    from elibrary import create_app

    app = create_app(json.loads(config_json))
    client = app.test_client()
    client.get("/healthz")  # connections and templates warm before the shared start
    time.sleep(max(0.0, float(start_at) - time.time()))
    answers = []
    for card in cards:
        token = base64.b64encode(f"{card}:pin-{card}".encode()).decode()
        response = client.get(path, headers={"Authorization": f"Basic {token}"})
        answers.append([card, response.status_code])
    app.extensions["elibrary"].db.dispose()
    print(json.dumps(answers))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
