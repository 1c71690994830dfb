"""Text encoders shared by search and recommendations: sentence embeddings with an on-disk cache."""

from shelfwise.text.encoder import EmbeddingCache, EncoderConfig, TextEncoder, product_text

__all__ = ["EmbeddingCache", "EncoderConfig", "TextEncoder", "product_text"]
