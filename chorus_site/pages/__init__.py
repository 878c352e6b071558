"""The live pages: the machinery they share (`base`), where they read screens (`screens`), one module per page kind
and the registry that names every kind (`registry`). Page modules import `base` and `screens`, never each other.
"""
