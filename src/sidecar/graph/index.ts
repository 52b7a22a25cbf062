/** Public surface of the graph engine. */
export { Graph, f, weightNames, type Tensor, type Operand, type ConvOptions } from './graph';
export { init, Rng, rngFor, hashString, type Init } from './init';
export { toOnnx, toOnnxFeeding, saveModel, loadModel, countWeights, toModelProto, fromModelProto, TRAINABLE_KEY, type SaveOptions, type LoadOptions } from './onnx';
export { createSession, createFedSession, toOrt, f32, type SessionOptions } from './session';
export * from './types';
export { gradients, gradientModel, zerosLike, type GradientOptions } from './autodiff';
export { foldConstants, FOLD_RULES, FOLD_LIMIT, type FoldOptions, type FoldReport } from './fold';
