"""The worker: upload-event parsing, retry policy, batch processing and the consumer loop."""
