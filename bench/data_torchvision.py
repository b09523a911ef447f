# torchvision + PIL on the same JPEGs as the Go data benchmark, for comparison
# by hand (bench/run data calls it when python3 has torchvision; dadash does
# not depend on Python). Usage: python3 bench/data_torchvision.py FOLDER
# where FOLDER holds class folders of JPEGs (data.make_synthetic, layout
# "image_folder"). Prints "name images/s" lines.
import glob
import sys
import time

import torch
import torchvision.transforms as T
from PIL import Image

files = sorted(glob.glob(sys.argv[1] + "/*/*.jpg"))
tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
torch.set_num_threads(1)


def load(path):
    with open(path, "rb") as f:
        return tf(Image.open(f).convert("RGB"))


# One core: the same per-image work as BenchmarkPipeline.
for f in files[:16]:
    load(f)
n, start = 0, time.perf_counter()
while time.perf_counter() - start < 3:
    load(files[n % len(files)])
    n += 1
print("pipeline %.1f" % (n / (time.perf_counter() - start)))


class DS(torch.utils.data.Dataset):
    def __len__(self):
        return len(files)

    def __getitem__(self, i):
        return load(files[i]), 0


# DataLoader with batches of 32, as BenchmarkLoader.
for workers in (1, 2):
    dl = torch.utils.data.DataLoader(DS(), batch_size=32, shuffle=True, num_workers=workers)
    for _ in dl:
        pass
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 3:
        for x, _ in dl:
            n += x.shape[0]
    print("loader/workers=%d %.1f" % (workers, n / (time.perf_counter() - start)))
