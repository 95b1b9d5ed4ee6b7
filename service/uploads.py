"""Reading an uploaded CSV or JSONL file (batches, calibration data sets): multipart or the raw body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from starlette.datastructures import UploadFile

from grader.errors import InvalidInput, UnsupportedMediaType

FileFormat = Literal["csv", "jsonl"]
MEDIA_FORMATS: dict[str, FileFormat] = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}
SUFFIX_FORMATS: dict[str, FileFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class Upload:
    """An uploaded file."""

    content: bytes
    format: FileFormat
    name: str


def format_of(name: str) -> FileFormat | None:
    """The format a file name's extension says, or None."""
    lowered = name.lower()
    return next((fmt for suffix, fmt in SUFFIX_FORMATS.items() if lowered.endswith(suffix)), None)


async def read_upload(request: Request, what: str, name: str | None = None) -> Upload:
    """The file from a multipart upload (field ``file``; its name's extension, else its part's content type, gives
    the format) or from the raw body (the content type gives it). ``what`` names the file in error messages."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput(f"Send the {what} in the multipart field 'file'.")
        filename = upload.filename or name or "upload"
        part_type = (upload.content_type or "").split(";")[0].strip().lower()
        fmt = format_of(filename) or MEDIA_FORMATS.get(part_type)
        if fmt is None:
            raise InvalidInput(f"The file name {filename!r} must end in .csv or .jsonl, so its format is known.")
        return Upload(await upload.read(), fmt, filename)
    fmt = MEDIA_FORMATS.get(media_type)
    if fmt is None:
        raise UnsupportedMediaType(
            f"Upload the {what} as multipart/form-data (field 'file'), or as the body with content type text/csv "
            f"or application/x-ndjson (got {media_type or 'none'})."
        )
    return Upload(await request.body(), fmt, name or f"upload.{fmt}")


def upload_openapi(description: str) -> dict[str, Any]:
    """The ``openapi_extra`` documenting such an upload as the request body."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    }
