"""CJK detection, the multilingual encoder (usem3) and the per-catalog `auto` choice. (Chinese
segmentation is tests/text/test_analysis.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.text.cjk import cjk_share, has_han
from shelfwise.text.encoder import AUTO_MODEL, DEFAULT_MODEL, EncoderConfig, TextEncoder, choose_encoder
from shelfwise.text.multilingual import USEM3_MODEL

pytestmark = [pytest.mark.model]

CHINESE_TITLES = [
    "男士运动鞋 透气跑步鞋",
    "苹果手机壳 透明硅胶",
    "不锈钢保温杯 500ml",
    "儿童积木玩具 益智拼装",
    "纯棉女士连衣裙 夏季",
]
ENGLISH_TITLES = ["Velvet sofa", "Oak dining table", "Cordless kettle", "Brass desk lamp", "Rain shower head"]


def test_has_han_sees_chinese_but_not_japanese_kana() -> None:
    assert has_han("Apple 手机") and not has_han("Apple phone") and not has_han("ソニー")


def test_cjk_share_counts_texts_with_any_cjk_character() -> None:
    assert cjk_share(ENGLISH_TITLES) == 0.0
    assert cjk_share(CHINESE_TITLES) == 1.0
    assert cjk_share(["Apple iPhone 15 手机壳 透明", "USB cable", "", "ソニー ヘッドホン"]) == pytest.approx(
        2 / 3
    )
    assert cjk_share([]) == 0.0


def test_auto_picks_usem3_for_a_chinese_catalog_and_minilm_for_an_english_one() -> None:
    auto = EncoderConfig(model=AUTO_MODEL, batch_size=16)
    chinese, why = choose_encoder(auto, CHINESE_TITLES)
    assert chinese.model == USEM3_MODEL and chinese.batch_size == 16
    assert why is not None and "100%" in why
    english, why = choose_encoder(auto, ENGLISH_TITLES)
    assert english.model == DEFAULT_MODEL and english == EncoderConfig(batch_size=16)
    assert why is not None and "0%" in why
    # A catalog with a few Chinese products stays on MiniLM; one in five switches.
    assert choose_encoder(auto, ENGLISH_TITLES * 5 + CHINESE_TITLES[:1])[0].model == DEFAULT_MODEL
    assert choose_encoder(auto, ENGLISH_TITLES * 4 + CHINESE_TITLES)[0].model == USEM3_MODEL


def test_an_explicit_model_is_never_replaced() -> None:
    config = EncoderConfig(model=DEFAULT_MODEL)
    assert choose_encoder(config, CHINESE_TITLES) == (config, None)


def test_auto_cannot_encode_before_a_catalog_chose_for_it() -> None:
    with pytest.raises(ValueError, match="per catalog"):
        TextEncoder(EncoderConfig(model=AUTO_MODEL)).encode(["手机壳"])


@pytest.fixture(scope="module")
def usem3() -> TextEncoder:
    return TextEncoder(EncoderConfig(model=USEM3_MODEL))


def test_usem3_vectors_are_512_d_and_normalised(usem3: TextEncoder) -> None:
    vectors = usem3.encode([*CHINESE_TITLES, "", "Velvet sofa"])
    assert usem3.dim == 512
    assert vectors.shape == (7, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 1, 2, 3, 4, 6]], axis=1), 1.0, atol=1e-5)
    assert usem3.encode_one("手机壳").shape == (512,)


def test_usem3_puts_a_chinese_query_nearest_its_product(usem3: TextEncoder) -> None:
    titles = usem3.encode(CHINESE_TITLES)
    for query, expected in [("跑步鞋", 0), ("手机保护套", 1), ("水杯", 2), ("乐高", 3), ("裙子", 4)]:
        similarities = titles @ usem3.encode_one(query)
        assert int(np.argmax(similarities)) == expected, (query, similarities.round(3))


def test_usem3_reads_english_and_chinese_into_one_space(usem3: TextEncoder) -> None:
    titles = usem3.encode(CHINESE_TITLES)
    assert int(np.argmax(titles @ usem3.encode_one("running shoes"))) == 0


def test_usem3_vectors_are_cached_under_their_own_name(tmp_path: Path) -> None:
    encoder = TextEncoder(EncoderConfig(model=USEM3_MODEL), cache_dir=tmp_path)
    first = encoder.encode(CHINESE_TITLES[:2])
    assert encoder.cache is not None and len(encoder.cache) == 2
    assert encoder.cache.get_many(DEFAULT_MODEL, CHINESE_TITLES[:2]) == {}
    np.testing.assert_array_equal(encoder.encode(CHINESE_TITLES[:2]), first)
