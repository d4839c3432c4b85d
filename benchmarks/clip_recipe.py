"""How should a small CLIP be trained on the shapes world? Two choices of the chapter "CLIP", measured on the
validation images.

The chapter trains two 64-wide, 2-block encoders (a ViT with 8×8 patches and a causal text transformer, a
64-dimensional shared space) for 1,500 steps of 128 image-caption pairs (AdamW, learning rate 3e-3 after a
50-step warm-up, then a cosine decay; weight decay 0.1 on the matrices). Two choices are not obvious:

* **the batches**: ``random`` draws 128 training images (one or two objects) at random, as CLIP does;
  ``random one-object`` 128 of the one-object images at random; ``grouped`` (the chapter's) draws 32 groups
  of 4 one-object images that share colour, size and place and show the 4 shapes their colour has in
  training; ``grouped + two-object`` is 24 such groups and 32 random two-object images;
* **the initialisation**: ``library`` is ``CLIP``'s own (Hugging Face's: N(0, 0.02²) for the blocks);
  ``fan-in linear`` (the chapter's) draws the linear weights of both encoders from N(0, 1/fan_in); ``small``
  also draws the image's class token and position embeddings from N(0, 0.5²), the rest of the chapter
  "Vision transformers"'s remedy for small ViTs.

Each configuration is trained from the same seeds and measured on the validation split (``shapes_world(4000,
"val")``, seen pairs only; the test split and its held-out pairs are never touched here): the mean training
loss over steps 76-100 (how soon learning starts), and at the end the recall@1 of each one-object validation
image among the distinct validation captions, and its zero-shot accuracy over all 30 colour-shape pairs with
the chapter's two prompt ensembles (the mean of the 18 prompts' unit vectors; the log-sum-exp of the scaled
cosines).

    python benchmarks/clip_recipe.py                   # every configuration, seeds 0-2, 1 thread (~1 hour)
    python benchmarks/clip_recipe.py --seeds 0 --configs "grouped, fan-in linear"

Results: ``benchmarks/results/clip_recipe.json`` and a table in ``.md`` beside it; the chapter quotes them.
Not a test, and no timing claims: the seconds are recorded only to show the cost.
"""

from __future__ import annotations

import math
import time

from recipe_study import run_study

CONFIGS = {  # name -> (batches, initialisation)
    "random, library": ("random", "library"),
    "random, small": ("random", "small"),
    "random, fan-in linear": ("random", "fan-in linear"),
    "random one-object, small": ("random one-object", "small"),
    "random one-object, fan-in linear": ("random one-object", "fan-in linear"),
    "grouped, library": ("grouped", "library"),
    "grouped, small": ("grouped", "small"),
    "grouped, fan-in linear": ("grouped", "fan-in linear"),
    "grouped + two-object, small": ("grouped + two-object", "small"),
    "grouped + two-object, fan-in linear": ("grouped + two-object", "fan-in linear"),
}
STEPS, WARMUP, PEAK_LR, BATCH = 1500, 50, 3e-3, 128
MEASURES = ("loss 76-100", "val R@1", "val zero-shot, mean vector", "val zero-shot, probabilities")


def main() -> None:
    run_study(__doc__, CONFIGS, train, summary, table, "A small CLIP on the shapes world", "clip_recipe")


def summary(result: dict) -> str:
    return ", ".join(f"{measure} {result[measure]:.4f}" for measure in MEASURES)


