// BertForSequenceClassification, as transformers v4.40 `modeling_bert.py` computes it (eager
// attention, absolute positions). Parameters are tf.Variables with the Hugging Face names,
// Linear weights [out, in].
//
//   embeddings:  word + token_type + position -> LayerNorm -> dropout
//   layers x     a = LayerNorm(x + dropout(output.dense(self-attention(x))))
//                x = LayerNorm(a + dropout(output.dense(gelu(intermediate.dense(a)))))
//   head:        pooler: tanh(dense(x[:, 0])) -> dropout(classifier_dropout ?? hidden_dropout) -> classifier
import * as tf from '@tensorflow/tfjs-core';
import type { EncodedBatch, SequenceClassifier } from './api';
import type { ModelConfig } from './config';
import { DropoutSeeds, FLOAT32_MIN, Parameters, dropout, embedding, gelu, layerNorm, linear, selfAttention } from './layers';

/** Every parameter of the model, by Hugging Face name. */
export function bertParameterShapes(c: ModelConfig): Map<string, number[]> {
  const h = c.hiddenSize;
  const s = new Map<string, number[]>();
  const p = 'bert.';
  s.set(`${p}embeddings.word_embeddings.weight`, [c.vocabSize, h]);
  s.set(`${p}embeddings.position_embeddings.weight`, [c.maxPositions, h]);
  s.set(`${p}embeddings.token_type_embeddings.weight`, [c.typeVocabSize, h]);
  s.set(`${p}embeddings.LayerNorm.weight`, [h]);
  s.set(`${p}embeddings.LayerNorm.bias`, [h]);
  for (let i = 0; i < c.numLayers; i++) {
    const l = `${p}encoder.layer.${i}.`;
    for (const n of ['query', 'key', 'value']) {
      s.set(`${l}attention.self.${n}.weight`, [h, h]);
      s.set(`${l}attention.self.${n}.bias`, [h]);
    }
    s.set(`${l}attention.output.dense.weight`, [h, h]);
    s.set(`${l}attention.output.dense.bias`, [h]);
    s.set(`${l}attention.output.LayerNorm.weight`, [h]);
    s.set(`${l}attention.output.LayerNorm.bias`, [h]);
    s.set(`${l}intermediate.dense.weight`, [c.intermediateSize, h]);
    s.set(`${l}intermediate.dense.bias`, [c.intermediateSize]);
    s.set(`${l}output.dense.weight`, [h, c.intermediateSize]);
    s.set(`${l}output.dense.bias`, [h]);
    s.set(`${l}output.LayerNorm.weight`, [h]);
    s.set(`${l}output.LayerNorm.bias`, [h]);
  }
  s.set(`${p}pooler.dense.weight`, [h, h]);
  s.set(`${p}pooler.dense.bias`, [h]);
  s.set('classifier.weight', [c.numLabels, h]);
  s.set('classifier.bias', [c.numLabels]);
  return s;
}

export class BertClassifier implements SequenceClassifier {
  private readonly params: Parameters;

  /** `weights` must hold every parameter of `bertParameterShapes(config)`; they are taken over. */
  constructor(readonly config: ModelConfig, weights: Map<string, tf.Tensor>) {
    if (config.modelType !== 'bert') throw new Error(`BertClassifier needs a bert config, got ${config.modelType}`);
    this.params = new Parameters(bertParameterShapes(config), weights);
  }

  get variables(): ReadonlyMap<string, tf.Variable> { return this.params.variables; }

