"""A stand-in for a coding agent CLI that draws Claude-Code-like screens in a terminal (see fake_agent.py)."""
