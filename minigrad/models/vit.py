r"""The vision transformer (ViT): an image cut into patches, read as a sequence of tokens by the same
transformer blocks that read text.

.. code-block:: text

    pixels (B, C, H, W) ─ patch embedding: a convolution with kernel = stride = patch   (B, dim, H/p, W/p)
                        ─ flatten the grid into a sequence of N = (H/p)·(W/p) patch tokens   (B, N, dim)
                        ─ prepend the class token, add the learned position embeddings   (B, 1 + N, dim)
                        ─ n_layers × TransformerBlock (no mask: every patch sees every patch; pre-norm)
                        ─ final LayerNorm ─ the class token's vector ─ classifier   → logits (B, classes)

What makes it a ViT (Dosovitskiy et al., 2020):

* **patches as tokens**: a p×p patch of C channels is flattened and projected to ``dim`` by one matrix.
  A convolution whose kernel and stride are both p does exactly that, for every patch at once: its
  windows do not overlap, and its weight (dim, C, p, p) is that matrix;
* **a class token**: one learned vector put in front of the patches. It is no patch, so what the last
  block writes into it can only come from attending to the patches: a summary of the image, which the
  classifier reads;
* **learned positions**: one vector per token, added to it. Without them attention sees a set of patches,
  not an image: shuffling the patches would not change the output.

The same class is CLIP's image encoder, with two options from CLIP: a LayerNorm right after the embeddings
(``embedding_norm``) and a patch convolution without a bias; with ``num_classes=None`` it has no classifier
and :meth:`ViT.encode` gives the normalised tokens.

``ViT.from_hf(config, state_dict)`` builds it from a Hugging Face ``ViTForImageClassification``
checkpoint, the names mapped in :func:`hf_names` (both the names of transformers 5 and the older ones that
checkpoints on the Hub carry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from minigrad import creation
from minigrad.engine import Tensor
from minigrad.errors import ShapeError
from minigrad.models.hf import activation_from_hf, rename_state
from minigrad.nn import Conv2d, Dropout, LayerNorm, Linear, Module, ModuleList, Parameter, init
from minigrad.nn.transformer import TransformerBlock
from minigrad.ops.shape import cat


@dataclass
class ViTConfig:
    image_size: int = 224  # square images, image_size × image_size pixels
    patch_size: int = 16  # square patches; image_size must be a multiple of it
    channels: int = 3  # (Hugging Face: num_channels)
    dim: int = 768  # the width of every token's vector (hidden_size)
    n_layers: int = 12
    n_heads: int = 12
    mlp_hidden: int | None = None  # the MLP's hidden width; None means 4 * dim (intermediate_size)
    num_classes: int | None = 1000  # None: no classifier (CLIP's image encoder)
    activation: str = "gelu"  # exact GELU; CLIP's is "quick_gelu"
    dropout: float = 0.0
    norm_eps: float = 1e-12
    patch_bias: bool = True  # CLIP's patch convolution has no bias
    embedding_norm: bool = False  # CLIP's LayerNorm after the embeddings (its "pre_layrnorm")

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class ViT(Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        if config.image_size % config.patch_size:
            raise ValueError(f"ViT: image_size {config.image_size} is not a multiple of patch_size "
                             f"{config.patch_size}; the patches must tile the image.")
        self.config = config
        patch = config.patch_size
        self.patch_embedding = Conv2d(config.channels, config.dim, patch, patch, bias=config.patch_bias)
        self.cls_token = Parameter(creation.zeros(1, 1, config.dim))
        self.position_embedding = Parameter(creation.zeros(1, 1 + config.num_patches, config.dim))
        if config.embedding_norm:
            self.embedding_norm = LayerNorm(config.dim, eps=config.norm_eps)
        self.dropout = Dropout(config.dropout)
        self.blocks = ModuleList([
            TransformerBlock(config.dim, config.n_heads, config.mlp_hidden or 4 * config.dim, norm_first=True,
                             activation=config.activation, dropout=config.dropout, norm_eps=config.norm_eps)
            for _ in range(config.n_layers)])
        self.norm = LayerNorm(config.dim, eps=config.norm_eps)
        if config.num_classes is not None:
            self.head = Linear(config.dim, config.num_classes)
        vit_init_(self)

    def forward(self, pixel_values: Tensor) -> Tensor:
        """``pixel_values`` (B, channels, image_size, image_size) → logits (B, num_classes)."""
        if self.config.num_classes is None:
            raise AttributeError("ViT: this model has no classifier (config.num_classes=None); "
                                 "ViT.encode(pixel_values) gives its tokens.")
        return self.head(self.encode(pixel_values)[:, 0])

    def encode(self, pixel_values: Tensor) -> Tensor:
        """``pixel_values`` (B, channels, image_size, image_size) → the final-normalised tokens
        (B, 1 + num_patches, dim); token 0 is the class token, the others the patches row by row."""
        self.check(pixel_values)
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)  # (B, N, dim)
        cls = self.cls_token.expand(pixel_values.shape[0], 1, self.config.dim)
        x = cat([cls, patches], dim=1) + self.position_embedding
        if self.config.embedding_norm:
            x = self.embedding_norm(x)
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def check(self, pixel_values: Tensor) -> None:
        """Refuse images the model cannot read, saying what it expects."""
        size, channels = self.config.image_size, self.config.channels
        if pixel_values.ndim != 4 or tuple(pixel_values.shape[1:]) != (channels, size, size):
            raise ShapeError(f"ViT: pixel_values must have shape (batch, {channels}, {size}, {size}), got "
                             f"{tuple(pixel_values.shape)}; the position embeddings fix the number of "
                             f"patches to {self.config.num_patches}, so resize images to {size}×{size}."
                             + (" (Channels come first: x.permute(0, 3, 1, 2) moves them.)"
                                if pixel_values.ndim == 4 and pixel_values.shape[-1] == channels else ""))

    @classmethod
    def from_hf(cls, config: Mapping, state_dict: Mapping[str, np.ndarray], dtype=np.float32) -> ViT:
        """A ViT with the weights of a Hugging Face ``ViTForImageClassification`` checkpoint.

        ``config`` is the dict of ``config.to_dict()`` (or a ``config.json``); ``state_dict`` maps Hugging
        Face's names to arrays, e.g. from ``safetensors.numpy.load_file``: the names of transformers 5
        (``vit.layers.0.attention.q_proj.weight``) or the older ones (``vit.encoder.layer.0.attention.
        attention.query.weight``). Every weight is checked before anything is loaded. The model is returned
        in ``eval()`` mode, in ``dtype``.
        """
        model = cls(config_from_hf(config)).to(dtype)
        state = {modern_name(key): value for key, value in state_dict.items()}
        model.load_state_dict(rename_state("ViT", model, hf_names(model.config), state, "vit."))
        return model.eval()


def vit_init_(model: Module) -> None:
    """The initialisation of Hugging Face's ViT, with plain normals where it truncates them: linear
    weights, the class token and the position embeddings from :math:`N(0, 0.02^2)`, biases 0. The patch
    convolution keeps ``Conv2d``'s default, scaled to its C·p·p inputs."""
    for module in model.modules():
        if isinstance(module, Linear):
            init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                init.zeros_(module.bias)
    for name in ("cls_token", "position_embedding"):
        init.normal_(getattr(model, name), 0.0, 0.02)


