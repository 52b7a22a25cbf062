/** Public surface of the graph engine. */
export { Graph, f, weightNames, type Tensor, type Operand, type ConvOptions } from './graph';
export { init, Rng, rngFor, hashString, type Init } from './init';
export { toOnnx, saveModel, loadModel, toModelProto, fromModelProto, writeAtomic, TRAINABLE_KEY, type SaveOptions, type LoadOptions } from './onnx';
export { createSession, sessionOptions, toOrt, f32, type SessionOptions } from './session';
export * from './types';
export { gradients, gradientModel, zerosLike, type GradientOptions } from './autodiff';
export { mseLoss, infoNceLoss, l2normalize, mean } from './losses';
export { learningRate, optimizerUpdate, clipGlobalNorm, emaUpdate, stateSlots, type Optimizer, type Schedule } from './optim';
export { buildTrainStep, unflatten, STEP_INPUT, type TrainStep, type TrainStepOptions, type StateSlot, type ParamLayout } from './train-step';
export { injectLora, mergeLora, type LoraOptions, type LoraSite, type LoraKind } from './lora';
