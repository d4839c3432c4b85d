"""CLIP: float64 gradchecks of the contrastive loss and of the whole model, every parameter reached, the
end-of-text read-out, the padding mask, the clamped temperature, the errors, and parity with Hugging Face's
``CLIPModel`` on the same weights when ``transformers`` is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
from minigrad.models.clip import CLIP, CLIPConfig, CLIPTextConfig, clip_loss
from minigrad.models.vit import ViTConfig

EOS = 12


def tiny() -> CLIPConfig:
    vision = ViTConfig(image_size=4, patch_size=2, channels=3, dim=8, n_layers=1, n_heads=2, mlp_hidden=12,
                       num_classes=None, activation="quick_gelu", norm_eps=1e-5, patch_bias=False,
                       embedding_norm=True)
    text = CLIPTextConfig(vocab_size=13, context_length=6, dim=6, n_layers=1, n_heads=2, mlp_hidden=10,
                          eos_token_id=EOS)
    return CLIPConfig(vision=vision, text=text, projection_dim=5)


def batch(seed=0):
    """3 images and 3 captions of different lengths, padded with 0 on the right, each ending with EOS."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(3, 3, 4, 4))
    ids = rng.integers(1, EOS, (3, 6))
    mask = np.ones((3, 6), np.int64)
    for row, length in enumerate([6, 4, 2]):
        ids[row, length - 1], ids[row, length:], mask[row, length:] = EOS, 0, 0
    return minigrad.tensor(images.astype(np.float32)), minigrad.tensor(ids), mask


def test_contrastive_loss_gradcheck_and_value():
    logits = minigrad.tensor(np.random.default_rng(0).normal(size=(4, 4)) * 3, requires_grad=True)
    assert minigrad.gradcheck(clip_loss, [logits])
    s = logits.detach().numpy()
    log_softmax = lambda a: a - np.log(np.exp(a).sum(axis=1, keepdims=True))  # noqa: E731
    expected = -(np.diag(log_softmax(s)).mean() + np.diag(log_softmax(s.T)).mean()) / 2
    assert abs(clip_loss(logits).item() - expected) < 1e-12


def test_whole_model_gradcheck():
    minigrad.manual_seed(0)
    model = CLIP(tiny()).double()
    images, ids, mask = batch()
    assert minigrad.gradcheck(lambda *_: clip_loss(model(images.double(), ids, mask)),
                              list(model.parameters()), max_elements=30)


def test_every_parameter_gets_a_nonzero_gradient():
    minigrad.manual_seed(1)
    model = CLIP(tiny())
    clip_loss(model(*batch())).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} received no gradient"
        assert np.abs(p.grad.data).max() > 0, f"{name}: gradient is all zeros"


def test_caption_vector_is_read_at_end_of_text_and_sees_only_the_caption():
    minigrad.manual_seed(2)
    model = CLIP(tiny()).eval()
    _, ids, mask = batch()
    with minigrad.no_grad():
        padded = model.encode_text(ids, mask).numpy()
        changed = ids.numpy().copy()
        changed[1, 4:] = [5, 7]  # other tokens after the end of caption 1
        assert np.array_equal(model.encode_text(minigrad.tensor(changed), mask).numpy(), padded)
        alone = model.encode_text(ids[1:2, :4]).numpy()  # caption 1 without its padding
        np.testing.assert_allclose(padded[1:2], alone, rtol=1e-5, atol=1e-6)
        # padding on the left is behind the causal mask's back: attention_mask hides it
        left = np.concatenate([[[0, 0]], ids.numpy()[1:2, :4]], axis=1)
        other = np.concatenate([[[3, 9]], ids.numpy()[1:2, :4]], axis=1)
        left_mask = [[0, 0, 1, 1, 1, 1]]
        assert np.array_equal(model.encode_text(minigrad.tensor(left), left_mask).numpy(),
                              model.encode_text(minigrad.tensor(other), left_mask).numpy())
        assert not np.allclose(model.encode_text(minigrad.tensor(left)).numpy(),
                               model.encode_text(minigrad.tensor(other)).numpy())


def test_logit_scale_starts_at_1_over_0_07_and_is_clamped_at_100():
    model = CLIP(tiny())
    assert abs(model.scale().item() - 1 / 0.07) < 1e-4
    model.logit_scale.data[...] = 7.0
    scale = model.scale()
    scale.backward()
    assert abs(scale.item() - 100) < 1e-3 and model.logit_scale.grad.item() == 0


def test_errors_name_the_problem():
    model = CLIP(tiny())
    images, ids, _ = batch()
    no_end = ids.numpy().copy()
    no_end[[0, 2]] = 1
    with pytest.raises(ValueError, match=r"captions \[0, 2\] have no end-of-text token \(id 12\)"):
        model(images, minigrad.tensor(no_end))
    with pytest.raises(ValueError, match="longer than the 6 positions"):
        model.encode_text(minigrad.tensor(np.full((1, 7), EOS)))
    with pytest.raises(ValueError, match=r"expects the square \(B, B\) logits.*\(2, 3\)"):
        clip_loss(minigrad.zeros(2, 3))
    with pytest.raises(ValueError, match="num_classes=None"):
        CLIP(CLIPConfig(vision=ViTConfig(num_classes=10)))


# --- parity with Hugging Face -----------------------------------------------------------------------------

