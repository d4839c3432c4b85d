"""ViT: whole-model float64 gradcheck, every parameter reached, the patch embedding as a matrix on flattened
patches, the errors, and parity with Hugging Face's ``ViTForImageClassification`` on the same weights
(several patch sizes and channel counts; the names of transformers 5 and the older ones) when
``transformers`` is installed."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad.models.vit import ViT, ViTConfig

TINY = dict(image_size=4, patch_size=2, channels=2, dim=8, n_layers=2, n_heads=2, mlp_hidden=12,
            num_classes=3)


def pixels(shape, seed=0) -> minigrad.Tensor:
    return minigrad.tensor(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


def test_whole_model_gradcheck():
    minigrad.manual_seed(0)
    model = ViT(ViTConfig(**TINY)).double()
    x, labels = pixels((2, 2, 4, 4)).double(), minigrad.tensor(np.array([2, 0]))
    assert minigrad.gradcheck(lambda *_: F.cross_entropy(model(x), labels), list(model.parameters()),
                              max_elements=40)


def test_clip_options_gradcheck():
    """CLIP's variant: LayerNorm after the embeddings, no patch bias, no classifier (the class token's
    vector is the output)."""
    minigrad.manual_seed(1)
    config = ViTConfig(**{**TINY, "num_classes": None, "n_layers": 1}, activation="quick_gelu",
                       patch_bias=False, embedding_norm=True)
    model = ViT(config).double()
    x, direction = pixels((2, 2, 4, 4)).double(), pixels((2, 8), seed=1).double()
    assert model.patch_embedding.bias is None and hasattr(model, "embedding_norm")
    assert minigrad.gradcheck(lambda *_: (model.encode(x)[:, 0] * direction).sum(), list(model.parameters()),
                              max_elements=40)


def test_every_parameter_gets_a_nonzero_gradient():
    minigrad.manual_seed(2)
    model = ViT(ViTConfig(**TINY))
    F.cross_entropy(model(pixels((3, 2, 4, 4))), minigrad.tensor(np.array([2, 0, 1]))).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} received no gradient"
        assert np.abs(p.grad.data).max() > 0, f"{name}: gradient is all zeros"


def test_patch_embedding_is_one_matrix_on_flattened_patches():
    minigrad.manual_seed(0)
    model = ViT(ViTConfig(**{**TINY, "image_size": 6}))
    x = pixels((2, 2, 6, 6))
    conv = model.patch_embedding(x).flatten(2).transpose(1, 2).detach().numpy()  # (B, 9 patches, dim)
    patches = x.numpy().reshape(2, 2, 3, 2, 3, 2).transpose(0, 2, 4, 1, 3, 5).reshape(2, 9, 8)  # row by row
    weight = model.patch_embedding.weight.detach().numpy().reshape(8, -1)
    bias = model.patch_embedding.bias.detach().numpy()
    np.testing.assert_allclose(conv, patches @ weight.T + bias, rtol=1e-5, atol=1e-6)


def test_positions_make_the_patch_order_matter():
    minigrad.manual_seed(0)
    model = ViT(ViTConfig(**TINY)).eval()
    x = pixels((1, 2, 4, 4))
    swapped = x.numpy()[:, :, ::-1, ::-1].copy()  # the same patches (mirrored), in another order
    with minigrad.no_grad():
        assert not np.allclose(model(x).numpy(), model(minigrad.tensor(swapped)).numpy())


def test_errors_name_the_problem():
    model = ViT(ViTConfig(**TINY))
    with pytest.raises(ValueError, match=r"shape \(batch, 2, 4, 4\), got \(1, 4, 4, 2\).*permute"):
        model(pixels((1, 4, 4, 2)))
    with pytest.raises(ValueError, match=r"got \(1, 2, 6, 6\).*resize images to 4×4"):
        model(pixels((1, 2, 6, 6)))
    with pytest.raises(ValueError, match="image_size 5 is not a multiple of patch_size 2"):
        ViT(ViTConfig(**{**TINY, "image_size": 5}))
    with pytest.raises(AttributeError, match=r"no classifier.*ViT.encode"):
        ViT(ViTConfig(**{**TINY, "num_classes": None}))(pixels((1, 2, 4, 4)))


# --- parity with Hugging Face -----------------------------------------------------------------------------

HF_CONFIGS = [  # several patch sizes, channel counts that are not 3, odd widths and head counts
    dict(hidden_size=12, intermediate_size=20, num_hidden_layers=2, num_attention_heads=3, image_size=8,
         patch_size=2, num_channels=1, num_labels=5),
    dict(hidden_size=20, intermediate_size=36, num_hidden_layers=3, num_attention_heads=4, image_size=12,
         patch_size=4, num_channels=2, num_labels=3, layer_norm_eps=1e-6),
    dict(hidden_size=18, intermediate_size=30, num_hidden_layers=1, num_attention_heads=1, image_size=9,
         patch_size=3, num_channels=5, num_labels=7, hidden_act="gelu_new"),
]


def hf_model(config: dict, dtype):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed, so the parity "
                                       "tests against Hugging Face's ViT are skipped")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = transformers.ViTForImageClassification(transformers.ViTConfig(**config)).eval().to(dtype)
    with torch.no_grad():  # random norm weights, biases and tokens too, so every mapped tensor matters
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    return reference, reference.config.to_dict(), state


def images(config: dict, seed: int) -> np.ndarray:
    size = config["image_size"]
    return np.random.default_rng(seed).normal(size=(3, config["num_channels"], size, size))


@pytest.mark.parametrize("dtype_name, rtol", [("float32", 1e-5), ("float64", 1e-10)])
@pytest.mark.parametrize("index", range(len(HF_CONFIGS)))
def test_logits_match_hugging_face(index, dtype_name, rtol):
    torch = pytest.importorskip("torch")
    reference, config, state = hf_model(HF_CONFIGS[index], getattr(torch, dtype_name))
    model = ViT.from_hf(config, state, dtype=np.dtype(dtype_name))
    x = images(config, index).astype(dtype_name)
    with torch.no_grad():
        expected = reference(torch.tensor(x)).logits.numpy()
    with minigrad.no_grad():
        got = model(minigrad.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def old_name(key: str) -> str:
    """transformers 5's ViT name as transformers 4 spelled it (and most checkpoints on the Hub do)."""
    for new, old in [("layers.", "encoder.layer."), ("attention.q_proj", "attention.attention.query"),
                     ("attention.k_proj", "attention.attention.key"),
                     ("attention.v_proj", "attention.attention.value"),
                     ("attention.o_proj", "attention.output.dense"), ("mlp.fc1", "intermediate.dense"),
                     ("mlp.fc2", "output.dense")]:
        key = key.replace(new, old)
    return key


