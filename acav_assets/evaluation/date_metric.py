"""DATE caption metric (MECAT-Caption), written from the MECAT paper's definition.

DATE for one evaluation group of N clips:

* sentence embeddings come from a BERT-style sentence-transformers model fed with TF-IDF
  weighted static input embeddings (soft document frequency over the corpus being scored);
* ``M[i, j] = mean_k cos(pred_i, ref_{j,k}) * penalty_i``; similarity ``S_sim,i = M[i, i]``;
* discrimination ``S_dis,i = 1 - (#{M[i,j] > M[i,i] + δ/2} + #{|M[i,j] - M[i,i]| <= δ/2}) / N``;
* ``DATE_i`` is the harmonic mean of the two; the group score is the mean over clips.

Edge cases (documented behaviour):

* an empty prediction string is encoded as-is (``[CLS] [SEP]`` only, weights 1), so it gets a
  defined, usually low, similarity; a prediction given as a list of strings uses the last one
  (an empty list counts as ``""``);
* a group of one clip has ``S_dis = 0`` (the clip ties with itself), hence ``DATE = 0``;
* where ``S_sim + S_dis == 0`` the harmonic mean is 0.

No Dagster imports: this is functional core.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from acav_assets.contracts.domains import DOMAINS

CLS_ID, SEP_ID, PAD_ID = 101, 102, 0
DEFAULT_MODEL_ID = "sentence-transformers/paraphrase-TinyBERT-L6-v2"
ROW_BLOCK = 1024

DELTA_BY_FACET: dict[str, float] = {
    "long": 0.1703, "short": 0.1772, "speech": 0.2078, "music": 0.1566,
    "sound": 0.1988, "environment": 0.2150,
}
DEFAULT_DELTA = 0.2

ALL_DOMAINS = DOMAINS
MIXED_DOMAINS = ("SMA", "SM0", "S0A", "0MA")


@dataclass(frozen=True)
class EvalGroup:
    """One MECAT-Caption evaluation group: which subsets (domains) and which caption facet."""

    name: str
    domains: tuple[str, ...]
    facet: str


GROUPS: dict[str, EvalGroup] = {g.name: g for g in (
    EvalGroup("content_long", ALL_DOMAINS, "long"),
    EvalGroup("content_short", ALL_DOMAINS, "short"),
    EvalGroup("pure_speech", ("S00",), "speech"),
    EvalGroup("pure_music", ("0M0",), "music"),
    EvalGroup("pure_sound", ("00A",), "sound"),
    EvalGroup("mixed_speech", MIXED_DOMAINS, "speech"),
    EvalGroup("mixed_music", MIXED_DOMAINS, "music"),
    EvalGroup("mixed_sound", MIXED_DOMAINS, "sound"),
    EvalGroup("environment", ALL_DOMAINS, "environment"),
)}


def delta_for_facet(facet: str) -> float:
    """Tolerance δ used for a facet (0.2 for unknown facets)."""
    return DELTA_BY_FACET.get(facet, DEFAULT_DELTA)


# --------------------------------------------------------------------------------------------
# Encoder
# --------------------------------------------------------------------------------------------

class TextEncoder:
    """A sentence-transformers BERT-style model opened for ``inputs_embeds`` encoding.

    ``model`` is a local folder or a hub id (a hub id needs network or a filled cache).
    """

    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL_ID, batch_size: int = 64,
                 device: str = "cpu") -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        self.st = SentenceTransformer(str(model), device=device)
        self.st.eval()
        self.batch_size = int(batch_size)
        self.device = device
        self.transformer = self.st[0].auto_model
        self.tokenizer = self.st.tokenizer
        self.max_length = int(self.st.max_seq_length or 512)
        pooling = self.st[1] if len(self.st) > 1 else None
        mode = "mean"
        if pooling is not None and hasattr(pooling, "get_config_dict"):
            cfg = pooling.get_config_dict()
            if cfg.get("pooling_mode_cls_token"):
                mode = "cls"
            elif cfg.get("pooling_mode_max_tokens"):
                mode = "max"
        self.pooling = mode

    @property
    def word_embeddings(self) -> np.ndarray:
        """Static input embedding matrix (vocab × dim), float32."""
        weight = self.transformer.get_input_embeddings().weight
        return weight.detach().cpu().float().numpy()

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with ``[CLS]``/``[SEP]``, truncated to the model's max length."""
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length,
                             add_special_tokens=True)
        return [list(ids) for ids in enc["input_ids"]]

    def encode_embeds(self, token_ids: Sequence[Sequence[int]],
                      weights: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """L2-normalised sentence embeddings from (optionally weighted) input embeddings.

        Sentences are length-sorted and padded per batch; the attention mask hides padding so
        the result does not depend on batch size or order (up to float rounding).
        """
        torch = self._torch
        n = len(token_ids)
        table = self.transformer.get_input_embeddings().weight
        dim = table.shape[1]
        out = np.zeros((n, dim), dtype=np.float32)
        order = sorted(range(n), key=lambda i: len(token_ids[i]))
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                idx = order[start:start + self.batch_size]
                width = max(len(token_ids[i]) for i in idx)
                ids = torch.full((len(idx), width), PAD_ID, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                scale = torch.zeros((len(idx), width), dtype=table.dtype)
                for row, i in enumerate(idx):
                    length = len(token_ids[i])
                    ids[row, :length] = torch.as_tensor(list(token_ids[i]), dtype=torch.long)
                    mask[row, :length] = 1
                    w = np.ones(length, np.float32) if weights is None else weights[i]
                    scale[row, :length] = torch.as_tensor(np.asarray(w, dtype=np.float32))
                ids, mask, scale = ids.to(self.device), mask.to(self.device), scale.to(self.device)
                embeds = table[ids] * scale.unsqueeze(-1)
                hidden = self.transformer(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
                m = mask.unsqueeze(-1).to(hidden.dtype)
                if self.pooling == "cls":
                    pooled = hidden[:, 0]
                elif self.pooling == "max":
                    pooled = hidden.masked_fill(m == 0, float("-inf")).max(dim=1).values
                else:
                    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
                out[idx] = pooled.cpu().numpy()
        return out


def packaged_encoder(batch_size: int = 64) -> TextEncoder:
    """Offline encoder on the packaged all-MiniLM-L6-v2 (stand-in for TinyBERT without a hub)."""
    from acav_assets.curation.filters import packaged_model_dir

    return TextEncoder(Path(packaged_model_dir()), batch_size=batch_size)


# --------------------------------------------------------------------------------------------
# TF-IDF weights
# --------------------------------------------------------------------------------------------

def tfidf_weights(token_id_lists: Sequence[Sequence[int]], word_embeddings: np.ndarray,
                  sentence_block: int = 2048) -> list[np.ndarray]:
    """Per-token weights (soft-df TF-IDF, mean-normalised, CLS=max, SEP=min) for a corpus.

    ``df(w) = Σ_s clamp(Σ_{t∈s} cos(w,t)², 0, 1)``, ``idf = ln((S+1)/(df+1)) + 1``,
    ``tf_i = Σ_{j∈s} cos(w_i,w_j)²`` (CLS/SEP/pad excluded from t, j and i).
    Vectorised: a cos² matrix over the corpus's unique tokens and a sparse sentence×token count
    matrix, processed in sentence blocks.
    """
    n_sent = len(token_id_lists)
    content = [np.asarray([t for t in ids if t not in (CLS_ID, SEP_ID, PAD_ID)], dtype=np.int64)
               for ids in token_id_lists]
    lengths = np.array([len(c) for c in content], dtype=np.int64)
    flat = np.concatenate(content) if n_sent and lengths.sum() else np.zeros(0, np.int64)
    uniq, inverse = np.unique(flat, return_inverse=True)
    tf_flat = np.zeros(len(flat), dtype=np.float64)
    idf_u = np.ones(len(uniq), dtype=np.float64)
    if len(uniq):
        vecs = word_embeddings[uniq].astype(np.float32)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        cos2 = vecs @ vecs.T
        np.square(cos2, out=cos2)
        rows = np.repeat(np.arange(n_sent), lengths)
        counts = sp.csr_matrix((np.ones(len(flat), np.float32), (rows, inverse)),
                               shape=(n_sent, len(uniq)))
        counts.sum_duplicates()
        df = np.zeros(len(uniq), dtype=np.float64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        for start in range(0, n_sent, sentence_block):
            stop = min(start + sentence_block, n_sent)
            block = np.asarray(counts[start:stop] @ cos2)  # Σ_{t∈s} cos(w,t)² for every w
            df += np.clip(block, 0.0, 1.0).sum(axis=0)
            lo, hi = offsets[start], offsets[stop]
            local_rows = rows[lo:hi] - start
            tf_flat[lo:hi] = block[local_rows, inverse[lo:hi]]
        idf_u = np.log((n_sent + 1) / (df + 1)) + 1.0
    raw = tf_flat * idf_u[inverse] if len(flat) else tf_flat
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    result: list[np.ndarray] = []
    for s, ids in enumerate(token_id_lists):
        w_content = raw[offsets[s]:offsets[s + 1]]
        if len(w_content):
            mean = w_content.mean()
            w_content = w_content / mean if mean > 0 else np.ones_like(w_content)
            hi_w, lo_w = w_content.max(), w_content.min()
        else:
            hi_w = lo_w = 1.0
        weights = np.ones(len(ids), dtype=np.float32)
        k = 0
        for pos, t in enumerate(ids):
            if t == CLS_ID:
                weights[pos] = hi_w
            elif t == SEP_ID:
                weights[pos] = lo_w
            elif t != PAD_ID:
                weights[pos] = w_content[k]
                k += 1
        result.append(weights)
    return result


def embed_corpus(texts: Sequence[str], encoder: TextEncoder, weighted: bool = True) -> np.ndarray:
    """Sentence embeddings (N × dim, L2-normalised) of one corpus; TF-IDF weighted by default."""
    ids = encoder.tokenize(texts)
    weights = tfidf_weights(ids, encoder.word_embeddings) if weighted else None
    return encoder.encode_embeds(ids, weights)


# --------------------------------------------------------------------------------------------
# Group score
# --------------------------------------------------------------------------------------------

def _last(pred: str | Sequence[str]) -> str:
    if isinstance(pred, str):
        return pred
    items = list(pred)
    return str(items[-1]) if items else ""


def _harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    denom = a + b
    safe = np.where(denom == 0, 1.0, denom)
    return np.where(denom == 0, 0.0, 2.0 * a * b / safe)


def blocked_similarity(pred_emb: np.ndarray, ref_mean: np.ndarray, penalty: np.ndarray,
                       delta: float, row_block: int = ROW_BLOCK,
                       count: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal of ``M = (pred_emb @ ref_mean.T) * penalty[:, None]`` and, per row, the
    discrimination count ``#{j: M[i,j] - M[i,i] > δ/2} + #{j: |M[i,j] - M[i,i]| <= δ/2}``.

    ``M`` is built ``row_block`` rows at a time, so memory is O(row_block · N), not O(N²).
    """
    n = pred_emb.shape[0]
    half = delta / 2.0
    sim = np.zeros(n, dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    for start in range(0, n, row_block):
        stop = min(start + row_block, n)
        block = (pred_emb[start:stop] @ ref_mean.T) * penalty[start:stop, None]
        diag = block[np.arange(stop - start), np.arange(start, stop)]
        sim[start:stop] = diag
        if count:
            diff = block - diag[:, None]
            counts[start:stop] = ((diff > half) | (np.abs(diff) <= half)).sum(axis=1)
    return sim, counts


def date_group_score(predictions: Sequence[str | Sequence[str]], references: Sequence[Sequence[str]],
                     facet: str, encoder: TextEncoder, penalty: np.ndarray | None = None,
                     fense_mode: bool = False, row_block: int = ROW_BLOCK) -> dict:
    """DATE of one evaluation group; score the whole group in one call.

    ``penalty`` is a per-clip multiplier (1, or 0.1 for disfluent predictions). Returns per-clip
    arrays ``similarity``, ``discrimination``, ``date`` and their means (``*_mean``), plus
    ``delta`` and ``n``. In ``fense_mode`` embeddings are unweighted, there is no
    discrimination (NaN) and ``date`` equals the similarity.
    """
    n = len(predictions)
    if len(references) != n:
        raise ValueError(f"{n} predictions but {len(references)} reference lists")
    if n == 0:
        raise ValueError("empty group")
    preds = [_last(p) for p in predictions]
    ref_counts = np.array([len(r) for r in references], dtype=np.int64)
    if (ref_counts == 0).any():
        raise ValueError("every clip needs at least one reference")
    flat_refs = [str(r) for refs in references for r in refs]
    weighted = not fense_mode
    pred_emb = embed_corpus(preds, encoder, weighted=weighted).astype(np.float32)
    ref_emb = embed_corpus(flat_refs, encoder, weighted=weighted).astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(ref_counts)[:-1]])
    ref_mean = (np.add.reduceat(ref_emb, starts, axis=0) / ref_counts[:, None]).astype(np.float32)
    pen = np.ones(n, np.float32) if penalty is None else np.asarray(penalty, np.float32).reshape(n)
    delta = delta_for_facet(facet)
    sim, above = blocked_similarity(pred_emb, ref_mean, pen, delta, row_block=row_block,
                                    count=not fense_mode)
    if fense_mode:
        dis = np.full(n, np.nan)
        date = sim.copy()
    else:
        dis = 1.0 - above / n
        date = _harmonic(sim, dis)
    return {
        "n": n, "facet": facet, "delta": delta, "similarity": sim, "discrimination": dis,
        "date": date, "similarity_mean": float(sim.mean()),
        "discrimination_mean": float(np.nanmean(dis)) if not fense_mode else math.nan,
        "date_mean": float(date.mean()),
    }


def caption_score(groups: dict[str, float]) -> float:
    """Final MECAT caption score (0..1 scale; report ×100) from the nine group scores."""
    speech = (groups["pure_speech"] + groups["mixed_speech"]) / 2
    music = (groups["pure_music"] + groups["mixed_music"]) / 2
    sound = (groups["pure_sound"] + groups["mixed_sound"]) / 2
    return (0.4 * (0.8 * groups["content_long"] + 0.2 * groups["content_short"])
            + 0.4 * (0.6 * speech + 0.3 * music + 0.1 * sound)
            + 0.2 * groups["environment"])
