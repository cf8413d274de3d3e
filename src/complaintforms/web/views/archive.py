"""Views: archive (DESIGN.md section 11)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("archive", __name__)


@bp.get("/archive")
def archive():
    abort(404)  # not built yet
