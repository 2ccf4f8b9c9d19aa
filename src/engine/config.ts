// Model configuration read from a Hugging Face `config.json` (model_type "bert" or "distilbert").
// Field meanings follow transformers' BertConfig / DistilBertConfig (v4.40).
import { readFileSync } from 'node:fs';

export type ModelType = 'bert' | 'distilbert';

/** One normalised configuration for both architectures (DistilBERT names mapped to BERT's). */
export interface ModelConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  /** BERT only (DistilBERT has no token-type embeddings): 0 for DistilBERT. */
  typeVocabSize: number;
  numLabels: number;
  /** Dropout after embeddings, attention output and feed-forward output (BERT hidden_dropout_prob, DistilBERT dropout). */
  hiddenDropout: number;
  /** Dropout on attention probabilities. */
  attentionDropout: number;
  /** Dropout before the classifier (BERT classifier_dropout ?? hidden_dropout_prob; DistilBERT seq_classif_dropout). */
  classifierDropout: number;
  /** LayerNorm epsilon (DistilBERT hard-codes 1e-12). */
  layerNormEps: number;
  initializerRange: number;
  padTokenId: number;
  /** Label names by index (from id2label, else LABEL_i). */
  id2label: string[];
  /** The raw config.json object, kept so that saving writes back every field we do not interpret. */
  raw: Record<string, unknown>;
}

const GELU_NAMES = new Set(['gelu', 'gelu_python']);

function num(raw: Record<string, unknown>, key: string, where: string, fallback?: number): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${where}: missing "${key}"`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function int(raw: Record<string, unknown>, key: string, where: string, fallback?: number, min = 1): number {
  const v = num(raw, key, where, fallback);
  if (!Number.isInteger(v) || v < min) throw new Error(`${where}: "${key}" must be an integer >= ${min}, got ${v}`);
  return v;
}

function prob(raw: Record<string, unknown>, key: string, where: string, fallback: number): number {
  const v = num(raw, key, where, fallback);
  if (v < 0 || v >= 1) throw new Error(`${where}: "${key}" must be in [0, 1), got ${v}`);
  return v;
}

/** Parses a config.json object. `where` names the file in error messages. `numLabels` overrides the file's. */
export function parseConfig(raw: unknown, where = 'config.json', numLabels?: number): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: not a JSON object`);
  const r = raw as Record<string, unknown>;
  const modelType = r.model_type;
  if (modelType !== 'bert' && modelType !== 'distilbert') {
    throw new Error(`${where}: model_type ${JSON.stringify(modelType)} is not supported (only "bert" and "distilbert")`);
  }

  // Labels: an explicit override, else num_labels, else the size of id2label, else transformers' default 2.
  let id2label: string[] | undefined;
  if (r.id2label !== undefined && r.id2label !== null) {
    if (typeof r.id2label !== 'object' || Array.isArray(r.id2label)) throw new Error(`${where}: "id2label" must be an object`);
    const entries = Object.entries(r.id2label as Record<string, unknown>);
    id2label = [];
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length) throw new Error(`${where}: id2label key "${k}" is not an index 0..${entries.length - 1}`);
      id2label[i] = String(v);
    }
  }
  let labels = numLabels ?? (r.num_labels !== undefined ? int(r, 'num_labels', where) : id2label?.length ?? 2);
  if (!Number.isInteger(labels) || labels < 2) throw new Error(`${where}: num_labels must be an integer >= 2, got ${labels}`);
  if (!id2label || id2label.length !== labels) id2label = Array.from({ length: labels }, (_, i) => `LABEL_${i}`);

  let c: Omit<ModelConfig, 'numLabels' | 'id2label' | 'raw' | 'modelType'>;
  if (modelType === 'bert') {
    const act = r.hidden_act ?? 'gelu';
    if (typeof act !== 'string' || !GELU_NAMES.has(act)) throw new Error(`${where}: hidden_act ${JSON.stringify(act)} is not supported (only exact-erf "gelu")`);
    const pos = r.position_embedding_type ?? 'absolute';
    if (pos !== 'absolute') throw new Error(`${where}: position_embedding_type ${JSON.stringify(pos)} is not supported (only "absolute")`);
    const hiddenDropout = prob(r, 'hidden_dropout_prob', where, 0.1);
    c = {
      vocabSize: int(r, 'vocab_size', where, 30522),
      hiddenSize: int(r, 'hidden_size', where, 768),
      numLayers: int(r, 'num_hidden_layers', where, 12),
      numHeads: int(r, 'num_attention_heads', where, 12),
      intermediateSize: int(r, 'intermediate_size', where, 3072),
      maxPositions: int(r, 'max_position_embeddings', where, 512),
      typeVocabSize: int(r, 'type_vocab_size', where, 2),
      hiddenDropout,
      attentionDropout: prob(r, 'attention_probs_dropout_prob', where, 0.1),
      classifierDropout: prob(r, 'classifier_dropout', where, hiddenDropout),
      layerNormEps: num(r, 'layer_norm_eps', where, 1e-12),
      initializerRange: num(r, 'initializer_range', where, 0.02),
      padTokenId: int(r, 'pad_token_id', where, 0, 0),
    };
  } else {
    const act = r.activation ?? 'gelu';
    if (typeof act !== 'string' || !GELU_NAMES.has(act)) throw new Error(`${where}: activation ${JSON.stringify(act)} is not supported (only exact-erf "gelu")`);
    if (r.sinusoidal_pos_embds === true) throw new Error(`${where}: sinusoidal_pos_embds=true is not supported`);
    c = {
      vocabSize: int(r, 'vocab_size', where, 30522),
      hiddenSize: int(r, 'dim', where, 768),
      numLayers: int(r, 'n_layers', where, 6),
      numHeads: int(r, 'n_heads', where, 12),
      intermediateSize: int(r, 'hidden_dim', where, 3072),
      maxPositions: int(r, 'max_position_embeddings', where, 512),
      typeVocabSize: 0,
      hiddenDropout: prob(r, 'dropout', where, 0.1),
      attentionDropout: prob(r, 'attention_dropout', where, 0.1),
      classifierDropout: prob(r, 'seq_classif_dropout', where, 0.2),
      layerNormEps: 1e-12, // DistilBERT's modeling code hard-codes eps=1e-12.
      initializerRange: num(r, 'initializer_range', where, 0.02),
      padTokenId: int(r, 'pad_token_id', where, 0, 0),
    };
  }
  if (c.hiddenSize % c.numHeads !== 0) throw new Error(`${where}: hidden size ${c.hiddenSize} is not a multiple of the number of heads ${c.numHeads}`);
  if (c.padTokenId >= c.vocabSize) throw new Error(`${where}: pad_token_id ${c.padTokenId} is outside the vocabulary (${c.vocabSize})`);
  return { modelType, ...c, numLabels: labels, id2label, raw: { ...r } };
}

