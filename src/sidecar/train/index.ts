/** Public surface of training: losses, optimisers, training-step graphs, LoRA, the trainer. */
export { mseLoss, infoNceLoss, l2normalize, mean } from './losses';
export { learningRate, optimizerUpdate, clipGlobalNorm, emaUpdate, stateSlots, type Optimizer, type Schedule } from './optim';
export { buildTrainStep, unflatten, STEP_INPUT, type TrainStep, type TrainStepOptions, type StateSlot, type ParamLayout } from './train-step';
export { injectLora, mergeLora, type LoraOptions, type LoraSite, type LoraKind } from './lora';
export { choosePlacement, FROZEN_INPUT_MIN_BYTES, type FrozenPlacement } from './frozen';
export { planMemory, assertFits, InsufficientMemoryError, type MemoryPlan } from './memory-plan';
