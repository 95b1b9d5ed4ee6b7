"""The one exception hierarchy for errors a user of answer-grader can see.

    GraderError                      base; ``title`` is a short, stable summary
    ├── InvalidInput                 the request can never succeed as sent
    │   ├── EmptyAnswer
    │   ├── AnswerTooLong
    │   ├── BadEncoding
    │   ├── UnsupportedMediaType
    │   ├── PayloadTooLarge
    │   └── InvalidDataset           an imported data set of scored answers has bad lines (each named)
    ├── NotFound
    │   ├── UnknownQuestion
    │   ├── UnknownGrade
    │   ├── UnknownBatch
    │   ├── UnknownCalibration
    │   └── UnknownProfile
    ├── Conflict                     the request clashes with stored state
    ├── AuthError
    │   ├── Unauthenticated
    │   └── Forbidden
    ├── InvalidConfig                a setting or a model file cannot be used (found at start, never per request)
    └── JudgeUnavailable             the LLM judge failed after retries (grading degrades, never raises to users)

The service maps these classes to HTTP statuses and RFC 9457 problem+json in ``service/problems.py``, the only
place that knows about HTTP; this module stays free of it.
"""

from __future__ import annotations


class GraderError(Exception):
    """Base of every error we raise on purpose; ``detail`` says what to do about it."""

    title = "Grading error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(GraderError):
    """The input can never be graded as sent."""

    title = "Invalid input"


class EmptyAnswer(InvalidInput):
    """The answer is empty or only whitespace."""

    title = "Empty answer"


class AnswerTooLong(InvalidInput):
    """The answer exceeds the documented size limit."""

    title = "Answer too long"


class BadEncoding(InvalidInput):
    """The input is not valid UTF-8 text."""

    title = "Invalid text encoding"


class UnsupportedMediaType(InvalidInput):
    """The request body has a content type we do not accept."""

    title = "Unsupported media type"


class PayloadTooLarge(InvalidInput):
    """The request body exceeds the size limit."""

    title = "Request body too large"


class InvalidDataset(InvalidInput):
    """A data set for calibration cannot be used; the detail names every bad line."""

    title = "Invalid data set"


class NotFound(GraderError):
    """A referenced resource does not exist (or is not visible to the caller)."""

    title = "Not found"


class UnknownQuestion(NotFound):
    """No rubric has this question id."""

    title = "Unknown question"


class UnknownGrade(NotFound):
    """No grade has this id."""

    title = "Unknown grade"


class UnknownBatch(NotFound):
    """No batch has this id (or it is someone else's)."""

    title = "Unknown batch"


class UnknownCalibration(NotFound):
    """No calibration run has this id."""

    title = "Unknown calibration run"


class UnknownProfile(NotFound):
    """No calibration profile has this name."""

    title = "Unknown calibration profile"


class Conflict(GraderError):
    """The request clashes with stored state."""

    title = "Conflict"


class AuthError(GraderError):
    """Authentication or authorisation failed."""

    title = "Not authorised"


class Unauthenticated(AuthError):
    """No valid credentials were presented."""

    title = "Authentication required"


class Forbidden(AuthError):
    """The caller's role does not allow this."""

    title = "Forbidden"


class InvalidConfig(GraderError):
    """A setting or a file it points to (e.g. a stage-1 model) cannot be used."""

    title = "Invalid configuration"


class JudgeUnavailable(GraderError):
    """The LLM judge could not give a valid verdict after retries."""

    title = "Judge unavailable"
