// DistilBertForSequenceClassification, as transformers v4.40 `modeling_distilbert.py` computes it
// (eager attention). Parameters are tf.Variables with the Hugging Face names, Linear weights [out, in].
//
//   embeddings:  word + position  -> LayerNorm -> dropout
//   n_layers x   x = sa_layer_norm(x + out_lin(attention(x)))
//                x = output_layer_norm(x + dropout(lin2(gelu(lin1(x)))))
//   head:        x[:, 0] -> pre_classifier -> ReLU -> dropout(seq_classif_dropout) -> classifier
import * as tf from '@tensorflow/tfjs-core';
import type { EncodedBatch, SequenceClassifier } from './api';
import type { ModelConfig } from './config';
import { DropoutSeeds, FLOAT32_MIN, Parameters, dropout, embedding, gelu, layerNorm, linear, selfAttention } from './layers';

/** Every parameter of the model, by Hugging Face name, in the order of the Hub's files. */
export function distilbertParameterShapes(c: ModelConfig): Map<string, number[]> {
  const h = c.hiddenSize;
  const s = new Map<string, number[]>();
  const p = 'distilbert.';
  s.set(`${p}embeddings.word_embeddings.weight`, [c.vocabSize, h]);
  s.set(`${p}embeddings.position_embeddings.weight`, [c.maxPositions, h]);
  s.set(`${p}embeddings.LayerNorm.weight`, [h]);
  s.set(`${p}embeddings.LayerNorm.bias`, [h]);
  for (let i = 0; i < c.numLayers; i++) {
    const l = `${p}transformer.layer.${i}.`;
    for (const lin of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) {
      s.set(`${l}attention.${lin}.weight`, [h, h]);
      s.set(`${l}attention.${lin}.bias`, [h]);
    }
    s.set(`${l}sa_layer_norm.weight`, [h]);
    s.set(`${l}sa_layer_norm.bias`, [h]);
    s.set(`${l}ffn.lin1.weight`, [c.intermediateSize, h]);
    s.set(`${l}ffn.lin1.bias`, [c.intermediateSize]);
    s.set(`${l}ffn.lin2.weight`, [h, c.intermediateSize]);
    s.set(`${l}ffn.lin2.bias`, [h]);
    s.set(`${l}output_layer_norm.weight`, [h]);
    s.set(`${l}output_layer_norm.bias`, [h]);
  }
  s.set('pre_classifier.weight', [h, h]);
  s.set('pre_classifier.bias', [h]);
  s.set('classifier.weight', [c.numLabels, h]);
  s.set('classifier.bias', [c.numLabels]);
  return s;
}

export class DistilBertClassifier implements SequenceClassifier {
  private readonly params: Parameters;

  /** `weights` must hold every parameter of `distilbertParameterShapes(config)`; they are taken over. */
  constructor(readonly config: ModelConfig, weights: Map<string, tf.Tensor>) {
    if (config.modelType !== 'distilbert') throw new Error(`DistilBertClassifier needs a distilbert config, got ${config.modelType}`);
    this.params = new Parameters(distilbertParameterShapes(config), weights);
  }

  get variables(): ReadonlyMap<string, tf.Variable> { return this.params.variables; }

