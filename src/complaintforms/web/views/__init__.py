"""The web interface's views, one blueprint a module (DESIGN.md section 11)."""

from complaintforms.web.views import api, archive, cases, desk, reports, scans

# Registered in this order by create_app.
VIEWS = (desk, cases, scans, reports, archive, api)

__all__ = ["VIEWS"]
