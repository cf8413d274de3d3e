"""The JSON API under /api/v1/ (DESIGN.md section 11), authenticated by bearer tokens."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
