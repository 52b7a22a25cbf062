"""PyTorch reference of the embedded model family (same architecture and parameter names as
src/sidecar/nn/). Used to check the TypeScript graphs numerically, to benchmark, and as the
documented stop-gap trainer. Run with Debian's interpreter: /usr/bin/python3 scripts/train/reference.py STAGE
"""
import json, math, struct, sys, time, os
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
D_TEXT = 64      # text width (last_hidden_state D)
D_EMBED = 64     # joint CLIP embedding width


def silu(x):
    return x * torch.sigmoid(x)


class GN(nn.Module):
    """GroupNorm written out (mean/var over channels-in-group and space) as the ONNX graph does."""
    def __init__(self, c, g=8, eps=1e-5):
        super().__init__(); self.g = g; self.eps = eps
        self.weight = nn.Parameter(torch.ones(c)); self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        b, c, h, w = x.shape
        y = x.reshape(b, self.g, -1)
        m = y.mean(-1, keepdim=True); v = ((y - m) ** 2).mean(-1, keepdim=True)
        y = ((y - m) / torch.sqrt(v + self.eps)).reshape(b, c, h, w)
        return y * self.weight[None, :, None, None] + self.bias[None, :, None, None]


class LN(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__(); self.eps = eps
        self.weight = nn.Parameter(torch.ones(d)); self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        m = x.mean(-1, keepdim=True); v = ((x - m) ** 2).mean(-1, keepdim=True)
        return (x - m) / torch.sqrt(v + self.eps) * self.weight + self.bias


class Attn(nn.Module):
    """Multi-head attention: q from x [B,N,C], k/v from ctx [B,M,Cc]; softmax(q k^T / sqrt(d)) v."""
    def __init__(self, c, cc, heads):
        super().__init__(); self.h = heads
        self.q = nn.Linear(c, c, bias=False); self.k = nn.Linear(cc, c, bias=False)
        self.v = nn.Linear(cc, c, bias=False); self.o = nn.Linear(c, c)

    def forward(self, x, ctx):
        b, n, c = x.shape; m = ctx.shape[1]; d = c // self.h
        q = self.q(x).reshape(b, n, self.h, d).transpose(1, 2)
        k = self.k(ctx).reshape(b, m, self.h, d).transpose(1, 2)
        v = self.v(ctx).reshape(b, m, self.h, d).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(d), -1)
        return self.o((a @ v).transpose(1, 2).reshape(b, n, c))


class TextEncoder(nn.Module):
    def __init__(self, vocab, length=16, d=D_TEXT, layers=2, heads=4):
        super().__init__()
        self.tok = nn.Embedding(vocab, d); self.pos = nn.Parameter(torch.randn(length, d) * 0.02)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            blk = nn.Module(); blk.ln1 = LN(d); blk.attn = Attn(d, d, heads); blk.ln2 = LN(d)
            blk.fc1 = nn.Linear(d, 2 * d); blk.fc2 = nn.Linear(2 * d, d); self.blocks.append(blk)
        self.ln_f = LN(d); self.proj = nn.Linear(d, D_EMBED, bias=False)
        nn.init.normal_(self.tok.weight, std=0.02)

    def forward(self, ids):
        x = self.tok(ids) + self.pos
        for b in self.blocks:
            h = b.ln1(x); x = x + b.attn(h, h)
            x = x + b.fc2(F.gelu(b.fc1(b.ln2(x))))
        x = self.ln_f(x)
        return x, self.proj(x[:, 0])  # last_hidden_state, text_embeds (bos token pooled)


class ImageEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 3, 2, 1); self.c2 = nn.Conv2d(32, 64, 3, 2, 1)
        self.c3 = nn.Conv2d(64, 96, 3, 2, 1); self.c4 = nn.Conv2d(96, 96, 3, 1, 1)
        self.proj = nn.Linear(96, D_EMBED, bias=False)

    def forward(self, x):
        x = silu(self.c1(x)); x = silu(self.c2(x)); x = silu(self.c3(x)); x = silu(self.c4(x))
        return self.proj(x.mean((2, 3)))


class VAEEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 3, 1, 1); self.c2 = nn.Conv2d(32, 64, 3, 2, 1)
        self.c3 = nn.Conv2d(64, 64, 3, 2, 1); self.c4 = nn.Conv2d(64, 64, 3, 1, 1)
        self.out = nn.Conv2d(64, 8, 1)

    def forward(self, x):
        x = silu(self.c1(x)); x = silu(self.c2(x)); x = silu(self.c3(x)); x = silu(self.c4(x))
        mom = self.out(x)
        return mom[:, :4], mom[:, 4:]  # mean, logvar


class VAEDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(4, 64, 3, 1, 1); self.c2 = nn.Conv2d(64, 64, 3, 1, 1)
        self.c3 = nn.Conv2d(64, 32, 3, 1, 1); self.c4 = nn.Conv2d(32, 32, 3, 1, 1)
        self.out = nn.Conv2d(32, 3, 3, 1, 1)

    def forward(self, z):
        x = silu(self.c1(z)); x = silu(self.c2(x))
        x = F.interpolate(x, scale_factor=2, mode='nearest'); x = silu(self.c3(x))
        x = F.interpolate(x, scale_factor=2, mode='nearest'); x = silu(self.c4(x))
        return self.out(x)


class Res(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.n1 = GN(cin); self.c1 = nn.Conv2d(cin, cout, 3, 1, 1); self.t = nn.Linear(temb, cout)
        self.n2 = GN(cout); self.c2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, t):
        h = self.c1(silu(self.n1(x))) + self.t(t)[:, :, None, None]
        h = self.c2(silu(self.n2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class XBlock(nn.Module):
    """Cross-attention to the text tokens, then self-attention (pre-norm, residual)."""
    def __init__(self, c, heads=4):
        super().__init__(); self.n1 = LN(c); self.x = Attn(c, D_TEXT, heads); self.n2 = LN(c); self.s = Attn(c, c, heads)

    def forward(self, h, ctx):
        b, c, hh, ww = h.shape
        x = h.reshape(b, c, hh * ww).transpose(1, 2)
        x = x + self.x(self.n1(x), ctx)
        y = self.n2(x); x = x + self.s(y, y)
        return x.transpose(1, 2).reshape(b, c, hh, ww)


class UNet(nn.Module):
    def __init__(self, c=64, temb=128):
        super().__init__(); self.c = c
        self.t1 = nn.Linear(c, temb); self.t2 = nn.Linear(temb, temb)
        self.conv_in = nn.Conv2d(4, c, 3, 1, 1)
        self.d1 = Res(c, c, temb); self.a1 = XBlock(c)
        self.down = nn.Conv2d(c, c, 3, 2, 1)
        self.d2 = Res(c, c, temb); self.a2 = XBlock(c)
        self.m = Res(c, c, temb); self.am = XBlock(c)
        self.u2 = Res(2 * c, c, temb); self.au2 = XBlock(c)
        self.up = nn.Conv2d(c, c, 3, 1, 1)
        self.u1 = Res(2 * c, c, temb); self.au1 = XBlock(c)
        self.n_out = GN(c); self.conv_out = nn.Conv2d(c, 4, 3, 1, 1)

    def temb(self, t):
        half = self.c // 2
        f = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        a = t.float()[:, None] * f[None]
        e = torch.cat([torch.sin(a), torch.cos(a)], 1)
        return self.t2(silu(self.t1(e)))

    def forward(self, x, t, ctx):
        te = self.temb(t)
        h0 = self.conv_in(x)
        h1 = self.a1(self.d1(h0, te), ctx)
        h2 = self.a2(self.d2(self.down(h1), te), ctx)
        h = self.am(self.m(h2, te), ctx)
        h = self.au2(self.u2(torch.cat([h, h2], 1), te), ctx)
        h = self.up(F.interpolate(h, scale_factor=2, mode='nearest'))
        h = self.au1(self.u1(torch.cat([h, h1], 1), te), ctx)
        return self.conv_out(silu(self.n_out(h)))


def nparams(m):
    return sum(p.numel() for p in m.parameters())



# ---------------------------------------------------------------- data, checkpoints
def load_data():
    meta = json.load(open('.cache/data/emoji-train.json'))
    n, sz = meta['n'], meta['size']
    raw = torch.frombuffer(bytearray(open(meta['pixels'], 'rb').read()), dtype=torch.uint8)
    imgs = raw.reshape(n, sz, sz, 3).permute(0, 3, 1, 2).float() / 127.5 - 1
    return meta, imgs


def save_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for k, t in tensors.items():
        b = t.detach().contiguous().float().numpy().tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(header).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h); [f.write(b) for b in blobs]
    os.replace(path + '.tmp', path)


def load_safetensors(path):
    buf = open(path, 'rb').read(); n = struct.unpack('<Q', buf[:8])[0]; header = json.loads(buf[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == '__metadata__': continue
        a, b = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(buf[8 + n + a:8 + n + b]), dtype=torch.float32).reshape(v['shape'])
    return out


OUT = '.cache/ref'


def linear_names(m):
    return {f'{n}.weight' for n, mod in m.named_modules() if isinstance(mod, nn.Linear)}


def to_graph_layout(m):
    """State dict in the TypeScript graphs' layout: Linear weights [in, out] (x @ W)."""
    lin = linear_names(m)
    return {k: (v.T if k in lin else v) for k, v in m.state_dict().items()}


def from_graph_layout(m, sd):
    lin = linear_names(m)
    m.load_state_dict({k: (v.T if k in lin else v) for k, v in sd.items()})


def log(stage, step, total, loss, t0):
    if step % 50 == 0 or step == total:
        print(f'{stage} {step}/{total} loss {loss:.5f} {time.time() - t0:.0f}s', flush=True)


# ---------------------------------------------------------------- stages
def train_vae(steps=3000, bs=64, kl=1e-5):
    meta, imgs = load_data(); g = torch.Generator().manual_seed(0)
    enc, dec = VAEEncoder(), VAEDecoder()
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), 2e-3)
    t0 = time.time()
    for step in range(1, steps + 1):
        x = imgs[torch.randint(0, len(imgs), (bs,), generator=g)]
        mean, logvar = enc(x); logvar = logvar.clamp(-30, 20)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)
        rec = dec(z)
        loss = ((rec - x) ** 2).mean() + kl * 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).sum((1, 2, 3)).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        for pg in opt.param_groups: pg['lr'] = 2e-3 * min(1, 2 * (1 - step / steps) + 0.05)
        log('vae', step, steps, loss.item(), t0)
    with torch.no_grad():
        mean, _ = enc(imgs); scale = 1 / mean.std().item()
        mse = ((dec(mean) - imgs) ** 2).mean().item()
    print('vae scaling_factor', scale, 'recon mse', mse)
    save_safetensors(f'{OUT}/vae_encoder.safetensors', to_graph_layout(enc))
    save_safetensors(f'{OUT}/vae_decoder.safetensors', to_graph_layout(dec))
    json.dump({'scaling_factor': scale, 'recon_mse': mse}, open(f'{OUT}/vae.json', 'w'))


