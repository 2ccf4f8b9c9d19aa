"""BERT Lab's PyTorch compute process: BERT/DistilBERT sequence classifiers in plain torch.nn.

The TypeScript worker defines the experiment (data, splits, tokenization, shuffle order, Keras loop);
this package does the arithmetic. It needs only Python >= 3.9 and PyTorch >= 1.13.
"""
__version__ = "0.1.0"
