"""BERT and DistilBERT sequence classifiers in plain torch.nn, with Hugging Face parameter names
(state_dict keys equal transformers' v4.40 names, so its from_pretrained loads what we save).

Numerics follow transformers' eager attention: DistilBERT scales q before q.k^T and masked_fill's
masked scores with finfo.min; BERT scales the scores and adds (1 - mask) * finfo.min; GELU is the
exact erf form. Where torch has scaled_dot_product_attention (2.0+) it is used instead (fused; same
function up to float rounding).

Only the [CLS] position of the last layer reaches the classifier (DistilBERT's pre_classifier, BERT's
pooler), so the last layer computes queries, attention output and feed-forward for that one position
(keys and values for all): the same logits and gradients, about (T-1)/T of that layer's other work saved."""
import math
from dataclasses import dataclass, field
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


@dataclass
class ModelConfig:
    """Mirror of src/engine/config.ts ModelConfig (the TypeScript side sends it already normalised)."""
    model_type: str = "distilbert"  # "bert" | "distilbert"
    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 6
    num_heads: int = 12
    intermediate_size: int = 3072
    max_positions: int = 512
    type_vocab_size: int = 0  # BERT only
    num_labels: int = 2
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    classifier_dropout: float = 0.2
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    pad_token_id: int = 0
    id2label: List[str] = field(default_factory=list)

    @staticmethod
    def from_ts(d):
        """From the TypeScript ModelConfig's JSON (camelCase)."""
        return ModelConfig(
            model_type=d["modelType"], vocab_size=d["vocabSize"], hidden_size=d["hiddenSize"], num_layers=d["numLayers"],
            num_heads=d["numHeads"], intermediate_size=d["intermediateSize"], max_positions=d["maxPositions"],
            type_vocab_size=d.get("typeVocabSize", 0), num_labels=d["numLabels"], hidden_dropout=d["hiddenDropout"],
            attention_dropout=d["attentionDropout"], classifier_dropout=d["classifierDropout"],
            layer_norm_eps=d["layerNormEps"], initializer_range=d["initializerRange"], pad_token_id=d["padTokenId"],
            id2label=list(d.get("id2label") or []))

    @staticmethod
    def from_hf(r, num_labels=None):
        """From a Hugging Face config.json object (for tests and standalone scripts; the worker sends
        the TypeScript side's parse of it instead)."""
        n = num_labels or r.get("num_labels") or len(r.get("id2label") or {}) or 2
        if r.get("model_type") == "bert":
            hd = r.get("hidden_dropout_prob", 0.1)
            cd = r.get("classifier_dropout")
            return ModelConfig("bert", r.get("vocab_size", 30522), r.get("hidden_size", 768), r.get("num_hidden_layers", 12),
                               r.get("num_attention_heads", 12), r.get("intermediate_size", 3072), r.get("max_position_embeddings", 512),
                               r.get("type_vocab_size", 2), n, hd, r.get("attention_probs_dropout_prob", 0.1), hd if cd is None else cd,
                               r.get("layer_norm_eps", 1e-12), r.get("initializer_range", 0.02), r.get("pad_token_id", 0) or 0)
        return ModelConfig("distilbert", r.get("vocab_size", 30522), r.get("dim", 768), r.get("n_layers", 6), r.get("n_heads", 12),
                           r.get("hidden_dim", 3072), r.get("max_position_embeddings", 512), 0, n, r.get("dropout", 0.1),
                           r.get("attention_dropout", 0.1), r.get("seq_classif_dropout", 0.2), 1e-12, r.get("initializer_range", 0.02),
                           r.get("pad_token_id", 0) or 0)


def attention(q, k, v, keep, dropout_p, training, scale_q_first):
    """q, k, v: [B, heads, T, d]; keep: bool [B, T] (True = real token), or None when nothing is padded.
    Returns [B, heads, T, d]."""
    d = q.shape[-1]
    if HAS_SDPA:
        mask = None if keep is None else keep[:, None, None, :]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p if training else 0.0)
    # In place where autograd allows it (matmul's backward does not need its output): at T = 512 each
    # copy of the scores is 100 MB per layer for a batch of 8.
    if scale_q_first:  # DistilBERT: q / sqrt(d), then scores, then masked_fill
        scores = torch.matmul(q / math.sqrt(d), k.transpose(-1, -2))
        if keep is not None:
            scores.masked_fill_(~keep[:, None, None, :], torch.finfo(scores.dtype).min)
    else:  # BERT: scores / sqrt(d) + (1 - mask) * finfo.min
        scores = torch.matmul(q, k.transpose(-1, -2)).div_(math.sqrt(d))
        if keep is not None:
            scores.add_((~keep[:, None, None, :]).to(scores.dtype) * torch.finfo(scores.dtype).min)
    probs = F.dropout(torch.softmax(scores, dim=-1), dropout_p, training)
    return torch.matmul(probs, v)


def keep_mask(mask):
    """bool [B, T] of real tokens, or None when the batch has no padding (cheaper attention)."""
    if mask is None:
        return None
    keep = mask.bool()
    return None if (keep.device.type == "cpu" and bool(keep.all())) else keep


def split_heads(x, heads):
    b, t, h = x.shape
    return x.view(b, t, heads, h // heads).transpose(1, 2)


def merge_heads(x):
    b, heads, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, heads * d)


# ---------------------------------------------------------------------------------------------
# DistilBERT


class DistilEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_positions, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=1e-12)
        self.dropout = nn.Dropout(c.hidden_dropout)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        return self.dropout(self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos)[None]))


class DistilAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.p = c.num_heads, c.attention_dropout
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(c.hidden_size, c.hidden_size) for _ in range(4))

    def forward(self, x, keep, q_in=None):
        q = split_heads(self.q_lin(x if q_in is None else q_in), self.heads)
        k, v = (split_heads(lin(x), self.heads) for lin in (self.k_lin, self.v_lin))
        return self.out_lin(merge_heads(attention(q, k, v, keep, self.p, self.training, True)))


class DistilFFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lin1 = nn.Linear(c.hidden_size, c.intermediate_size)
        self.lin2 = nn.Linear(c.intermediate_size, c.hidden_size)
        self.dropout = nn.Dropout(c.hidden_dropout)

    def forward(self, x):
        return self.dropout(self.lin2(F.gelu(self.lin1(x))))


class DistilLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = DistilAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c.hidden_size, eps=1e-12)
        self.ffn = DistilFFN(c)
        self.output_layer_norm = nn.LayerNorm(c.hidden_size, eps=1e-12)

    def forward(self, x, keep, cls_only=False):
        q_in = x[:, :1] if cls_only else x
        x = self.sa_layer_norm(self.attention(x, keep, q_in) + q_in)
        return self.output_layer_norm(self.ffn(x) + x)


class DistilTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(DistilLayer(c) for _ in range(c.num_layers))


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = DistilEmbeddings(c)
        self.transformer = DistilTransformer(c)

    def forward(self, ids, keep):
        x = self.embeddings(ids)
        last = len(self.transformer.layer) - 1
        for i, layer in enumerate(self.transformer.layer):
            x = layer(x, keep, cls_only=i == last)  # [B, T, H]; after the last layer [B, 1, H]
        return x


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.distilbert = DistilBertModel(c)
        self.pre_classifier = nn.Linear(c.hidden_size, c.hidden_size)
        self.classifier = nn.Linear(c.hidden_size, c.num_labels)
        self.dropout = nn.Dropout(c.classifier_dropout)

    def forward(self, ids, mask, token_type_ids=None):
        h = self.distilbert(ids, keep_mask(mask))[:, 0]
        return self.classifier(self.dropout(F.relu(self.pre_classifier(h))))


# ---------------------------------------------------------------------------------------------
# BERT


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_positions, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout)

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(pos)[None]
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.p = c.num_heads, c.attention_dropout
        self.query, self.key, self.value = (nn.Linear(c.hidden_size, c.hidden_size) for _ in range(3))

    def forward(self, x, keep, q_in=None):
        q = split_heads(self.query(x if q_in is None else q_in), self.heads)
        k, v = (split_heads(lin(x), self.heads) for lin in (self.key, self.value))
        return merge_heads(attention(q, k, v, keep, self.p, self.training, False))


class BertSelfOutput(nn.Module):
    def __init__(self, c, inner):
        super().__init__()
        self.dense = nn.Linear(inner, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout)

    def forward(self, h, x):
        return self.LayerNorm(self.dropout(self.dense(h)) + x)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c, c.hidden_size)

    def forward(self, x, keep, cls_only=False):
        q_in = x[:, :1] if cls_only else x
        return self.output(self.self(x, keep, q_in), q_in)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, x):
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertSelfOutput(c, c.intermediate_size)

    def forward(self, x, keep, cls_only=False):
        a = self.attention(x, keep, cls_only)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(c) for _ in range(c.num_layers))


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)

    def forward(self, ids, keep, types):
        x = self.embeddings(ids, types)
        last = len(self.encoder.layer) - 1
        for i, layer in enumerate(self.encoder.layer):
            x = layer(x, keep, cls_only=i == last)  # [B, T, H]; after the last layer [B, 1, H]
        return self.pooler(x)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c.classifier_dropout)
        self.classifier = nn.Linear(c.hidden_size, c.num_labels)

    def forward(self, ids, mask, token_type_ids=None):
        types = token_type_ids if token_type_ids is not None else torch.zeros_like(ids)
        return self.classifier(self.dropout(self.bert(ids, keep_mask(mask), types)))


def build_model(c: ModelConfig) -> nn.Module:
    if c.model_type == "bert":
        return BertForSequenceClassification(c)
    if c.model_type == "distilbert":
        return DistilBertForSequenceClassification(c)
    raise ValueError(f"model_type {c.model_type!r} is not supported (only 'bert' and 'distilbert')")


def init_random_(model: nn.Module, std: float) -> nn.Module:
    """transformers' _init_weights: Linear/Embedding weights N(0, std), biases 0, LayerNorm 1/0, pad row 0."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.normal_(0.0, std)
                if isinstance(m, nn.Linear):
                    m.bias.zero_()
                elif m.padding_idx is not None:
                    m.weight[m.padding_idx].zero_()
            elif isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()
    return model


def load_weights_(model: nn.Module, tensors, where: str) -> None:
    """Copies checkpoint tensors (exact Hugging Face names; the TypeScript side already mapped and
    completed them) into the model. Every parameter must be present with its shape."""
    params = dict(model.named_parameters())
    missing = [n for n in params if n not in tensors]
    if missing:
        raise ValueError(f"{where}: parameters missing: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    with torch.no_grad():
        for n, p in params.items():
            t = tensors[n]
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError(f"{where}: tensor \"{n}\" has shape {list(t.shape)}, the model needs {list(p.shape)}")
            p.copy_(t.to(p.dtype))


def has_zero_gradient(name: str) -> bool:
    """Attention key biases: softmax ignores a per-query constant, so their true gradient is 0."""
    return name.endswith(".attention.k_lin.bias") or name.endswith(".attention.self.key.bias")
