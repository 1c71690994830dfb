"""Text for search and recommendations: words (analysis, cjk) and sentence vectors (encoder, with the
multilingual and ONNX backends). Import from the modules themselves; this package re-exports nothing."""
