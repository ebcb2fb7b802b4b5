"""Notifiers, chosen by ``ELIBRARY_NOTIFIER``, and the outbox they deliver from."""

BACKENDS = {
    "log": "elibrary.notify.memory:LogNotifier",
    "memory": "elibrary.notify.memory:RecordingNotifier",
    "dev": "elibrary.notify.devmail:DevMailbox",  # development only: what would be sent, listed at /dev/mail
    "smtp": "elibrary.notify.smtp:SMTPNotifier",
    "line": "elibrary.line.notifier:LineNotifier",  # LINE push for "line" messages, ELIBRARY_NOTIFIER_EMAIL for "email"
}
