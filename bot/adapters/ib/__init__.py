"""Interactive Brokers through ib_async: the only package in the project that imports it.

``session.open_ib`` builds the broker (``broker.IbBroker``) and the bar stream
(``session.IbSession``) the live loop uses in ``ib_paper``/``ib_live`` mode; ``history``
downloads bars for backtests (``python -m bot fetch-history``).
"""
