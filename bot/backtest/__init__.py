"""The backtester: historical bars through the live decision path, the paper fill model, metrics."""
