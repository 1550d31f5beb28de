"""A fake Bedrock runtime and OpenAI-compatible server on loopback for the LLM tests."""