  apply(batch: EncodedBatch, training: boolean, seed?: number): tf.Tensor2D {
    return tf.tidy(() => {
      const c = this.config;
      const w = (n: string) => this.params.get(n);
      const seeds = new DropoutSeeds(training ? (seed ?? Math.floor(Math.random() * 2147483647)) : undefined);
      const [batchSize, seqLen] = batch.inputIds.shape;
      if (seqLen > c.maxPositions) throw new Error(`sequence length ${seqLen} exceeds max_position_embeddings ${c.maxPositions}`);

      // BertEmbeddings: word + token_type + absolute position, LayerNorm, dropout.
      const ids = tf.reshape(batch.inputIds, [-1]) as tf.Tensor1D;
      const words = embedding(w('bert.embeddings.word_embeddings.weight') as tf.Tensor2D, ids, c.padTokenId);
      const typeIds = batch.tokenTypeIds ? tf.reshape(batch.tokenTypeIds, [-1]) as tf.Tensor1D : tf.zeros([batchSize * seqLen], 'int32') as tf.Tensor1D;
      const types = embedding(w('bert.embeddings.token_type_embeddings.weight') as tf.Tensor2D, typeIds);
      const positions = tf.slice(w('bert.embeddings.position_embeddings.weight'), [0, 0], [seqLen, c.hiddenSize]);
      let x = tf.add(tf.reshape(tf.add(words, types), [batchSize, seqLen, c.hiddenSize]), positions);
      x = layerNorm(x, w('bert.embeddings.LayerNorm.weight') as tf.Tensor1D, w('bert.embeddings.LayerNorm.bias') as tf.Tensor1D, c.layerNormEps);
      x = dropout(x, c.hiddenDropout, seeds.next());
      let h = tf.reshape(x, [batchSize * seqLen, c.hiddenSize]) as tf.Tensor2D;

      // Extended attention mask: (1 - mask) * finfo(float32).min, ADDED to the scaled scores. [B, 1, 1, T]
      const maskAdd = tf.mul(tf.sub(1, tf.reshape(tf.cast(batch.attentionMask, 'float32'), [batchSize, 1, 1, seqLen])), FLOAT32_MIN);

      // One tidy per layer: the forward pass's temporaries are freed as soon as the layer is done;
      // what the backward pass needs is kept by the tape.
      for (let i = 0; i < c.numLayers; i++) h = tf.tidy(() => {
        const l = `bert.encoder.layer.${i}.`;
        const lin = (name: string, input: tf.Tensor) => linear(input, w(`${l}${name}.weight`) as tf.Tensor2D, w(`${l}${name}.bias`) as tf.Tensor1D);
        const norm = (name: string, input: tf.Tensor) => layerNorm(input, w(`${l}${name}.weight`) as tf.Tensor1D, w(`${l}${name}.bias`) as tf.Tensor1D, c.layerNormEps);

        // BertSelfAttention: scores = q·kᵀ / sqrt(head_dim) + mask, softmax, dropout, · v.
        const context = selfAttention(lin('attention.self.query', h) as tf.Tensor2D, lin('attention.self.key', h) as tf.Tensor2D, lin('attention.self.value', h) as tf.Tensor2D,
          maskAdd, batchSize, seqLen, c.numHeads, { scaleQuery: false, dropoutRate: c.attentionDropout, seed: seeds.next() });
        // BertSelfOutput: dense -> dropout -> LayerNorm(+ input).
        const a = norm('attention.output.LayerNorm', tf.add(dropout(lin('attention.output.dense', context), c.hiddenDropout, seeds.next()), h));
        // BertIntermediate (dense + GELU) and BertOutput (dense -> dropout -> LayerNorm(+ a)).
        const ffn = dropout(lin('output.dense', gelu(lin('intermediate.dense', a))), c.hiddenDropout, seeds.next());
        return norm('output.LayerNorm', tf.add(ffn, a)) as tf.Tensor2D;
      });

      // BertPooler (dense + tanh on [CLS]) -> dropout -> classifier.
      const cls = tf.reshape(tf.slice(tf.reshape(h, [batchSize, seqLen, c.hiddenSize]), [0, 0, 0], [batchSize, 1, c.hiddenSize]), [batchSize, c.hiddenSize]);
      let pooled = tf.tanh(linear(cls, w('bert.pooler.dense.weight') as tf.Tensor2D, w('bert.pooler.dense.bias') as tf.Tensor1D));
      pooled = dropout(pooled, c.classifierDropout, seeds.next());
      return linear(pooled, w('classifier.weight') as tf.Tensor2D, w('classifier.bias') as tf.Tensor1D) as tf.Tensor2D;
    });
  }

  snapshot(): Map<string, tf.Tensor> { return this.params.snapshot(); }
  restore(snapshot: Map<string, tf.Tensor>): void { this.params.restore(snapshot); }
  dispose(): void { this.params.dispose(); }
}
