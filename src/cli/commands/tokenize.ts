// PLACEHOLDER: replaced by the module that implements `bert-lab tokenize`.
export const summary = 'Tokenize JSONL {"text"} from stdin to JSONL {"input_ids"}';
export async function main(_argv: string[]): Promise<number> {
  console.error('bert-lab tokenize: not implemented yet');
  return 2;
}
