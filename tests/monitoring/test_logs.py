"""Structured logs: JSON lines with the request id of the request or job pass that wrote them."""
from __future__ import annotations

import json
import logging

from elibrary import logs
from elibrary.jobs import Job, every, run_job


def test_json_lines_carry_the_request_id_and_extra_fields(tmp_path):
    handler = logs.make_handler({"ELIBRARY_LOG_FILE": str(tmp_path / "app.log"), "ELIBRARY_LOG_FORMAT": "json"})
    logger = logging.getLogger("elibrary.test-structured")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("outside")
        with logs.request_context("abc123"):
            logger.warning("inside %s", "a request", extra={"event": "signin.failure", "detail": {"n": 1}})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = [json.loads(line) for line in (tmp_path / "app.log").read_text(encoding="utf-8").splitlines()]
    assert [line["request_id"] for line in lines] == ["-", "abc123", "-"]
    assert lines[1]["message"] == "inside a request" and lines[1]["event"] == "signin.failure" and lines[1]["detail"] == {"n": 1}
    assert lines[1]["level"] == "WARNING" and lines[1]["logger"] == "elibrary.test-structured" and lines[1]["time"].endswith("+00:00")
    assert "ValueError: boom" in lines[2]["exception"]


def test_text_format_for_development(tmp_path):
    handler = logs.make_handler({"ELIBRARY_LOG_FILE": str(tmp_path / "dev.log"), "ELIBRARY_LOG_FORMAT": "text"})
    record = logging.LogRecord("elibrary.x", logging.INFO, __file__, 1, "hello", None, None)
    handler.handle(record)
    handler.close()
    assert "INFO elibrary.x [-] hello" in (tmp_path / "dev.log").read_text()


def test_a_job_pass_runs_under_a_request_id_of_its_own(rt):
    seen = []
    job = Job("logs-test", every(60), lambda runtime, now: seen.append(logs.current_request_id()) or "done")
    assert run_job(rt, job).message == "done"
    assert seen[0].startswith("job-logs-test-") and logs.current_request_id() is None


def test_tests_keep_pytests_capture_and_a_process_installs_the_handler_once(tmp_path):
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    logs.configure_logging({"TESTING": True})
    assert root.handlers == before
    settings = {"ELIBRARY_LOG_FILE": str(tmp_path / "once.log")}
    try:
        logs.configure_logging(settings)
        logs.configure_logging(settings)
        ours = [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]
        assert len(ours) == 1
    finally:
        for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
