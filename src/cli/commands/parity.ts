// PLACEHOLDER: replaced by the module that implements `bert-lab parity`.
export const summary = 'Check the engine against a reference fixture (logits, loss, gradients)';
export async function main(_argv: string[]): Promise<number> {
  console.error('bert-lab parity: not implemented yet');
  return 2;
}
