"""The query pipeline: clean the query, retrieve with fielded BM25 under the filters, page, facet, explain."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shelfwise.domain import Filters, Hit, Product, SearchResult
from shelfwise.index.catalog import CatalogArrays
from shelfwise.index.lexical import LexicalIndex, LexicalIndexConfig
from shelfwise.search.explain import explain_browse, explain_lexical

_CONFIG_FILE = "search_config.json"
_PRODUCTS_FILE = "products.jsonl"
_LEXICAL_DIR = "lexical"
_SPACES = re.compile(r"\s+")


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lexical: LexicalIndexConfig = Field(default_factory=LexicalIndexConfig)
    default_page_size: int = Field(default=10, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_query_chars: int = Field(default=512, ge=1)

    @model_validator(mode="after")
    def _check_page_sizes(self) -> SearchConfig:
        if self.default_page_size > self.max_page_size:
            raise ValueError(
                f"default_page_size ({self.default_page_size}) exceeds max_page_size ({self.max_page_size})"
            )
        return self


def clean_query(query: str, max_chars: int) -> str:
    """Control characters become spaces and other invisible ones go (a soft hyphen must not split a word);
    whitespace runs collapse and the result is cut at `max_chars`."""
    visible = "".join(_visible(ch) for ch in query)
    return _SPACES.sub(" ", visible).strip()[:max_chars].rstrip()


def _visible(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc":
        return " "
    return "" if category.startswith("C") else ch


class SearchPipeline:
    def __init__(self, config: SearchConfig | None = None) -> None:
        self.config = config or SearchConfig()
        self._catalog: CatalogArrays | None = None
        self._lexical: LexicalIndex | None = None
        self._browse_order = np.zeros(0, dtype=np.int64)
        self._position_of: dict[str, int] = {}

    @property
    def catalog(self) -> CatalogArrays:
        if self._catalog is None:
            raise RuntimeError(
                "the search pipeline is not fitted: call fit(products) or load(directory) first"
            )
        return self._catalog

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            raise RuntimeError(
                "the search pipeline is not fitted: call fit(products) or load(directory) first"
            )
        return self._lexical

    def __len__(self) -> int:
        return len(self.catalog)

    def fit(self, products: Sequence[Product]) -> Self:
        lexical = LexicalIndex(self.config.lexical).fit(products)
        self._attach(CatalogArrays.of(products), lexical)
        return self

    def _attach(self, catalog: CatalogArrays, lexical: LexicalIndex) -> None:
        self._catalog, self._lexical = catalog, lexical
        self._position_of = catalog.position()
        # Browsing has no relevance to rank by: titles give a stable order a shopper can follow.
        titles = [p.title.lower() for p in catalog.products]
        self._browse_order = np.array(
            sorted(range(len(titles)), key=lambda i: (titles[i], i)), dtype=np.int64
        )

    def product(self, product_id: str) -> Product | None:
        position = self._position_of.get(product_id)
        return None if position is None else self.catalog.products[position]

    def search(
        self,
        query: str,
        filters: Filters | None = None,
        page: int = 1,
        page_size: int | None = None,
        request_id: str | None = None,
    ) -> SearchResult:
        """One page of products matching `query` under `filters`; an empty query browses them by title."""
        size = self.config.default_page_size if page_size is None else page_size
        self._check_page(page, size)
        text = clean_query(query, self.config.max_query_chars)
        mask = self.catalog.mask(filters)
        offset = (page - 1) * size
        if text:
            hits, total, matching = self._retrieve(text, mask, offset, size)
        else:
            hits, total, matching = self._browse(mask, offset, size)
        return SearchResult(
            query=text,
            total=total,
            page=page,
            page_size=size,
            hits=hits,
            facets=self.catalog.facets(matching, category_prefix=filters.category if filters else None),
            request_id=request_id or uuid.uuid4().hex,
        )

    def _check_page(self, page: int, page_size: int) -> None:
        if page < 1:
            raise ValueError(f"page must be >= 1, got {page}")
        if not 1 <= page_size <= self.config.max_page_size:
            raise ValueError(f"page_size must be between 1 and {self.config.max_page_size}, got {page_size}")

    def _retrieve(
        self, text: str, mask: np.ndarray, offset: int, size: int
    ) -> tuple[list[Hit], int, np.ndarray]:
        matches = self.lexical.search(text, k=size, mask=mask, offset=offset)
        products = self.catalog.products
        hits = [
            Hit(
                product=products[int(position)],
                score=float(score),
                matched_fields=[m.field for m in field_matches],
                explanation=explain_lexical(field_matches),
            )
            for position, score, field_matches in zip(
                matches.positions, matches.scores, matches.field_matches, strict=True
            )
        ]
        return hits, matches.total, np.flatnonzero(matches.matched)

    def _browse(self, mask: np.ndarray, offset: int, size: int) -> tuple[list[Hit], int, np.ndarray]:
        ordered = self._browse_order[mask[self._browse_order]]
        products = self.catalog.products
        explanation = explain_browse()
        hits = [
            Hit(product=products[int(position)], score=0.0, explanation=explanation)
            for position in ordered[offset : offset + size]
        ]
        return hits, len(ordered), ordered

    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        (path / _CONFIG_FILE).write_text(self.config.model_dump_json(indent=2), encoding="utf-8")
        with (path / _PRODUCTS_FILE).open("w", encoding="utf-8") as out:
            for product in self.catalog.products:
                out.write(product.model_dump_json() + "\n")
        self.lexical.save(path / _LEXICAL_DIR)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> SearchPipeline:
        path = Path(directory)
        for name in (_CONFIG_FILE, _PRODUCTS_FILE, _LEXICAL_DIR):
            if not (path / name).exists():
                raise FileNotFoundError(f"no search pipeline in {path}: {name} is missing")
        config = SearchConfig.model_validate_json((path / _CONFIG_FILE).read_text(encoding="utf-8"))
        with (path / _PRODUCTS_FILE).open(encoding="utf-8") as lines:
            products = [Product.model_validate_json(line) for line in lines if line.strip()]
        lexical = LexicalIndex.load(path / _LEXICAL_DIR)
        if lexical.n_documents != len(products):
            raise ValueError(
                f"{path}: the lexical index has {lexical.n_documents} documents "
                f"but {_PRODUCTS_FILE} has {len(products)} products"
            )
        pipeline = cls(config)
        pipeline._attach(CatalogArrays.of(products), lexical)
        return pipeline
