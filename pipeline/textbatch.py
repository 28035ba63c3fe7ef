"""Many texts at once: the classifier's hashed features, the language and the search terms of a
batch, from one whitespace split of each text and a cache of the pieces it gives.

The per-text functions stay the definitions: textnorm.normalize_text then classify.analyze_stems
hashed by the model's HashingVectorizer (features), classify._language (language) and
search.doc_terms (search terms). This module gives exactly what they give, faster: apart from the
cases below, none of their steps crosses whitespace, so a text's result is made of the results of
its pieces (its runs of non-whitespace characters), and each distinct piece is worked out once per
process. Residents' words are Zipfian: a batch of 50,000 letters holds few pieces not seen before,
and the per-text work left is a split and a hash look-up per piece (in Arrow, without a Python
object per piece) and array arithmetic over the batch.

What does cross whitespace is detected and done per text, by the definitions themselves: HTML
entities, tags, links, e-mails and phone numbers, and abbreviations (pipeline.textnorm), a
normalised text longer than classify.FEATURE_CHARS (cut at a space), texts longer than the
shortest prefix any step reads (search.MAX_CHARS) and values that are not strings.
tests/test_textbatch.py compares the two on the corpus and on texts made to break it.
"""
from __future__ import annotations

import threading
from itertools import chain, repeat

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from pipeline import classify, search, textnorm

# Every prefix a step reads is at least this long: a text within it is read whole by all of them.
WHOLE_CHARS = min(classify.RAW_CHARS, classify.LANGUAGE_CHARS, search.MAX_CHARS)
SPLIT_CHUNK = 10_000  # texts split at a time
FEATURE_ROWS = 4096  # texts whose features are made at once: little memory, and their sort keys fit 32 bits
PIECES_LIMIT = 200_000  # distinct pieces cached before the cache starts over (~200 MB if all are new words)
STEM_BITS = 21  # a stem bigram's key is its two stem ids in 42 bits, so it sorts with its position

# flags of a piece
_KK_SIGN, _LATIN_I, _KK_WORD, _CROSSES, _PHONE, _ABBREVIATION, _PHONE_OPEN, _PHONE_CLOSE = 1, 2, 4, 8, 16, 32, 64, 128


class _Grow:
    """An append-only numpy array (amortised doubling)."""

    def __init__(self, dtype, width: int | None = None):
        self.shape = () if width is None else (width,)
        self.a = np.zeros((1024, *self.shape), dtype=dtype)
        self.n = 0

    def extend(self, values) -> int:
        values = np.asarray(values, dtype=self.a.dtype).reshape(-1, *self.shape)
        start, end = self.n, self.n + len(values)
        if end > len(self.a):
            bigger = np.zeros((max(2 * len(self.a), end), *self.shape), dtype=self.a.dtype)
            bigger[:start] = self.a[:start]
            self.a = bigger
        self.a[start:end] = values
        self.n = end
        return start

    @property
    def values(self) -> np.ndarray:
        return self.a[:self.n]


def _expand(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of the ranges [starts[i], starts[i] + lengths[i])."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(total)


def _csr(rows: np.ndarray, cols: np.ndarray, n: int, n_features: int) -> sp.csr_matrix:
    """The count matrix of (row, column) pairs in canonical form (sorted, summed), as FeatureHasher
    makes it: one sort of row-and-column keys instead of a sort per row."""
    bits = max(n_features - 1, 1).bit_length()
    width = max(n - 1, 1).bit_length() + bits
    if width > 63:
        X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n_features))
        X.sum_duplicates()
        return X
    kind = np.uint32 if width <= 32 else np.int64  # (FEATURE_ROWS rows of 2**20 columns: 32 bits)
    keys = np.sort(rows.astype(kind) << kind(bits) | cols.astype(kind))
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]])) if len(keys) else np.zeros(0, np.int64)
    counts = np.diff(np.append(starts, len(keys))).astype(np.float64)
    keys = keys[starts]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(keys >> kind(bits), minlength=n), out=indptr[1:])
    X = sp.csr_matrix((counts, (keys & kind((1 << bits) - 1)).astype(np.int32), indptr), shape=(n, n_features))
    X.has_canonical_format = True
    return X


