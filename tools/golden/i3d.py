#!/usr/bin/python3
"""Golden fixture for the I3D feature extractor of FVD (src/Genie.Models/Evaluation/I3d.cs), computed with PyTorch.

An independent implementation of the forward pass of piergiaj/pytorch-i3d's InceptionI3d in eval mode, written from
the architecture (Carreira & Zisserman 2017, Inception-v1 inflated to 3-D), not a port of the C# code:

    Unit3D(x)      = relu(batch_norm(conv3d(pad_same(x), w), running stats, eps 1e-3))   (logits: conv + bias only)
    pad_same       : TF "SAME", total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0); before = total // 2
    max pool       : zero-padded the same way (F.pad), then max_pool3d without padding
    trunk          : Conv3d_1a_7x7 (s2) -> pool 1x3x3 s(1,2,2) -> Conv3d_2b_1x1 -> Conv3d_2c_3x3 -> pool 1x3x3 s(1,2,2)
                     -> Mixed_3b, 3c -> pool 3x3x3 s2 -> Mixed_4b..4f -> pool 2x2x2 s2 -> Mixed_5b, 5c
                     -> avg_pool3d 2x7x7 s1 -> logits -> mean over time
    Mixed          : cat(b0(x), b1b(b1a(x)), b2b(b2a(x)), b3b(maxpool_same 3x3x3 s1 (x))) along channels

The network is thin (each of piergiaj's channel counts divided by 16, rounded up; 25 classes instead of 400) with the
real tensor names and kernel sizes, so the fixture stays small (~250 KB) while every layer, padding and pooling of
the real one runs at the real 224x224 size. Batch norm statistics are calibrated on the input (the running mean and
variance near each channel's actual ones, perturbed) so that activations stay O(1) through the 57 convolutions.

The input is computed by a formula on both sides (nothing stored): T frames of 64x64 uint8 RGB,
    u8[t, y, x, c] = (7 y + 13 x + 29 t + 61 c + x y + (t y x) // 5) % 256,
resized per frame to 224x224 with F.interpolate(mode="bilinear", align_corners=False) and scaled as v / 127.5 - 1.

Everything runs in float64; the weights are rounded to float32 first, so the C# side loads exactly the values used.
Run with the system python that has Debian's python3-torch:  /usr/bin/python3 tools/golden/i3d.py
"""
import math
import os

import torch
import torch.nn.functional as F

from st_block import save_safetensors    # the F32 safetensors writer of the other golden script (same folder)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "Genie.Models.Tests", "Fixtures", "i3d_thin.safetensors")
THIN = 16
EPS = 1e-3
FRAMES = [16, 20]          # 16: one position after the average pooling; 20: two, averaged, and odd sizes on the way

# piergiaj's InceptionModule out_channels: [b0, b1a, b1b, b2a, b2b, b3b]
MIXED = [
    ("Mixed_3b", [64, 96, 128, 16, 32, 32]),
    ("Mixed_3c", [128, 128, 192, 32, 96, 64]),
    ("Mixed_4b", [192, 96, 208, 16, 48, 64]),
    ("Mixed_4c", [160, 112, 224, 24, 64, 64]),
    ("Mixed_4d", [128, 128, 256, 24, 64, 64]),
    ("Mixed_4e", [112, 144, 288, 32, 64, 64]),
    ("Mixed_4f", [256, 160, 320, 32, 128, 128]),
    ("Mixed_5b", [256, 160, 320, 32, 128, 128]),
    ("Mixed_5c", [384, 192, 384, 48, 128, 128]),
]


