"""Views: cases (DESIGN.md section 11)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("cases", __name__)


@bp.get("/cases")
def case_list():
    abort(404)  # not built yet


@bp.get("/cases/new")
def new_case():
    abort(404)  # not built yet


@bp.get("/supervision")
def supervision():
    abort(404)  # not built yet
