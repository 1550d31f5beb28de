"""A fake Amazon Comprehend endpoint on loopback (JSON protocol) for boto3 tests."""
