# torchvision + PIL on the same JPEGs as the Go data benchmarks, for
# bench/run's data section (dadash does not depend on Python). Debian's
# python3-torchvision and python3-pil, through /usr/bin/python3.
#
#   data_torchvision.py FOLDER pipeline SECONDS   one core, one image at a time
#   data_torchvision.py FOLDER loader             DataLoader, 1 and 2 workers
#
# FOLDER holds class folders of JPEGs (data.make_synthetic, layout
# "image_folder"). The pipeline mode prints "ms/image W" (wall clock) and
# "cpu-ms/image C" (process CPU time, which a busy machine disturbs less);
# the loader mode prints "loader/workers=N images/s" lines.
import glob
import sys
import time

import torch
import torchvision.transforms as T
from PIL import Image

files = sorted(glob.glob(sys.argv[1] + "/*/*.jpg"))
mode = sys.argv[2] if len(sys.argv) > 2 else "pipeline"
tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
# The same thread count as the Go side's one core.
torch.set_num_threads(1)


def load(path):
    with open(path, "rb") as f:
        return tf(Image.open(f).convert("RGB"))


if mode == "pipeline":
    # The same per-image work as BenchmarkPipeline/dct=true: decode +
    # random_resized_crop(224) + flip + to_tensor + normalize.
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 2
    for f in files[:16]:
        load(f)
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        load(files[n % len(files)])
        n += 1
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print("ms/image %.4f" % (1e3 * wall / n))
    print("cpu-ms/image %.4f" % (1e3 * cpu / n))
    sys.exit(0)


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
