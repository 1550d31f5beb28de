"""One module per section of the config; ``shared.config.settings`` composes them."""
