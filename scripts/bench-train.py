"""PyTorch side of `npm run bench:train` (scripts/bench-train.ts): the embedded UNet of
scripts/train/reference.py with the weights and batch the TypeScript side wrote, so both engines train
the same model on the same data.
Usage: /usr/bin/python3 scripts/bench-train.py IN.safetensors GRADS_OUT.safetensors STEPS THREADS[,THREADS] [CHANNELS]
Prints one JSON object on the last line: {"threads": {"1": {median, min, cpu}, ...}, "peak_rss_mb": ..., "loss": ...}
(cpu: median process CPU seconds per step, all threads, which the load of other processes disturbs less)."""
import json, os, resource, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'train'))
import reference as R  # noqa: E402

# Same maths as the reference's written-out norms, through PyTorch's fused kernels (its fastest path).
R.GN.forward = lambda self, x: F.group_norm(x, self.g, self.weight, self.bias, self.eps)
R.LN.forward = lambda self, x: F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


def main():
    src, grads_out, steps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(t) for t in sys.argv[4].split(',')]
    c = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    data = R.load_safetensors(src)
    batch = {k[8:]: v for k, v in data.items() if k.startswith('__batch.')}
    weights = {k: v for k, v in data.items() if not k.startswith('__batch.')}
    x, t, ctx, target = batch['sample'], batch['timestep'].long(), batch['encoder_hidden_states'], batch['target']

    def model():
        u = R.UNet(c=c, temb=2 * c)
        R.from_graph_layout(u, weights)
        return u

    # gradients of the first step, in the graph layout
    torch.set_num_threads(1)
    u = model()
    loss = ((u(x, t, ctx) - target) ** 2).mean()
    loss.backward()
    lin = R.linear_names(u)
    grads = {n: (p.grad.T if n in lin else p.grad) for n, p in u.named_parameters()}
    R.save_safetensors(grads_out, grads)

    out = {'threads': {}, 'loss': loss.item(), 'params': R.nparams(u)}
    for n in threads:
        torch.set_num_threads(n)
        u = model()
        opt = torch.optim.AdamW(u.parameters(), 1e-3)
        times, cpu = [], []
        for i in range(steps + 2):
            t0, c0 = time.perf_counter(), time.process_time()
            loss = ((u(x, t, ctx) - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i >= 2:
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        times.sort()
        cpu.sort()
        out['threads'][str(n)] = {'median': times[len(times) // 2], 'min': times[0], 'cpu': cpu[len(cpu) // 2]}
    out['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


main()
