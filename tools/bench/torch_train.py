#!/usr/bin/python3
"""PyTorch baseline for `genie bench train`: ms per training step of each Genie stage, in plain eager PyTorch.

A straightforward PyTorch implementation of the models of ARCHITECTURE.md sections 2-7 at the sizes of a
config in configs/, written the way a PyTorch user would write them (nn.Linear, nn.LayerNorm, GELU-tanh,
attention as q.k^T/sqrt(d) -> softmax -> .v with torch.matmul), float32, eager mode. It times what
bench/Genie.Bench/TrainBench.cs times, on a fixed synthetic batch of the config's batch_size x clip_length
random uint8 frames:

    one step = uint8 frames -> float patches, forward, loss, backward,
               clip_grad_norm_(params, grad_clip), AdamW step, zero_grad

    train_tokenizer:     tokenizer encoder -> VQ -> decoder, MSE + VQ loss
    train_lam_dynamics:  frozen tokenizer encode (no_grad) -> ids; LAM (MSE + VQ loss);
                         dynamics on masked ids with stop-gradient LAM actions (masked cross-entropy);
                         loss = LAM loss + dynamics loss; LAM and dynamics are trained

Warm-up steps are excluded; the median and the minimum over the timed steps are reported.

    /usr/bin/python3 tools/bench/torch_train.py --config small [--steps 10] [--warmup 2] [--threads 2] [--json]
    /usr/bin/python3 tools/bench/torch_train.py --config small --print-params

Use the system python (Debian's python3-torch); a pyenv `python3` may lack torch. See tools/bench/README.md.
"""
import argparse
import json
import math
import os
import re
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STD = 0.02   # nanoGPT-style init, as src/Genie.Nn/Module.cs (Initializers.Std)

# ---------------------------------------------------------------- config (same keys and defaults as Config.cs)

DEFAULTS = {
    "name": "custom", "height": 64, "width": 64, "max_frames": 16,
    "tokenizer": {"patch": 4, "dim": 128, "heads": 4, "encoder_depth": 4, "decoder_depth": 4, "codebook_size": 1024,
                  "latent_dim": 32, "beta": 0.25, "dead_after": 100, "qk_norm": False},
    "lam": {"patch": 16, "dim": 128, "heads": 4, "encoder_depth": 4, "decoder_depth": 4, "num_actions": 8,
            "latent_dim": 32, "beta": 0.25, "dead_after": 100, "qk_norm": False, "window": 0},
    "dynamics": {"dim": 128, "heads": 4, "depth": 6, "qk_norm": True, "mask_min": 0.5, "mask_max": 1.0,
                 "sampling_steps": 25, "temperature": 1.0, "window_hop": 1},   # window_hop: sampling only
}
TRAIN_DEFAULTS = {"batch_size": 8, "clip_length": 16, "steps": 1000, "lr": 3e-4, "min_lr": 3e-5, "warmup": 100,
                  "beta1": 0.9, "beta2": 0.95, "weight_decay": 0.01, "grad_clip": 1.0, "eval_every": 200,
                  "eval_clips": 16, "checkpoint_every": 500, "seed": 0}
DEFAULTS["train_tokenizer"] = dict(TRAIN_DEFAULTS)
DEFAULTS["train_dynamics"] = dict(TRAIN_DEFAULTS)


def strip_json_comments(text):
    """Removes // and /* */ comments outside strings (the configs are JSON with comments)."""
    return re.sub(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/',
                  lambda m: m.group(0) if m.group(0).startswith('"') else "", text, flags=re.S)


def load_config(name_or_path, overrides):
    path = name_or_path if os.path.isfile(name_or_path) else os.path.join(
        ROOT, "configs", name_or_path if name_or_path.endswith(".json") else name_or_path + ".json")
    if not os.path.isfile(path):
        sys.exit(f"no config '{name_or_path}' (looked for the file and for {path})")
    with open(path, encoding="utf-8") as f:
        text = re.sub(r",(\s*[}\]])", r"\1", strip_json_comments(f.read()))   # trailing commas, as Config.cs allows
    raw = json.loads(text)
    for o in overrides:                                  # --set key.path=value, as `genie bench train --set`
        key, _, value = o.partition("=")
        parts = key.strip().split(".")
        node = raw
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        v = value.strip()
        node[parts[-1]] = True if v == "true" else False if v == "false" else float(v) if re.fullmatch(r"[-+0-9.eE]+", v) else v
    cfg = {}
    for key, default in DEFAULTS.items():
        if isinstance(default, dict):
            section = raw.get(key, {})
            unknown = set(section) - set(default)
            if unknown:
                sys.exit(f"config {path}: unknown keys in '{key}': {sorted(unknown)}")
            cfg[key] = {k: type(d)(section.get(k, d)) if not isinstance(d, bool) else bool(section.get(k, d))
                        for k, d in default.items()}
        else:
            cfg[key] = type(default)(raw.get(key, default))
    unknown = set(raw) - set(DEFAULTS)
    if unknown:
        sys.exit(f"config {path}: unknown keys {sorted(unknown)}")
    return cfg


