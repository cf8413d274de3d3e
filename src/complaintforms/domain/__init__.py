"""The procedure itself, with no I/O: the case record and its validation, the enumerations,
the state machine, working days, times, the report figures and how values read on paper."""
