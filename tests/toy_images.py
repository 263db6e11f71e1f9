"""A tiny image data set for the trainer and monitor tests: a white square on black, 64 x 64."""

import numpy as np

from dismetrics.data import FactorGrid

#: Values of the three factors: x position, y position, size.
SIZES = [4, 4, 3]


def draw_squares(factors):
    """A white square on black, its x, y position and size given by the three factors."""
    factors = np.asarray(factors)
    yy, xx = np.mgrid[0:64, 0:64]
    cx = 12 + factors[:, 0] * 12
    cy = 12 + factors[:, 1] * 12
    half = 3 + 2 * factors[:, 2]
    inside = (np.abs(xx[None] - cx[:, None, None]) <= half[:, None, None]) & (
        np.abs(yy[None] - cy[:, None, None]) <= half[:, None, None]
    )
    return inside[..., None].astype(np.float32)


def tiny_sampler():
    return FactorGrid(SIZES, observe=draw_squares, factor_names=["x", "y", "size"])
