"""The search pipeline's settings: one tree of every part's config, saved with a fitted pipeline.

Each part's own config lives with the part (`FusionConfig` in fusion.py, `RankerConfig` in ranker.py,
`SpellingConfig` in spelling.py, the index configs in shelfwise.index): the ranker's module reads the
feature list, which reads the fused pool, so a config module they all imported would be a cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shelfwise.index.lexical import LexicalIndexConfig
from shelfwise.index.vector import VectorIndexConfig
from shelfwise.search.fusion import FusionConfig
from shelfwise.search.personal import MODEL_WEIGHT
from shelfwise.search.ranker import RankerConfig
from shelfwise.search.spelling import SpellingConfig
from shelfwise.text.encoder import AUTO_MODEL, EncoderConfig


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lexical: LexicalIndexConfig = Field(default_factory=LexicalIndexConfig)
    default_page_size: int = Field(default=10, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_query_chars: int = Field(default=512, ge=1)
    semantic: bool = Field(
        default=True, description="Dense retrieval with the text encoder, fused with BM25."
    )
    # `auto`: MiniLM, unless enough of the catalog is Chinese, Japanese or Korean for the multilingual
    # encoder (shelfwise.text.multilingual); fit() records which one it took.
    encoder: EncoderConfig = Field(default_factory=lambda: EncoderConfig(model=AUTO_MODEL))
    vectors: VectorIndexConfig = Field(default_factory=VectorIndexConfig)
    fusion: FusionConfig = Field(default_factory=FusionConfig)
    spelling: SpellingConfig = Field(default_factory=SpellingConfig)
    ranker: RankerConfig = Field(default_factory=RankerConfig)
    synonyms: list[list[str]] = Field(
        default_factory=list, description='Groups of interchangeable words, e.g. [["sofa", "couch"]].'
    )
    personal_weight: float = Field(default=1.0, ge=0, description="How far user affinity moves a hit.")
    personal_model_weight: float = Field(
        default=MODEL_WEIGHT,
        ge=0,
        description="Weight of the recommendation models' view of the user in the affinity (0: off, "
        "which `shelfwise evaluate personal` measured as no worse, and saves a model pass per search).",
    )
    search_memory: bool = Field(
        default=True,
        description="Remember what labelled searches led to (judgements, or the clicks, carts and purchases "
        "after a search) and give the learned ranker features from the nearest remembered queries.",
    )
    query_vector_cache: int = Field(
        default=10_000,
        ge=0,
        description="Query embeddings kept in memory, least recently used out first (0: none kept).",
    )

    @model_validator(mode="after")
    def _check_page_sizes(self) -> SearchConfig:
        if self.default_page_size > self.max_page_size:
            raise ValueError(
                f"default_page_size ({self.default_page_size}) exceeds max_page_size ({self.max_page_size})"
            )
        return self
