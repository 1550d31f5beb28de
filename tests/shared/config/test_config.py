"""The config model: defaults, unknown keys, field-level errors and env overrides."""

from __future__ import annotations

import pytest

from shared.config.settings import (
    Settings,
    hot_reloadable_fields,
    load_settings,
    parse_config_text,
    settings_to_yaml,
)
from shared.domain.errors import ConfigError, ConfigFileError
from shared.domain.models import Mode


def test_defaults_are_paper_mes_with_documented_risk_values():
    settings = Settings()
    assert settings.broker.mode is Mode.PAPER
    assert settings.instrument.symbol == "MES"
    assert settings.risk.min_stop_points == 3
    assert settings.risk.atr_stop_multiplier == 4.5
    assert settings.risk.max_trades_per_day == 30
    assert settings.regime.min_atr_ratio == 0.5
    assert settings.risk.confidence_threshold == 0.7
    assert settings.risk.min_weighted_confidence == 0.5
    assert settings.features.window_bars == 500
    assert settings.memory.min_similar_trades == 0  # no count floor: the value test decides
    assert settings.memory.min_expected_r == -0.2 and settings.memory.min_weighted_win_rate is None


def test_partial_file_keeps_other_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("risk:\n  max_contracts: 4\n")
    settings = load_settings(path, env={})
    assert settings.risk.max_contracts == 4
    assert settings.risk.min_stop_points == 3


def test_unknown_key_is_rejected_with_its_name():
    with pytest.raises(ConfigError, match=r"risk\.max_contract: Extra inputs"):
        parse_config_text("risk:\n  max_contract: 4\n", env={})


def test_bad_value_names_field_and_reason():
    with pytest.raises(ConfigError, match=r"risk\.confidence_threshold: .*less than or equal to 1"):
        parse_config_text("risk:\n  confidence_threshold: 1.5\n", env={})


def test_cross_field_rule_is_reported():
    with pytest.raises(ConfigError, match="macd_fast must be below macd_slow"):
        parse_config_text("features:\n  macd_fast: 30\n", env={})


def test_invalid_yaml_and_non_mapping_are_clear_errors():
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config_text("risk: [unclosed\n", env={})
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_config_text("- a\n- b\n", env={})


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_env_overrides_documented_knobs():
    env = {"MIN_SIMILAR_TRADES": "7", "MIN_WEIGHTED_WIN_RATE": "0.6", "CONFIDENCE_THRESHOLD": "0.8"}
    settings = parse_config_text("risk:\n  max_contracts: 3\n", env=env)
    assert settings.memory.min_similar_trades == 7
    assert settings.memory.min_weighted_win_rate == 0.6
    assert settings.risk.confidence_threshold == 0.8
    assert settings.risk.max_contracts == 3


def test_env_override_is_validated_too():
    with pytest.raises(ConfigError, match=r"risk\.confidence_threshold"):
        parse_config_text("{}\n", env={"CONFIDENCE_THRESHOLD": "high"})


def test_settings_are_frozen():
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.risk = None  # type: ignore[misc]


def test_yaml_round_trip_is_lossless():
    settings = parse_config_text("instrument:\n  symbol: ES\n", env={})
    assert parse_config_text(settings_to_yaml(settings), env={}) == settings


def test_hot_reloadable_fields_are_marked():
    hot = hot_reloadable_fields()
    assert "risk.max_contracts" in hot
    assert "broker.mode" not in hot


def test_changed_fields_and_hot_merge():
    from shared.config.settings import changed_fields, merge_hot_fields

    running = Settings()
    wanted = parse_config_text(
        "risk:\n  max_contracts: 5\nfeatures:\n  window_bars: 300\n", env={}
    )
    assert changed_fields(running, wanted) == ["features.window_bars", "risk.max_contracts"]
    merged = merge_hot_fields(running, wanted)
    assert merged.risk.max_contracts == 5  # hot: applied
    assert merged.features.window_bars == 500  # applies on restart


def test_memory_section_validates_its_knobs_and_reloads_them_hot():
    settings = parse_config_text("memory:\n  enabled: true\n  cold_start: refuse\n", env={
        "MIN_SIMILAR_TRADES": "9", "MIN_WEIGHTED_WIN_RATE": "0.55"})
    memory = settings.memory
    assert (memory.enabled, memory.cold_start, memory.min_similar_trades,
            memory.min_weighted_win_rate) == (True, "refuse", 9, 0.55)
    with pytest.raises(ConfigError, match=r"memory\.cold_start"):
        parse_config_text("memory:\n  cold_start: maybe\n", env={})
    with pytest.raises(ConfigError, match=r"memory\.radius"):
        parse_config_text("memory:\n  radius: 0\n", env={})
    with pytest.raises(ConfigError, match=r"memory\.min_similar_trades"):
        parse_config_text("{}\n", env={"MIN_SIMILAR_TRADES": "many"})
    hot = hot_reloadable_fields()
    assert {"memory.min_similar_trades", "memory.min_weighted_win_rate", "memory.cold_start",
            "memory.radius", "memory.half_life_days"} <= hot
    assert "memory.enabled" not in hot


@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \t\n  \n", "# only a comment\n", "~\n"])
def test_empty_text_is_rejected_not_read_as_all_defaults(text):
    with pytest.raises(ConfigFileError, match=r"^config file c\.yaml is empty"):
        parse_config_text(text, env={}, source="config file c.yaml")


def test_an_explicit_empty_mapping_still_means_all_defaults():
    assert parse_config_text("{}\n", env={}) == Settings()


def test_an_empty_existing_file_is_an_error_but_a_missing_path_is_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("  \n")
    with pytest.raises(ConfigFileError) as caught:
        load_settings(path, env={})
    assert str(caught.value) == f"config file {path} is empty"
    assert load_settings(None, env={}) == Settings()


def test_a_binary_config_file_is_a_clear_error(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    with pytest.raises(ConfigFileError, match=r"is not UTF-8 text \(byte 0x89 at offset 0\)"):
        load_settings(path, env={})


def test_a_version_saved_before_the_relative_regime_still_loads(caplog):
    """A full config saved by the release before the relative regime (its three retired keys)
    loads with a warning naming each; any other unknown key is still refused."""
    old = "regime:\n  min_atr_points: 0.5\n  max_atr_points: 12.0\n  trend_threshold: 0.001\n" \
          "  min_atr_ratio: 0.4\n"
    with caplog.at_level("WARNING"):
        settings = parse_config_text(old, env={}, source="config version 3")
    assert settings.regime.min_atr_ratio == 0.4
    warned = " ".join(r.getMessage() for r in caplog.records)
    for key in ("min_atr_points", "max_atr_points", "trend_threshold"):
        assert f"config version 3: regime.{key} is retired and ignored" in warned
    with pytest.raises(ConfigError, match="min_atr_point"):
        parse_config_text("regime:\n  min_atr_point: 0.5\n", env={})
