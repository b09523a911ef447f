"""The PyTorch side of bench/vs_torch/step.star: the same step, written from
builtins/models (small_cnn, the embedding head), builtins/losses (oproxy.go:
the proxy loss with cosine similarities and masked log-sum-exp) and
torchvision's resnet50. Usage: step.py MODEL STEPS WARMUP THREADS."""
import sys
import time
import torch
import torch.nn as nn
import torch.nn.functional as F

model_name, steps, warmup, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)


class SmallCNN(nn.Module):
    # models.small_cnn(width=32, embed_dim=64, pooling="grid", layernorm=True)
    def __init__(self, w=32, embed=64):
        super().__init__()
        layers, cin = [], 1
        for i, cout in enumerate([w, 2 * w, 4 * w]):
            mods = [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
            if i < 2:
                mods.append(nn.MaxPool2d(2, 2))
            layers.append(nn.Sequential(*mods))
            cin = cout
        self.blocks = nn.Sequential(*layers)
        self.last_linear = nn.Linear(16 * 4 * w, embed)
        self.layer_norm = nn.LayerNorm(embed, elementwise_affine=False)

    def forward(self, x):
        f = torch.flatten(F.adaptive_avg_pool2d(self.blocks(x), (4, 4)), 1)
        return self.layer_norm(self.last_linear(f)), f


class ResNet50Embed(nn.Module):
    # models.resnet50(embed_dim=512, pooling="max+avg", layernorm=True, frozen_bn=True)
    def __init__(self):
        super().__init__()
        import torchvision
        r = torchvision.models.resnet50()
        self.trunk = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3, r.layer4)
        self.last_linear = nn.Linear(2048, 512)
        self.layer_norm = nn.LayerNorm(512, elementwise_affine=False)

    def train(self, mode=True):
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()  # frozen BN: running statistics, affine still trained
        return self

    def forward(self, x):
        fm = self.trunk(x)
        f = torch.flatten(F.adaptive_max_pool2d(fm, 1) + F.adaptive_avg_pool2d(fm, 1), 1)
        return self.layer_norm(self.last_linear(f)), f


def lse_masked(s, mask, dim):
    filled = s.masked_fill(~mask, float("-inf"))
    zero = torch.zeros_like(filled.narrow(dim, 0, 1))
    return torch.logsumexp(torch.cat([filled, zero], dim), dim, keepdim=True)


class ProxyAnchor(nn.Module):
    # losses.proxy_anchor(C, d): builtins/losses/oproxy.go, dim 0
    def __init__(self, classes, dim, a_pos=32.0, a_neg=32.0, d_pos=0.1, d_neg=-0.1):
        super().__init__()
        self.proxies = nn.Parameter(torch.randn(classes, dim) / 8)
        self.c, self.hp = classes, (a_pos, a_neg, d_pos, d_neg)

    def forward(self, x, y):
        a_pos, a_neg, d_pos, d_neg = self.hp
        xn, pn = F.normalize(x, 2, -1), F.normalize(self.proxies, 2, -1)
        pp = pn.index_select(0, y)
        s_pos, s_neg = xn.mm(pp.t()), xn.mm(pn.t())
        mask_pos = y.unsqueeze(1) == y.unsqueeze(0)
        mask_neg = F.one_hot(y, self.c) == 0
        pos = lse_masked(s_pos * -a_pos + a_pos * d_pos, mask_pos, 0).mean()
        neg = lse_masked(s_neg * a_neg + -a_neg * d_neg, mask_neg, 0).mean()
        return pos + neg


