import numpy as np
import pytest
import torch

from semiseg.errors import ConfigError
from semiseg.nets import create_network
from semiseg.nets.efficientnet import IMAGENET_MEAN, IMAGENET_STD, load_efficientnet_lite0

skimage = pytest.importorskip("skimage")


def imagenet_input(photo: np.ndarray) -> torch.Tensor:
    from skimage import transform
    img = transform.resize(photo, (224, 224), anti_aliasing=True).astype(np.float32)
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    return (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(
        IMAGENET_STD).view(1, 3, 1, 1)


def test_the_weights_are_imagenet_weights() -> None:
    """scikit-image's cat photo is a cat and its coffee photo an espresso (offline)."""
    from skimage import data
    model = load_efficientnet_lite0().eval()
    with torch.no_grad():
        cat = model(imagenet_input(data.chelsea())).argmax(1).item()
        coffee = model(imagenet_input(data.coffee())).argmax(1).item()
    assert cat in (281, 282, 283, 284, 285)  # tabby, tiger, Persian, Siamese, Egyptian cat
    assert coffee in (967, 968)  # espresso, cup


def test_segmentation_network_on_the_pretrained_encoder() -> None:
    net = create_network("efficientunet", 2, 1, 4).eval()
    x = torch.randn(2, 1, 64, 96)
    assert net(x).shape == (2, 4, 64, 96)
    assert torch.equal(net(x), net.decode(net.encode(x)))
    reference = load_efficientnet_lite0()
    assert torch.equal(net.encoder._conv_stem.weight, reference._conv_stem.weight)
    frozen = create_network("efficientunet", 2, 1, 4, freeze_encoder_stages=3)
    assert not frozen.encoder._conv_stem.weight.requires_grad
    assert not frozen.encoder._blocks[2].parameters().__next__().requires_grad  # stage 2
    assert frozen.encoder._blocks[3].parameters().__next__().requires_grad  # stage 3 trains


def test_clear_errors() -> None:
    with pytest.raises(ConfigError, match="2D"):
        create_network("efficientunet", 3, 1, 2)
    with pytest.raises(ConfigError, match="not found"):
        create_network("efficientunet", 2, 1, 2, weights="/nonexistent.pth")
