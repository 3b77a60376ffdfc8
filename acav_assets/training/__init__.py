"""Stage 5, training: the audio-language model (encoder, adapter, decoder), its run config,
examples, training loop, checkpoints and caption generation."""
