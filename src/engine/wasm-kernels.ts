// Kernels the WASM backend (tfjs-backend-wasm 4.22) lacks but training can need.
//
// UnsortedSegmentSum is the gradient of tf.gather (the embedding lookup): the models' own embedding
// gradient (layers.ts `embedding`) calls it, and so does plain tf.gather's. (WASM's ScatterNd would
// also do, but fails with "memory access out of bounds" at distilbert-base's 30522 x 768 table.)
// It runs in JavaScript on the WASM heap: one pass over the input, summing rows by segment id.
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

let registered = false;

/** dst[ids[r]] += src[r] row by row (rows of `inner` values), in one pass; out-of-range ids are dropped as TensorFlow does. */
function segmentSumInto(dst: Float32Array | Int32Array, src: ArrayLike<number>, ids: ArrayLike<number>, rows: number, inner: number, numSegments: number): void {
  for (let r = 0; r < rows; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const i = r * inner;
    for (let j = 0; j < inner; j++) dst[o + j] += src[i + j];
  }
}

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel(tf.UnsortedSegmentSum, 'wasm')) return; // a future tfjs-backend-wasm has it
  tf.registerKernel({
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as unknown as tf.UnsortedSegmentSumInputs & { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
      const b = backend as unknown as WasmBackendLike;
      // segmentIds has the shape of x's leading dimensions; each id selects one output row.
      const rows = tf.util.sizeFromShape(segmentIds.shape);
      const inner = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
      const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
      const dst = b.typedArrayFromHeap(out);
      dst.fill(0);
      segmentSumInto(dst, b.readSync(x.dataId), b.readSync(segmentIds.dataId), rows, inner, numSegments);
      return out;
    },
  });
}

/**
 * The plain CPU backend HAS UnsortedSegmentSum, but tfjs-backend-cpu 4.22 computes it as one
 * equal + multiply + sum over the whole input per segment: O(segments x rows x width), i.e. for the
 * embedding gradient 30522 passes over the batch (minutes per training step for the tiny model with
 * the real vocabulary). This replaces it with the same single pass as the WASM kernel above.
 */
interface CpuBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array): tf.TensorInfo;
}

let cpuRegistered = false;

export function registerCpuKernels(): void {
  if (cpuRegistered) return;
  cpuRegistered = true;
  if (tf.getKernel(tf.UnsortedSegmentSum, 'cpu')) tf.unregisterKernel(tf.UnsortedSegmentSum, 'cpu');
  tf.registerKernel({
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as unknown as tf.UnsortedSegmentSumInputs & { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
      const b = backend as unknown as CpuBackendLike;
      const rows = tf.util.sizeFromShape(segmentIds.shape);
      const inner = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
      const dst = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
      segmentSumInto(dst, b.readSync(x.dataId), b.readSync(segmentIds.dataId), rows, inner, numSegments);
      return b.makeTensorInfo([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype, dst);
    },
  });
}
