r"""CLIP: an image encoder and a text encoder trained so that an image and its caption land on the same point.

.. code-block:: text

    pixels (B, C, H, W) ─ ViT (LayerNorm after the embeddings) ─ the class token ─ visual_projection ─┐
                                                                                   L2-normalise   │
    ids (B', T) ─ token + position embeddings ─ n_layers × causal pre-norm TransformerBlock          │
                ─ final LayerNorm ─ the vector at each caption's end-of-text token ─ text_projection ┤
                                                                                   L2-normalise   │
                              logits_per_image = exp(logit_scale) · image_vectors · text_vectorsᵀ  (B, B')

What makes it CLIP (Radford et al., 2021):

* **two encoders, one space**: each ends in a linear projection (no bias) to the same ``projection_dim``,
  and both vectors are scaled to length 1, so their dot product is the cosine of the angle between them;
* **the text is read causally** (each token sees the ones before it), and the caption's vector is the one
  at its **end-of-text token**, the first position that has seen the whole caption;
* **a learned temperature**: the cosines, in [-1, 1], are multiplied by :math:`e^{s}` before the softmax,
  with :math:`s` (``logit_scale``) a parameter that starts at :math:`\ln(1/0.07)` and is clamped at
  :math:`\ln 100`, as in the original: the scale never exceeds 100;
* **the contrastive loss** (:func:`clip_loss`): in a batch of B pairs, image i should pick caption i among
  the B captions and caption i image i among the B images, a cross-entropy each way.

``CLIP.from_hf(config, state_dict)`` builds it from a Hugging Face ``CLIPModel`` checkpoint, with the names
mapped in :func:`hf_names`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from minigrad import creation
from minigrad.engine import Tensor
from minigrad.errors import ShapeError
from minigrad.models.hf import activation_from_hf, rename_state
from minigrad.models.vit import ViT, ViTConfig
from minigrad.nn import Embedding, LayerNorm, Linear, Module, ModuleList, Parameter, init
from minigrad.nn import functional as F
from minigrad.nn.transformer import TransformerBlock

MAX_LOGIT_SCALE = math.log(100.0)


@dataclass
class CLIPTextConfig:
    vocab_size: int = 49408
    context_length: int = 77  # the most tokens a caption can have (Hugging Face: max_position_embeddings)
    dim: int = 512  # (hidden_size)
    n_layers: int = 12
    n_heads: int = 8
    mlp_hidden: int | None = None  # None means 4 * dim (intermediate_size)
    activation: str = "quick_gelu"
    norm_eps: float = 1e-5
    eos_token_id: int | None = 49407  # the end-of-text token; None: the largest id in each caption


@dataclass
class CLIPConfig:
    vision: ViTConfig = field(default_factory=lambda: ViTConfig(
        image_size=224, patch_size=32, dim=768, n_heads=12, num_classes=None, activation="quick_gelu",
        norm_eps=1e-5, patch_bias=False, embedding_norm=True))
    text: CLIPTextConfig = field(default_factory=CLIPTextConfig)
    projection_dim: int = 512
    logit_scale_init: float = math.log(1 / 0.07)


class CLIPTextEncoder(Module):
    """Captions (B, T) → one vector per caption (B, dim): the final-normalised vector at its end-of-text
    token."""

    def __init__(self, config: CLIPTextConfig):
        super().__init__()
        self.config = config
        self.token_embedding = Embedding(config.vocab_size, config.dim)
        self.position_embedding = Embedding(config.context_length, config.dim)
        self.blocks = ModuleList([
            TransformerBlock(config.dim, config.n_heads, config.mlp_hidden or 4 * config.dim, norm_first=True,
                             activation=config.activation, norm_eps=config.norm_eps)
            for _ in range(config.n_layers)])
        self.norm = LayerNorm(config.dim, eps=config.norm_eps)

    def forward(self, input_ids: Tensor, attention_mask=None) -> Tensor:
        """``input_ids`` (B, T) int64, each row holding an end-of-text token → (B, dim).
        ``attention_mask`` (B, T), 1 for real tokens and 0 for padding, hides the padding too (with padding
        on the right, as the tokenizer puts it, the causal mask already does)."""
        ends = self.end_positions(input_ids)
        length = input_ids.shape[1]
        x = self.token_embedding(input_ids) + self.position_embedding.weight[:length]
        mask = causal_padding_mask(attention_mask, length)
        for block in self.blocks:
            x = block(x, mask, is_causal=mask is None)
        return self.norm(x)[np.arange(len(ends)), ends]

    def end_positions(self, input_ids: Tensor) -> np.ndarray:
        """The position of each caption's first end-of-text token (or of its largest id, when the config has
        no ``eos_token_id``: older CLIP checkpoints, whose end-of-text token has the largest id)."""
        ids = np.asarray(input_ids.data)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ShapeError(f"CLIP: input_ids must be a (batch, length) tensor of token ids, got "
                             f"{ids.dtype} of shape {ids.shape}.")
        if ids.shape[1] > self.config.context_length:
            raise ShapeError(f"CLIP: captions of {ids.shape[1]} tokens are longer than the "
                             f"{self.config.context_length} positions the text encoder has.")
        eos = self.config.eos_token_id
        if eos is None:
            return ids.argmax(axis=1)
        found = ids == eos
        if not found.any(axis=1).all():
            rows = np.flatnonzero(~found.any(axis=1)).tolist()
            raise ShapeError(f"CLIP: captions {rows} have no end-of-text token (id {eos}); the caption's "
                             "vector is read there, so every caption must end with it.")
        return found.argmax(axis=1)


def causal_padding_mask(attention_mask, length: int) -> Tensor | None:
    """The causal mask and the padding mask in one (B, 1, T, T) boolean mask (None without padding: then
    ``is_causal`` alone does it)."""
    if attention_mask is None:
        return None
    padding = np.asarray(attention_mask.data if isinstance(attention_mask, Tensor) else attention_mask)
    causal = np.tril(np.ones((length, length), dtype=bool))
    return Tensor(causal[None, None] & padding.astype(bool)[:, None, None, :])


class CLIP(Module):
    def __init__(self, config: CLIPConfig):
        super().__init__()
        if config.vision.num_classes is not None:
            raise ValueError("CLIP: the vision config must have num_classes=None (the image encoder has no "
                             "classifier; the projection follows the class token).")
        self.config = config
        self.vision = ViT(config.vision)
        self.text = CLIPTextEncoder(config.text)
        self.visual_projection = Linear(config.vision.dim, config.projection_dim, bias=False)
        self.text_projection = Linear(config.text.dim, config.projection_dim, bias=False)
        self.logit_scale = Parameter(creation.tensor(config.logit_scale_init))
        clip_init_(self)

    def encode_image(self, pixel_values: Tensor) -> Tensor:
        """Images (B, C, H, W) → their vectors in the shared space (B, projection_dim), not normalised."""
        return self.visual_projection(self.vision.encode(pixel_values)[:, 0])

    def encode_text(self, input_ids: Tensor, attention_mask=None) -> Tensor:
        """Captions (B, T) → their vectors in the shared space (B, projection_dim), not normalised."""
        return self.text_projection(self.text(input_ids, attention_mask))

    def forward(self, pixel_values: Tensor, input_ids: Tensor, attention_mask=None) -> Tensor:
        """``logits_per_image`` (B_images, B_captions): the scaled cosine of every image with every caption.
        Its transpose is ``logits_per_text``."""
        images = F.normalize(self.encode_image(pixel_values), dim=-1)
        texts = F.normalize(self.encode_text(input_ids, attention_mask), dim=-1)
        return self.scale() * (images @ texts.T)

    def scale(self) -> Tensor:
        """The temperature's inverse, :math:`e^{s}`, with :math:`s` clamped at :math:`\\ln 100`."""
        return self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()

    @classmethod
    def from_hf(cls, config: Mapping, state_dict: Mapping[str, np.ndarray], dtype=np.float32) -> CLIP:
        """A CLIP with the weights of a Hugging Face ``CLIPModel`` checkpoint.

        ``config`` is the dict of ``config.to_dict()`` (or a ``config.json``); ``state_dict`` maps Hugging
        Face's names to arrays, e.g. from ``safetensors.numpy.load_file``. Every weight is checked before
        anything is loaded. The model is returned in ``eval()`` mode, in ``dtype``.
        """
        model = cls(config_from_hf(config)).to(dtype)
        # (Hugging Face's CLIP keeps the class token as a (dim,) vector and the positions as an Embedding
        # (1 + N, dim); minigrad's ViT, as Hugging Face's ViT, as (1, 1, dim) and (1, 1 + N, dim):
        # rename_state reshapes them)
        model.load_state_dict(rename_state("CLIP", model, hf_names(model.config), state_dict, "",
                                           ("position_ids",)))  # (buffers of older checkpoints)
        return model.eval()