def train_clip(steps=3000, bs=128):
    meta, imgs = load_data(); g = torch.Generator().manual_seed(1)
    te, ie = TextEncoder(meta['vocab']), ImageEncoder()
    dec, enc = VAEDecoder(), VAEEncoder()
    from_graph_layout(dec, load_safetensors(f'{OUT}/vae_decoder.safetensors'))
    from_graph_layout(enc, load_safetensors(f'{OUT}/vae_encoder.safetensors'))
    with torch.no_grad():
        recon = torch.cat([dec(enc(imgs[i:i + 256])[0]) for i in range(0, len(imgs), 256)]).clamp(-1, 1)
    logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    opt = torch.optim.Adam(list(te.parameters()) + list(ie.parameters()) + [logit_scale], 1e-3)
    caps = meta['items']; t0 = time.time()
    for step in range(1, steps + 1):
        idx = torch.randperm(len(imgs), generator=g)[:bs]
        ids = torch.tensor([caps[i]['captions'][torch.randint(0, len(caps[i]['captions']), (1,), generator=g).item()] for i in idx])
        # Half the images go through the VAE: generated images look like VAE output.
        use_rec = (torch.rand(bs, generator=g) < 0.5)[:, None, None, None]
        x = torch.where(use_rec, recon[idx], imgs[idx])
        ti = F.normalize(te(ids)[1], dim=-1); ii = F.normalize(ie(x), dim=-1)
        logits = logit_scale.exp().clamp(max=100) * ii @ ti.T
        lab = torch.arange(bs)
        loss = (F.cross_entropy(logits, lab) + F.cross_entropy(logits.T, lab)) / 2
        opt.zero_grad(); loss.backward(); opt.step()
        for pg in opt.param_groups: pg['lr'] = 1e-3 * min(1, 2 * (1 - step / steps) + 0.05)
        log('clip', step, steps, loss.item(), t0)
    with torch.no_grad():
        canon = torch.tensor([c['captions'][0] for c in caps])
        T = F.normalize(te(canon)[1], dim=-1); I = F.normalize(ie(recon), dim=-1)
        acc = ((I @ T.T).argmax(1) == torch.arange(len(imgs))).float().mean().item()
        I2 = F.normalize(ie(imgs), dim=-1); acc2 = ((I2 @ T.T).argmax(1) == torch.arange(len(imgs))).float().mean().item()
    print('clip top1 (vae recon)', acc, 'real', acc2)
    save_safetensors(f'{OUT}/text_encoder.safetensors', to_graph_layout(te))
    save_safetensors(f'{OUT}/image_encoder.safetensors', to_graph_layout(ie))


