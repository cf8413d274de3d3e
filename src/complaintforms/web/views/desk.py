"""The desk (GET /): what is due today, overdue, awaiting return and awaiting call-back."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("desk", __name__)


@bp.get("/")
def desk():
    return render_template("desk.html")
