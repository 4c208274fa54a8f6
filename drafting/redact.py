"""One redaction function for secrets in URLs and error texts, used wherever text is persisted or
printed (config.json, results.jsonl, report.html, error messages, log lines).

A key can reach a URL (``https://user:KEY@host/v1``, ``?api-key=KEY``) or come back in a server's
error text (``invalid key sk-...``). `redact` replaces what looks like a credential with
``REDACTED`` and leaves everything else as it was.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Plain text (no brackets): messages go through rich markup and HTML.
REDACTED = "REDACTED"

#: Query parameters whose values are credentials.
_SECRET_PARAM = re.compile(
    r"^(?:api[-_]?key|key|token|access[-_]?token|auth|authorization|secret|client[-_]?secret|"
    r"password|passwd|sig|signature|code)$",
    re.IGNORECASE,
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
#: ``api_key=...``, ``token: ...`` outside URLs.
_ASSIGNED = re.compile(
    r"(?i)\b(api[-_]?key|access[-_]?token|auth[-_]?token|token|secret|password|key)"
    r"(\s*=\s*|[\"']?\s*:\s*[\"']?)([^\s&'\",;)}\]]{4,})"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
#: Common API-key shapes (OpenAI-style ``sk-``, and long ``key-``/``tok-`` style tokens).
_KEY_SHAPES = re.compile(r"\b(?:sk|pk|rk|key|tok)-[A-Za-z0-9_-]{8,}")


def redact_url(url: str) -> str:
    """A URL without credentials: userinfo and secret query values become ``REDACTED``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.match(k) for k, _ in pairs):
            query = urlencode(
                [(k, REDACTED if _SECRET_PARAM.match(k) else v) for k, v in pairs], safe="[]"
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with credentials replaced by ``REDACTED``.

    Args:
        text: Any text: a URL, an error message, a log line.
        secrets: Known secret values (e.g. the configured API key), replaced wherever they occur.
    """
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _KEY_SHAPES.sub(REDACTED, text)


#: Loggers (and their children) whose records are redacted: HTTP clients log full URLs.
REDACTED_LOGGERS = ("httpx", "httpcore", "openai", "urllib3", "drafting")
_installed = False


def install_log_redaction() -> None:
    """Redact every log record of `REDACTED_LOGGERS` as it is made (idempotent).

    A record factory rather than a logger filter: filters on a logger do not apply to records
    of its child loggers (``httpcore.http11``, ``openai._base_client``).
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.split(".", 1)[0] in REDACTED_LOGGERS:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a malformed record is logging's to report
                return record
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and not record.exc_text:
                # A traceback's text names the URL too; formatters reuse a cached exc_text.
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
