"""Views: scans (DESIGN.md section 11)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("scans", __name__)


@bp.get("/scans")
def scans():
    abort(404)  # not built yet
