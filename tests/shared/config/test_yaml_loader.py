"""Config text is read by libyaml when present: the same data, and PyYAML's own error lines."""

from __future__ import annotations

import pytest
import yaml

from shared.config.settings import Settings, parse_config_text, settings_to_yaml
from shared.domain.errors import ConfigError

pytestmark = pytest.mark.unit

TEXTS = {
    "defaults": settings_to_yaml(Settings()),
    "lists and quotes": ("news:\n  rss_urls:\n    - https://example.com/feed?a=1&b=\"2\"\n"
                         "    - 'https://example.com/ünïcode ✓'\n  enabled: true\n"
                         "instrument: {symbol: MES}\r\nfeed:\r\n  replay_path: >-\r\n"
                         "    bars\r\n    .csv\r\n"),
    "scalars": ("risk:\n  max_trades_per_day: 0x1e\n  confidence_threshold: .7\n"
                "broker:\n  mode: 'paper'\nfeed:\n  speed: 1e3\n  start: 2025-03-03T14:30:00Z\n"
                "llm:\n  enabled: off\n# a comment\nnews: {enabled: no}\n"),
}
BROKEN = ["risk: [unclosed\n", "risk:\n\tmax_trades_per_day: 3\n", "a: 1\n a: 2\n",
          "risk: {max_trades_per_day: 3\n", "feed: \x07\n"]


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_settings_equal_what_the_pure_python_loader_gives(name: str) -> None:
    text = TEXTS[name]
    pure = yaml.load(text, Loader=yaml.SafeLoader)
    assert yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == pure
    assert parse_config_text(text, env={}) == parse_config_text(yaml.safe_dump(pure), env={})


@pytest.mark.parametrize("text", BROKEN)
def test_refused_text_gets_the_pure_python_loaders_message(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(text)
    with pytest.raises(ConfigError) as refused:
        parse_config_text(text, env={})
    assert str(refused.value) == "not valid YAML: " + " ".join(str(pure.value).split())