def thin(c):
    return -(-c // THIN)


def same_pad(n, k, s):
    total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
    return total // 2, total - total // 2


def pad_same(x, kernel, stride):
    (pt0, pt1), (ph0, ph1), (pw0, pw1) = (same_pad(n, k, s) for n, k, s in zip(x.shape[2:], kernel, stride))
    return F.pad(x, (pw0, pw1, ph0, ph1, pt0, pt1))          # zeros, as F.pad's default


class Net:
    """Parameters by name (float64 tensors) and the forward pass. With calibrate, each batch norm's running stats are
    set from the activations it sees (perturbed) before it is applied."""

    def __init__(self, gen):
        self.p = {}
        self.gen = gen
        self.calibrate = False

    def rand(self, *shape):
        return torch.randn(*shape, generator=self.gen, dtype=torch.float64)

    def uniform(self, lo, hi, n):
        return lo + (hi - lo) * torch.rand(n, generator=self.gen, dtype=torch.float64)

    def unit(self, name, x, out, kernel, stride=(1, 1, 1), bn=True):
        w_name = name + ".conv3d.weight"
        cin = x.shape[1]
        if w_name not in self.p:
            fan = cin * kernel[0] * kernel[1] * kernel[2]
            self.p[w_name] = self.rand(out, cin, *kernel) * math.sqrt(2.0 / fan)
            if bn:
                self.p[name + ".bn.weight"] = self.uniform(0.6, 1.4, out)
                self.p[name + ".bn.bias"] = self.uniform(-0.3, 0.5, out)
            else:
                self.p[name + ".conv3d.bias"] = self.rand(out) * 0.1
        y = F.conv3d(pad_same(x, kernel, stride), self.p[w_name], self.p.get(name + ".conv3d.bias"), stride=stride)
        if not bn:
            return y
        if self.calibrate:
            mean = y.mean(dim=(0, 2, 3, 4))
            var = y.var(dim=(0, 2, 3, 4), unbiased=False)
            self.p[name + ".bn.running_mean"] = mean + 0.2 * var.sqrt() * self.rand(out)
            self.p[name + ".bn.running_var"] = var * self.uniform(0.7, 1.3, out) + 1e-3
        y = F.batch_norm(y, self.p[name + ".bn.running_mean"], self.p[name + ".bn.running_var"],
                         self.p[name + ".bn.weight"], self.p[name + ".bn.bias"], training=False, eps=EPS)
        return F.relu(y)

    def max_pool(self, x, kernel, stride):
        return F.max_pool3d(pad_same(x, kernel, stride), kernel, stride)

    def mixed(self, name, x, outs):
        o = [thin(c) for c in outs]
        b0 = self.unit(name + ".b0", x, o[0], (1, 1, 1))
        b1 = self.unit(name + ".b1b", self.unit(name + ".b1a", x, o[1], (1, 1, 1)), o[2], (3, 3, 3))
        b2 = self.unit(name + ".b2b", self.unit(name + ".b2a", x, o[3], (1, 1, 1)), o[4], (3, 3, 3))
        b3 = self.unit(name + ".b3b", self.max_pool(x, (3, 3, 3), (1, 1, 1)), o[5], (1, 1, 1))
        return torch.cat([b0, b1, b2, b3], dim=1)

    def forward(self, x, classes):
        x = self.unit("Conv3d_1a_7x7", x, thin(64), (7, 7, 7), (2, 2, 2))
        x = self.max_pool(x, (1, 3, 3), (1, 2, 2))
        x = self.unit("Conv3d_2b_1x1", x, thin(64), (1, 1, 1))
        x = self.unit("Conv3d_2c_3x3", x, thin(192), (3, 3, 3))
        x = self.max_pool(x, (1, 3, 3), (1, 2, 2))
        for name, outs in MIXED:
            if name == "Mixed_4b":
                x = self.max_pool(x, (3, 3, 3), (2, 2, 2))
            if name == "Mixed_5b":
                x = self.max_pool(x, (2, 2, 2), (2, 2, 2))
            x = self.mixed(name, x, outs)
        x = F.avg_pool3d(x, (2, 7, 7), (1, 1, 1))
        x = self.unit("logits", x, classes, (1, 1, 1), bn=False)      # (1, classes, T', 1, 1)
        return x.squeeze(4).squeeze(3).mean(dim=2)[0]                 # piergiaj's squeeze, then the mean over time


def clip(frames):
    t = torch.arange(frames, dtype=torch.int64).view(frames, 1, 1, 1)
    y = torch.arange(64, dtype=torch.int64).view(1, 64, 1, 1)
    x = torch.arange(64, dtype=torch.int64).view(1, 1, 64, 1)
    c = torch.arange(3, dtype=torch.int64).view(1, 1, 1, 3)
    u8 = (7 * y + 13 * x + 29 * t + 61 * c + x * y + (t * y * x) // 5) % 256          # (T, 64, 64, 3)
    v = u8.permute(0, 3, 1, 2).to(torch.float64)                                      # (T, 3, 64, 64)
    v = F.interpolate(v, size=(224, 224), mode="bilinear", align_corners=False)
    v = v / 127.5 - 1
    return v.permute(1, 0, 2, 3).unsqueeze(0).contiguous()                            # (1, 3, T, 224, 224)


def main():
    # The SAME split against TF's definition: out = ceil(n / s), total = max((out - 1) s + k - n, 0).
    for n in range(1, 30):
        for k in range(1, 8):
            for s in range(1, 4):
                total = max((-(-n // s) - 1) * s + k - n, 0)
                assert sum(same_pad(n, k, s)) == total, (n, k, s)

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    classes = thin(400)
    net = Net(gen)
    net.calibrate = True
    net.forward(clip(16), classes)
    net.calibrate = False
    net.p = {k: v.to(torch.float32).to(torch.float64) for k, v in net.p.items()}    # exactly what the file holds

    tensors = sorted(net.p.items())
    tensors.append(("Conv3d_1a_7x7.bn.num_batches_tracked", torch.tensor([100.0], dtype=torch.float64)))  # ignored
    meta = {"thin": THIN, "classes": classes, "frames": ",".join(map(str, FRAMES)), "eps": EPS}
    for frames in FRAMES:
        out = net.forward(clip(frames), classes)
        # A float32 run of the same network, to show how far float32 rounding alone moves the logits.
        p64 = net.p
        net.p = {k: v.to(torch.float32) for k, v in p64.items()}
        out32 = net.forward(clip(frames).to(torch.float32), classes).to(torch.float64)
        net.p = p64
        err = (out32 - out).abs().max().item()
        print(f"T={frames}: logits in [{out.min():.4f}, {out.max():.4f}], std {out.std():.4f}; "
              f"PyTorch float32 vs float64: max abs error {err:.2e}")
        tensors.append((f"expected.t{frames}", out))
    count = sum(t.numel() for _, t in tensors)
    save_safetensors(OUT, tensors, meta)
    print(f"wrote {OUT}: {len(tensors)} tensors, {count} floats, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
