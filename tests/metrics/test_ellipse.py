import math

import numpy as np
import pytest
from scipy import integrate

from semiseg.metrics.ellipse import (
    Ellipse,
    draw_ellipse,
    ellipse_perimeter,
    fit_ellipse,
    head_circumference,
    mask_ellipse,
)


def exact_perimeter(a: float, b: float) -> float:
    return integrate.quad(lambda t: math.hypot(a * math.sin(t), b * math.cos(t)),
                          0, 2 * math.pi)[0]


@pytest.mark.parametrize("a,b", [(10, 10), (30, 20), (50, 8)])
def test_ramanujan_perimeter(a: float, b: float) -> None:
    assert ellipse_perimeter(a, b) == pytest.approx(exact_perimeter(a, b), rel=5e-5)
    assert ellipse_perimeter(5, 5) == pytest.approx(2 * math.pi * 5)


def test_fit_recovers_exact_points() -> None:
    t = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    true = Ellipse(cx=40.0, cy=-7.0, a=25.0, b=11.0, theta=0.6)
    c, s = math.cos(true.theta), math.sin(true.theta)
    x = true.cx + true.a * np.cos(t) * c - true.b * np.sin(t) * s
    y = true.cy + true.a * np.cos(t) * s + true.b * np.sin(t) * c
    fit = fit_ellipse(x, y)
    for key in ("cx", "cy", "a", "b", "theta"):
        assert getattr(fit, key) == pytest.approx(getattr(true, key), abs=1e-6)


def test_fit_ignores_outliers() -> None:
    t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    x, y = 30 * np.cos(t), 15 * np.sin(t)
    x = np.concatenate([x, np.full(15, 60.0)])  # a spur of 15 points far outside
    y = np.concatenate([y, np.linspace(-3, 3, 15)])
    fit = fit_ellipse(x, y)
    assert fit.a == pytest.approx(30, rel=1e-3) and fit.b == pytest.approx(15, rel=1e-3)
    assert fit_ellipse(x[:5], y[:5]) is None  # too few points
    assert fit_ellipse(np.arange(10.0), np.arange(10.0)) is None  # collinear


def test_drawn_ellipse_is_recovered_from_its_mask() -> None:
    true = Ellipse(cx=100.3, cy=70.8, a=60.0, b=42.0, theta=-0.4)
    mask = draw_ellipse((150, 200), true)
    fit = mask_ellipse(mask)
    assert fit.cx == pytest.approx(true.cx, abs=0.1) and fit.cy == pytest.approx(true.cy, abs=0.1)
    assert fit.a == pytest.approx(true.a, abs=0.3) and fit.b == pytest.approx(true.b, abs=0.3)
    assert fit.theta == pytest.approx(true.theta, abs=0.01)


def test_head_circumference_in_mm_of_a_known_ellipse() -> None:
    true = Ellipse(cx=120, cy=90, a=80, b=55, theta=0.2)
    mask = draw_ellipse((180, 240), true)
    expected_mm = ellipse_perimeter(80, 55) * 0.15
    assert head_circumference(mask, (0.15, 0.15)) == pytest.approx(expected_mm, rel=0.005)
    # a noise blob elsewhere does not move it (largest component only)
    mask[2:6, 2:6] = True
    assert head_circumference(mask, (0.15, 0.15)) == pytest.approx(expected_mm, rel=0.005)
    assert math.isnan(head_circumference(np.zeros((10, 10), bool)))


def test_a_few_collinear_pixels_measure_no_head() -> None:
    # a sliver on the image border: its least-squares "ellipse" is a needle thousands of
    # pixels long (seen from an untrained network), which is not a head
    mask = np.zeros((32, 48), bool)
    mask[31, 31:35] = True
    assert math.isnan(head_circumference(mask))
    mask[30, 31:35] = True  # two rows: a small, plausible blob again
    assert head_circumference(mask) < 20


def test_anisotropic_spacing_is_respected() -> None:
    circle_mm = Ellipse(cx=100, cy=50, a=40, b=20, theta=0.0)  # 40 px wide, 20 px tall
    mask = draw_ellipse((100, 200), circle_mm)
    # rows are 2 mm, columns 1 mm: the head is a 40 mm circle
    assert head_circumference(mask, (2.0, 1.0)) == pytest.approx(2 * math.pi * 40, rel=0.01)
