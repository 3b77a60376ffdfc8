"""The speech expert, one module per part: ``vad`` (Silero VAD speech regions), ``asr`` (Whisper
recognition with language ID through faster-whisper, and the packaged Whisper base model),
``pitch`` (pYIN F0 statistics), ``gender`` (voice2gender male/female estimate with a pitch
fallback), ``analysis`` (``analyse_speech``, which combines them, and ``SPEECH_FIELDS``),
``expert`` (the pipeline's shard runner and spec), ``resampling`` (the 16 kHz model rate) and
``errors`` (``ModelUnavailableError``).
"""
