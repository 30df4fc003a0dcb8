"""What every route and every JSON answer gets, whatever a request carries.

- Route ids are bounded to the database's integer column (2**31 - 1): a larger one is a
  404 like any missing task, never a driver error (PostgreSQL refuses to compare an int4
  column with 2147483648, a 500 before this).
- JSON never carries NaN or Infinity: Python writes them, browsers' JSON.parse refuses
  them; a score that is not a number is written as null.
- Every answer says nosniff, may not be framed, and (for pages) may load nothing but this
  site's stylesheet and images: the templates have no script at all, so none may run; the
  only inline styles are `style` attributes (a meter's width), which cannot run code.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

INT_MAX = 2**31 - 1


class BoundedInt(IntegerConverter):
    """`<int:…>` within the integer columns' range; beyond it the route does not match."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def finite(value: Any) -> Any:
    """The value with every non-finite float (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


class FiniteJSON(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(finite(obj), **kwargs)


CSP = (
    "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
}
# Evidence (佐证材料) types shown as what they are; anything else is a download of bytes,
# whatever name WeCom gave the file (`x.html` must never be served as a page).
EVIDENCE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".amr": "audio/amr",
    ".mp4": "video/mp4",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def evidence_type(name: str) -> str:
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    return EVIDENCE_TYPES.get(suffix, "application/octet-stream")


def secure_headers(response: Response) -> Response:
    headers = response.headers
    present = {key.lower() for key in headers.keys()}
    for name, value in HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    return response


def install(app: Flask) -> None:
    """Before any blueprint is registered: rules take their converters when added."""
    app.url_map.converters["int"] = BoundedInt
    app.json = FiniteJSON(app)
    app.after_request(secure_headers)
