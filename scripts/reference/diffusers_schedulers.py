#!/usr/bin/python3
"""
Reference sampling loops from diffusers' own scheduler code, written as JSON fixtures for
test/unit/schedulers/diffusers-agreement.test.ts.

Regenerate (Debian's python3-torch and python3-numpy; no pip, no network):

    /usr/bin/python3 scripts/reference/diffusers_schedulers.py \
        [--diffusers /work/.mirror/huggingface+diffusers/repo] [--commit HEAD] \
        [--out test/fixtures/diffusers-schedulers]

--diffusers is a git directory (bare or not) of https://github.com/huggingface/diffusers; the scheduler
modules (src/diffusers/schedulers/scheduling_*.py) are taken from --commit with `git archive` and
imported unmodified. Only what they import from the rest of diffusers is replaced by the small
stand-ins below (configuration_utils' ConfigMixin/register_to_config store the keyword arguments with
their defaults in `self.config`; utils' BaseOutput, deprecate, logging, randn_tensor; huggingface_hub's
validate_hf_hub_args). scipy is not installed here: LMS's `integrate.quad` is replaced by 8-point
Gauss-Legendre, exact for the polynomials LMS integrates (degree <= 3). The diffusers commit is written
into every fixture ("diffusers_commit").

What one case is: a scheduler class + config + number of steps, run as diffusers' pipelines run it
(latents = noise * init_noise_sigma; per timestep: scale_model_input, the fake model, step) on
- the fake model  out[k] = 0.1 * x[k] + 0.05 * sin(t / 100 + k)  (x the scaled input, t the timestep
  as the scheduler passes it, k the flat element index), computed in float64 and rounded to float32,
  implemented identically in the TypeScript test;
- noise from a fixed generator (xorshift32 + Box-Muller below), stored in the fixture: the initial
  noise once per file, and for stochastic samplers every randn_tensor call's output per step.
Recorded: timesteps, sigmas (where the scheduler has them), init_noise_sigma, the scale_model_input
factor per step, and every step's prev_sample.
"""
import argparse
import dataclasses
import importlib
import json
import math
import os
import subprocess
import sys
import tempfile
import types
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHAPE = (1, 4, 2, 2)  # 16 latent values: small fixtures, still a batch x channel x h x w tensor
NUMEL = int(np.prod(SHAPE))


# ----------------------------------------------------------------------------------------------
# Stand-ins for the parts of diffusers the scheduler modules import (not the scheduler maths).
# ----------------------------------------------------------------------------------------------
class Config(dict):
    """diffusers' FrozenDict: keys readable as attributes."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError as e:
            raise AttributeError(k) from e

    def __setattr__(self, k, v):
        self[k] = v


def register_to_config(init):
    import inspect

    sig = inspect.signature(init)

    def wrapped(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        cfg = Config({k: v for k, v in bound.arguments.items() if k != "self"})
        if "kwargs" in cfg:
            cfg.update(cfg.pop("kwargs"))
        object.__setattr__(self, "_internal_dict", cfg)
        init(self, *args, **kwargs)

    return wrapped


class ConfigMixin:
    config_name = "scheduler_config.json"

    @property
    def config(self):
        return self._internal_dict

    def register_to_config(self, **kwargs):
        if not hasattr(self, "_internal_dict"):
            object.__setattr__(self, "_internal_dict", Config())
        self._internal_dict.update(kwargs)


class BaseOutput(OrderedDict):
    """diffusers' BaseOutput for dataclasses: attribute and index access."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is not None:
                self[f.name] = v

    def __getitem__(self, k):
        if isinstance(k, str):
            return dict.__getitem__(self, k)
        return self.to_tuple()[k]

    def to_tuple(self):
        return tuple(self[k] for k in self.keys())