def clip_loss(logits_per_image: Tensor) -> Tensor:
    r"""The symmetric contrastive loss of a batch whose image i and caption i belong together: the mean of
    the cross-entropy of each image over the captions and of each caption over the images,

    .. math:: L = \tfrac{1}{2}\Big(\mathrm{CE}(S, [0..B)) + \mathrm{CE}(S^\top, [0..B))\Big)

    for the (B, B) scaled similarities :math:`S` (``logits_per_image``)."""
    if logits_per_image.ndim != 2 or logits_per_image.shape[0] != logits_per_image.shape[1]:
        raise ShapeError(f"clip_loss(): expects the square (B, B) logits of B matching image-caption pairs, "
                         f"got shape {tuple(logits_per_image.shape)}.")
    targets = Tensor(np.arange(logits_per_image.shape[0]))
    return (F.cross_entropy(logits_per_image, targets) + F.cross_entropy(logits_per_image.T, targets)) / 2


def clip_init_(model: CLIP) -> None:
    """Linear weights and embeddings from :math:`N(0, 0.02^2)`, biases 0 (as :func:`vit_init_` does for the
    image encoder); the projections from :math:`N(0, \\text{width}^{-1})`, so that the vectors entering the
    normalisation start near length 1 whatever the width."""
    for module in model.text.modules():
        if isinstance(module, (Linear, Embedding)):
            init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, Linear) and module.bias is not None:
            init.zeros_(module.bias)
    for projection in (model.visual_projection, model.text_projection):
        init.normal_(projection.weight, 0.0, projection.in_features ** -0.5)


