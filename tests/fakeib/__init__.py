"""A fake IB Gateway speaking the TWS wire protocol (server version 178) for tests and by hand.

Run it by hand with ``python -m tests.fakeib --port 4002``; tests drive it through
``tests.fakeib.control.FakeGatewayThread``.
"""
