"""Pixel layers for drawing people: a canvas in body units, and pasting a person onto a frame.

A person is drawn on a `Canvas` (a colour layer plus a coverage layer) whose coordinates are
measured from the body's centre line and the top of the head in units of the person's height,
so drawing code reads like a body plan. The finished BGRA drawing is pasted onto a background
or a video frame with `composite`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from synthetic.appearance import Colour, clip_colour


class Canvas:
    """Colour and coverage layers with drawing helpers in person units.

    x is measured from the body's centre line and y from the top of the head, both in units of
    the person's height (`size` pixels), with the head's top at pixel row `top` and the centre
    line at pixel column `cx`.
    """

    def __init__(self, height: int, width: int, top: float, cx: float, size: float):
        self.image = np.zeros((height, width, 3), np.uint8)
        self.alpha = np.zeros((height, width), np.uint8)
        self.top, self.cx, self.size = top, cx, size

    def pt(self, x: float, y: float) -> tuple[int, int]:
        return (int(round(self.cx + x * self.size)), int(round(self.top + y * self.size)))

    def length(self, v: float) -> int:
        return max(1, int(round(v * self.size)))

    def poly(self, points: Sequence[tuple[float, float]], colour: Colour) -> None:
        pts = np.array([self.pt(x, y) for x, y in points], np.int32)
        cv2.fillPoly(self.image, [pts], colour)
        cv2.fillPoly(self.alpha, [pts], 255)

    def line(self, a: tuple[float, float], b: tuple[float, float], width: float, colour) -> None:
        thickness = self.length(width)
        cv2.line(self.image, self.pt(*a), self.pt(*b), colour, thickness)
        cv2.line(self.alpha, self.pt(*a), self.pt(*b), 255, thickness)

    def ellipse(
        self,
        centre: tuple[float, float],
        axes: tuple[float, float],
        colour: Colour,
        start: float = 0.0,
        end: float = 360.0,
        angle: float = 0.0,
    ) -> None:
        c = self.pt(*centre)
        ax = (self.length(axes[0]), self.length(axes[1]))
        cv2.ellipse(self.image, c, ax, angle, start, end, colour, -1)
        cv2.ellipse(self.alpha, c, ax, angle, start, end, 255, -1)

    def textured_poly(
        self, points: Sequence[tuple[float, float]], colour: Colour, pattern: np.ndarray | None
    ) -> None:
        """Fill a polygon with `colour`, then paint `pattern` (an image) where its mask is set."""
        if pattern is None:
            self.poly(points, colour)
            return
        mask = np.zeros(self.alpha.shape, np.uint8)
        pts = np.array([self.pt(x, y) for x, y in points], np.int32)
        cv2.fillPoly(mask, [pts], 255)
        self.image[mask > 0] = pattern[mask > 0]
        self.alpha[mask > 0] = 255


def shade(colour: Colour, factor: float) -> Colour:
    """`colour` darkened (factor < 1) or lightened (factor > 1), clipped to 0..255."""
    return clip_colour(np.asarray(colour, float) * factor)


def composite(frame: np.ndarray, rgba: np.ndarray, x: int = 0, y: int = 0) -> np.ndarray:
    """Paste a BGRA image onto a BGR frame (in place) with its top-left corner at (x, y).

    Parts outside the frame are clipped. Returns the frame for chaining.
    """
    fh, fw = frame.shape[:2]
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x0 >= x1 or y0 >= y1:
        return frame
    patch = rgba[y0 - y : y1 - y, x0 - x : x1 - x]
    a = patch[..., 3:4].astype(np.float32) / 255.0
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(region * (1 - a) + patch[..., :3] * a + 0.5, 0, 255).astype(
        np.uint8
    )
    return frame