def train(batches: str, initialisation: str, seed: int) -> dict:
    """The chapter's recipe with the given batches and initialisation; the validation measures at the end."""
    from collections import defaultdict

    import numpy as np

    import minigrad
    import minigrad.nn as nn
    import minigrad.nn.functional as F
    from minigrad import optim
    from minigrad.datasets import PAIRS, PLACES, POSITIONS, SIZES, VOCABULARY, shapes_world
    from minigrad.models.clip import CLIP, CLIPConfig, CLIPTextConfig, clip_loss
    from minigrad.models.vit import ViTConfig

    words = {word: i for i, word in enumerate(("[PAD]", "[SOS]", "[EOS]", *VOCABULARY))}

    def tokenize(texts):
        ids = np.zeros((len(texts), 12), dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = [1, *(words[w] for w in text.split()), 2]
            ids[row, :len(tokens)] = tokens
        return ids

    train_set, val = shapes_world(20_000, "train"), shapes_world(4000, "val")
    train_ids = tokenize(train_set.captions)
    one = [i for i, objects in enumerate(train_set.objects) if len(objects) == 1]
    two = np.array([i for i, objects in enumerate(train_set.objects) if len(objects) == 2])
    by_scene = defaultdict(lambda: defaultdict(list))
    for i in one:
        (o,) = train_set.objects[i]
        by_scene[o.colour, o.size, o.position][o.shape].append(i)
    scenes = sorted(by_scene)

    def next_batch(rng):
        if batches == "random":
            return rng.choice(len(train_set), BATCH, replace=False)
        if batches == "random one-object":
            return rng.choice(one, BATCH, replace=False)
        groups = 32 if batches == "grouped" else 24
        chosen = []
        for k in rng.choice(len(scenes), groups, replace=False):  # as the chapter's grouped_batch
            chosen += [rng.choice(by_scene[scenes[k]][shape]) for shape in sorted(by_scene[scenes[k]])]
        if len(chosen) < BATCH:
            chosen += list(rng.choice(two, BATCH - len(chosen), replace=False))
        return np.array(chosen)

    minigrad.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vision = ViTConfig(image_size=32, patch_size=8, channels=3, dim=64, n_layers=2, n_heads=4,
                       num_classes=None, activation="quick_gelu", norm_eps=1e-5, patch_bias=False,
                       embedding_norm=True)
    text = CLIPTextConfig(vocab_size=len(words), context_length=12, dim=64, n_layers=2, n_heads=4,
                          activation="quick_gelu", norm_eps=1e-5, eos_token_id=2)
    model = CLIP(CLIPConfig(vision=vision, text=text, projection_dim=64))
    if initialisation in ("small", "fan-in linear"):
        for encoder in (model.vision, model.text):
            for module in encoder.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0.0, module.weight.shape[1] ** -0.5)
    if initialisation == "small":
        nn.init.normal_(model.vision.cls_token, 0.0, 0.5)
        nn.init.normal_(model.vision.position_embedding, 0.0, 0.5)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    optimizer = optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=PEAK_LR, betas=(0.9, 0.98), eps=1e-6)
    losses, start = [], time.perf_counter()
    for step in range(STEPS):
        lr = PEAK_LR * ((step + 1) / WARMUP if step < WARMUP
                        else 0.5 * (1 + math.cos(math.pi * (step - WARMUP) / (STEPS - WARMUP))))
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = next_batch(rng)
        loss = clip_loss(model(minigrad.tensor(train_set.images[batch]), minigrad.tensor(train_ids[batch])))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start

    model.eval()
    with minigrad.no_grad():
        val_one = [i for i, objects in enumerate(val.objects) if len(objects) == 1]
        images = F.normalize(model.encode_image(minigrad.tensor(val.images[val_one])), dim=-1).numpy()

        def texts(captions):
            return F.normalize(model.encode_text(minigrad.tensor(tokenize(captions))), dim=-1).numpy()

        captions = [val.captions[i] for i in val_one]
        candidates = sorted(set(captions))
        best = np.argmax(images @ texts(candidates).T, axis=1)
        recall = float(np.mean([candidates[b] == c for b, c in zip(best, captions)]))
        prompts = texts([f"a {size} {colour} {shape} {PLACES[position]}" for colour, shape in PAIRS
                         for size in SIZES for position in POSITIONS])
        prompts = prompts.reshape(len(PAIRS), len(SIZES) * len(POSITIONS), -1)
        labels = np.array([PAIRS.index((val.objects[i][0].colour, val.objects[i][0].shape)) for i in val_one])
        means = prompts.mean(axis=1)
        means /= np.linalg.norm(means, axis=1, keepdims=True)
        mean_vector = float(np.mean(np.argmax(images @ means.T, axis=1) == labels))
        scores = model.scale().item() * np.einsum("nd,ktd->nkt", images, prompts)
        top = scores.max(axis=2, keepdims=True)
        summed = top[..., 0] + np.log(np.exp(scores - top).sum(axis=2))
        probabilities = float(np.mean(np.argmax(summed, axis=1) == labels))
    return {"loss 76-100": float(np.mean(losses[75:100])), "val R@1": recall,
            "val zero-shot, mean vector": mean_vector, "val zero-shot, probabilities": probabilities,
            "final loss": float(np.mean(losses[-25:])), "scale": model.scale().item(),
            "seconds": round(seconds, 1)}


def table(runs: list[dict]) -> str:
    seeds = sorted({r["seed"] for r in runs})
    lines = ["| configuration | measure | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
             "|---|---|" + "---|" * (len(seeds) + 1)]
    for config in [c for c in CONFIGS if any(r["config"] == c for r in runs)]:  # in CONFIGS' order
        for measure in MEASURES:
            mine = {r["seed"]: r[measure] for r in runs if r["config"] == config}
            cells = [f"{mine[s]:.3f}" if s in mine else "" for s in seeds]
            lines.append(f"| {config} | {measure} | " + " | ".join(cells) + f" | "
                         f"{sum(mine.values()) / len(mine):.3f} |")
    note = ("Validation split: 1,982 one-object images of the 24 seen pairs, 426 distinct captions; "
            "zero-shot over all 30 pairs. The loss is the training batches' (chance: log 128 = 4.85 nats).")
    return "\n".join(lines) + f"\n\n{note}\n"


if __name__ == "__main__":
    main()
