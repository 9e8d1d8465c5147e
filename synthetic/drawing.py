"""Drawing one person: body plans seen from the front, the back and the side.

`render_person_rgba` draws an `Appearance` in a `Pose` into a box and returns a BGRA image
(alpha covering the body only). It knows nothing about backgrounds or cameras, so the same
people serve both the re-id crops (`synthetic.crops`) and the tracking videos
(`synthetic.mot`), where they are pasted onto frames with `synthetic.canvas.composite`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from synthetic.appearance import Appearance, Pose
from synthetic.canvas import Canvas, shade


def _torso_pattern(
    canvas: Canvas, app: Appearance, facing: str, shoulder_y: float, hip_y: float
) -> np.ndarray | None:
    """An image of the upper clothing's texture (None for plain), to be cut by the torso mask."""
    texture = app.upper_texture
    front = facing == "front"
    if texture == "plain" or (texture in ("logo", "open_jacket") and not front):
        return None
    h, w = canvas.alpha.shape
    pattern = np.empty((h, w, 3), np.uint8)
    pattern[:] = app.upper_colour
    sec = app.upper_secondary
    period = app.texture_period
    thick = max(1, canvas.length(period * 0.45))
    if texture in ("stripes", "checks"):
        y = shoulder_y + period * 0.5
        while y < hip_y + 0.05:
            py = canvas.pt(0, y)[1]
            cv2.line(pattern, (0, py), (w - 1, py), sec, thick)
            y += period
    if texture in ("vstripes", "checks"):
        x = -0.3
        while x < 0.3:
            px = canvas.pt(x, 0)[0]
            cv2.line(pattern, (px, 0), (px, h - 1), sec, thick)
            x += period * (1.2 if texture == "checks" else 1.0)
    if texture == "two_tone":
        y0 = canvas.pt(0, shoulder_y - 0.05)[1]
        y1 = canvas.pt(0, shoulder_y + (hip_y - shoulder_y) * 0.38)[1]
        pattern[max(0, y0) : max(0, y1)] = sec
    if texture == "open_jacket":
        x0, x1 = canvas.pt(-0.03, 0)[0], canvas.pt(0.03, 0)[0]
        pattern[:, max(0, x0) : max(0, x1)] = sec
    if texture == "logo":
        cx, cy = canvas.pt(0.0, shoulder_y + 0.085)
        r = canvas.length(0.04)
        if app.logo_shape == "circle":
            cv2.circle(pattern, (cx, cy), r, sec, -1)
        elif app.logo_shape == "square":
            cv2.rectangle(pattern, (cx - r, cy - r), (cx + r, cy + r), sec, -1)
        elif app.logo_shape == "triangle":
            tri = np.array([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], np.int32)
            cv2.fillPoly(pattern, [tri], sec)
        else:
            cv2.rectangle(
                pattern, (cx - int(r * 1.6), cy - r // 2), (cx + int(r * 1.6), cy), sec, -1
            )
    return pattern


def _draw_front_back(canvas: Canvas, app: Appearance, pose: Pose) -> None:
    """A person facing the camera (front) or walking away from it (back)."""
    back = pose.facing == "back"
    b = app.build
    head_h = 0.13 * app.head_size
    head_c = (0.0, head_h / 2 + 0.004)
    head_ax = (0.047 * app.head_size, head_h / 2)
    shoulder_y = head_h + 0.025
    hip_y = 0.965 - app.leg_length
    sw, hw = 0.115 * b, 0.092 * b
    s = math.sin(pose.phase)
    # The person's left side is on the image's right when they face the camera.
    bag_x = (1.0 if app.bag_side == "left" else -1.0) * (-1.0 if back else 1.0)

    if app.hair_style == "long" and not back:
        canvas.poly(
            [
                (-head_ax[0] * 1.15, head_c[1]),
                (head_ax[0] * 1.15, head_c[1]),
                (head_ax[0] * 1.25, shoulder_y + 0.07),
                (-head_ax[0] * 1.25, shoulder_y + 0.07),
            ],
            app.hair_colour,
        )

    # Legs and shoes.
    leg_w = 0.072 * b
    for side, lift in ((-1.0, max(0.0, s)), (1.0, max(0.0, -s))):
        hip = (side * 0.045 * b, hip_y + 0.02)
        ankle = (side * (0.05 * b + 0.008), 0.965 - 0.03 * lift)
        knee = (hip[0] * 0.5 + ankle[0] * 0.5, hip[1] * 0.5 + ankle[1] * 0.5)
        if app.lower_style == "trousers":
            canvas.line(hip, ankle, leg_w, app.lower_colour)
        elif app.lower_style == "shorts":
            canvas.line(hip, ankle, leg_w * 0.8, app.skin)
            mid = (hip[0] * 0.55 + knee[0] * 0.45, hip[1] * 0.55 + knee[1] * 0.45)
            canvas.line(hip, mid, leg_w * 1.1, app.lower_colour)
        else:
            canvas.line(hip, ankle, leg_w * 0.75, app.skin)
        canvas.ellipse((ankle[0], ankle[1] + 0.012), (0.033, 0.02), app.shoe_colour)
    if app.lower_style == "skirt":
        canvas.poly(
            [
                (-hw, hip_y - 0.01),
                (hw, hip_y - 0.01),
                (hw * 1.5, hip_y + app.leg_length * 0.45),
                (-hw * 1.5, hip_y + app.leg_length * 0.45),
            ],
            app.lower_colour,
        )
    else:
        canvas.poly(
            [(-hw, hip_y - 0.01), (hw, hip_y - 0.01), (hw, hip_y + 0.06), (-hw, hip_y + 0.06)],
            app.lower_colour,
        )

    if app.bag == "backpack" and not back:  # the pack shows a little beside the body
        canvas.poly(
            [(-sw - 0.012, shoulder_y + 0.03), (sw + 0.012, shoulder_y + 0.03)]
            + [(sw + 0.012, shoulder_y + 0.2), (-sw - 0.012, shoulder_y + 0.2)],
            shade(app.bag_colour, 0.8),
        )

    # Arms (behind the torso's edge) and hands.
    arm_w = 0.05 * b
    for side, swing in ((-1.0, s), (1.0, -s)):
        shoulder = (side * (sw - 0.02), shoulder_y + 0.02)
        lift = 0.035 * max(0.0, swing)
        hand = (side * (sw + 0.022 + pose.arm_spread), shoulder_y + 0.35 - lift)
        elbow = (shoulder[0] * 0.5 + hand[0] * 0.5, shoulder[1] * 0.5 + hand[1] * 0.5)
        if app.long_sleeves:
            canvas.line(shoulder, hand, arm_w, app.upper_colour)
        else:
            canvas.line(shoulder, hand, arm_w * 0.8, app.skin)
            canvas.line(shoulder, elbow, arm_w * 1.05, app.upper_colour)
        canvas.ellipse((hand[0], hand[1] + 0.012), (0.018, 0.022), app.skin)

    # Torso with the clothing texture.
    torso = [
        (-sw * 0.72, shoulder_y - 0.012),
        (sw * 0.72, shoulder_y - 0.012),
        (sw, shoulder_y + 0.035),
        (hw * 1.03, hip_y + 0.02),
        (-hw * 1.03, hip_y + 0.02),
        (-sw, shoulder_y + 0.035),
    ]
    canvas.textured_poly(
        torso, app.upper_colour, _torso_pattern(canvas, app, pose.facing, shoulder_y, hip_y)
    )

    # Neck, head, hair.
    canvas.line((0.0, head_h - 0.01), (0.0, shoulder_y), 0.035, app.skin)
    canvas.ellipse(head_c, head_ax, app.skin)
    _draw_hair(canvas, app, head_c, head_ax, shoulder_y, back)

    # Bags in front of the body.
    if app.bag == "backpack":
        if back:
            canvas.poly(
                [(-sw * 0.8, shoulder_y + 0.02), (sw * 0.8, shoulder_y + 0.02)]
                + [(sw * 0.85, shoulder_y + 0.24), (-sw * 0.85, shoulder_y + 0.24)],
                app.bag_colour,
            )
        else:
            for side in (-1.0, 1.0):
                canvas.line(
                    (side * sw * 0.55, shoulder_y - 0.005),
                    (side * sw * 0.75, shoulder_y + 0.13),
                    0.018,
                    app.bag_colour,
                )
    elif app.bag == "shoulder_bag":
        canvas.line(
            (-bag_x * sw * 0.6, shoulder_y),
            (bag_x * (hw + 0.02), hip_y - 0.01),
            0.014,
            shade(app.bag_colour, 0.7),
        )
        bx = bag_x * (hw + 0.035)
        canvas.poly(
            [(bx - 0.04, hip_y - 0.03), (bx + 0.04, hip_y - 0.03)]
            + [(bx + 0.045, hip_y + 0.07), (bx - 0.045, hip_y + 0.07)],
            app.bag_colour,
        )


def _draw_hair(
    canvas: Canvas,
    app: Appearance,
    head_c: tuple[float, float],
    head_ax: tuple[float, float],
    shoulder_y: float,
    back: bool,
) -> None:
    """Hair or cap over the head; from behind, hair covers the whole head."""
    style = app.hair_style
    ax, ay = head_ax
    top = (head_c[0], head_c[1] - ay * 0.15)
    if style == "bald":
        return
    if style == "cap":
        canvas.ellipse(top, (ax * 1.08, ay * 0.95), app.cap_colour, 180, 360)
        if back:
            canvas.ellipse(head_c, (ax * 1.02, ay * 0.9), app.hair_colour, 0, 180)
        else:
            canvas.ellipse((top[0], top[1]), (ax * 1.3, ay * 0.18), shade(app.cap_colour, 0.8))
        return
    if back:
        canvas.ellipse(head_c, (ax * 1.08, ay * 1.04), app.hair_colour)
        if style == "long":
            canvas.poly(
                [(-ax * 1.1, head_c[1]), (ax * 1.1, head_c[1])]
                + [(ax * 1.2, shoulder_y + 0.09), (-ax * 1.2, shoulder_y + 0.09)],
                app.hair_colour,
            )
    else:
        canvas.ellipse(top, (ax * 1.1, ay * 0.95), app.hair_colour, 180, 360)
        if style == "long":
            for side in (-1.0, 1.0):
                canvas.line(
                    (side * ax * 0.95, head_c[1] - ay * 0.3),
                    (side * ax * 1.05, shoulder_y + 0.05),
                    0.02,
                    app.hair_colour,
                )
    if style == "ponytail":
        canvas.ellipse((0.0, head_c[1] - ay * 0.95), (ax * 0.45, ay * 0.3), app.hair_colour)
        if back:
            canvas.line((0.0, head_c[1]), (0.0, shoulder_y + 0.05), 0.025, app.hair_colour)


def _draw_side(canvas: Canvas, app: Appearance, pose: Pose) -> None:
    """A person walking sideways (towards +x); the far limbs are drawn darker and first."""
    b = app.build
    head_h = 0.13 * app.head_size
    head_c = (0.005, head_h / 2 + 0.004)
    head_ax = (0.05 * app.head_size, head_h / 2)
    shoulder_y = head_h + 0.025
    hip_y = 0.965 - app.leg_length
    tw = 0.065 * b
    s = math.sin(pose.phase)
    arm_len, leg_len = 0.34, 0.965 - hip_y
    leg_w, arm_w = 0.075 * b, 0.05 * b

    def leg(angle: float, tone: float) -> None:
        hip = (0.0, hip_y + 0.02)
        ankle = (math.sin(angle) * leg_len, hip_y + math.cos(angle) * leg_len)
        mid = (ankle[0] * 0.35, hip[1] + (ankle[1] - hip[1]) * 0.35)
        if app.lower_style == "trousers":
            canvas.line(hip, ankle, leg_w, shade(app.lower_colour, tone))
        else:
            canvas.line(hip, ankle, leg_w * 0.8, shade(app.skin, tone))
            if app.lower_style == "shorts":
                canvas.line(hip, mid, leg_w * 1.1, shade(app.lower_colour, tone))
        canvas.ellipse((ankle[0] + 0.02, ankle[1] + 0.012), (0.045, 0.019), app.shoe_colour)

    def arm(angle: float, tone: float) -> None:
        shoulder = (0.0, shoulder_y + 0.025)
        hand = (math.sin(angle) * arm_len, shoulder[1] + math.cos(angle) * arm_len)
        elbow = (hand[0] * 0.5, (shoulder[1] + hand[1]) * 0.5)
        if app.long_sleeves:
            canvas.line(shoulder, hand, arm_w, shade(app.upper_colour, tone))
        else:
            canvas.line(shoulder, hand, arm_w * 0.8, shade(app.skin, tone))
            canvas.line(shoulder, elbow, arm_w * 1.05, shade(app.upper_colour, tone))
        canvas.ellipse((hand[0], hand[1] + 0.012), (0.018, 0.022), shade(app.skin, tone))

    arm(-0.45 * s, 0.8)
    leg(0.32 * s, 0.85)
    leg(-0.32 * s, 1.0)
    if app.lower_style == "skirt":
        canvas.poly(
            [(-tw, hip_y - 0.01), (tw, hip_y - 0.01)]
            + [
                (tw * 1.6, hip_y + app.leg_length * 0.45),
                (-tw * 1.6, hip_y + app.leg_length * 0.45),
            ],
            app.lower_colour,
        )
    else:
        canvas.poly(
            [(-tw, hip_y - 0.01), (tw, hip_y - 0.01), (tw, hip_y + 0.06), (-tw, hip_y + 0.06)],
            app.lower_colour,
        )
    if app.bag == "backpack":
        canvas.poly(
            [(-tw - 0.06, shoulder_y + 0.02), (-tw + 0.01, shoulder_y + 0.01)]
            + [(-tw + 0.01, shoulder_y + 0.23), (-tw - 0.065, shoulder_y + 0.22)],
            app.bag_colour,
        )
    torso = [
        (-tw * 0.9, shoulder_y - 0.01),
        (tw * 0.9, shoulder_y - 0.01),
        (tw * 1.05, shoulder_y + 0.05),
        (tw, hip_y + 0.02),
        (-tw, hip_y + 0.02),
        (-tw * 1.05, shoulder_y + 0.05),
    ]
    canvas.textured_poly(
        torso, app.upper_colour, _torso_pattern(canvas, app, "side", shoulder_y, hip_y)
    )
    if app.bag == "shoulder_bag":
        canvas.line((0.0, shoulder_y), (-0.01, hip_y - 0.02), 0.014, shade(app.bag_colour, 0.7))
        canvas.poly(
            [
                (-0.05, hip_y - 0.03),
                (0.03, hip_y - 0.03),
                (0.035, hip_y + 0.07),
                (-0.055, hip_y + 0.07),
            ],
            app.bag_colour,
        )
    arm(0.45 * s, 1.0)
    canvas.line((0.0, head_h - 0.01), (0.0, shoulder_y), 0.035, app.skin)
    canvas.ellipse(head_c, head_ax, app.skin)
    ax, ay = head_ax
    if app.hair_style == "cap":
        canvas.ellipse(
            (head_c[0], head_c[1] - ay * 0.15), (ax * 1.05, ay * 0.95), app.cap_colour, 180, 360
        )
        canvas.line(
            (head_c[0] + ax * 0.5, head_c[1] - ay * 0.2),
            (head_c[0] + ax * 1.6, head_c[1] - ay * 0.15),
            0.012,
            shade(app.cap_colour, 0.8),
        )
    elif app.hair_style != "bald":
        canvas.ellipse(
            (head_c[0] - ax * 0.1, head_c[1] - ay * 0.1),
            (ax * 1.05, ay * 0.95),
            app.hair_colour,
            150,
            360,
        )
        canvas.ellipse((head_c[0] - ax * 0.4, head_c[1]), (ax * 0.7, ay * 0.8), app.hair_colour)
        if app.hair_style == "long":
            canvas.line(
                (head_c[0] - ax * 0.6, head_c[1]),
                (-ax * 0.7, shoulder_y + 0.08),
                0.04,
                app.hair_colour,
            )
        elif app.hair_style == "ponytail":
            canvas.line(
                (head_c[0] - ax, head_c[1] - ay * 0.3),
                (-ax * 1.8, shoulder_y),
                0.025,
                app.hair_colour,
            )


def render_person_rgba(
    appearance: Appearance, height: int, width: int, pose: Pose | None = None, supersample: int = 2
) -> np.ndarray:
    """A person alone in a `height` x `width` box: BGRA uint8, alpha 255 on the body, 0 elsewhere.

    With the default pose the person stands centred and fills the box from head to feet, which
    is what a tracking video needs: draw the box, then `composite` the result onto the frame.
    The drawing is done `supersample` times larger and reduced, which smooths the edges.
    The colour channels are not premultiplied: at partly covered edge pixels they hold the
    body's colour and alpha says how much of the pixel it covers.
    """
    if height < 4 or width < 2:
        raise ValueError(f"a person needs a box of at least 4x2 pixels, got {height}x{width}")
    pose = pose or Pose()
    ss = max(1, int(supersample))
    h, w = height * ss, width * ss
    size = h * 0.97 * pose.scale
    top = (h - size) / 2 + pose.dy * h
    canvas = Canvas(h, w, top, w / 2 + pose.dx * w, size)
    if pose.facing == "side":
        _draw_side(canvas, appearance, pose)
    else:
        _draw_front_back(canvas, appearance, pose)
    # Outside the body the colour layer is 0, so the reduced colour is premultiplied by alpha.
    image, alpha = canvas.image, canvas.alpha
    if ss > 1:
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)
    a = alpha.astype(np.float32)
    gain = 255.0 / np.maximum(a, 1.0)
    if pose.light:
        x = (np.arange(width, dtype=np.float32) + 0.5 - canvas.cx / ss) / (0.15 * size / ss)
        gain = gain * np.clip(1.0 + 0.18 * pose.light * x, 0.75, 1.2)[None, :]
    out = np.empty((height, width, 4), np.uint8)
    out[..., :3] = np.clip(image * gain[..., None] + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = alpha
    if pose.flip:
        out = np.ascontiguousarray(out[:, ::-1])
    return out
