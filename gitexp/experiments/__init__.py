"""Running, recording, querying, comparing and applying experiments."""
