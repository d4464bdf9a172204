"""Feature extraction from raw conversations: media decoding, openSMILE audio, face crops and embeddings, text."""
