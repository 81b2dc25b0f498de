"""Real local servers that stand in for outside systems in tests."""
