"""The PyTorch side of bench/vs_torch/phases.star (step.py's ResNet50Embed).
Usage: phases.py THREADS."""
import contextlib
import io
import runpy
import sys
import time

import torch

threads = int(sys.argv[1])
sys.argv = ["step.py", "resnet50", "1", "0", str(threads)]
with contextlib.redirect_stdout(io.StringIO()):
    g = runpy.run_path(__file__.replace("phases.py", "step.py"), run_name="step")
torch.manual_seed(0)
model = g["ResNet50Embed"]().train()
x, target = torch.randn(8, 3, 224, 224), torch.randn(8, 512)
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
res = {"f": [], "b": [], "o": []}
for i in range(6):
    t0 = time.perf_counter()
    emb, _ = model(x)
    l = (emb - target).pow(2).mean()
    t1 = time.perf_counter()
    opt.zero_grad()
    l.backward()
    t2 = time.perf_counter()
    opt.step()
    t3 = time.perf_counter()
    if i > 0:
        res["f"].append((t1 - t0) * 1e3)
        res["b"].append((t2 - t1) * 1e3)
        res["o"].append((t3 - t2) * 1e3)
print("forward %.1f backward %.1f update %.1f" % (sorted(res["f"])[2], sorted(res["b"])[2], sorted(res["o"])[2]))
