# Writes the golden images in golden/ with Pillow (9.4 when they were made)
# and torchvision's PIL functional API (0.14), the stack the DML reference
# code ran on. Run by hand from this folder (Debian: python3-pil,
# python3-torchvision); the Go tests only read the files.
import json
import os

import numpy as np
from PIL import Image, ImageEnhance, ImageOps
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

os.makedirs("golden", exist_ok=True)
rs = np.random.RandomState(0)

# A small, odd-sized image with smooth gradients, edges and noise.
h, w = 29, 37
y, x = np.mgrid[0:h, 0:w]
img = np.stack([
    (x * 255 / (w - 1)),
    (y * 255 / (h - 1)),
    128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0),
], axis=-1)
img[8:14, 10:20] = [250, 30, 40]
img = np.clip(img + rs.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
src = Image.fromarray(img, "RGB")
src.save("golden/input.png")

# A JPEG and Pillow's decoding of it (libjpeg-turbo, as our decoder).
big = Image.fromarray(np.clip(np.kron(img, np.ones((3, 3, 1))) + rs.normal(0, 5, (87, 111, 3)), 0, 255).astype(np.uint8))
big.save("golden/input.jpg", quality=90)
Image.open("golden/input.jpg").convert("RGB").save("golden/input_jpg_decoded.png")
gray = big.convert("L")
gray.save("golden/gray.jpg", quality=90)
Image.open("golden/gray.jpg").convert("RGB").save("golden/gray_jpg_decoded.png")

cases = []


def case(name, op, args, out):
    fn = f"golden/{name}.png"
    out.save(fn)
    cases.append({"op": op, "args": args, "file": fn})


for (ow, oh) in [(37, 29), (20, 15), (10, 29), (64, 48), (111, 7), (5, 5), (37, 60)]:
    case(f"resize_{ow}x{oh}", "resize", [ow, oh], src.resize((ow, oh), Image.BILINEAR))
for (i, j, ch, cw, oh, ow) in [(3, 4, 20, 25, 12, 16), (0, 0, 29, 37, 50, 50), (10, 7, 9, 6, 24, 24), (5, 1, 24, 35, 7, 9)]:
    case(f"rcrop_{i}_{j}_{ch}_{cw}_{oh}_{ow}", "resized_crop", [i, j, ch, cw, oh, ow],
         F.resized_crop(src, i, j, ch, cw, [oh, ow], InterpolationMode.BILINEAR))
for size in [15, 40]:
    case(f"tvresize_{size}", "tv_resize", [size], F.resize(src, size, InterpolationMode.BILINEAR))
for (ch, cw) in [(10, 12), (29, 20), (33, 41), (32, 40), (8, 40)]:
    case(f"ccrop_{ch}x{cw}", "center_crop", [ch, cw], F.center_crop(src, [ch, cw]))
for f in [0.3, 1.7]:
    case(f"brightness_{f}", "brightness", [f], F.adjust_brightness(src, f))
    case(f"contrast_{f}", "contrast", [f], F.adjust_contrast(src, f))
    case(f"saturation_{f}", "saturation", [f], F.adjust_saturation(src, f))
    case(f"sharpness_{f}", "sharpness", [f], F.adjust_sharpness(src, f))
for f in [-0.3, 0.2, 0.45, -0.5]:
    case(f"hue_{f}", "hue", [f], F.adjust_hue(src, f))
for b in [4, 6]:
    case(f"posterize_{b}", "posterize", [b], F.posterize(src, b))
for t in [128.0, 28.333332061767578]:
    case(f"solarize_{t}", "solarize", [t], F.solarize(src, t))
case("autocontrast", "autocontrast", [], F.autocontrast(src))
case("equalize", "equalize", [], F.equalize(src))
case("invert", "invert", [], F.invert(src))
case("gray", "gray", [], src.convert("L").convert("RGB"))
for a in [26.666666030883789, -13.333333015441895, 3.3333332538604736]:
    case(f"rotate_{a:.3f}", "rotate", [a], F.rotate(src, a, InterpolationMode.NEAREST, fill=None))
for s in [0.20000000298023224, -0.10000000149011612]:
    case(f"shearx_{s:.3f}", "shearx", [s], F.affine(src, angle=0.0, translate=[0, 0], scale=1.0,
         shear=[np.degrees(np.arctan(s)), 0.0], interpolation=InterpolationMode.NEAREST, fill=None, center=[0, 0]))

with open("golden/cases.json", "w") as f:
    json.dump(cases, f, indent=1)