class _Vocabulary:
    """Pieces and the words of their normalisation, with what each contributes."""

    def __init__(self, n_features: int):
        self.n_features = n_features
        self.pieces: dict[str, int] = {}      # a piece's id: its row in the arrays below
        self.piece_text: list[str] = []       # normalize_piece of each piece
        self.piece_list: list[str] = []       # the pieces in id order
        self._arrow = None                    # piece_array()
        self.lang = _Grow(np.int64, 4)        # classify.language_counts
        self.flags = _Grow(np.int64)
        self.norm = _Grow(np.int64, 2)        # words of normalize_piece, their characters
        self.word_at = _Grow(np.int64, 2)     # (start, length) in word_ids: its words of 2+ letters
        self.word_ids = _Grow(np.int64)
        self.terms_at = _Grow(np.int64, 4)    # (start, length) of plain then Kazakh terms in term_ids
        self.term_ids = _Grow(np.int64)
        self.words: dict[str, int] = {}
        self.columns = _Grow(np.int64, 3)     # hashed column of the word, ^stem and ~prefix
        self.stem_of = _Grow(np.int64)        # the word's stem id
        self.stems: dict[str, int] = {}
        self.stem_text: list[str] = []
        self.pair_keys = np.zeros(0, dtype=np.int64)  # sorted stem-pair keys and their columns
        self.pair_columns = np.zeros(0, dtype=np.int64)

    def hash(self, tokens: list[str]) -> np.ndarray:
        """Each token's column, as the model's HashingVectorizer computes it."""
        from sklearn.feature_extraction import FeatureHasher

        if not tokens:
            return np.zeros(0, dtype=np.int64)
        hasher = FeatureHasher(self.n_features, input_type="string", alternate_sign=False)
        return hasher.transform([[t] for t in tokens]).tocsr().indices.astype(np.int64)

    def word_id_list(self, words: list[str]) -> list[int]:
        """Ids of words (added when new)."""
        new = [w for w in dict.fromkeys(words) if w not in self.words]
        if new:
            stems = ["^" + s for s in classify._stemmer().stemWords(new)]
            cols = self.hash(new + stems + ["~" + classify._cut(w) for w in new]).reshape(3, -1).T
            stem_ids = []
            for s in stems:
                if s not in self.stems:
                    self.stems[s] = len(self.stem_text)
                    self.stem_text.append(s)
                stem_ids.append(self.stems[s])
            first = self.columns.extend(cols)
            self.stem_of.extend(stem_ids)
            for i, w in enumerate(new):
                self.words[w] = first + i
        return list(map(self.words.__getitem__, words))

    def add_pieces(self, pieces: list[str]) -> None:
        normalised = list(map(textnorm.normalize_piece, pieces))
        split = [n.split() for n in normalised]
        keyed = [[w for w in words if len(w) > 1] for words in split]
        lengths = np.fromiter(map(len, keyed), dtype=np.int64, count=len(keyed))
        first_word = self.word_ids.extend(self.word_id_list(list(chain.from_iterable(keyed))))
        terms = search.piece_terms(pieces)
        plain = np.fromiter((len(t[1]) for t in terms), dtype=np.int64, count=len(terms))
        kazakh = np.fromiter((len(t[2]) for t in terms), dtype=np.int64, count=len(terms))
        first_term = self.term_ids.extend(list(chain.from_iterable(t[1] + t[2] for t in terms)))
        term_starts = first_term + np.cumsum(plain + kazakh) - plain - kazakh
        flags = [signs | _CROSSES * textnorm.crosses_whitespace(piece)
                 | _ABBREVIATION * (not textnorm.ABBREVIATION_WORDS.isdisjoint(words))
                 | sum(bit * sign for bit, sign in zip((_PHONE, _PHONE_OPEN, _PHONE_CLOSE), textnorm.phone_signs(piece)))
                 for piece, (signs, _, _), words in zip(pieces, terms, split)]
        first = self.lang.extend([classify.language_counts(piece) for piece in pieces])
        self.flags.extend(flags)
        self.norm.extend([(len(words), sum(map(len, words))) for words in split])
        self.word_at.extend(np.column_stack([first_word + np.cumsum(lengths) - lengths, lengths]))
        self.terms_at.extend(np.column_stack([term_starts, plain, term_starts + plain, kazakh]))
        self.piece_text.extend(normalised)
        self.piece_list.extend(pieces)
        self.pieces.update(zip(pieces, range(first, first + len(pieces))))

    def piece_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(pieces per text, each piece's id), the new pieces added: str.split and a dict."""
        splits = [t.split() for t in texts]
        counts = np.fromiter(map(len, splits), dtype=np.int64, count=len(splits))
        flat = list(chain.from_iterable(splits))
        del splits
        found = np.fromiter(map(self.pieces.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
        missing = np.flatnonzero(found < 0).tolist()
        if missing:
            self.add_pieces(list(dict.fromkeys(flat[i] for i in missing)))
            found[missing] = [self.pieces[flat[i]] for i in missing]
        return counts, found

    def piece_ids_arrow(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """piece_ids without a Python object per piece: Arrow splits at exactly the characters
        str.split does (str.isspace; tests/test_textbatch.py) and looks the pieces up in a hash
        table of its own, about three times faster. None for texts Arrow cannot hold (a lone
        surrogate is no UTF-8)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            split = pc.utf8_split_whitespace(pa.array(texts, type=pa.large_string()))
        except (pa.ArrowException, UnicodeError):
            return None
        counts = pc.list_value_length(split).to_numpy(zero_copy_only=False).astype(np.int64)
        flat = pc.list_flatten(split)
        found = pc.fill_null(pc.index_in(flat, value_set=self.piece_array()), -1).to_numpy().astype(np.int64)
        missing = np.flatnonzero(found < 0)
        if len(missing):
            new = flat.take(pa.array(missing)).to_pylist()
            self.add_pieces(list(dict.fromkeys(new)))
            found[missing] = [self.pieces[p] for p in new]
        return counts, found

    def piece_array(self):
        """The pieces in id order as one Arrow array (rebuilt after pieces were added)."""
        import pyarrow as pa

        known = len(self._arrow) if self._arrow is not None else 0
        if self._arrow is None or known < len(self.piece_list):
            new = pa.array(self.piece_list[known:], type=pa.large_string())
            self._arrow = new if self._arrow is None else pa.concat_arrays([self._arrow, new])
        return self._arrow

    def pair_columns_of(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Columns of the stem bigrams "^a^^b" of stem ids first[i], second[i]."""
        if not len(first):
            return np.zeros(0, dtype=np.int64)
        bits = STEM_BITS
        if len(self.stem_text) >= 1 << bits:  # (not seen: the vocabulary starts over long before)
            return self.hash(["^".join((self.stem_text[x], self.stem_text[y]))
                              for x, y in zip(first.tolist(), second.tolist())])
        keys = first << bits | second
        unique, sorted_at, order = _sorted_unique(keys, 2 * bits)
        at = np.searchsorted(self.pair_keys, unique)
        known = at < len(self.pair_keys)
        known[known] = self.pair_keys[at[known]] == unique[known]
        if not known.all():
            new = unique[~known]
            text, mask = self.stem_text, (1 << bits) - 1
            cols = self.hash(["^".join((text[k >> bits], text[k & mask])) for k in new.tolist()])
            self.pair_keys = np.concatenate([self.pair_keys, new])
            self.pair_columns = np.concatenate([self.pair_columns, cols])
            by_key = np.argsort(self.pair_keys, kind="stable")
            self.pair_keys, self.pair_columns = self.pair_keys[by_key], self.pair_columns[by_key]
            at = np.searchsorted(self.pair_keys, unique)
        out = np.empty(len(keys), dtype=np.int64)
        out[order] = self.pair_columns[at][sorted_at]
        return out


def _sorted_unique(keys: np.ndarray, key_bits: int):
    """(distinct keys sorted, for each key in sorted order the index of its distinct key, the
    order): np.unique with an inverse, but one plain sort of the keys with their positions packed
    into the low bits when they fit in 63 bits (several times faster than an argsort)."""
    n = len(keys)
    position_bits = max(n.bit_length(), 1)
    if key_bits + position_bits <= 63:
        packed = np.sort(keys << position_bits | np.arange(n))
        ordered, order = packed >> position_bits, packed & ((1 << position_bits) - 1)
    else:
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    return ordered[starts], np.cumsum(starts) - 1, order


_lock = threading.Lock()
_vocabulary: list[_Vocabulary] = []


def _current() -> _Vocabulary:
    if not _vocabulary or len(_vocabulary[0].pieces) > PIECES_LIMIT or len(_vocabulary[0].stem_text) > 1 << 20:
        _vocabulary[:] = [_Vocabulary(classify.N_FEATURES)]
    return _vocabulary[0]


def reproduces(hashing) -> bool:
    """Whether Batch.features gives this vectorizer's output (that of build_pipeline's models)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return (type(hashing) is HashingVectorizer and hashing.analyzer is classify.analyze_stems
            and hashing.n_features == classify.N_FEATURES
            and not hashing.alternate_sign and hashing.norm is None and not hashing.binary
            and hashing.dtype == np.float64)


class Batch:
    """A list of texts split once; languages(), search_terms() and features(hashing) read it."""

    def __init__(self, texts):
        self.texts = list(texts)
        whole = [i for i, t in enumerate(self.texts) if isinstance(t, str) and len(t) <= WHOLE_CHARS]
        self.whole = np.array(whole, dtype=np.int64)   # texts read piece by piece
        self.other = np.setdiff1d(np.arange(len(self.texts)), self.whole)
        counts, ids = [], []
        with _lock:
            self.vocab = vocab = _current()
            for a in range(0, len(whole), SPLIT_CHUNK):  # a chunk's pieces at a time: they are many
                texts = [self.texts[i] for i in whole[a:a + SPLIT_CHUNK]]
                counted, found = vocab.piece_ids_arrow(texts) or vocab.piece_ids(texts)
                counts.append(counted)
                ids.append(found)
            # snapshots: another thread may grow the arrays meanwhile (never change what is in them)
            self.lang = vocab.lang.values
            self.flags = vocab.flags.values
            self.norm = vocab.norm.values
            self.word_at = vocab.word_at.values
            self.word_ids = vocab.word_ids.values
            self.terms_at = vocab.terms_at.values
            self.term_ids = vocab.term_ids.values
        self.ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        self.counts = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
        self.ends = np.cumsum(self.counts)
        self.occurrence_text = np.repeat(np.arange(len(whole)), self.counts)  # position in `whole`

    def _sums(self, values: np.ndarray, a: int = 0, b: int | None = None) -> np.ndarray:
        """Sums of per-occurrence values (those of whole texts a:b) over each of those texts."""
        b = len(self.whole) if b is None else b
        total = np.zeros((len(values) + 1, *values.shape[1:]), dtype=np.int64)
        np.cumsum(values, axis=0, out=total[1:])
        ends = self.ends[a:b] - (self.ends[a - 1] if a else 0)
        return total[ends] - total[ends - self.counts[a:b]]

    def _sums_of_bits(self, ids: np.ndarray, a: int = 0, b: int | None = None) -> np.ndarray:
        """The flags of each whole text a:b (`ids` its pieces): a bit is set when a piece has it."""
        b = len(self.whole) if b is None else b
        out = np.zeros(b - a, dtype=np.int64)
        counts = self.counts[a:b]
        some = np.flatnonzero(counts)
        if len(some):
            starts = (np.cumsum(counts) - counts)[some]
            out[some] = np.bitwise_or.reduceat(self.flags[ids], starts)
        return out

    def languages(self) -> list[str]:
        out: list[str] = [""] * len(self.texts)
        if len(self.whole):
            counts = self._sums(self.lang[self.ids])
            whole = self.whole.tolist()
            for i, lang in zip(whole, classify.languages_of(counts, [self.texts[i] for i in whole])):
                out[i] = lang
        for i in self.other.tolist():
            out[i] = classify._language(classify.as_text(self.texts[i]))
        return out

    def term_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """search.doc_terms of every text as (offsets (n + 1, from 0), flat uint32 numbers)."""
        n = len(self.texts)
        counts = np.zeros(n, dtype=np.int64)
        parts: dict[int, np.ndarray] = {}
        flat_whole = np.zeros(0, dtype=np.uint32)
        if len(self.whole):
            flags = self._sums_of_bits(self.ids)
            kazakh = ((flags & _KK_SIGN) > 0) | (((flags & _LATIN_I) > 0) & ((flags & _KK_WORD) > 0))
            at = self.terms_at[self.ids]
            use = kazakh[self.occurrence_text]
            starts = np.where(use, at[:, 2], at[:, 0])
            lengths = np.where(use, at[:, 3], at[:, 1])
            terms = self.term_ids[_expand(starts, lengths)]
            keys = np.sort(np.repeat(self.occurrence_text, lengths) << 32 | terms)
            if len(keys):  # distinct per text
                keep = np.empty(len(keys), dtype=bool)
                keep[0] = True
                np.not_equal(keys[1:], keys[:-1], out=keep[1:])
                keys = keys[keep]
            bounds = np.searchsorted(keys >> 32, np.arange(len(self.whole) + 1))
            counts[self.whole] = np.diff(bounds)
            flat_whole = (keys & 0xFFFFFFFF).astype(np.uint32)
        for i in self.other.tolist():
            parts[i] = np.asarray(search.doc_terms(self.texts[i]), dtype=np.uint32)
            counts[i] = len(parts[i])
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        if not parts:  # every text whole: already in text order
            return offsets, flat_whole
        flat = np.empty(offsets[-1], dtype=np.uint32)
        whole_at = _expand(offsets[self.whole], counts[self.whole])
        flat[whole_at] = flat_whole
        for i, got in parts.items():
            flat[offsets[i]:offsets[i + 1]] = got
        return offsets, flat

    def search_terms(self) -> list[list[int]]:
        """search.doc_terms of each text."""
        offsets, flat = self.term_arrays()
        values, bounds = flat.tolist(), offsets.tolist()
        return [values[a:b] for a, b in zip(bounds, bounds[1:])]

    def stored_terms(self) -> pa.StringArray:
        """The search terms of each text as the store keeps them (search.encode)."""
        return search.encode_flat(*self.term_arrays())

    def features(self, hashing, start: int = 0, stop: int | None = None) -> sp.csr_matrix:
        """hashing.transform of the normalised texts[start:stop], as classify.predict_proba computes
        it, for a vectorizer that `reproduces` accepts."""
        vocab = self.vocab
        stop = len(self.texts) if stop is None else stop
        a, b = np.searchsorted(self.whole, [start, stop])  # the whole texts in start:stop
        first, last = (self.ends[a - 1] if a else 0), (self.ends[b - 1] if b else 0)
        ids, text_at = self.ids[first:last], self.occurrence_text[first:last]
        norm = self._sums(self.norm[ids], a, b)
        length = norm[:, 1] + np.maximum(norm[:, 0] - 1, 0)  # of the normalised text
        flags = self._sums_of_bits(ids, a, b)
        piece_wise = ((flags & _CROSSES) == 0) & (length <= classify.FEATURE_CHARS)
        phone = ((flags & _PHONE) > 0) | (((flags & _PHONE_OPEN) > 0) & ((flags & _PHONE_CLOSE) > 0))
        for k in np.flatnonzero(piece_wise & phone).tolist():
            piece_wise[k] = not textnorm.has_phone(self.texts[self.whole[a + k]])
        # the texts read piece by piece: their words are their pieces' words
        fast = piece_wise & ((flags & _ABBREVIATION) == 0)
        take = fast[text_at - a]
        at = self.word_at[ids[take]]
        words = self.word_ids[_expand(at[:, 0], at[:, 1])]
        rows = np.repeat(self.whole[text_at[take]] - start, at[:, 1])
        # the others: their normalised text (from their pieces' when only abbreviations are left to do)
        extra_rows: list[int] = []
        extra_words: list[str] = []
        with _lock:
            for k in np.flatnonzero(~fast).tolist():
                i = int(self.whole[a + k])
                if piece_wise[k]:
                    own = self.ids[self.ends[a + k] - self.counts[a + k]:self.ends[a + k]].tolist()
                    text = textnorm.spell_out_abbreviations(
                        " ".join(filter(None, map(vocab.piece_text.__getitem__, own))))
                else:
                    text = textnorm.normalize_text(self.texts[i][:classify.RAW_CHARS])
                self._append_words(text, i - start, extra_rows, extra_words)
            for i in self.other[(self.other >= start) & (self.other < stop)].tolist():
                t = self.texts[i]
                text = textnorm.normalize_series(pd.Series([t[:classify.RAW_CHARS] if isinstance(t, str) else t],
                                                           dtype=object)).iloc[0]
                self._append_words(text, i - start, extra_rows, extra_words)
            extra_ids = np.array(vocab.word_id_list(extra_words), dtype=np.int64)
            columns, stem_of = vocab.columns.values, vocab.stem_of.values
        rows = np.concatenate([rows, np.array(extra_rows, dtype=np.int64)])
        words = np.concatenate([words, extra_ids])
        cols = columns[words]
        stems = stem_of[words]
        same = np.flatnonzero(rows[1:] == rows[:-1])  # consecutive words of one text: a stem bigram
        with _lock:
            pair_cols = vocab.pair_columns_of(stems[same], stems[same + 1])
        return _csr(np.concatenate([rows, rows, rows, rows[same]]),
                    np.concatenate([cols[:, 0], cols[:, 1], cols[:, 2], pair_cols]), stop - start, vocab.n_features)

    @staticmethod
    def _append_words(text: str, row: int, rows: list[int], words: list[str]) -> None:
        """analyze_stems' reading of a normalised text: cut at FEATURE_CHARS, words of 2+ letters."""
        if len(text) > classify.FEATURE_CHARS:
            text = text[:classify.FEATURE_CHARS].rsplit(" ", 1)[0]
        kept = [w for w in text.split() if len(w) > 1]
        rows.extend([row] * len(kept))
        words.extend(kept)
