"""Readiness, Prometheus metrics, request ids and JSON logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from service.observability import JsonFormatter, request_id_var


def test_readyz_reports_database_and_model(client: httpx.Client) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200  # the shared test model is loaded before the server starts
    assert ready.json() == {"status": "ready", "database": "ok", "model": "loaded"}


def test_metrics_count_requests_grades_and_errors(client: httpx.Client) -> None:
    client.post(
        "/v1/grades", json={"question_id": "vectors/07-span-dimension", "answer": "The rank, at most min(n, d)."}
    )
    client.post("/v1/grades", json={"question_id": "vectors/07-span-dimension", "answer": " "})
    body = client.get("/metrics").text
    assert 'grader_http_requests_total{method="POST",route="/v1/grades",status="201"} 1.0' in body
    assert 'grader_http_requests_total{method="POST",route="/v1/grades",status="422"} 1.0' in body
    assert 'grader_grades_total{status="scored"} 1.0' in body
    assert 'grader_stage_seconds_count{stage="embedding"} 1.0' in body
    assert 'grader_errors_total{status="422"} 1.0' in body


def test_request_id_is_echoed_or_made(client: httpx.Client) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert len(made) == 32 and made != "bad id with spaces"


def test_json_log_lines_carry_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("service.access", logging.INFO, __file__, 1, "request", None, None)
        record.status = 201
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-42" and line["status"] == 201 and line["message"] == "request"
