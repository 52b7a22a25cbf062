/** Public surface of the graph engine. */
export { Graph, f, type Tensor, type Operand, type ConvOptions } from './graph';
export { init, Rng, rngFor, hashString, type Init } from './init';
export { toOnnx, saveModel, loadModel, toModelProto, fromModelProto, writeAtomic, type SaveOptions } from './onnx';
export { createSession, sessionOptions, toOrt, f32, type SessionOptions } from './session';
export * from './types';
