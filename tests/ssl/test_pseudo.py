import numpy as np
import pytest
import torch
from scipy import ndimage

from semiseg.ssl import (
    confident_pseudo_labels,
    entropy,
    largest_component,
    largest_component_per_class,
)


def scipy_largest(mask: np.ndarray) -> np.ndarray:
    """Reference: scipy labelling with full connectivity, largest component kept."""
    labels, n = ndimage.label(mask, structure=np.ones((3,) * mask.ndim))
    if n == 0:
        return mask.astype(bool)
    sizes = np.bincount(labels.ravel())[1:]
    return labels == (np.argmax(sizes) + 1)


@pytest.mark.parametrize("backend", ["torch", "scipy"])
@pytest.mark.parametrize("shape", [(24, 24), (10, 12, 14)])
def test_largest_component_matches_reference(shape: tuple[int, ...], backend: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = rng.random(shape) < rng.uniform(0.2, 0.5)
        ours = largest_component(torch.from_numpy(mask)[None], backend)[0].numpy()
        ref = scipy_largest(mask)
        # sizes agree always; the component itself too unless two tie for largest
        assert ours.sum() == ref.sum()
        if np.sort(np.bincount(ndimage.label(mask, np.ones((3,) * mask.ndim))[0].ravel())[1:]
                   )[-2:].tolist() != [ref.sum()] * 2:
            assert np.array_equal(ours, ref)


@pytest.mark.parametrize("backend", ["torch", "scipy"])
def test_largest_component_diagonal_touch_is_connected(backend: str) -> None:
    mask = torch.zeros(1, 6, 6, dtype=torch.bool)
    mask[0, 1, 1] = mask[0, 2, 2] = mask[0, 3, 3] = True  # 8-connected chain of 3
    mask[0, 0, 5] = mask[0, 1, 5] = True  # 2 voxels
    out = largest_component(mask, backend)
    assert out.sum() == 3 and out[0, 2, 2]


@pytest.mark.parametrize("backend", ["torch", "scipy"])
def test_largest_component_empty_and_batch_independent(backend: str) -> None:
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[1, 0:2, 0:2] = True
    out = largest_component(mask, backend)
    assert not out[0].any() and out[1].sum() == 4


def test_largest_component_follows_a_long_serpentine() -> None:
    """One 1-voxel-wide path snaking over the whole image: many propagation rounds."""
    snake = torch.zeros(1, 32, 32, dtype=torch.bool)
    for row in range(0, 32, 4):
        snake[0, row, :] = True
        if row + 4 < 32:  # connector down to the next row, alternating sides
            snake[0, row + 1:row + 4, 31 if (row // 4) % 2 == 0 else 0] = True
    island = snake.clone()
    island[0, 2, 10] = True  # a single voxel between two rows of the path
    for backend in ("torch", "scipy"):
        out = largest_component(island, backend)
        assert torch.equal(out, snake), backend


def test_largest_component_per_class_drops_small_islands() -> None:
    labels = torch.zeros(1, 12, 12, dtype=torch.long)
    labels[0, 1:5, 1:5] = 1  # 16 voxels
    labels[0, 8, 8] = 1  # island of class 1: becomes background
    labels[0, 6:8, 1:3] = 2  # the only class-2 component stays
    out = largest_component_per_class(labels, 3)
    expected = labels.clone()
    expected[0, 8, 8] = 0
    assert torch.equal(out, expected)


def test_confident_pseudo_labels() -> None:
    prob = torch.tensor([[0.96, 0.5], [0.04, 0.5]]).view(1, 2, 2)  # [B=1, K=2, S=2]
    labels, conf, mask = confident_pseudo_labels(prob, 0.95)
    assert labels.tolist() == [[0, 0]]
    assert torch.allclose(conf, torch.tensor([[0.96, 0.5]]))
    assert mask.tolist() == [[1.0, 0.0]]


def test_entropy_uniform_is_log_k() -> None:
    prob = torch.full((2, 4, 3, 3), 0.25)
    assert torch.allclose(entropy(prob, eps=0.0), torch.full((2, 3, 3), float(np.log(4))))
    assert entropy(torch.eye(3).view(1, 3, 3, 1)).abs().max() < 1e-5


def test_per_class_backends_agree() -> None:
    torch.manual_seed(0)
    labels = torch.randint(0, 4, (3, 20, 20))
    a = largest_component_per_class(labels, 4, "torch")
    b = largest_component_per_class(labels, 4, "scipy")
    # identical except where two components of a class tie for largest
    assert (a > 0).sum() == (b > 0).sum()
