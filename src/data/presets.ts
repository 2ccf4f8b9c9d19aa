// Keras-Hub preset names (as the homework notebook writes them) -> Hugging Face Hub ids of the same
// weights. The one copy of this map: no imports, so the extension bundle can use it without the Hub client.

export const KERAS_HUB_PRESETS: Readonly<Record<string, string>> = {
  distil_bert_base_en_uncased: 'distilbert-base-uncased',
  distil_bert_base_en: 'distilbert-base-cased',
  distil_bert_base_multi: 'distilbert-base-multilingual-cased',
  bert_base_en_uncased: 'bert-base-uncased',
  bert_base_en: 'bert-base-cased',
  bert_large_en_uncased: 'bert-large-uncased',
  bert_large_en: 'bert-large-cased',
  bert_base_multi: 'bert-base-multilingual-cased',
  bert_tiny_en_uncased: 'google/bert_uncased_L-2_H-128_A-2',
  bert_small_en_uncased: 'google/bert_uncased_L-4_H-512_A-8',
  bert_medium_en_uncased: 'google/bert_uncased_L-8_H-512_A-8',
};

/** Maps a Keras-Hub preset name to its Hugging Face model id; other names pass through unchanged. */
export function toHubModelId(name: string): string {
  return Object.hasOwn(KERAS_HUB_PRESETS, name) ? KERAS_HUB_PRESETS[name] : name;
}
