"""The event-driven LLM: providers, governor, worker thread, detector and bias application."""