class NoiseStream:
    """Deterministic N(0, 1) values: xorshift32 uniforms through Box-Muller, float32."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF or 1

    def uniform(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return (x + 0.5) / 4294967296.0

    def normals(self, n):
        out = []
        while len(out) < n:
            u1, u2 = self.uniform(), self.uniform()
            r = math.sqrt(-2 * math.log(u1))
            out += [r * math.cos(2 * math.pi * u2), r * math.sin(2 * math.pi * u2)]
        return np.array(out[:n], dtype=np.float32)


CURRENT = {"stream": None, "drawn": []}


def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
    n = int(np.prod(shape))
    z = CURRENT["stream"].normals(n)
    CURRENT["drawn"].append(z)
    return torch.from_numpy(z.reshape(tuple(shape))).to(dtype or torch.float32)


def deprecate(*args, **kwargs):
    pass


class _Logger:
    def __getattr__(self, name):
        return lambda *a, **k: None


def _gauss_legendre_quad(f, a, b, epsrel=None, **kwargs):
    nodes, weights = np.polynomial.legendre.leggauss(8)
    mid, half = (a + b) / 2, (b - a) / 2
    return (float(sum(w * f(mid + half * x) for x, w in zip(nodes, weights)) * half), 0.0)


def install_stubs(schedulers_dir):
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    module("huggingface_hub")
    module("huggingface_hub.utils", validate_hf_hub_args=lambda f: f)
    pkg = module("diffusers", __path__=[])
    module("diffusers.configuration_utils", ConfigMixin=ConfigMixin, register_to_config=register_to_config)
    logging = module("diffusers.utils.logging", get_logger=lambda *a: _Logger())
    module(
        "diffusers.utils",
        __path__=[],
        BaseOutput=BaseOutput,
        PushToHubMixin=object,
        deprecate=deprecate,
        is_scipy_available=lambda: True,
        logging=logging,
    )
    module("diffusers.utils.torch_utils", randn_tensor=randn_tensor)
    module("diffusers.schedulers", __path__=[schedulers_dir])
    scipy = module("scipy", __path__=[])
    scipy.integrate = module("scipy.integrate", quad=_gauss_legendre_quad)
    scipy.stats = module("scipy.stats")
    return pkg


# ----------------------------------------------------------------------------------------------
# The grid.
# ----------------------------------------------------------------------------------------------
SD = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000}
TRAINED_BETAS = [float(np.float32(0.0002 + 0.018 * (i / 999) ** 1.5)) for i in range(1000)]

# sampler id -> (diffusers class, fixed config, which options the class reads)
SCHEDULERS = {
    "ddim": ("scheduling_ddim", "DDIMScheduler", {}, {"sample", "alpha_to_one", "zero_snr", "clip"}),
    "ddpm": ("scheduling_ddpm", "DDPMScheduler", {}, {"sample", "zero_snr", "clip"}),
    "pndm": ("scheduling_pndm", "PNDMScheduler", {"skip_prk_steps": True}, {"alpha_to_one"}),
    "euler": ("scheduling_euler_discrete", "EulerDiscreteScheduler", {}, {"sample", "zero_snr", "final_sigmas"}),
    "euler_karras": ("scheduling_euler_discrete", "EulerDiscreteScheduler", {"use_karras_sigmas": True}, {"sample", "final_sigmas"}),
    "euler_a": ("scheduling_euler_ancestral_discrete", "EulerAncestralDiscreteScheduler", {}, {"zero_snr"}),
    "lms": ("scheduling_lms_discrete", "LMSDiscreteScheduler", {}, {"sample", "karras"}),
    "heun": ("scheduling_heun_discrete", "HeunDiscreteScheduler", {}, {"sample", "karras"}),
    "dpmpp_2m": ("scheduling_dpmsolver_multistep", "DPMSolverMultistepScheduler", {}, {"sample", "zero_snr", "final_sigmas", "karras"}),
    "dpmpp_2m_karras": ("scheduling_dpmsolver_multistep", "DPMSolverMultistepScheduler", {"use_karras_sigmas": True}, {"sample", "final_sigmas"}),
    "dpmpp_2m_sde": ("scheduling_dpmsolver_multistep", "DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}, {"sample", "karras"}),
    "unipc": ("scheduling_unipc_multistep", "UniPCMultistepScheduler", {}, {"sample", "zero_snr", "final_sigmas", "karras"}),
    "lcm": ("scheduling_lcm", "LCMScheduler", {}, {"zero_snr"}),
}


def grid(sampler):
    _, _, fixed, opts = SCHEDULERS[sampler]
    preds = ["epsilon", "v_prediction"] + (["sample"] if "sample" in opts else [])
    cases = []

    def add(steps=10, **cfg):
        c = dict(SD)
        c.update(fixed)
        c.update(cfg)
        cases.append({"config": c, "steps": steps})

    steps_for = 4 if sampler == "lcm" else 10
    for spacing in ["linspace", "leading", "trailing"]:
        for pred in preds:
            add(steps_for, timestep_spacing=spacing, prediction_type=pred, steps_offset=1 if spacing == "leading" else 0)
    add(7, timestep_spacing="leading", steps_offset=0)
    add(7, timestep_spacing="linspace", beta_schedule="linear", beta_start=0.0001, beta_end=0.02)
    add(steps_for, timestep_spacing="leading", steps_offset=1, trained_betas=TRAINED_BETAS)
    if sampler != "lcm":
        add(6, timestep_spacing="trailing", beta_schedule="squaredcos_cap_v2")
    if "alpha_to_one" in opts:
        for spacing in ["leading", "trailing"]:
            add(steps_for, timestep_spacing=spacing, steps_offset=1, set_alpha_to_one=False)
    if "zero_snr" in opts:
        add(steps_for, timestep_spacing="trailing", prediction_type="v_prediction", rescale_betas_zero_snr=True)
    if "clip" in opts:
        add(steps_for, timestep_spacing="leading", steps_offset=1)  # the class default clip_sample: True
        add(steps_for, timestep_spacing="leading", steps_offset=1, clip_sample=False)
    if "karras" in opts:
        for spacing in ["linspace", "leading"]:
            add(steps_for, timestep_spacing=spacing, steps_offset=1 if spacing == "leading" else 0, use_karras_sigmas=True)
        add(steps_for, timestep_spacing="linspace", prediction_type="v_prediction", use_karras_sigmas=True)
    if "final_sigmas" in opts:
        add(steps_for, timestep_spacing="linspace", final_sigmas_type="sigma_min")
        add(steps_for, timestep_spacing="leading", steps_offset=1, final_sigmas_type="sigma_min", use_karras_sigmas=True)
    if sampler.startswith("dpmpp_2m") and sampler != "dpmpp_2m_sde":
        add(steps_for, timestep_spacing="linspace", solver_order=1)
        add(steps_for, timestep_spacing="linspace", lower_order_final=False)
    if sampler == "unipc":
        add(steps_for, timestep_spacing="linspace", solver_order=3)
        add(steps_for, timestep_spacing="linspace", solver_type="bh1", final_sigmas_type="sigma_min")  # bh1 with a zero final sigma is NaN in diffusers
    if sampler == "lcm":
        add(6, timestep_spacing="leading", original_inference_steps=50, timestep_scaling=10.0)
        add(2, timestep_spacing="trailing")
    if "clip" not in opts and sampler in ("ddim", "ddpm"):
        pass
    return cases


def fake_model(x, t):
    t = float(t)
    k = np.arange(x.numel(), dtype=np.float64)
    out = 0.1 * x.double().flatten().numpy() + 0.05 * np.sin(t / 100 + k)
    return torch.from_numpy(out.astype(np.float32).reshape(x.shape))


def f32(values):
    return [float(f"{float(v):.9g}") for v in np.asarray(values, dtype=np.float64).flatten()]


def run_case(module, cls_name, case, init_noise):
    cls = getattr(module, cls_name)
    cfg = dict(case["config"])
    sched = cls(**cfg)
    sched.set_timesteps(case["steps"])
    CURRENT["stream"] = NoiseStream(0xC0FFEE)
    sample = torch.from_numpy(init_noise.reshape(SHAPE)) * sched.init_noise_sigma
    rec = {
        "timesteps": f32(sched.timesteps.numpy()),
        "init_noise_sigma": float(sched.init_noise_sigma),
        "scale": [],
        "prev_samples": [],
        "step_noise": [],
    }
    if hasattr(sched, "sigmas") and isinstance(sched.sigmas, torch.Tensor) and cls_name not in ("DDIMScheduler", "DDPMScheduler", "PNDMScheduler", "LCMScheduler"):
        rec["sigmas"] = f32(sched.sigmas.numpy())
    for t in sched.timesteps:
        CURRENT["drawn"] = []
        scaled = sched.scale_model_input(sample, t)
        s = sample.double().flatten()
        rec["scale"].append(float((scaled.double().flatten() @ s) / (s @ s)))
        out = fake_model(scaled, t)
        sample = sched.step(out, t, sample)[0]
        rec["prev_samples"].append(f32(sample.numpy()))
        rec["step_noise"].append(f32(np.concatenate(CURRENT["drawn"])) if CURRENT["drawn"] else None)
    if not any(n is not None for n in rec["step_noise"]):
        del rec["step_noise"]
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--diffusers", default="/work/.mirror/huggingface+diffusers/repo")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "diffusers-schedulers"))
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    commit = subprocess.check_output(["git", "-C", a.diffusers, "rev-parse", a.commit], text=True).strip()
    tmp = tempfile.mkdtemp(prefix="diffusers-src-")
    tar = subprocess.check_output(["git", "-C", a.diffusers, "archive", commit, "src/diffusers/schedulers"])
    subprocess.run(["tar", "-x", "-C", tmp], input=tar, check=True)
    install_stubs(os.path.join(tmp, "src", "diffusers", "schedulers"))
    torch.set_default_dtype(torch.float32)
    init_noise = NoiseStream(20260101).normals(NUMEL)
    os.makedirs(a.out, exist_ok=True)
    total = 0
    for sampler, (mod_name, cls_name, _, _) in SCHEDULERS.items():
        if a.only and sampler not in a.only:
            continue
        module = importlib.import_module(f"diffusers.schedulers.{mod_name}")
        cases = []
        for case in grid(sampler):
            rec = run_case(module, cls_name, case, init_noise)
            cfg = dict(case["config"])
            if "trained_betas" in cfg:
                cfg["trained_betas"] = "TRAINED_BETAS"
            cases.append({"config": cfg, "steps": case["steps"], **rec})
        doc = {
            "generator": "scripts/reference/diffusers_schedulers.py",
            "diffusers_commit": commit,
            "class_name": cls_name,
            "shape": list(SHAPE),
            "model": "out[k] = fround(0.1 * x[k] + 0.05 * sin(t / 100 + k))",
            "init_noise": f32(init_noise),
            "trained_betas": TRAINED_BETAS,
            "cases": cases,
        }
        path = os.path.join(a.out, f"{sampler}.json")
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        total += len(cases)
        print(f"{sampler}: {len(cases)} cases -> {os.path.relpath(path, ROOT)}")
    print(f"{total} cases, diffusers {commit}")


if __name__ == "__main__":
    main()
