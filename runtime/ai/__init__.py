"""The AI services handed to nodes: embeddings (more to come: models, memory, speech)."""
