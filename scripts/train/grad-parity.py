"""Gradient reference for scripts/train/check-grad-parity.ts: MSE loss of the UNet and of the text
encoder against fixed targets, gradients w.r.t. every parameter (graph layout), from PyTorch.
Usage: /usr/bin/python3 scripts/train/grad-parity.py"""
import os, sys, torch
sys.path.insert(0, os.path.dirname(__file__))
from reference import TextEncoder, UNet, to_graph_layout, linear_names, save_safetensors

torch.manual_seed(1)
os.makedirs('.cache/ref/parity', exist_ok=True)


def case(name, m, inputs, loss):
    m.zero_grad(); loss.backward()
    lin = linear_names(m)
    t = dict(to_graph_layout(m))
    for k, p in m.named_parameters():
        if p.grad is None: continue  # not on the loss's path (the text encoder's projection)
        t[f'__grad__.{k}'] = p.grad.T if k in lin else p.grad
    for k, v in inputs.items(): t[f'__in__.{k}'] = v
    save_safetensors(f'.cache/ref/parity/{name}-grad.safetensors', t)


u = UNet(); z = torch.randn(3, 4, 8, 8); t = torch.tensor([3, 400, 999]); ctx = torch.randn(3, 16, 64); tgt = torch.randn(3, 4, 8, 8)
case('unet', u, {'sample': z, 'timestep': t.double(), 'encoder_hidden_states': ctx, 'target': tgt}, ((u(z, t, ctx) - tgt) ** 2).mean())
te = TextEncoder(1567); ids = torch.randint(0, 1567, (3, 16)); th = torch.randn(3, 16, 64)
h, _ = te(ids)
case('text_encoder', te, {'input_ids': ids.double(), 'target': th}, ((h - th) ** 2).mean())
print('wrote gradient cases')
