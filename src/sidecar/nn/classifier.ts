/**
 * The evaluators' image classifier (models/evaluators/: which digit, which style): four 3x3
 * convolutions with ReLU (strides 2-2-2-2: S -> S/16 pixels, or 1-2-2-2), then either flattened (where things are
 * matters: digits) or pooled over the pixels, mean and max (what the drawing looks like anywhere:
 * styles), and one linear layer to the class logits. 70-200 k parameters: under 1 MB in fp32.
 */
import { Graph, type Tensor } from '../graph';
import { conv2d, linear, spatialMean } from './layers';

export interface ClassifierConfig {
  /** Input size: pixel_values [B, 3, size, size] in [-1, 1] (the generators' output range). */
  size: number;
  classes: number;
  /** Channels of the four convolutions. */
  widths: readonly [number, number, number, number];
  /** Their strides (default all 2: S -> S/16). A first stride of 1 keeps the finest lines for the second layer. */
  strides?: readonly [number, number, number, number];
  /**
   * 'flatten' keeps the S/16 x S/16 layout for the head; 'meanmax' concatenates the mean and the max
   * of each channel over the pixels (how a drawing looks anywhere, and its strongest local cue).
   */
  pool: 'flatten' | 'meanmax';
}

/** pixel_values [B, 3, S, S] -> logits [B, classes]. */
export function classifier(g: Graph, cfg: ClassifierConfig, x: Tensor): Tensor {
  let h = x, c = 3;
  const strides = cfg.strides ?? [2, 2, 2, 2];
  cfg.widths.forEach((w, i) => { h = g.relu(conv2d(g, `c${i + 1}`, h, c, w, 3, strides[i])); c = w; });
  if (cfg.pool === 'meanmax') return linear(g, 'head', g.concat([spatialMean(g, h), g.reduceMax(h, [2, 3], false)], 1), 2 * c, cfg.classes);
  const cells = (cfg.size / strides.reduce((a, b) => a * b, 1)) ** 2 * c;
  return linear(g, 'head', g.reshape(h, [-1, cells]), cells, cfg.classes);
}

/** The exported model: pixel_values -> logits, probabilities. */
export function classifierGraph(cfg: ClassifierConfig, seed = 0): Graph {
  const g = new Graph({ seed });
  const x = g.input('pixel_values', 'float32', ['batch', 3, cfg.size, cfg.size]);
  const logits = classifier(g, cfg, x);
  g.output(logits, 'logits');
  g.output(g.softmax(logits, -1), 'probabilities');
  return g;
}
