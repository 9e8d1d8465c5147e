"""reid: appearance embeddings for deep_sort trackers (command line and shared errors)."""
