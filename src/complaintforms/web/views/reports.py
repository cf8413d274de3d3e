"""Views: reports (DESIGN.md section 11)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("reports", __name__)


@bp.get("/reports")
def index():
    abort(404)  # not built yet


@bp.get("/register")
def register_index():
    abort(404)  # not built yet
