"""The error hierarchy, split by who must act.

- `InputError`: the user's input or configuration is wrong (a case file, a suite, a prompt file,
  a missing fixture). The message names the file and the field.
- `EndpointError`: a model endpoint failed (timeouts, HTTP errors after retries). Carries the
  status and the endpoint, never the API key.
- `ReplyParseError`: the model answered, but the reply did not parse into the expected schema.
  Carries the raw reply so that prompt authors can see what came back.
"""

from __future__ import annotations

from pathlib import Path


class DraftingError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(DraftingError):
    """Bad input or configuration: the user must fix a file, a field or an argument.

    Args:
        message: What is wrong, in one line.
        path: The file concerned, when there is one.
        field: The dotted field path inside that file, when known.
    """

    def __init__(self, message: str, *, path: str | Path | None = None, field: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.field = field
        #: Every problem found, this one first; a file that breaks several rules lists them all.
        self.problems: list[InputError] = [self]
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The error as one line: ``file: field: message``."""
        parts = [p for p in (self.path, self.field) if p]
        return ": ".join([*parts, self.message])


class CaseFileError(InputError):
    """A case file that cannot be read or does not validate."""


class ConfigError(InputError):
    """A suite, prompt file, endpoint setting or command-line argument that is wrong."""


class RecordFormatError(InputError):
    """A run or baseline file written in a format version this version of drafting does not read.

    The message names the version found and what to do (upgrade drafting, or re-create the file).
    """


class FixtureMissError(ConfigError):
    """Replay found no recorded exchange for a request.

    Deliberately not a transport error, so that the ``openai`` SDK does not retry it.
    """

    def __init__(
        self,
        *,
        key: str,
        directory: str | Path,
        stage: str | None = None,
        case_id: str | None = None,
        command: str | None = None,
    ):
        self.key = key
        self.directory = str(directory)
        self.stage = stage
        self.case_id = case_id
        self.command = command or "re-run the same command with --fixtures record (or auto)"
        where = ", ".join(
            p for p in (f"stage {stage}" if stage else "", f"case {case_id}" if case_id else "") if p
        )
        message = (
            f"no recorded model reply for request {key}"
            + (f" ({where})" if where else "")
            + f" in {self.directory}; to record it: {self.command}"
        )
        super().__init__(message)


class FixtureFileError(ConfigError):
    """A fixture file that exists but cannot be read (truncated, not JSON)."""


class StorageError(DraftingError):
    """A file the tool writes could not be written (disk full, permissions, read-only place).

    Args:
        message: What could not be written, and what to do.
        path: The file or directory concerned.
    """

    def __init__(self, message: str, *, path: str | Path | None = None):
        self.path = str(path) if path is not None else None
        super().__init__(f"{self.path}: {message}" if self.path else message)

    @classmethod
    def from_os_error(cls, exc: OSError, *, hint: str = "") -> StorageError:
        """One line for an `OSError` raised while writing (ENOSPC named plainly)."""
        import errno

        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            reason = f"the disk is full ({reason})"
        message = f"cannot write: {reason}" + (f"; {hint}" if hint else "")
        return cls(message, path=exc.filename)


class EndpointError(DraftingError):
    """A model endpoint failed (HTTP error, timeout, unreachable) after the retry budget was spent.

    Args:
        message: What happened.
        endpoint: The endpoint's host (never the URL's query or the key).
        status: The HTTP status, when there was a response.
    """

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None):
        from drafting.redact import redact  # a server may echo the key back in its error text

        self.endpoint = redact(endpoint) if endpoint else endpoint
        self.status = status
        bits = [redact(message)]
        if status is not None:
            bits.append(f"HTTP {status}")
        if self.endpoint:
            bits.append(f"endpoint {self.endpoint}")
        super().__init__(" | ".join(bits))


class ReplyParseError(DraftingError):
    """A model reply that is unusable: empty, not JSON, not the expected schema, or cut off.

    `drafting.parsing` raises it for one reply; the chain raises it for a stage once its repair
    attempt is spent too (with ``attempts`` holding every reply).

    Args:
        message: The problem.
        raw_reply: The reply text exactly as the model sent it (the last one).
        stage: The chain stage, when known.
        attempts: Every raw reply seen, first to last.
        truncated: The reply was cut off at the token limit (``finish_reason: length``).
    """

    def __init__(
        self,
        message: str,
        *,
        raw_reply: str,
        stage: str | None = None,
        attempts: list[str] | None = None,
        truncated: bool = False,
    ):
        self.raw_reply = raw_reply
        self.stage = stage
        self.attempts = attempts or [raw_reply]
        self.truncated = truncated
        prefix = f"stage {stage}: " if stage else ""
        super().__init__(f"{prefix}{message}")