def test_from_hf_takes_the_older_names_too():
    torch = pytest.importorskip("torch")
    _, config, state = hf_model(HF_CONFIGS[0], torch.float32)
    old = {old_name(k): v for k, v in state.items()}
    assert "vit.encoder.layer.1.attention.attention.query.weight" in old
    assert {"vit.encoder.layer.1.output.dense.bias", "vit.encoder.layer.1.attention.output.dense.bias",
            "vit.encoder.layer.1.intermediate.dense.bias"} <= set(old)
    x = minigrad.tensor(images(config, 0).astype(np.float32))
    with minigrad.no_grad():
        from_old, from_new = ViT.from_hf(config, old)(x), ViT.from_hf(config, state)(x)
    np.testing.assert_array_equal(from_old.numpy(), from_new.numpy())


def test_from_hf_refuses_what_does_not_fit():
    torch = pytest.importorskip("torch")
    _, config, state = hf_model(HF_CONFIGS[1], torch.float32)
    broken = dict(state)
    del broken["vit.layers.2.mlp.fc1.bias"]
    broken["vit.pooler.dense.weight"] = np.zeros((20, 20), np.float32)
    with pytest.raises(ValueError, match=r"Missing: layers\.2\.mlp\.fc1\.bias\. Unexpected: vit\.pooler"):
        ViT.from_hf(config, broken)
    wrong_shape = dict(state, **{"vit.embeddings.position_embeddings": np.zeros((1, 9, 20), np.float32)})
    with pytest.raises(ValueError, match=r"vit\.embeddings\.position_embeddings \(minigrad's "
                                         r"position_embedding\) has shape \(1, 9, 20\); this configuration "
                                         r"expects shape \(1, 10, 20\)"):
        ViT.from_hf(config, wrong_shape)
    for option, value in [("hidden_act", "swish"), ("qkv_bias", False)]:
        with pytest.raises(ValueError, match=f"ViT.from_hf.*{option if option == 'qkv_bias' else value}"):
            ViT.from_hf(dict(config, **{option: value}), state)
