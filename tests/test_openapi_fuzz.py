"""Schemathesis against our own OpenAPI spec on a live server: no 5xx and no response that breaks the schema.

Run through schemathesis' own runner (its pytest plugin does not load under pytest 9), with a fixed seed and a
bounded number of examples per operation, so a failure reproduces.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from grader.pipeline import Grader
from service.settings import Settings
from tests.conftest import LiveServer

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


def test_api_conforms_to_its_schema(settings: Settings, grader: Grader) -> None:
    runner = Path(sys.executable).with_name("schemathesis")
    with LiveServer(settings, grader) as server:
        run = subprocess.run(
            [
                str(runner),
                "run",
                f"{server.base_url}/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "8",
                "--seed",
                "1",
                "--no-color",
                # Hypothesis health checks judge the data generator, not the API; on a loaded machine they
                # flag slowness or filtered path parameters at random.
                "--suppress-health-check",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=settings.data_dir,  # schemathesis keeps a cache of crashes in the working directory
        )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", run.stdout)
    assert selected and selected[1] == selected[2] and int(selected[1]) >= 20, run.stdout[:2000]
    covered = re.search(r"Fuzzing.*?(\d+) passed", run.stdout, re.S)
    assert covered and int(covered[1]) == int(selected[1])  # every operation was fuzzed and passed