def alphas_cumprod(T=1000, b0=0.00085, b1=0.012):
    betas = torch.linspace(b0 ** 0.5, b1 ** 0.5, T) ** 2  # scaled_linear (Stable Diffusion)
    return torch.cumprod(1 - betas, 0)


def train_unet(steps=4000, bs=64, p_uncond=0.1, resume=True):
    meta, imgs = load_data(); g = torch.Generator().manual_seed(2)
    te, enc = TextEncoder(meta['vocab']), VAEEncoder()
    from_graph_layout(te, load_safetensors(f'{OUT}/text_encoder.safetensors'))
    from_graph_layout(enc, load_safetensors(f'{OUT}/vae_encoder.safetensors'))
    scale = json.load(open(f'{OUT}/vae.json'))['scaling_factor']
    caps = meta['items']
    flat, owner = [], []
    for i, c in enumerate(caps):
        for ids in c['captions'] + ([c['broad']] if c['broad'] else []): flat.append(ids); owner.append(i)
    with torch.no_grad():
        H = torch.cat([te(torch.tensor(flat[i:i + 512]))[0] for i in range(0, len(flat), 512)])
        Hempty = te(torch.tensor([meta['empty']]))[0]
        mean, logvar = enc(imgs); std = torch.exp(0.5 * logvar.clamp(-30, 20))
    owner = torch.tensor(owner)
    ac = alphas_cumprod(); u = UNet(); opt = torch.optim.AdamW(u.parameters(), 1e-3, weight_decay=0.0)
    ema = {k: v.clone() for k, v in u.state_dict().items()}
    start = 1
    if resume and os.path.exists(f'{OUT}/unet_ckpt.pt'):
        ck = torch.load(f'{OUT}/unet_ckpt.pt'); u.load_state_dict(ck['model']); opt.load_state_dict(ck['opt']); ema = ck['ema']; start = ck['step'] + 1
    t0 = time.time()
    for step in range(start, steps + 1):
        ci = torch.randint(0, len(flat), (bs,), generator=g); ii = owner[ci]
        x0 = (mean[ii] + std[ii] * torch.randn(mean[ii].shape, generator=g)) * scale
        ctx = H[ci].clone(); drop = torch.rand(bs, generator=g) < p_uncond; ctx[drop] = Hempty
        t = torch.randint(0, 1000, (bs,), generator=g); a = ac[t].sqrt()[:, None, None, None]; s = (1 - ac[t]).sqrt()[:, None, None, None]
        eps = torch.randn(x0.shape, generator=g); xt = a * x0 + s * eps; v = a * eps - s * x0
        loss = ((u(xt, t, ctx) - v) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        lr = 1e-3 * min(1, step / 200, 2 * (1 - step / steps) + 0.1)
        for pg in opt.param_groups: pg['lr'] = lr
        with torch.no_grad():
            for k, v_ in u.state_dict().items(): ema[k].mul_(0.999).add_(v_, alpha=0.001)
        log('unet', step, steps, loss.item(), t0)
        if step % 500 == 0 or step == steps:
            torch.save({'model': u.state_dict(), 'opt': opt.state_dict(), 'ema': ema, 'step': step}, f'{OUT}/unet_ckpt.pt.tmp')
            os.replace(f'{OUT}/unet_ckpt.pt.tmp', f'{OUT}/unet_ckpt.pt')
            u2 = UNet(); u2.load_state_dict(ema); save_safetensors(f'{OUT}/unet.safetensors', to_graph_layout(u2))


if __name__ == '__main__' and len(sys.argv) > 1:
    os.makedirs(OUT, exist_ok=True)
    stage = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else None
    {'vae': train_vae, 'clip': train_clip, 'unet': train_unet}[stage](*([n] if n else []))
    sys.exit(0)

if __name__ == '__main__':
    v = 1567
    for name, m in [('text', TextEncoder(v)), ('image', ImageEncoder()), ('vae_enc', VAEEncoder()), ('vae_dec', VAEDecoder()), ('unet', UNet())]:
        print(name, nparams(m))
    u = UNet(); opt = torch.optim.AdamW(u.parameters(), 1e-3)
    x = torch.randn(64, 4, 8, 8); t = torch.randint(0, 1000, (64,)); ctx = torch.randn(64, 16, 64)
    for i in range(6):
        t0 = time.time(); loss = ((u(x, t, ctx) - x) ** 2).mean(); opt.zero_grad(); loss.backward(); opt.step()
        print('unet step', time.time() - t0)
