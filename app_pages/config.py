"""Config editor: a form per section or raw YAML, validation, diff, versions, rollback."""

from __future__ import annotations

import streamlit as st

from dashboard import config_editor as editor
from dashboard import frame, plain, tables, zones
from shared.config.settings import Settings, changed_fields, hot_reloadable_fields, settings_to_yaml
from shared.persistence import report_queries
from shared.supervisor import start_process, stop_process

st.title("Config")
running, file_problem = frame.current_settings()
if file_problem:
    st.error("The active config version cannot be read; the bot keeps its last good config. "
             f"{file_problem}")
active_id, active_text, versions = None, settings_to_yaml(running), None
with frame.reader() as conn:
    if conn is not None:
        active_id, active_text = editor.active_yaml(conn, running)
        versions = report_queries.config_versions_frame(conn)


def propose(settings: Settings | None, errors: list[editor.FieldError], note: str) -> None:
    """Keep a validated candidate for review, or show what is wrong with it."""
    if errors:
        st.session_state.pop("pending", None)
        for error in errors:
            st.error(plain.escape(f"{error.location}: {error.message}"))
        st.warning("Nothing was saved.")
        return
    st.session_state["pending"] = {"yaml": settings_to_yaml(settings), "note": note}


def widget(spec: editor.FieldSpec):
    label = f"{spec.name} ({'live' if spec.hot else 'restart'})"
    help_text = (spec.description + "\n\n" if spec.description else "") + (
        "Applied by the running bot within one loop iteration." if spec.hot
        else "Applies on restart.")
    key = f"field.{spec.section}.{spec.name}"
    if spec.kind == editor.FieldKind.BOOL:
        return st.checkbox(label, value=bool(spec.value), help=help_text, key=key)
    if spec.kind == editor.FieldKind.CHOICE:
        return st.selectbox(label, spec.choices, index=spec.choices.index(spec.value),
                            help=help_text, key=key)
    if spec.kind in (editor.FieldKind.INT, editor.FieldKind.FLOAT) and spec.value is not None:
        step = 1 if spec.kind == editor.FieldKind.INT else None
        return st.number_input(label, value=spec.value, step=step, help=help_text, key=key)
    if spec.kind == editor.FieldKind.YAML:
        return st.text_area(label, value=str(spec.value), help=help_text, key=key)
    return st.text_input(label, value="" if spec.value is None else str(spec.value),
                         help=help_text, key=key)


form_tab, yaml_tab, history_tab = st.tabs(["Form", "YAML", "History"])
with form_tab:
    section = st.selectbox("Section", editor.section_names())
    with st.form(f"section.{section}"):
        specs = editor.section_fields(running, section)
        raw = {spec.name: widget(spec) for spec in specs}
        note = st.text_input("Note for this version", key=f"note.{section}")
        if st.form_submit_button("Review changes"):
            values = {spec.name: editor.parse_form_value(spec, raw[spec.name]) for spec in specs}
            candidate, errors = editor.validate_config(
                editor.replace_section(running, section, values))
            propose(candidate, errors, note)
with yaml_tab, st.form("yaml"):
    text = st.text_area("config.yaml", value=settings_to_yaml(running), height=500)
    note = st.text_input("Note for this version", key="note.yaml")
    if st.form_submit_button("Review YAML"):
        propose(*editor.validate_yaml_text(text), note)
with history_tab:
    if versions is None or versions.empty:
        st.info("No versions stored yet: the bot stores one when it starts.")
    else:
        st.dataframe(zones.in_zone(versions, frame.display_zone(), ("created_at",)),
                     hide_index=True, column_config={
                         "created_at": st.column_config.DatetimeColumn(format=tables.TIME)})
        chosen = st.selectbox("Version", versions["id"].tolist())
        with frame.reader() as conn:
            chosen_text = report_queries.config_version_yaml(conn, int(chosen)) if conn else None
        st.code(editor.yaml_diff(active_text, chosen_text or "", "active", f"v{chosen}")
                or "identical to the active version", language="diff")
        if st.button(f"Roll back to version {chosen}"):
            propose(*editor.validate_yaml_text(chosen_text or ""), f"rollback to v{chosen}")

pending = st.session_state.get("pending")
if pending:
    st.subheader("Review")
    candidate, _ = editor.validate_yaml_text(pending["yaml"])
    diff = editor.yaml_diff(active_text, pending["yaml"], f"active (v{active_id})", "proposed")
    if not diff or candidate is None:
        st.info("No change against the active version.")
    else:
        st.code(diff, language="diff")
        changes = changed_fields(running, candidate)
        hot = hot_reloadable_fields()
        later = [name for name in changes if name not in hot]
        st.caption("Applies live: " + (", ".join(n for n in changes if n in hot) or "nothing")
                   + ". Applies on restart: " + (", ".join(later) or "nothing") + ".")
        if st.button("Save as new version", type="primary"):
            with frame.writer() as conn:
                version_id = editor.save_config(conn, frame.config_path(), candidate,
                                                "dashboard", pending["note"], frame.utc_now())
            st.session_state.pop("pending")
            st.session_state["saved"] = (version_id, later)
            st.rerun()

if "saved" in st.session_state:
    version_id, later = st.session_state["saved"]
    st.success(f"Saved version {version_id}. The bot applies live fields within one loop "
               "iteration.")
    if later:
        st.warning(plain.escape("Applies on restart: " + ", ".join(later)))
        if st.button("Restart the bot now"):
            stop_process("bot", wait=True)
            st.toast(plain.escape(start_process("bot", wait=False)))
