"""Writes random-weight reference cases for scripts/train/check-parity.ts: for each model, its weights
(graph layout) plus fixed inputs and PyTorch's outputs, in .cache/ref/parity/<model>.safetensors.
Usage: /usr/bin/python3 scripts/train/parity.py"""
import os, sys, torch
sys.path.insert(0, os.path.dirname(__file__))
from reference import TextEncoder, ImageEncoder, VAEEncoder, VAEDecoder, UNet, to_graph_layout, save_safetensors

torch.manual_seed(0)
os.makedirs('.cache/ref/parity', exist_ok=True)


def perturb(m):
    # Norm layers start at 1/0; perturb everything so a swapped scale/shift would show.
    with torch.no_grad():
        for p in m.parameters(): p.add_(torch.randn_like(p) * 0.05)
    return m


def case(name, m, inputs, outputs):
    t = dict(to_graph_layout(m))
    for k, v in inputs.items(): t[f'__in__.{k}'] = v
    for k, v in outputs.items(): t[f'__out__.{k}'] = v
    save_safetensors(f'.cache/ref/parity/{name}.safetensors', t)


with torch.no_grad():
    te = perturb(TextEncoder(1567)); ids = torch.randint(0, 1567, (3, 16))
    h, e = te(ids); case('text_encoder', te, {'input_ids': ids.double()}, {'last_hidden_state': h, 'text_embeds': e})
    ie = perturb(ImageEncoder()); x = torch.rand(3, 3, 32, 32) * 2 - 1
    case('image_encoder', ie, {'pixel_values': x}, {'image_embeds': ie(x)})
    ve = perturb(VAEEncoder()); case('vae_encoder', ve, {'sample': x}, {'latent_sample': ve(x)[0]})
    vd = perturb(VAEDecoder()); z = torch.randn(3, 4, 8, 8); case('vae_decoder', vd, {'latent_sample': z}, {'sample': vd(z)})
    u = perturb(UNet()); t = torch.tensor([0, 500, 999]); ctx = torch.randn(3, 16, 64)
    case('unet', u, {'sample': z, 'timestep': t.double(), 'encoder_hidden_states': ctx}, {'out_sample': u(z, t, ctx)})
print('wrote .cache/ref/parity/*.safetensors')
