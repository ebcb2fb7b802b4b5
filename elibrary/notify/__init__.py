"""Notifiers, chosen by ``ELIBRARY_NOTIFIER``, and the outbox they deliver from."""

BACKENDS = {
    "log": "elibrary.notify.memory:LogNotifier",
    "memory": "elibrary.notify.memory:RecordingNotifier",
    "smtp": "elibrary.notify.smtp:SMTPNotifier",
    "line": "elibrary.line.notifier:LineNotifier",  # LINE push for "line" messages, ELIBRARY_NOTIFIER_EMAIL for "email"
}
