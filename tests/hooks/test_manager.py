"""Plugin loading: entry points, -p modules, local plugin files, blocking, validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from engine.estate import Estate, Harness
from pydantic import BaseModel

from promoter import hookimpl
from promoter.cli import main
from promoter.errors import PipelineError, PluginError
from promoter.hooks.calls import PromoterHooks
from promoter.hooks.manager import BUILTIN_PLUGINS, get_plugin_manager
from promoter.model import PromoterConfig
from promoter.pipeline import collect_sections


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_entry_point_plugin_is_discovered_and_listed(estate: Estate) -> None:
    result = estate.cli("plugins", "--output", "json", check=0, PROMOTER_DISABLE_PLUGINS="")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    sample = plugins["sample"]
    assert sample["source"] == "entrypoint"
    assert (sample["distribution"], sample["version"]) == ("promoter-sample-plugin", "0.1.0")
    assert sample["hooks"] == [
        "promoter_add_cli_options",
        "promoter_gate",
        "promoter_register_pipeline_sections",
    ]
    assert set(BUILTIN_PLUGINS) <= set(plugins)
    text = estate.cli("plugins", check=0).stdout
    assert "sample  (entrypoint: promoter-sample-plugin 0.1.0)" in text


def test_entry_point_plugin_adds_an_option_that_reaches_its_gate(
    estate: Estate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(estate.root)
    estate.pipeline()
    code, _out, err = run_main(
        ["promote", "release.yaml", "--yes", "--sample-block", "change freeze"], capsys
    )
    assert code == 4, err
    assert "sample: change freeze" in err
    assert estate.target_objects() == {}


def test_disabled_plugins_are_not_loaded_but_core_cannot_be_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROMOTER_DISABLE_PLUGINS", "sample, console,core")
    pm = get_plugin_manager()
    names = {name for name, plugin in pm.list_name_plugin() if plugin is not None}
    assert "sample" not in names and "console" not in names
    assert "core" in names and "gates" in names


def test_local_plugin_named_by_a_pipeline_is_listed(estate: Estate) -> None:
    estate.pipeline()
    result = estate.cli("plugins", "--pipeline", "release.yaml", "--output", "json", check=0)
    fake = next(p for p in json.loads(result.stdout) if p["name"] == "fake_target")
    assert fake["source"] == "pipeline"
    assert fake["location"] == str(estate.root / "fake_target.py")
    assert "promoter_apply" in fake["hooks"]


def test_a_broken_local_plugin_is_named(
    estate: Estate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(estate.root)
    (estate.root / "broken_plugin.py").write_text("import not_a_module_anywhere\n")
    estate.pipeline(plugins=["./fake_target.py", "./broken_plugin.py"])
    code, _, err = run_main(["validate", "release.yaml"], capsys)
    assert code == 2
    assert "release.yaml:" in err and "plugins[1]: Error importing plugin 'broken_plugin'" in err
    assert "No module named 'not_a_module_anywhere'" in err


def test_dash_p_loads_a_module_or_file_and_names_it_when_broken(
    estate: Estate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(estate.root)
    code, out, _ = run_main(["plugins", "-p", "./fake_target.py", "--output", "json"], capsys)
    assert code == 0
    assert {"name": "fake_target", "source": "cli"}.items() <= next(
        p for p in json.loads(out) if p["name"] == "fake_target"
    ).items()
    code, _, err = run_main(["plugins", "-p", "no_such_plugin_module"], capsys)
    assert code == 2
    assert "Error importing plugin 'no_such_plugin_module': ModuleNotFoundError" in err


def test_a_hook_that_matches_no_spec_is_an_error_naming_the_plugin() -> None:
    class Typo:
        @hookimpl
        def promoter_aply(self, run: Any) -> None:
            pass

    pm = get_plugin_manager(load_entrypoints=False, extra=[Typo()])
    with pytest.raises(PluginError) as info:
        pm.check()
    assert info.value.plugin == "Typo"
    assert "plugin 'Typo' implements a hook promoter does not know" in str(info.value)


def test_wrong_hook_arguments_are_an_error_naming_the_plugin() -> None:
    class WrongArgs:
        name = "wrong_args"

        @hookimpl
        def promoter_apply(self, run: Any, plan: Any, snapshot: Any, extra: Any) -> None:
            pass

    with pytest.raises(PluginError) as info:
        get_plugin_manager(load_entrypoints=False, extra=[WrongArgs()])
    assert "plugin 'wrong_args'" in str(info.value)


def test_duplicate_pipeline_sections_name_both_plugins() -> None:
    class First:
        name = "first"

        @hookimpl
        def promoter_register_pipeline_sections(self, register: Any) -> None:
            register("notify", BaseModel)

    class Second:
        name = "second"

        @hookimpl
        def promoter_register_pipeline_sections(self, register: Any) -> None:
            register("notify", BaseModel)

    hooks = PromoterHooks(get_plugin_manager(extra=[First(), Second()]))
    with pytest.raises(PluginError) as info:
        collect_sections(hooks)
    message = str(info.value)
    assert "pipeline section 'notify' is registered by both plugin" in message
    assert "plugin 'first'" in message and "plugin 'second'" in message


def test_configure_is_historic_for_late_plugins(estate: Estate) -> None:
    class Late:
        name = "late"

        def __init__(self) -> None:
            self.configs: list[PromoterConfig] = []

        @hookimpl
        def promoter_configure(self, config: PromoterConfig) -> None:
            self.configs.append(config)

    pm = get_plugin_manager(load_entrypoints=False)
    config = PromoterConfig(command="promote")
    PromoterHooks(pm).configure(config)
    late = Late()
    pm.register(late, name="late")
    assert late.configs == [config]


def test_unknown_section_without_its_plugin(estate: Estate, harness: Harness) -> None:
    path = estate.pipeline(plugins=[])
    with pytest.raises(PipelineError) as info:
        harness.load(path)
    assert "fake: unknown key" in str(info.value)


def test_cli_import_stays_light() -> None:
    code = "import sys, promoter.cli; print(sorted(m for m in ('pydantic', 'pluggy', 'jinja2') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_help_lists_the_engine_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    for command in (
        "validate",
        "plan",
        "promote",
        "rollback",
        "resume",
        "history",
        "show",
        "plugins",
        "unlock",
        "sandbox",
    ):
        assert command in out


def test_plugin_paths_are_relative_to_the_pipeline_file(estate: Estate, tmp_path: Path) -> None:
    sub = estate.root / "pipelines"
    sub.mkdir()
    estate.pipeline()
    moved = sub / "release.yaml"
    data = json.loads((estate.root / "release.yaml").read_text())
    data["plugins"] = ["../fake_target.py"]
    data["fake"] = {"source": "../source.json", "target": "../target.json"}
    moved.write_text(json.dumps(data))
    result = estate.cli("promote", "pipelines/release.yaml", "--yes", check=0)
    assert "promoted: promoted" in result.stderr
    assert len(estate.target_objects()) == 3


def test_a_local_plugin_cannot_silently_shadow_another_plugin_name(estate: Estate) -> None:
    (estate.root / "gates.py").write_text("")
    estate.pipeline(plugins=["./fake_target.py", "./gates.py"])
    result = estate.cli("validate", "release.yaml", check=2)
    assert "two plugins are named 'gates': builtin promoter.builtins.gates" in result.stderr
    assert f"pipeline {estate.root / 'gates.py'}" in result.stderr
    assert "plugins[1]" in result.stderr


def test_two_distributions_with_one_plugin_name_are_both_named() -> None:
    from promoter.hooks.manager import PluginOrigin

    pm = get_plugin_manager(load_entrypoints=False)
    first = PluginOrigin(
        source="entrypoint", location="a_mod", distribution="acme-a", version="1.0"
    )
    second = PluginOrigin(
        source="entrypoint", location="b_mod", distribution="acme-b", version="2.0"
    )
    assert pm.register_plugin(object(), "acme", first)
    with pytest.raises(PluginError) as info:
        pm.register_plugin(object(), "acme", second)
    message = str(info.value)
    assert "two plugins are named 'acme'" in message
    assert "(distribution acme-a 1.0)" in message and "(distribution acme-b 2.0)" in message
    # the same entry point seen twice (an editable install) is not an error
    assert pm.register_plugin(object(), "acme", first) is False
