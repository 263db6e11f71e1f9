"""Draw docs/img/dsprites_factors.png: procedural dSprites along each factor (the others fixed).

    PYTHONPATH=. python docs/make_dsprites_figure.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dismetrics.data import DSprites  # noqa: E402

BASE = np.array([2, 5, 0, 16, 16])  # heart, scale 1, orientation 0, centre
COLUMNS = 8


def main() -> None:
    d = DSprites(cache=False)
    fig, axes = plt.subplots(len(d.factor_names), COLUMNS, figsize=(COLUMNS * 1.1, len(d.factor_names) * 1.2))
    for row, (name, size) in enumerate(zip(d.factor_names, d.factor_sizes)):
        values = np.unique(np.linspace(0, size - 1, min(size, COLUMNS)).round().astype(int))
        factors = np.tile(BASE, (len(values), 1))
        factors[:, row] = values
        images = d.images_from_factors(factors)
        for col in range(COLUMNS):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col < len(values):
                ax.imshow(images[col], cmap="gray", vmin=0, vmax=1)
                ax.set_title(f"{name}={values[col]}", fontsize=7)
            else:
                ax.axis("off")
    fig.suptitle("Procedural dSprites: one factor varied per row (others: heart, scale 1, orientation 0, centre)", fontsize=9)
    fig.tight_layout()
    out = Path(__file__).parent / "img" / "dsprites_factors.png"
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == "__main__":
    main()
