"""The alerter: a process of its own (``python -m bot alerts``) that follows the journal and
tells Telegram, Slack and email what happened, so no channel can ever slow the trading loop."""
