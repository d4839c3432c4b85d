"""How should a small ViT be trained on the digits? The choices of the chapter "Vision transformers", made on
the validation images.

The chapter trains a 4-layer, 64-wide ViT with patches of 2×2 pixels on the digits (AdamW, learning rate
3e-3, weight decay 0.05, a linear warm-up over the first 10% of the steps then a cosine decay, batches of
64, ±1-pixel shifts padded with blank paper, label smoothing 0.1). Two choices are not obvious: how to
initialise it, and for how many epochs to train it. Each configuration below is trained on the training
images (``digits("train")``) and measured on the validation images (``digits("val")``), for several seeds;
the test images are never touched here.

* ``library`` is ``ViT``'s own initialisation (Hugging Face's): every linear weight, the class token and the
  position embeddings from N(0, 0.02²);
* ``fan-in linear``: the linear weights from N(0, 1/fan_in) instead;
* ``positions 0.2``: the class token and the position embeddings from N(0, 0.2²) instead (ten times larger;
  the patch tokens have an rms of about 0.48 at initialisation);
* ``small-ViT``: both changes, the chapter's choice.

Each run is measured on the validation images read as they are, and, at the end, read at their nine one-pixel
shifts with the class probabilities averaged (test-time augmentation; the chapter asks whether that helps).

    python benchmarks/vit_recipe.py                    # every configuration, seeds 0-2, 1 thread (~10 min)
    python benchmarks/vit_recipe.py --seeds 0 --configs "small-ViT, 40 epochs"

Results: ``benchmarks/results/vit_recipe.json`` (every validation curve) and a table in ``.md`` beside it; the
chapter quotes them. Not a test, and no timing claims: the seconds are recorded only to show the cost.
"""

from __future__ import annotations

import time

from recipe_study import run_study

# (initialisation, epochs); the names are what the table shows
CONFIGS = {
    "library, 120 epochs": ("library", 120),
    "library, 60 epochs": ("library", 60),
    "fan-in linear, 60 epochs": ("fan-in linear", 60),
    "positions 0.2, 60 epochs": ("positions 0.2", 60),
    "small-ViT, 120 epochs": ("small-ViT", 120),
    "small-ViT, 90 epochs": ("small-ViT", 90),
    "small-ViT, 60 epochs": ("small-ViT", 60),
    "small-ViT, 40 epochs": ("small-ViT", 40),
}
EVERY = 5  # epochs between two measurements on the validation images


def main() -> None:
    run_study(__doc__, CONFIGS, train, summary, table, "A small ViT on the digits", "vit_recipe")


def summary(result: dict) -> str:
    return (f"validation accuracy {result['val_accuracy']:.4f}, at nine shifts "
            f"{result['val_shifted_accuracy']:.4f}")


def train(initialisation: str, epochs: int, seed: int) -> dict:
    """The chapter's recipe on the training images; the validation accuracy every EVERY epochs."""
    import numpy as np

    import minigrad
    import minigrad.nn as nn
    import minigrad.nn.functional as F
    from minigrad import optim
    from minigrad.datasets import digits
    from minigrad.models import ViT, ViTConfig

    raw = {split: digits(split).tensors for split in ("train", "val")}
    images, targets = (t.data for t in raw["train"])
    val_images, val_labels = (t.data for t in raw["val"])
    pixel_mean, pixel_std = images.mean(axis=0), images.std(axis=0) + 0.1

    def standardise(x):
        return minigrad.tensor(((x - pixel_mean) / pixel_std).astype(np.float32))

    def random_shift(x, rng):
        padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        offsets = rng.integers(0, 3, size=(len(x), 2))
        return np.stack([padded[i, :, r:r + 8, c:c + 8] for i, (r, c) in enumerate(offsets)])

    def val_accuracy(model, shifts=((1, 1),)):
        """The accuracy on the validation images, the class probabilities averaged over ``shifts`` (the
        offsets into the images padded by one pixel: (1, 1) is the image as it is)."""
        model.eval()
        padded = np.pad(val_images, ((0, 0), (0, 0), (1, 1), (1, 1)))
        with minigrad.no_grad():
            probabilities = np.mean([F.softmax(model(standardise(padded[:, :, r:r + 8, c:c + 8])), dim=-1)
                                     .numpy() for r, c in shifts], axis=0)
        return float((probabilities.argmax(axis=1) == val_labels).mean())

    minigrad.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = ViT(ViTConfig(image_size=8, patch_size=2, channels=1, dim=64, n_layers=4, n_heads=4,
                          mlp_hidden=128, num_classes=10))
    if initialisation in ("fan-in linear", "small-ViT"):
        for module in model.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, module.weight.shape[1] ** -0.5)
    if initialisation in ("positions 0.2", "small-ViT"):
        nn.init.normal_(model.cls_token, 0.0, 0.2)
        nn.init.normal_(model.position_embedding, 0.0, 0.2)
    optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    steps = epochs * int(np.ceil(len(images) / 64))
    warmup = steps // 10
    scheduler = optim.lr_scheduler.SequentialLR(optimizer, [
        optim.lr_scheduler.LinearLR(optimizer, start_factor=0.04, total_iters=warmup),
        optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - warmup)], milestones=[warmup])
    curve, start = [], time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(images))
        for first in range(0, len(images), 64):
            idx = order[first:first + 64]
            logits = model(standardise(random_shift(images[idx], rng)))
            loss = F.cross_entropy(logits, minigrad.tensor(targets[idx]), label_smoothing=0.1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        if (epoch + 1) % EVERY == 0 or epoch + 1 == epochs:
            curve.append([epoch + 1, val_accuracy(model)])
    seconds = time.perf_counter() - start
    nine_shifts = [(r, c) for r in range(3) for c in range(3)]
    return {"val_accuracy": curve[-1][1], "val_shifted_accuracy": val_accuracy(model, nine_shifts),
            "curve": curve, "seconds": round(seconds, 1)}


def table(runs: list[dict]) -> str:
    seeds = sorted({r["seed"] for r in runs})
    lines = ["| configuration | read | " + " | ".join(f"seed {s}" for s in seeds) + " | lowest | mean |",
             "|---|---|" + "---|" * (len(seeds) + 2)]
    for config in [c for c in CONFIGS if any(r["config"] == c for r in runs)]:  # in CONFIGS' order
        for key, read in (("val_accuracy", "as it is"), ("val_shifted_accuracy", "nine shifts")):
            mine = {r["seed"]: r[key] for r in runs if r["config"] == config and key in r}
            if mine:
                cells = [f"{mine[s]:.4f}" if s in mine else "" for s in seeds]
                lines.append(f"| {config} | {read} | " + " | ".join(cells) + f" | {min(mine.values()):.4f} | "
                             f"{sum(mine.values()) / len(mine):.4f} |")
    note = ("Validation accuracy (287 images) at the end of training on the 1,150 training images, each "
            "image read as it is, or at its nine one-pixel shifts with the class probabilities averaged "
            "(blank fill).")
    return "\n".join(lines) + f"\n\n{note}\n"


if __name__ == "__main__":
    main()
