"""The web interface (DESIGN.md section 11): a thin Flask layer over the library, served by
waitress (`complaintforms serve`). Every view calls the library function the command line
calls and maps the library's typed errors to a page: 422 with the reason beside the field,
404 for a case this user may not see, 403 for a step their role may not take."""

from complaintforms.web.app import create_app

__all__ = ["create_app"]
