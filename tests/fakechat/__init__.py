"""Loopback stand-ins for the chat services the alerter talks to (Telegram Bot API, Slack)."""