/** Reads and parses `<file>` (a config.json). */
export function readConfig(file: string, numLabels?: number): ModelConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, file, numLabels);
}

/** A config.json object for a sequence classifier, as transformers' save_pretrained writes it. */
export function toConfigJson(c: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c.raw };
  // Keys of the other architecture or of a previous head must not leak in.
  delete out.num_labels;
  delete out.problem_type;
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  c.id2label.forEach((name, i) => { id2label[String(i)] = name; label2id[name] = i; });
  out.id2label = id2label;
  out.label2id = label2id;
  out.model_type = c.modelType;
  out.initializer_range = c.initializerRange;
  out.pad_token_id = c.padTokenId;
  out.vocab_size = c.vocabSize;
  out.max_position_embeddings = c.maxPositions;
  if (c.modelType === 'bert') {
    out.architectures = ['BertForSequenceClassification'];
    out.hidden_size = c.hiddenSize;
    out.num_hidden_layers = c.numLayers;
    out.num_attention_heads = c.numHeads;
    out.intermediate_size = c.intermediateSize;
    out.type_vocab_size = c.typeVocabSize;
    out.hidden_act = 'gelu';
    out.hidden_dropout_prob = c.hiddenDropout;
    out.attention_probs_dropout_prob = c.attentionDropout;
    out.classifier_dropout = c.classifierDropout === c.hiddenDropout && (c.raw.classifier_dropout ?? null) === null ? null : c.classifierDropout;
    out.layer_norm_eps = c.layerNormEps;
    out.position_embedding_type = 'absolute';
  } else {
    out.architectures = ['DistilBertForSequenceClassification'];
    out.dim = c.hiddenSize;
    out.n_layers = c.numLayers;
    out.n_heads = c.numHeads;
    out.hidden_dim = c.intermediateSize;
    out.activation = 'gelu';
    out.dropout = c.hiddenDropout;
    out.attention_dropout = c.attentionDropout;
    out.seq_classif_dropout = c.classifierDropout;
    out.sinusoidal_pos_embds = false;
  }
  out.torch_dtype = 'float32';
  return out;
}

/** A small config for tests and benchmarks (random weights). */
export function makeConfig(modelType: ModelType, o: Partial<Omit<ModelConfig, 'modelType' | 'raw'>> = {}): ModelConfig {
  const numLabels = o.numLabels ?? 2;
  return {
    modelType,
    vocabSize: 1000, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64, maxPositions: 64,
    typeVocabSize: modelType === 'bert' ? 2 : 0,
    hiddenDropout: 0, attentionDropout: 0, classifierDropout: 0,
    layerNormEps: 1e-12, initializerRange: 0.02, padTokenId: 0,
    ...o,
    numLabels,
    id2label: o.id2label ?? Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`),
    raw: { model_type: modelType },
  };
}