HF_CONFIGS = [  # (text, vision, projection): odd widths, several head counts and patch sizes
    (dict(vocab_size=30, hidden_size=12, intermediate_size=20, num_hidden_layers=2, num_attention_heads=3,
          max_position_embeddings=10, eos_token_id=29, bos_token_id=28, pad_token_id=0),
     dict(hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=2, image_size=8,
          patch_size=4, num_channels=3), 6),
    (dict(vocab_size=25, hidden_size=10, intermediate_size=14, num_hidden_layers=1, num_attention_heads=5,
          max_position_embeddings=9, eos_token_id=3, bos_token_id=1, pad_token_id=0, hidden_act="gelu"),
     dict(hidden_size=18, intermediate_size=20, num_hidden_layers=3, num_attention_heads=3, image_size=6,
          patch_size=2, num_channels=2, layer_norm_eps=1e-6), 7),
    # an older config: eos_token_id 2 means "the end-of-text token is the largest id"
    (dict(vocab_size=20, hidden_size=8, intermediate_size=12, num_hidden_layers=1, num_attention_heads=2,
          max_position_embeddings=9, eos_token_id=2, bos_token_id=18, pad_token_id=1),
     dict(hidden_size=12, intermediate_size=16, num_hidden_layers=1, num_attention_heads=4, image_size=9,
          patch_size=3, num_channels=3), 4),
]


def hf_model(index: int, dtype):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed, so the parity "
                                       "tests against Hugging Face's CLIP are skipped")
    torch = pytest.importorskip("torch")
    torch.manual_seed(index)
    text, vision, projection = HF_CONFIGS[index]
    config = transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=projection)
    reference = transformers.CLIPModel(config).eval().to(dtype)
    with torch.no_grad():  # random norm weights and biases too, so every mapped tensor matters
        for name, p in reference.named_parameters():
            if name != "logit_scale":
                p.add_(torch.randn_like(p) * 0.1)
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    return reference, reference.config.to_dict(), state


def hf_batch(index: int):
    """4 captions padded on the right (lengths T, T-3, 2, T-1), each ending with the end-of-text token, and
    3 images."""
    text, vision, _ = HF_CONFIGS[index]
    rng = np.random.default_rng(index)
    length, eos = text["max_position_embeddings"] - 1, text["eos_token_id"]
    end = text["vocab_size"] - 1 if eos == 2 else eos
    ids = rng.integers(3, text["vocab_size"] - 1, (4, length))
    ids[ids == end] = end + 1  # (the end-of-text token only at the end)
    mask = np.ones((4, length), np.int64)
    for row, n in enumerate([length, length - 3, 2, length - 1]):
        ids[row, n - 1], ids[row, n:], mask[row, n:] = end, text["pad_token_id"], 0
    size = vision["image_size"]
    return rng.normal(size=(3, vision["num_channels"], size, size)), ids, mask


@pytest.mark.parametrize("dtype_name, rtol", [("float32", 1e-5), ("float64", 1e-10)])
@pytest.mark.parametrize("index", range(len(HF_CONFIGS)))
def test_logits_per_image_match_hugging_face(index, dtype_name, rtol):
    torch = pytest.importorskip("torch")
    reference, config, state = hf_model(index, getattr(torch, dtype_name))
    model = CLIP.from_hf(config, state, dtype=np.dtype(dtype_name))
    images, ids, mask = hf_batch(index)
    images = images.astype(dtype_name)
    with torch.no_grad():
        out = reference(pixel_values=torch.tensor(images), input_ids=torch.tensor(ids),
                        attention_mask=torch.tensor(mask))
    with minigrad.no_grad():
        got = model(minigrad.tensor(images), minigrad.tensor(ids), mask).numpy()
        text = model.encode_text(minigrad.tensor(ids), mask).numpy()
    expected = out.logits_per_image.numpy()
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    np.testing.assert_allclose(text, out.text_embeds.numpy() * np.linalg.norm(text, axis=1, keepdims=True),
                               rtol=rtol, atol=rtol * np.abs(text).max())


def test_from_hf_refuses_what_does_not_fit():
    torch = pytest.importorskip("torch")
    _, config, state = hf_model(1, torch.float32)
    broken = dict(state)
    del broken["text_model.encoder.layers.0.mlp.fc2.bias"]
    broken["vision_model.embeddings.patch_embedding.bias"] = np.zeros(18, np.float32)
    with pytest.raises(ValueError, match=r"Missing: text_model\.encoder\.layers\.0\.mlp\.fc2\.bias\. "
                                         r"Unexpected: vision_model\.embeddings\.patch_embedding\.bias"):
        CLIP.from_hf(config, broken)
    positions = "vision_model.embeddings.position_embedding.weight"
    wrong = dict(state, **{positions: np.zeros((5, 18), np.float32)})
    with pytest.raises(ValueError, match=r"position_embedding\.weight \(minigrad's "
                                         r"vision\.position_embedding\) has shape \(5, 18\)"):
        CLIP.from_hf(config, wrong)
    with pytest.raises(ValueError, match=r"CLIP.from_hf.*'swish'"):
        CLIP.from_hf(dict(config, text_config=dict(config["text_config"], hidden_act="swish")), state)
    assert abs(CLIP.from_hf(config, state).scale().item() - math.exp(config["logit_scale_init_value"])) < 1e-4
