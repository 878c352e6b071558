"""The conformance kit: stand-in model servers that play each vendor's streaming API offline, the pinned agent CLIs
and how to run them against a stand-in, and the run that drives a real CLI through Chorus and tables which signals
work (`chorus conformance PROFILE`)."""
