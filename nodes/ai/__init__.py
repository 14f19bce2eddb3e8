"""AI node types: language detection (more to come: LLM, router, memory, speech)."""