# ---------------------------------------------------------------- layers (ARCHITECTURE.md section 2)

def linear(d_in, d_out, std=STD):
    layer = nn.Linear(d_in, d_out)
    nn.init.normal_(layer.weight, std=std)
    nn.init.zeros_(layer.bias)
    return layer


class Attention(nn.Module):
    """qkv = Linear(D, 3D) split [q|k|v] into heads of D/nh; optional LayerNorm on q and k over the head width
    (shared across heads); softmax(q.k^T/sqrt(hd)) . v, causal along time; Linear(D, D)."""

    def __init__(self, dim, heads, qk_norm, out_std):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = linear(dim, 3 * dim)
        self.proj = linear(dim, dim, out_std)
        if qk_norm:
            self.q_norm = nn.LayerNorm(self.head_dim, eps=1e-5)
            self.k_norm = nn.LayerNorm(self.head_dim, eps=1e-5)
        self.qk_norm = qk_norm

    def forward(self, x, temporal):
        B, T, N, D = x.shape
        qkv = self.qkv(x).reshape(B, T, N, 3, self.heads, self.head_dim)
        if temporal:
            qkv = qkv.permute(3, 0, 2, 4, 1, 5)          # (3, B, N, heads, T, hd): sequences over time
        else:
            qkv = qkv.permute(3, 0, 1, 4, 2, 5)          # (3, B, T, heads, N, hd): sequences over space
        q, k, v = qkv.unbind(0)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        if temporal:
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(causal, float("-inf"))
        out = torch.matmul(scores.softmax(dim=-1), v)
        if temporal:
            out = out.permute(0, 3, 1, 2, 4)             # (B, T, N, heads, hd)
        else:
            out = out.permute(0, 1, 3, 2, 4)
        return self.proj(out.reshape(B, T, N, D))


class FeedForward(nn.Module):
    def __init__(self, dim, out_std):
        super().__init__()
        self.fc1 = linear(dim, 4 * dim)
        self.fc2 = linear(4 * dim, dim, out_std)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class STBlock(nn.Module):
    def __init__(self, dim, heads, qk_norm, out_std):
        super().__init__()
        self.norm_s = nn.LayerNorm(dim, eps=1e-5)
        self.attn_s = Attention(dim, heads, qk_norm, out_std)
        self.norm_t = nn.LayerNorm(dim, eps=1e-5)
        self.attn_t = Attention(dim, heads, qk_norm, out_std)
        self.norm_f = nn.LayerNorm(dim, eps=1e-5)
        self.ffn = FeedForward(dim, out_std)

    def forward(self, x):
        x = x + self.attn_s(self.norm_s(x), temporal=False)
        x = x + self.attn_t(self.norm_t(x), temporal=True)
        return x + self.ffn(self.norm_f(x))


class STTransformer(nn.Module):
    """Learned spatial (N, D) and temporal (T_max, D) positions, ST blocks, final LayerNorm."""

    def __init__(self, dim, heads, depth, tokens, max_frames, qk_norm):
        super().__init__()
        self.pos_spatial = nn.Parameter(torch.randn(tokens, dim) * STD)
        self.pos_temporal = nn.Parameter(torch.randn(max_frames, dim) * STD)
        out_std = STD / math.sqrt(3 * depth)
        self.blocks = nn.ModuleList(STBlock(dim, heads, qk_norm, out_std) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, x):                                # (B, T, N, D)
        x = x + self.pos_spatial + self.pos_temporal[: x.shape[1], None, :]
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class VectorQuantizer(nn.Module):
    """ARCHITECTURE.md section 3: cosine nearest code, straight-through, codebook + beta * commitment loss."""

    def __init__(self, size, width, beta):
        super().__init__()
        self.codebook = nn.Parameter(torch.randn(size, width))
        self.beta = beta

    def forward(self, e):                                # e (R, L)
        en = F.normalize(e, dim=-1)
        cn = F.normalize(self.codebook, dim=-1)
        with torch.no_grad():
            ids = torch.argmax(en @ cn.t(), dim=-1)
        q = cn[ids]
        loss = F.mse_loss(en.detach(), q) + self.beta * F.mse_loss(en, q.detach())
        return en + (q - en).detach(), ids, loss


