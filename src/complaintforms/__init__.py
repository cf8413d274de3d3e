"""complaintforms: a customer-complaint procedure (客户投诉管理制度) on paper and PDF."""

__version__ = "0.1.0"
