"""Optional LLM analyst roles (``llm.roles``): market, memory, bull, bear, then a risk reviewer.

``spec`` holds each role's prompt and reply schema, ``verdict`` the pure synthesis of the
analysts' and the debaters' replies and the reviewer's clamp, ``pipeline`` the ordered governed
calls within one deadline with the single-analyst fallback, ``governed`` the live caller.
"""