def patchify(frames, p):
    """uint8 (B, T, H, W, 3) -> float (B, T, N, p*p*3) in [0, 1], patches row-major over (i, j), (dy, dx, c)."""
    B, T, H, W, C = frames.shape
    x = frames.float().div_(255.0).reshape(B, T, H // p, p, W // p, p, C)
    return x.permute(0, 1, 2, 4, 3, 5, 6).reshape(B, T, (H // p) * (W // p), p * p * C)


# ---------------------------------------------------------------- the three models (sections 4-6)

class VideoTokenizer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["tokenizer"]
        self.c = c
        self.tokens = (cfg["height"] // c["patch"]) * (cfg["width"] // c["patch"])
        pd = c["patch"] ** 2 * 3
        self.patch_embed = linear(pd, c["dim"])
        self.encoder = STTransformer(c["dim"], c["heads"], c["encoder_depth"], self.tokens, cfg["max_frames"], c["qk_norm"])
        self.to_latent = linear(c["dim"], c["latent_dim"])
        self.vq = VectorQuantizer(c["codebook_size"], c["latent_dim"], c["beta"])
        self.from_latent = linear(c["latent_dim"], c["dim"])
        self.decoder = STTransformer(c["dim"], c["heads"], c["decoder_depth"], self.tokens, cfg["max_frames"], c["qk_norm"])
        self.to_pixels = linear(c["dim"], pd)

    def encode_continuous(self, patches):
        return self.to_latent(self.encoder(self.patch_embed(patches))).reshape(-1, self.c["latent_dim"])

    def forward(self, patches):
        B, T = patches.shape[:2]
        q, ids, vq_loss = self.vq(self.encode_continuous(patches))
        x = self.from_latent(q).reshape(B, T, self.tokens, self.c["dim"])
        recon = torch.sigmoid(self.to_pixels(self.decoder(x)))
        return recon, F.mse_loss(recon, patches) + vq_loss

    @torch.no_grad()
    def encode(self, patches):
        return self.vq(self.encode_continuous(patches))[1].reshape(patches.shape[:3])


class LatentActionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["lam"]
        self.c = c
        self.tokens = (cfg["height"] // c["patch"]) * (cfg["width"] // c["patch"])
        pd = c["patch"] ** 2 * 3
        self.enc_embed = linear(pd, c["dim"])
        self.action_token = nn.Parameter(torch.randn(c["dim"]) * STD)
        self.encoder = STTransformer(c["dim"], c["heads"], c["encoder_depth"], self.tokens + 1, cfg["max_frames"], c["qk_norm"])
        self.to_latent = linear(c["dim"], c["latent_dim"])
        self.vq = VectorQuantizer(c["num_actions"], c["latent_dim"], c["beta"])
        self.dec_embed = linear(pd, c["dim"])
        self.action_embed = linear(c["latent_dim"], c["dim"])
        self.decoder = STTransformer(c["dim"], c["heads"], c["decoder_depth"], self.tokens, cfg["max_frames"], c["qk_norm"])
        self.to_pixels = linear(c["dim"], pd)

    def forward(self, patches):                          # (B, T, N, P)
        w = self.c.get("window", 0)
        if w:
            return self.forward_windows(patches, w)
        B, T, N, _ = patches.shape
        D = self.c["dim"]
        x = self.enc_embed(patches)
        token = self.action_token.expand(B, T, 1, D)
        h = self.encoder(torch.cat([x, token], dim=2))   # (B, T, N+1, D)
        e = self.to_latent(h[:, 1:, N].reshape(B * (T - 1), D))   # action token at frames 2..T
        actions, ids, vq_loss = self.vq(e)
        a = self.action_embed(actions).reshape(B, T - 1, 1, D)
        pred = torch.sigmoid(self.to_pixels(self.decoder(self.dec_embed(patches[:, :-1]) + a)))
        return actions, F.mse_loss(pred, patches[:, 1:]) + vq_loss

    def forward_windows(self, patches, w):
        """lam.window = w: each transition t sees frames t+2-w .. t+1 (frame 0 repeated before the clip's start);
        one action per window, from its last transition; the decoder predicts only the window's last frame."""
        B, T, N, P = patches.shape
        D, R = self.c["dim"], B * (T - 1)
        j = torch.arange(T - 1)
        frames = (j[:, None] + 2 - w + torch.arange(w)[None, :]).clamp(min=0)          # (T-1, w)
        windows = patches[:, frames].reshape(R, w, N, P)
        token = self.action_token.expand(R, w, 1, D)
        h = self.encoder(torch.cat([self.enc_embed(windows), token], dim=2))            # (R, w, N+1, D)
        e = self.to_latent(h[:, -1, N])                                                  # last transition's token
        actions, ids, vq_loss = self.vq(e)
        a = torch.cat([torch.zeros(R, w - 2, D), self.action_embed(actions).reshape(R, 1, D)], dim=1).reshape(R, w - 1, 1, D)
        pred = torch.sigmoid(self.to_pixels(self.decoder(self.dec_embed(windows[:, :-1]) + a)[:, -1]))
        return actions, F.mse_loss(pred, windows[:, -1]) + vq_loss


class DynamicsModel(nn.Module):
    def __init__(self, cfg, tokens):
        super().__init__()
        c = cfg["dynamics"]
        self.c = c
        self.k = cfg["tokenizer"]["codebook_size"]
        self.token_embed = nn.Parameter(torch.randn(self.k + 1, c["dim"]) * STD)   # id K is MASK
        self.action_embed = linear(cfg["lam"]["latent_dim"], c["dim"])
        self.body = STTransformer(c["dim"], c["heads"], c["depth"], tokens, cfg["max_frames"], c["qk_norm"])
        self.head = linear(c["dim"], self.k)

    def forward(self, ids, actions):                     # ids (B, T, N) long, actions (B*(T-1), L_a)
        B, T, N = ids.shape
        r = torch.empty(B, 1, 1).uniform_(self.c["mask_min"], self.c["mask_max"])
        mask = torch.rand(B, T, N) < r
        mask[:, 0] = False                               # frame 1 is never masked
        x = F.embedding(ids.masked_fill(mask, self.k), self.token_embed)
        a = self.action_embed(actions).reshape(B, T - 1, 1, -1)
        x = x + torch.cat([torch.zeros_like(a[:, :1]), a], dim=1)   # a_t conditions frame t+1
        logits = self.head(self.body(x))
        return F.cross_entropy(logits[mask], ids[mask])


# ---------------------------------------------------------------- timing

def adamw(named_params, train):
    """AdamW(beta 0.9/0.95), decoupled weight decay on matrices only (as Tensor.Decay in the C# models)."""
    decay = [p for n, p in named_params if p.dim() == 2 and "pos_" not in n and "codebook" not in n]
    rest = [p for n, p in named_params if not (p.dim() == 2 and "pos_" not in n and "codebook" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": train["weight_decay"]},
                              {"params": rest, "weight_decay": 0.0}],
                             lr=1e-4, betas=(train["beta1"], train["beta2"]), eps=1e-8)


def synthetic(cfg, train, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (train["batch_size"], train["clip_length"], cfg["height"], cfg["width"], 3),
                         dtype=torch.uint8, generator=g)


def time_steps(params, train, steps, warmup, loss_fn):
    opt = adamw(params, train)
    plist = [p for _, p in params]
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(plist, train["grad_clip"])
        opt.step()
        opt.zero_grad()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), min(times)


def bench_tokenizer(cfg, steps, warmup):
    torch.manual_seed(1)
    tok = VideoTokenizer(cfg)
    frames = synthetic(cfg, cfg["train_tokenizer"], 2)
    p = cfg["tokenizer"]["patch"]
    return time_steps(list(tok.named_parameters()), cfg["train_tokenizer"], steps, warmup,
                      lambda: tok(patchify(frames, p))[1])


def bench_lam_dynamics(cfg, steps, warmup):
    torch.manual_seed(1)
    tok = VideoTokenizer(cfg).requires_grad_(False)      # frozen
    lam = LatentActionModel(cfg)
    dyn = DynamicsModel(cfg, tok.tokens)
    frames = synthetic(cfg, cfg["train_dynamics"], 3)
    pt, pl = cfg["tokenizer"]["patch"], cfg["lam"]["patch"]

    def loss():
        ids = tok.encode(patchify(frames, pt))           # no_grad
        actions, lam_loss = lam(patchify(frames, pl))
        return lam_loss + dyn(ids, actions.detach())     # stop-gradient on the actions

    params = [("lam." + n, q) for n, q in lam.named_parameters()] + [("dynamics." + n, q) for n, q in dyn.named_parameters()]
    return time_steps(params, cfg["train_dynamics"], steps, warmup, loss)


# ---------------------------------------------------------------- environment report

def blas_library():
    """The BLAS torch's float32 matmuls go to. Debian's torch is built with BLAS_INFO=generic and calls whatever
    the libblas.so.3 alternative points at: the netlib reference BLAS (package libblas3, single-threaded,
    unblocked) unless an optimised one such as libopenblas0-pthread is installed."""
    m = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    info = m.group(1) if m else "?"
    if info == "mkl":
        return "mkl", False
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({os.path.realpath(line.split()[-1]) for line in f
                           if re.search(r"lib(open)?blas|blis|mkl_rt", line) and line.split()[-1].startswith("/")})
    except OSError:
        return info, False
    if not libs:
        return info, False
    reference = any(os.path.basename(os.path.dirname(x)) == "blas" for x in libs)   # .../blas/libblas.so.3 = netlib
    label = ("netlib reference BLAS " if reference else "") + ", ".join(libs)
    return label, reference


def gemm_gflops(n=512, reps=3):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def print_params(cfg):
    torch.manual_seed(1)
    models = {"tokenizer": VideoTokenizer(cfg)}
    models["lam"] = LatentActionModel(cfg)
    models["dynamics"] = DynamicsModel(cfg, models["tokenizer"].tokens)
    for prefix, m in models.items():
        for n, p in m.named_parameters():
            print(f"{prefix}.{n}\t{list(p.shape)}\t{p.numel()}")
    print()
    for prefix, m in models.items():
        parts = {}
        for n, p in m.named_parameters():
            top = n.split(".")[0]
            parts[top] = parts.get(top, 0) + p.numel()
        detail = ", ".join(f"{k} {v:,}" for k, v in parts.items())
        print(f"{prefix:10s} {sum(parts.values()):>12,}   ({detail})")
    total = sum(p.numel() for m in models.values() for p in m.parameters())
    print(f"{'all':10s} {total:>12,}")


def main():
    ap = argparse.ArgumentParser(description="ms per training step of each Genie stage in eager PyTorch "
                                             "(the counterpart of `genie bench train`)")
    ap.add_argument("--config", default="small", help="name in configs/ or a path (default small)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. tokenizer.dim=64")
    ap.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed warm-up steps (default 2)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--only", choices=["train_tokenizer", "train_lam_dynamics"], help="time one stage only")
    ap.add_argument("--print-params", action="store_true", help="list every parameter (C# names) and per-model counts, then exit")
    args = ap.parse_args()
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be >= 1 and --warmup >= 0")

    cfg = load_config(args.config, args.set)
    if args.print_params:
        print_params(cfg)
        return
    torch.set_num_threads(args.threads)
    framework = "pytorch " + ".".join(torch.__version__.split(".")[:2]) + " eager"
    (blas, reference), gflops = blas_library(), gemm_gflops()
    if reference:
        print("WARNING: this torch runs its matmuls on the netlib reference BLAS (single-threaded, unoptimised); "
              "the numbers are not representative of PyTorch with OpenBLAS or MKL. See tools/bench/README.md.",
              file=sys.stderr)
    if not args.json:
        print(f"# {framework}, float32, torch.set_num_threads({args.threads}); BLAS {blas}; "
              f"sgemm 512^3 {gflops:.1f} GFLOP/s")
    stages = [("train_tokenizer", bench_tokenizer, "train_tokenizer"),
              ("train_lam_dynamics", bench_lam_dynamics, "train_dynamics")]
    for name, fn, section in stages:
        if args.only and args.only != name:
            continue
        median, fastest = fn(cfg, args.steps, args.warmup)
        train = cfg[section]
        fps = train["batch_size"] * train["clip_length"] / (median / 1000.0)
        if args.json:
            print(json.dumps({"name": name, "config": cfg["name"], "ms_median": round(median, 2), "ms_min": round(fastest, 2),
                              "steps": args.steps, "frames_per_s": round(fps, 1), "threads": args.threads,
                              "framework": framework, "blas": blas, "blas_reference": reference, "sgemm_gflops": round(gflops, 1)}), flush=True)
        else:
            print(f"{name:<28} config {cfg['name']:<8} {median:9.1f} ms/step (min {fastest:.1f})  {fps:7.1f} frames/s"
                  f"  over {args.steps} steps", flush=True)


if __name__ == "__main__":
    main()
