# Writes eval_golden.f32: torchvision 0.14's evaluation transform (Resize(64),
# CenterCrop(56), ToTensor, Normalize with ImageNet statistics) of
# ../imgproc/testdata/golden/input.jpg as raw little-endian float32 (3, 56, 56).
# Run by hand from this folder (Debian: python3-torchvision); the Go tests
# only read the file.
import numpy as np
import torchvision.transforms as T
from PIL import Image

tf = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
x = tf(Image.open("../imgproc/testdata/golden/input.jpg").convert("RGB"))
assert tuple(x.shape) == (3, 56, 56)
x.numpy().astype("<f4").tofile("eval_golden.f32")
