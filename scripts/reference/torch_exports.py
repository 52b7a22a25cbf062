"""PyTorch exports for the gradient tests (test/unit/graph/torch-exports.test.ts): one tiny UNet-like
block (Conv, GroupNorm, SiLU, self-attention with LayerNorm, MatMul/Softmax/Transpose/Reshape, GELU,
cross-attention, nearest Upsample) exported at opsets 14-17, with and without constant folding, plus
PyTorch's gradients of a scalar loss sum(y * R) for a fixed R, w.r.t. the inputs and a few weights.
Without constant folding the exports keep Constant nodes and the shape arithmetic (Shape, Gather,
Unsqueeze, Concat, Cast ...), e.g. Resize's scales from Concat(Constant, Constant): what the engine's
fold pass (src/sidecar/graph/fold.ts) must handle before differentiating.
Written with PyTorch 1.13.0a0 (Debian's python3-torch); static shapes (batch 2) and one opset-17
export with a dynamic batch.
Usage: /usr/bin/python3 scripts/reference/torch_exports.py   (writes test/fixtures/torch-exports/)"""
import json, os
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'torch-exports')
torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self, c=8, ctx=6):
        super().__init__()
        self.conv_in = nn.Conv2d(4, c, 3, padding=1)
        self.norm = nn.GroupNorm(2, c)
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.ln = nn.LayerNorm(c)
        self.qkv = nn.Linear(c, 3 * c, bias=False)
        self.k = nn.Linear(ctx, c, bias=False)
        self.v = nn.Linear(ctx, c, bias=False)
        self.mlp = nn.Linear(c, c)
        self.conv_out = nn.Conv2d(c, 4, 3, padding=1)

    def forward(self, x, context):
        h = self.conv(F.silu(self.norm(self.conv_in(x))))
        b, c, hh, ww = h.shape
        s = h.reshape(b, c, hh * ww).transpose(1, 2)                       # [b, tokens, c]
        q, k, v = self.qkv(self.ln(s)).chunk(3, dim=-1)
        s = s + torch.softmax(q @ k.transpose(1, 2) / c ** 0.5, dim=-1) @ v   # self-attention
        a = torch.softmax(q @ self.k(context).transpose(1, 2) / c ** 0.5, dim=-1) @ self.v(context)
        s = s + self.mlp(F.gelu(a))                                         # cross-attention + GELU
        h = s.transpose(1, 2).reshape(b, c, hh, ww)
        return self.conv_out(F.interpolate(h, scale_factor=2.0, mode='nearest')) + x


WRT = ['x', 'context', 'conv_in.weight', 'conv.weight', 'conv.bias', 'ln.weight', 'ln.bias', 'mlp.bias', 'conv_out.weight']


def main():
    os.makedirs(OUT, exist_ok=True)
    m = Block().eval()
    with torch.no_grad():  # norms start at ones/zeros: perturb them, or the exporter merges equal weights (ln.weight = Identity(norm.weight))
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x, ctx = torch.randn(2, 4, 8, 8), torch.randn(2, 5, 6)
    r = torch.randn(2, 4, 8, 8)
    xg, cg = x.clone().requires_grad_(), ctx.clone().requires_grad_()
    loss = (m(xg, cg) * r).sum()
    loss.backward()
    params = dict(m.named_parameters())
    grads = {'x': xg.grad, 'context': cg.grad, **{n: params[n].grad for n in WRT[2:]}}
    flat = lambda t: [float(v) for v in t.detach().reshape(-1)]
    ref = {'torch': torch.__version__, 'loss': float(loss),
           'inputs': {'x': {'dims': list(x.shape), 'data': flat(x)}, 'context': {'dims': list(ctx.shape), 'data': flat(ctx)}},
           'R': {'dims': list(r.shape), 'data': flat(r)}, 'y': flat(m(x, ctx)),
           'grads': {n: {'dims': list(g.shape), 'data': flat(g)} for n, g in grads.items()}, 'exports': []}
    for opset in (14, 15, 16, 17):
        for fold in (True, False):
            name = f'block-op{opset}-{"fold" if fold else "nofold"}.onnx'
            torch.onnx.export(m, (x, ctx), os.path.join(OUT, name), opset_version=opset, do_constant_folding=fold,
                              input_names=['x', 'context'], output_names=['y'])
            ref['exports'].append(name)
    name = 'block-op17-nofold-dynamic.onnx'  # dynamic batch: Shape of a dynamic dim stays a run-time computation
    torch.onnx.export(m, (x, ctx), os.path.join(OUT, name), opset_version=17, do_constant_folding=False,
                      input_names=['x', 'context'], output_names=['y'],
                      dynamic_axes={'x': {0: 'batch'}, 'context': {0: 'batch'}, 'y': {0: 'batch'}})
    ref['exports'].append(name)
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(ref, f, separators=(',', ':'))
    print('wrote', len(ref['exports']), 'exports and reference.json to', os.path.normpath(OUT))


if __name__ == '__main__':
    main()
