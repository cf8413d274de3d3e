"""The library API: one function per thing a user does (register, accept, return a slip,
scan, archive, report ...), each over a workspace. The CLI and the web layer call these."""