# --- Hugging Face's names ---------------------------------------------------------------------------------

def config_from_hf(config: Mapping) -> ViTConfig:
    """:class:`ViTConfig` from a Hugging Face ``ViTConfig`` dict (of a ``ViTForImageClassification``);
    options minigrad does not implement are refused by name rather than ignored."""
    if not config.get("qkv_bias", True):
        raise ValueError("ViT.from_hf(): qkv_bias=False is not supported; minigrad's ViT has biases on the "
                         "queries, keys and values.")
    return ViTConfig(image_size=config["image_size"], patch_size=config["patch_size"],
                     channels=config.get("num_channels", 3), dim=config["hidden_size"],
                     n_layers=config["num_hidden_layers"], n_heads=config["num_attention_heads"],
                     mlp_hidden=config["intermediate_size"], num_classes=num_labels(config),
                     activation=activation_from_hf("ViT", config.get("hidden_act", "gelu")),
                     dropout=config.get("hidden_dropout_prob", 0.0),
                     norm_eps=config.get("layer_norm_eps", 1e-12))


def num_labels(config: Mapping) -> int:
    """How many classes a Hugging Face config's classifier has: ``config.to_dict()`` gives ``id2label``
    (one name per class), older ``config.json`` files may give ``num_labels`` alone."""
    return len(config["id2label"]) if config.get("id2label") else config["num_labels"]


# the older names (transformers 4, most checkpoints on the Hub) → transformers 5's, most specific first
OLD_NAMES = [("encoder.layer.", "layers."),
             ("attention.attention.query", "attention.q_proj"),
             ("attention.attention.key", "attention.k_proj"),
             ("attention.attention.value", "attention.v_proj"),
             ("attention.output.dense", "attention.o_proj"),
             ("intermediate.dense", "mlp.fc1"),
             ("output.dense", "mlp.fc2")]


def modern_name(key: str) -> str:
    """A Hugging Face ViT parameter name as transformers 5 spells it."""
    for old, new in OLD_NAMES:
        key = key.replace(old, new)
    return key


def hf_names(config: ViTConfig) -> dict[str, tuple[str, bool]]:
    """minigrad's parameter name → (Hugging Face's ``ViTForImageClassification`` name without ``vit.``,
    transposed?). Hugging Face's ViT uses ``nn.Linear`` and ``nn.Conv2d`` like minigrad: nothing is
    transposed, and the class token (1, 1, dim) and position embeddings (1, 1 + N, dim) have the same
    shapes."""
    names = {"cls_token": "embeddings.cls_token", "position_embedding": "embeddings.position_embeddings",
             "patch_embedding.weight": "embeddings.patch_embeddings.projection.weight",
             "patch_embedding.bias": "embeddings.patch_embeddings.projection.bias",
             "norm.weight": "layernorm.weight", "norm.bias": "layernorm.bias"}
    if config.num_classes is not None:  # (the classifier's keys have no "vit." prefix)
        names.update({"head.weight": "classifier.weight", "head.bias": "classifier.bias"})
    layers = [("norm1", "layernorm_before"), ("attn.q_proj", "attention.q_proj"),
              ("attn.k_proj", "attention.k_proj"), ("attn.v_proj", "attention.v_proj"),
              ("attn.out_proj", "attention.o_proj"), ("norm2", "layernorm_after"), ("mlp.fc1", "mlp.fc1"),
              ("mlp.fc2", "mlp.fc2")]
    for i in range(config.n_layers):
        for ours, theirs in layers:
            for kind in ("weight", "bias"):
                names[f"blocks.{i}.{ours}.{kind}"] = f"layers.{i}.{theirs}.{kind}"
    return {ours: (theirs, False) for ours, theirs in names.items()}
