"""Where records, the audit log and files are kept, behind one interface (DESIGN.md section 10).

Nothing outside this package touches a file of records/ or imports TinyDB."""