class DADA(nn.Module):
    """DADA around the proxy loss, written from ../shared/DADA.md and
    builtins/dada (objective.go, mix.go) with glyphs.star's options: random
    sample-proxy mixup (Beta(0.5, 0.5), shift 1, a separate draw for U and
    for K), inputs L2-normalised, U = Linear-BN-ReLU-Linear(3), K =
    Linear-BN-ReLU-Dropout-Linear-BN-ReLU-Dropout-Linear(C), NWD discrepancy
    (nuclear norms), d_dis_ratio 0.01, d_discrepancy_ratio 0.5. Differences
    from dadash: Beta draws come from Python's random module, and dadash's
    per-call option reading, input checks and diagnostics are absent here."""

    def __init__(self, loss, d, c, fd_fc1=256, fc_fc1=256, fc_fc2=64, oproxy_ratio=1.0, dis_gamma=0.1, r=0.01, disc_ratio=0.5):
        super().__init__()
        self.loss = loss
        self.U = nn.Sequential(nn.Linear(d, fd_fc1), nn.BatchNorm1d(fd_fc1), nn.ReLU(), nn.Linear(fd_fc1, 3))
        self.K = nn.Sequential(nn.Linear(d, fc_fc1), nn.BatchNorm1d(fc_fc1), nn.ReLU(), nn.Dropout(0.5),
                               nn.Linear(fc_fc1, fc_fc2), nn.BatchNorm1d(fc_fc2), nn.ReLU(), nn.Dropout(0.5), nn.Linear(fc_fc2, c))
        self.o, self.g, self.r, self.dr = oproxy_ratio, dis_gamma, r, disc_ratio

    def objective(self, x, y, generator):
        import random
        if not generator:
            x = x.detach()
        p = self.loss.proxies.index_select(0, y)
        if not generator:
            p = p.detach()
        proxy_loss = self.loss(x, y) if generator else None
        def mix():
            m = random.betavariate(0.5, 0.5)
            return (1 - m) * x + m * p
        xs, ms, ps = F.normalize(x, 2, -1), F.normalize(mix(), 2, -1), F.normalize(p, 2, -1)
        def tgt(rows, k):
            return y.new_full((rows.shape[0],), k)
        u = F.cross_entropy(self.U(xs), tgt(xs, 0)) + F.cross_entropy(self.U(ms), tgt(ms, 1)) + F.cross_entropy(self.U(ps), tgt(ps, 2))
        ms2 = F.normalize(mix(), 2, -1)
        kx, km = self.K(xs), self.K(ms2)
        s = F.cross_entropy(kx, y) * 2
        px, pm = kx.softmax(1), km.softmax(1)
        dis = (torch.linalg.matrix_norm(px, "nuc") - torch.linalg.matrix_norm(pm, "nuc")) * (1 / kx.shape[0]) * self.dr
        if generator:
            return proxy_loss * self.o + ((s + dis) * self.r - u * (1 - self.r)) * self.g
        return u * (1 - self.r) + (s - dis) * self.r


if model_name == "small_cnn_dada":
    model = SmallCNN()
    x, y = torch.randn(60, 1, 32, 32), torch.arange(60) // 2
    loss = ProxyAnchor(1800, 64)
    crit = DADA(loss, 64, 1800).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    opt_proxy = torch.optim.Adam(loss.parameters(), lr=1e-2)
    opt_dis = torch.optim.Adam(list(crit.U.parameters()) + list(crit.K.parameters()), lr=5e-4, weight_decay=1e-4)

    def step():
        emb, _ = model(x)
        emb_d = emb.detach()
        for _ in range(3):
            d = crit.objective(emb_d, y, False)
            opt_dis.zero_grad()
            d.backward()
            opt_dis.step()
        g = crit.objective(emb, y, True)
        opt.zero_grad()
        opt_proxy.zero_grad()
        g.backward()
        opt_proxy.step()
        opt.step()
elif model_name == "small_cnn":
    model = SmallCNN()
    x, y = torch.randn(60, 1, 32, 32), torch.arange(60) // 2
    loss = ProxyAnchor(1800, 64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    opt_proxy = torch.optim.Adam(loss.parameters(), lr=1e-2)

    def step():
        emb, _ = model(x)
        l = loss(emb, y)
        opt.zero_grad()
        opt_proxy.zero_grad()
        l.backward()
        opt.step()
        opt_proxy.step()
else:
    model = ResNet50Embed().train()
    x, target = torch.randn(8, 3, 224, 224), torch.randn(8, 512)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        emb, _ = model(x)
        l = (emb - target).pow(2).mean()
        opt.zero_grad()
        l.backward()
        opt.step()

model.train()
for _ in range(warmup):
    step()
times = []
c0 = time.process_time()
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
cpu = (time.process_time() - c0) * 1000 / steps
times.sort()
print("step_ms %.2f cpu_ms %.2f" % (times[len(times) // 2], cpu))
