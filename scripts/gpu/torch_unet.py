#!/usr/bin/env python3
"""The reference: Stable Diffusion 1.5's UNet (and VAE decoder) (diffusers' UNet2DConditionModel with SD 1.5's config)
written out in plain PyTorch, with diffusers' parameter names, so the weights the project's ONNX
builder (src/sidecar/nn/sd15-unet.ts) writes as safetensors load here with strict=True.

Runs with Debian's torch 1.13 (CPU, /usr/bin/python3) and with PyTorch 2.x on the GPU machine; needs
no package beyond torch (safetensors is read and written by hand: 8-byte header length, JSON header,
raw little-endian data).

  torch_unet.py run   --dir D [--device cpu|cuda] [--dtype fp32|fp16]
      loads D/config.json + D/weights.safetensors, runs D/inputs.safetensors, writes D/torch_out.safetensors
  torch_unet.py bench --dir D --device cuda --dtype fp16 [--iters 20 --warmup 3]
      times the forward pass on D/inputs.safetensors; writes D/torch_<dtype>_<device>.safetensors and
      prints one JSON line (ms per step, peak memory)
"""
import argparse
import json
import math
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- safetensors (format: u64 header size, JSON header {name: {dtype, shape, data_offsets}}, bytes) ----
_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "I64": torch.int64, "F64": torch.float64}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        t = torch.frombuffer(data, dtype=_ST_DTYPES[meta["dtype"]], count=(b - a) // _itemsize(meta["dtype"]), offset=a)
        out[name] = t.reshape(meta["shape"]).clone() if b > a else torch.zeros(meta["shape"], dtype=_ST_DTYPES[meta["dtype"]])
    return out


def _itemsize(dt):
    return {"F32": 4, "F16": 2, "I64": 8, "F64": 8}[dt]


def _tensor_bytes(t):
    try:  # numpy is usual but not required
        return t.numpy().tobytes()
    except Exception:
        return bytes(t.reshape(-1).view(torch.uint8).tolist())


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = _tensor_bytes(t.detach().cpu().contiguous())
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---- the architecture -------------------------------------------------------------------------------
def timestep_embedding(t, dim):
    """Sinusoidal embedding (Vaswani et al. 2017) as SD 1.5 uses it: flip_sin_to_cos, freq_shift 0."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.linear_1 = nn.Linear(c_in, c_out)
        self.linear_2 = nn.Linear(c_out, c_out)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, c_in, c_out, temb, groups, eps=1e-5):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in, eps=eps)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, c_out) if temb else None
        self.norm2 = nn.GroupNorm(groups, c_out, eps=eps)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, dim, heads, context_dim=None):
        super().__init__()
        self.heads = heads
        kv = context_dim or dim
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(kv, dim, bias=False)
        self.to_v = nn.Linear(kv, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, context=None):
        ctx = x if context is None else context
        b, n, c = x.shape
        q, k, v = self.to_q(x), self.to_k(ctx), self.to_v(ctx)
        split = lambda t: t.reshape(b, t.shape[1], self.heads, c // self.heads).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        if hasattr(F, "scaled_dot_product_attention"):  # PyTorch >= 2.0: fused kernels (flash, mem-efficient)
            o = F.scaled_dot_product_attention(q, k, v)
        else:  # softmax(q k^T / sqrt(d)) v (Vaswani et al. 2017, eq. 1)
            o = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // self.heads), dim=-1) @ v
        return self.to_out[0](o.transpose(1, 2).reshape(b, n, c))


class GEGLU(nn.Module):
    """Shazeer (2020): proj to 2x width, split, hidden * gelu(gate)."""

    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.norm1, self.attn1 = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2, self.attn2 = nn.LayerNorm(dim), Attention(dim, heads, context_dim)
        self.norm3, self.ff = nn.LayerNorm(dim), FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    def __init__(self, c, heads, context_dim, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.proj_in = nn.Conv2d(c, c, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(c, heads, context_dim)])
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x, context):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        for blk in self.transformer_blocks:
            y = blk(y, context)
        return self.proj_out(y.reshape(b, h, w, c).permute(0, 3, 1, 2)) + x


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Block(nn.Module):
    """One level of the down or up path: resnets, optional cross-attention after each, optional resampler."""

    def __init__(self, resnets, attentions, sampler_name, sampler):
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        self.attentions = nn.ModuleList(attentions) if attentions else None
        if sampler is not None:
            setattr(self, sampler_name, nn.ModuleList([sampler]))
        self.sampler_name = sampler_name if sampler is not None else None


class UNet2DConditionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch = cfg["block_out_channels"]
        heads, ctx, g, L = cfg["num_attention_heads"], cfg["cross_attention_dim"], cfg["norm_num_groups"], cfg["layers_per_block"]
        attn = cfg["attention_levels"]
        temb = ch[0] * 4
        self.time_channels = ch[0]
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.down_blocks = nn.ModuleList()
        c_prev = ch[0]
        for i, c in enumerate(ch):
            res = [ResnetBlock2D(c_prev if j == 0 else c, c, temb, g) for j in range(L)]
            att = [Transformer2DModel(c, heads, ctx, g) for _ in range(L)] if attn[i] else None
            last = i == len(ch) - 1
            self.down_blocks.append(Block(res, att, "downsamplers", None if last else Downsample(c)))
            c_prev = c
        self.mid_block = Block(
            [ResnetBlock2D(ch[-1], ch[-1], temb, g), ResnetBlock2D(ch[-1], ch[-1], temb, g)],
            [Transformer2DModel(ch[-1], heads, ctx, g)], None, None)
        self.up_blocks = nn.ModuleList()
        rch, rattn = list(reversed(ch)), list(reversed(attn))
        prev = rch[0]
        for i, c in enumerate(rch):
            c_in = rch[min(i + 1, len(ch) - 1)]
            res = []
            for j in range(L + 1):
                skip = c_in if j == L else c
                res.append(ResnetBlock2D((prev if j == 0 else c) + skip, c, temb, g))
            att = [Transformer2DModel(c, heads, ctx, g) for _ in range(L + 1)] if rattn[i] else None
            last = i == len(ch) - 1
            self.up_blocks.append(Block(res, att, "upsamplers", None if last else Upsample(c)))
            prev = c
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=1e-5)
        self.conv_out = nn.Conv2d(ch[0], cfg["out_channels"], 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        t = timestep.reshape(-1).expand(sample.shape[0]) if timestep.numel() == 1 else timestep
        emb = self.time_embedding(timestep_embedding(t, self.time_channels).to(sample.dtype))
        h = self.conv_in(sample)
        skips = [h]
        for blk in self.down_blocks:
            for j, r in enumerate(blk.resnets):
                h = r(h, emb)
                if blk.attentions is not None:
                    h = blk.attentions[j](h, encoder_hidden_states)
                skips.append(h)
            if blk.sampler_name:
                h = getattr(blk, blk.sampler_name)[0](h)
                skips.append(h)
        h = self.mid_block.resnets[0](h, emb)
        h = self.mid_block.attentions[0](h, encoder_hidden_states)
        h = self.mid_block.resnets[1](h, emb)
        for blk in self.up_blocks:
            for j, r in enumerate(blk.resnets):
                h = r(torch.cat([h, skips.pop()], dim=1), emb)
                if blk.attentions is not None:
                    h = blk.attentions[j](h, encoder_hidden_states)
            if blk.sampler_name:
                h = getattr(blk, blk.sampler_name)[0](h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


# ---- SD 1.5's VAE decoder (AutoencoderKL.decoder + post_quant_conv) ------------------------------------
class VaeAttention(nn.Module):
    """One head over H*W positions, own GroupNorm, residual (diffusers' Attention in the VAE mid-block)."""

    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).permute(0, 2, 3, 1).reshape(b, h * w, c)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        if hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])[:, 0]
        else:
            o = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c), dim=-1) @ v
        return self.to_out[0](o).reshape(b, h, w, c).permute(0, 3, 1, 2) + x