  apply(batch: EncodedBatch, training: boolean, seed?: number): tf.Tensor2D {
    return tf.tidy(() => {
      const c = this.config;
      const w = (n: string) => this.params.get(n);
      const seeds = new DropoutSeeds(training ? (seed ?? Math.floor(Math.random() * 2147483647)) : undefined);
      const [batchSize, seqLen] = batch.inputIds.shape;
      if (seqLen > c.maxPositions) throw new Error(`sequence length ${seqLen} exceeds max_position_embeddings ${c.maxPositions}`);

      // Embeddings (Embeddings.forward): word + position, LayerNorm(eps 1e-12), dropout.
      const ids = tf.reshape(batch.inputIds, [-1]) as tf.Tensor1D;
      const words = embedding(w('distilbert.embeddings.word_embeddings.weight') as tf.Tensor2D, ids, c.padTokenId);
      const positions = tf.slice(w('distilbert.embeddings.position_embeddings.weight'), [0, 0], [seqLen, c.hiddenSize]);
      let x = tf.add(tf.reshape(words, [batchSize, seqLen, c.hiddenSize]), positions);
      x = layerNorm(x, w('distilbert.embeddings.LayerNorm.weight') as tf.Tensor1D, w('distilbert.embeddings.LayerNorm.bias') as tf.Tensor1D, c.layerNormEps);
      x = dropout(x, c.hiddenDropout, seeds.next());
      let h = tf.reshape(x, [batchSize * seqLen, c.hiddenSize]) as tf.Tensor2D;

      // Attention mask: masked_fill(mask == 0, finfo(float32).min). Written as an ADDED
      // (1 - mask) * min, which gives the same float32 values: for any score |s| < 2^103,
      // s + min rounds to min exactly (ulp(min) = 2^104), and unmasked scores get + 0. The
      // gradient is the same too (masked probabilities are exactly 0). Unlike scores * keep,
      // an addition keeps no [B, heads, T, T] tensor for the backward pass. Shape [B, 1, 1, T].
      const fill = tf.mul(tf.sub(1, tf.reshape(tf.cast(batch.attentionMask, 'float32'), [batchSize, 1, 1, seqLen])), FLOAT32_MIN);

      // One tidy per layer: the forward pass's temporaries (dropout noise, pre-softmax scores, ...)
      // are freed as soon as the layer is done; what the backward pass needs is kept by the tape.
      for (let i = 0; i < c.numLayers; i++) h = tf.tidy(() => {
        const l = `distilbert.transformer.layer.${i}.`;
        const lin = (name: string, input: tf.Tensor) => linear(input, w(`${l}${name}.weight`) as tf.Tensor2D, w(`${l}${name}.bias`) as tf.Tensor1D);

        // MultiHeadSelfAttention: q is scaled by 1/sqrt(head_dim) BEFORE q·kᵀ.
        const context = selfAttention(lin('attention.q_lin', h) as tf.Tensor2D, lin('attention.k_lin', h) as tf.Tensor2D, lin('attention.v_lin', h) as tf.Tensor2D,
          fill, batchSize, seqLen, c.numHeads, { scaleQuery: true, dropoutRate: c.attentionDropout, seed: seeds.next() });
        const sa = layerNorm(tf.add(lin('attention.out_lin', context), h), w(`${l}sa_layer_norm.weight`) as tf.Tensor1D, w(`${l}sa_layer_norm.bias`) as tf.Tensor1D, c.layerNormEps);

        // FFN: lin1 -> GELU -> lin2 -> dropout, then residual + output_layer_norm.
        const ffn = dropout(lin('ffn.lin2', gelu(lin('ffn.lin1', sa))), c.hiddenDropout, seeds.next());
        return layerNorm(tf.add(ffn, sa), w(`${l}output_layer_norm.weight`) as tf.Tensor1D, w(`${l}output_layer_norm.bias`) as tf.Tensor1D, c.layerNormEps) as tf.Tensor2D;
      });

      // Head: hidden state of the first token ([CLS]).
      const cls = tf.reshape(tf.slice(tf.reshape(h, [batchSize, seqLen, c.hiddenSize]), [0, 0, 0], [batchSize, 1, c.hiddenSize]), [batchSize, c.hiddenSize]);
      let pooled = tf.relu(linear(cls, w('pre_classifier.weight') as tf.Tensor2D, w('pre_classifier.bias') as tf.Tensor1D));
      pooled = dropout(pooled, c.classifierDropout, seeds.next());
      return linear(pooled, w('classifier.weight') as tf.Tensor2D, w('classifier.bias') as tf.Tensor1D) as tf.Tensor2D;
    });
  }

  snapshot(): Map<string, tf.Tensor> { return this.params.snapshot(); }
  restore(snapshot: Map<string, tf.Tensor>): void { this.params.restore(snapshot); }
  dispose(): void { this.params.dispose(); }
}
