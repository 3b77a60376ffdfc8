"""The line between a bad clip and a broken run.

An *input defect* (a corrupt, missing or empty file, a reply that never became valid JSON) is
recorded on the clip's row with its reason and never stops the shard's other clips. A *systemic
failure* (the audio source or the LLM endpoint unreachable, a model or decoder that cannot run)
raises one of these: the step fails, the previous output of the partition stays in place, and
the partition stays due, so a later run redoes it once the cause is gone.
"""


class SystemicFailure(RuntimeError):
    """The machinery failed, not one clip: stop the step and keep the previous output."""


class SourceUnreachable(SystemicFailure):
    """An audio source could not be reached (network down, object store refusing connections)."""


class EndpointUnreachable(SystemicFailure):
    """The LLM endpoint could not be reached or kept failing at the transport level."""


class PromotionRefused(SystemicFailure):
    """A partition's new output failed its blocking checks or is worse than the output it would
    replace; it was kept aside and the previous output stays live."""