class VaeMid(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, None, groups, 1e-6), ResnetBlock2D(c, c, None, groups, 1e-6)])
        self.attentions = nn.ModuleList([VaeAttention(c, groups)])


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, g, L = list(reversed(cfg["block_out_channels"])), cfg["norm_num_groups"], cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg["latent_channels"], ch[0], 3, padding=1)
        self.mid_block = VaeMid(ch[0], g)
        self.up_blocks = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            res = [ResnetBlock2D(prev if j == 0 else c, c, None, g, 1e-6) for j in range(L + 1)]
            self.up_blocks.append(Block(res, None, "upsamplers", Upsample(c) if i < len(ch) - 1 else None))
            prev = c
        self.conv_norm_out = nn.GroupNorm(g, cfg["block_out_channels"][0], eps=1e-6)
        self.conv_out = nn.Conv2d(cfg["block_out_channels"][0], cfg["out_channels"], 3, padding=1)

    def forward(self, z):
        h = self.conv_in(z)
        m = self.mid_block
        h = m.resnets[1](m.attentions[0](m.resnets[0](h)))
        for blk in self.up_blocks:
            for r in blk.resnets:
                h = r(h)
            if blk.sampler_name:
                h = getattr(blk, blk.sampler_name)[0](h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class VaeDecoderModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.post_quant_conv = nn.Conv2d(cfg["latent_channels"], cfg["latent_channels"], 1)
        self.decoder = Decoder(cfg)

    def forward(self, latent_sample):
        return self.decoder(self.post_quant_conv(latent_sample))


# ---- commands -----------------------------------------------------------------------------------------
def build(d, device, dtype):
    with open(f"{d}/config.json") as f:
        cfg = json.load(f)
    model = VaeDecoderModel(cfg) if cfg.get("model") == "vae_decoder" else UNet2DConditionModel(cfg)
    model.load_state_dict(load_safetensors(f"{d}/weights.safetensors"), strict=True)
    return cfg, model.to(device=device, dtype=dtype).eval()


def cmd_run(a):
    dtype = torch.float16 if a.dtype == "fp16" else torch.float32
    _, model = build(a.dir, a.device, dtype)
    args = model_inputs(a.dir, a.device, dtype)
    with torch.no_grad():
        out = model(*args)
    save_safetensors(f"{a.dir}/{a.out}", {"out_sample": out.float().cpu()})


def model_inputs(d, device, dtype):
    """The positional inputs from D/inputs.safetensors: (sample, timestep, encoder_hidden_states) or (latent_sample,)."""
    x = load_safetensors(f"{d}/inputs.safetensors")
    if "latent_sample" in x:
        return (x["latent_sample"].to(device, dtype),)
    return (x["sample"].to(device, dtype), x["timestep"].to(device), x["encoder_hidden_states"].to(device, dtype))


def cmd_bench(a):
    """Times the forward pass on D/inputs.safetensors (the batch the ONNX side runs) and saves the output."""
    dtype = torch.float16 if a.dtype == "fp16" else torch.float32
    t0 = time.perf_counter()
    cfg, model = build(a.dir, a.device, dtype)
    load_s = time.perf_counter() - t0
    if a.device == "cuda":
        torch.backends.cudnn.benchmark = True
    args = model_inputs(a.dir, a.device, dtype)
    sample = args[0]
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    times = []
    with torch.no_grad():
        for i in range(a.warmup + a.iters):
            sync()
            t0 = time.perf_counter()
            out = model(*args)
            sync()
            if i >= a.warmup:
                times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    save_safetensors(f"{a.dir}/torch_{a.dtype}_{a.device}.safetensors", {"out_sample": out.float().cpu()})
    peak = torch.cuda.max_memory_allocated() / 2**20 if a.device == "cuda" else None
    print(json.dumps({"command": "bench", "engine": "pytorch", "model": cfg.get("model", "unet"), "torch": torch.__version__, "device": a.device,
                      "precision": a.dtype, "batch": int(sample.shape[0]), "size": int(sample.shape[-1]),
                      "load_s": load_s, "median_ms": times[len(times) // 2], "min_ms": times[0], "iters": a.iters,
                      "peak_mib": peak, "sdpa": hasattr(F, "scaled_dot_product_attention"),
                      "gpu": torch.cuda.get_device_name(0) if a.device == "cuda" else None}))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["run", "bench"])
    p.add_argument("--dir", required=True, help="folder with config.json and weights.safetensors")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16"])
    p.add_argument("--out", default="torch_out.safetensors")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    (cmd_run if a.command == "run" else cmd_bench)(a)


if __name__ == "__main__":
    main(sys.argv[1:])
