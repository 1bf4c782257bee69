"""socialdesk: one keyboard-driven queue for a small business's customer messages."""

__version__ = "0.1.0"
APP_NAME = "socialdesk"
