"""AudioSet tagging: ``tagger_protocol`` (the interface every tagger meets), ``windows`` (2 s
windows and clip tags), the packaged YAMNet (``yamnet_front_end``, ``yamnet_model``,
``yamnet_tagger``), hub taggers (``hub_tagger``, batched ``front_ends``), the ontology, and
``tag_table`` (the tags expert: one shard's table and its spec)."""