# --- Hugging Face's names ---------------------------------------------------------------------------------

def config_from_hf(config: Mapping) -> CLIPConfig:
    """:class:`CLIPConfig` from a Hugging Face ``CLIPConfig`` dict (with its ``vision_config`` and
    ``text_config``)."""
    vision, text = config["vision_config"], config["text_config"]
    eos = text.get("eos_token_id", 2)
    return CLIPConfig(
        vision=ViTConfig(image_size=vision["image_size"], patch_size=vision["patch_size"],
                         channels=vision.get("num_channels", 3), dim=vision["hidden_size"],
                         n_layers=vision["num_hidden_layers"], n_heads=vision["num_attention_heads"],
                         mlp_hidden=vision["intermediate_size"], num_classes=None,
                         activation=activation_from_hf("CLIP", vision.get("hidden_act", "quick_gelu")),
                         norm_eps=vision.get("layer_norm_eps", 1e-5), patch_bias=False, embedding_norm=True),
        text=CLIPTextConfig(vocab_size=text["vocab_size"], context_length=text["max_position_embeddings"],
                            dim=text["hidden_size"], n_layers=text["num_hidden_layers"],
                            n_heads=text["num_attention_heads"], mlp_hidden=text["intermediate_size"],
                            activation=activation_from_hf("CLIP", text.get("hidden_act", "quick_gelu")),
                            norm_eps=text.get("layer_norm_eps", 1e-5),
                            # Hugging Face's rule: an eos_token_id of 2 marks an older config, whose
                            # end-of-text token is the largest id
                            eos_token_id=None if eos == 2 else eos),
        projection_dim=config["projection_dim"],
        logit_scale_init=config.get("logit_scale_init_value", math.log(1 / 0.07)))


def hf_names(config: CLIPConfig) -> dict[str, tuple[str, bool]]:
    """minigrad's parameter name → (Hugging Face's ``CLIPModel`` name, transposed?). Nothing is transposed
    (``nn.Linear`` and ``nn.Conv2d``, as in minigrad); the class token and the position embeddings gain
    leading dimensions of size 1 (:func:`~minigrad.models.hf.rename_state` reshapes them)."""
    names = {"logit_scale": "logit_scale", "visual_projection.weight": "visual_projection.weight",
             "text_projection.weight": "text_projection.weight",
             "vision.cls_token": "vision_model.embeddings.class_embedding",
             "vision.patch_embedding.weight": "vision_model.embeddings.patch_embedding.weight",
             "vision.position_embedding": "vision_model.embeddings.position_embedding.weight",
             "vision.embedding_norm.weight": "vision_model.pre_layrnorm.weight",  # (sic)
             "vision.embedding_norm.bias": "vision_model.pre_layrnorm.bias",
             "vision.norm.weight": "vision_model.post_layernorm.weight",
             "vision.norm.bias": "vision_model.post_layernorm.bias",
             "text.token_embedding.weight": "text_model.embeddings.token_embedding.weight",
             "text.position_embedding.weight": "text_model.embeddings.position_embedding.weight",
             "text.norm.weight": "text_model.final_layer_norm.weight",
             "text.norm.bias": "text_model.final_layer_norm.bias"}
    layers = [("norm1", "layer_norm1"), ("attn.q_proj", "self_attn.q_proj"),
              ("attn.k_proj", "self_attn.k_proj"), ("attn.v_proj", "self_attn.v_proj"),
              ("attn.out_proj", "self_attn.out_proj"), ("norm2", "layer_norm2"), ("mlp.fc1", "mlp.fc1"),
              ("mlp.fc2", "mlp.fc2")]
    for ours, theirs, n_layers in [("vision", "vision_model", config.vision.n_layers),
                                   ("text", "text_model", config.text.n_layers)]:
        for i in range(n_layers):
            for mine, hf in layers:
                for kind in ("weight", "bias"):
                    names[f"{ours}.blocks.{i}.{mine}.{kind}"] = f"{theirs}.encoder.layers.{i}.{hf}.{kind}"
    return {ours: (theirs, False) for ours, theirs in names.items()}
