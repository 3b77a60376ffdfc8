"""Encoder → adapter → decoder wiring on tiny random models loaded through from_pretrained, offline."""

import numpy as np
import pytest
import torch

from acav_assets.training.audio_text_model import (
    IGNORE_INDEX,
    AudioCaptionModel,
    AudioEncoder,
    FrameStackAdapter,
    load_decoder,
    load_tokenizer,
)
from acav_assets_tests.tiny_audio_models import save_tiny_models


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> AudioCaptionModel:
    encoder_dir, decoder_dir = save_tiny_models(tmp_path_factory.mktemp("tiny"))
    torch.manual_seed(0)
    encoder = AudioEncoder.from_pretrained(encoder_dir)
    decoder = load_decoder(decoder_dir)
    return AudioCaptionModel(encoder, FrameStackAdapter(encoder.dim, 64, stack=5), decoder,
                             load_tokenizer("qwen3-packaged")).eval()


def test_whisper_encoder_frames_at_50_hz_with_valid_lengths(model):
    encoder = model.encoder
    assert (encoder.frame_rate, encoder.dim) == (50.0, 64)
    frames, lengths = encoder(encoder.prepare([np.zeros(16_000, np.float32), np.zeros(8_000, np.float32)]))
    assert frames.shape == (2, 50, 64)
    assert lengths.tolist() == [50, 25]


def test_adapter_stacks_k_frames_and_pads_the_tail():
    adapter = FrameStackAdapter(encoder_dim=4, decoder_dim=6, stack=5, hidden_dim=8)
    assert [type(m).__name__ for m in adapter.net] == ["Linear", "GELU", "Linear"]
    assert adapter.net[0].in_features == 20
    out, lengths = adapter(torch.randn(2, 12, 4), torch.tensor([12, 6]))
    assert out.shape == (2, 3, 6)
    assert lengths.tolist() == [3, 2]
    with pytest.raises(ValueError, match="stack"):
        FrameStackAdapter(4, 6, stack=0)


def test_audio_and_prompt_positions_are_excluded_from_the_loss(model):
    audio = torch.randn(2, 4, 64)
    prompts, targets = [[1, 2, 3], [4]], [[7, 8], [9, 10, 11]]
    embeds, mask, positions, labels = model._sequences(audio, torch.tensor([4, 2]), prompts, targets, left_pad=False)
    assert embeds.shape == (2, 9, 64)
    assert labels[0].tolist() == [IGNORE_INDEX] * 7 + [7, 8]
    assert labels[1].tolist() == [IGNORE_INDEX] * 3 + [9, 10, 11] + [IGNORE_INDEX] * 3
    assert mask[1].tolist() == [1] * 6 + [0] * 3
    assert positions[1, :6].tolist() == list(range(6))
    # the audio embeddings come first, unchanged
    assert torch.equal(embeds[0, :4], audio[0]) and torch.equal(embeds[1, :2], audio[1, :2])


def test_loss_is_cross_entropy_over_target_tokens_only(model):
    tokenizer = model.tokenizer
    inputs = model.encoder.prepare([np.random.default_rng(0).normal(0, 0.1, 16_000).astype(np.float32)])
    prompt = [tokenizer("Describe the sound.\n").input_ids]
    target = tokenizer(" a dog barks").input_ids + [tokenizer.eos_token_id]
    loss = model(inputs, prompt, [target])
    # reference: full logits from the decoder's own forward, shifted, on target positions
    audio, lengths = model.audio_embeddings(inputs)
    embeds, mask, positions, labels = model._sequences(audio, lengths, prompt, [target], left_pad=False)
    logits = model.decoder(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).logits
    expected = torch.nn.functional.cross_entropy(logits[0, :-1], labels[0, 1:], ignore_index=IGNORE_INDEX)
    assert torch.isclose(loss, expected, atol=1e-5)
    with pytest.raises(ValueError, match="no target"):
        model(inputs, prompt, [[]])


def test_batched_generation_matches_one_clip_at_a_time(model):
    rng = np.random.default_rng(1)
    waves = [rng.normal(0, 0.1, 16_000).astype(np.float32), rng.normal(0, 0.1, 6_000).astype(np.float32)]
    prompts = [model.tokenizer("Describe the music in this audio.\n").input_ids, model.tokenizer("Hi\n").input_ids]
    together = model.generate(model.encoder.prepare(waves), prompts, max_new_tokens=6)
    alone = [model.generate(model.encoder.prepare([w]), [p], max_new_tokens=6)[0] for w, p in zip(waves, prompts)]
    assert together == alone
    assert all(isinstance(t, str) for t in together)


def test_encoder_save_and_load_round_trip(model, tmp_path):
    model.encoder.save(tmp_path / "encoder")
    again = AudioEncoder.load(tmp_path / "encoder")
    assert type(again.model).__name__ == "WhisperEncoder"
    inputs = model.encoder.prepare([np.random.default_rng(2).normal(0, 0.1, 12_000).astype(np.float32)])
    with torch.no_grad():
        assert torch.allclose(model.encoder(inputs)[0], again.eval()(inputs)[0], atol=1e-5)


def test_packaged_qwen3_tokenizer_has_end_and_padding_tokens():
    tokenizer = load_tokenizer("qwen3-packaged")
    assert len(tokenizer) == 151_669
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token_id is not None
