// TensorFlow.js peers of qforget's built-in `mlp` and `lenet` for bench/train_speed.mjs:
// the same layer chains in fp32 (tfjs-layers), trained with tfjs's own model.fit on the
// backend the caller picks ('wasm' or 'cpu').
//
// Equivalences with qforget (src/nn/architectures.cc):
//   mlp    Flatten, Dense 256 relu, Dense 128 relu, Dense C
//   lenet  Conv 5x5 16 same relu, MaxPool 2, Conv 5x5 32 same relu, MaxPool 2, Flatten,
//          Dense 128 relu, Dense C
// qforget trains on logits with softmax cross-entropy; here the last Dense has a softmax
// activation and the loss is tfjs's sparseCategoricalCrossentropy (integer labels), which
// is the same loss (tfjs clips the probabilities to [1e-7, 1 - 1e-7] first).
// Pixels become x/255 in float32, the input qforget's engine sees too (uint8 → [0, 1]).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

export const tfjsVersion = tf.version_core;
export const tfjsLayersVersion = tfl.version_layers;

const ARCHITECTURES = {
  mlp: (numClasses) => [
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 256, activation: 'relu' }),
    tfl.layers.dense({ units: 128, activation: 'relu' }),
    tfl.layers.dense({ units: numClasses, activation: 'softmax' }),
  ],
  lenet: (numClasses) => [
    tfl.layers.conv2d({ filters: 16, kernelSize: 5, padding: 'same', activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({ filters: 32, kernelSize: 5, padding: 'same', activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 128, activation: 'relu' }),
    tfl.layers.dense({ units: numClasses, activation: 'softmax' }),
  ],
};

/** Switches tfjs to `name` ('wasm' with one thread, or 'cpu'); throws if it cannot. */
export async function useBackend(name) {
  if (name === 'wasm') setThreadsCount(1);  // read when the backend first initializes
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name) {
    throw new Error(`tfjs could not switch to its ${name} backend`);
  }
}

/** Tensors alive in tfjs, over all backends. */
export const liveTensors = () => tf.memory().numTensors;

/** A qforget-style dataset {x: Uint8Array, y: Uint8Array, shape} as x/255 and labels [n, 1]. */
function toTensors({ x, y, shape }) {
  return tf.tidy(() => ({
    x: tf.div(tf.tensor(x, shape, 'float32'), 255),
    y: tf.tensor2d(y, [shape[0], 1], 'float32'),
  }));
}

function disposeAll(tensors) {
  tf.dispose(Object.values(tensors));
}

/**
 * A compiled fp32 model of `arch` on the current backend, trained with SGD + momentum.
 * Returns { fitEpoch(ds) → trainAccuracy, evaluate(ds) → accuracy, dispose() }.
 * fitEpoch does what qforget's fit does for a caller holding uint8 data: makes the
 * float tensors from the bytes, trains one shuffled epoch, frees the tensors.
 */
export function createTfjsTrainer({ arch, inputShape, numClasses, lr, momentum, batchSize }) {
  const model = tfl.sequential();
  model.add(tfl.layers.inputLayer({ inputShape }));
  for (const layer of ARCHITECTURES[arch](numClasses)) model.add(layer);
  const optimizer = tf.train.momentum(lr, momentum);
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return {
    async fitEpoch(ds) {
      const data = toTensors(ds);
      try {
        const history = await model.fit(data.x, data.y, { epochs: 1, batchSize, shuffle: true, verbose: 0 });
        return history.history.acc[0];
      } finally {
        disposeAll(data);
      }
    },
    evaluate(ds) {
      const data = toTensors(ds);
      try {
        const predicted = tf.tidy(() => tf.argMax(model.predict(data.x, { batchSize: 256 }), -1));
        const classes = predicted.dataSync();
        predicted.dispose();
        return classes.reduce((hits, c, i) => hits + (c === ds.y[i]), 0) / classes.length;
      } finally {
        disposeAll(data);
      }
    },
    dispose() {
      model.dispose();
      // compile() with an optimizer object leaves disposing it to us. tfjs 4.22's
      // MomentumOptimizer.dispose() skips its parent's, which frees the -lr scalar.
      optimizer.dispose();
      tf.SGDOptimizer.prototype.dispose.call(optimizer);
    },
  };
}
