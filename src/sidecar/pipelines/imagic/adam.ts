/**
 * Adam (Kingma & Ba 2015, Algorithm 1) over named float32 tensors held in JS. Imagic's trainable sets
 * are small (one text embedding; a small UNet or its LoRA adapters), so the update runs in JS between
 * the gradient graph's runs (about 1 ms per MB of parameters, KNOWLEDGE.md) and the parameters stay
 * plain Float32Arrays the cache can write.
 *
 *   m_t = b1 m_{t-1} + (1 - b1) g_t           v_t = b2 v_{t-1} + (1 - b2) g_t^2
 *   theta_t = theta_{t-1} - lr * (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps)
 */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class Adam {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;

  constructor(private readonly params: Map<string, Float32Array>, private readonly o: AdamOptions) {
    this.b1 = o.beta1 ?? 0.9;
    this.b2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  /** One update of every parameter from its gradient (same length, same names). */
  step(grads: Map<string, Float32Array>): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    const { b1, b2, eps } = this;
    const lr = this.o.lr;
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g || g.length !== p.length) throw new Error(`Adam: no gradient of the right size for ${name}`);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    }
  }
}
