"""Optional LLM analyst roles (``llm.roles``): a small pipeline of governed calls per trigger.

Off by default. When on, a trigger (or a gated candidate) is answered by a market analyst, a
memory analyst, a bull, a bear and a risk reviewer in that order (``bot/llm/roles``), each a
governed call with its own prompt template version, model route and output-token budget, all
within one deadline. Any role failing gives the single analyst's answer instead.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from shared.config.bounds import BoundedModel

# How every analyst role's prompt template version begins (``role-market-r1-<hash>``): a
# role's call is no market call of its own (the training export leaves it out); the roles'
# combined answer (``roles1-<hash>``) is.
ROLE_CALL_VERSION_PREFIX = "role-"


class RoleSettings(BoundedModel):
    """One role's model route and output-token budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    route: str = Field(
        "", max_length=40,
        description="Name of an llm.routes entry answering this role; empty: the trigger's route")
    max_output_tokens: int = Field(300, ge=50, le=8000, description="This role's reply budget")


def _role(tokens: int) -> RoleSettings:
    return RoleSettings(max_output_tokens=tokens)


class LlmRolesConfig(BoundedModel):
    """The analyst roles pipeline: on/off, its one deadline, and each role's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        False, description="Answer triggers with the roles pipeline instead of one analyst")
    deadline_s: float = Field(
        60.0, gt=0, le=600,
        description="Wall-clock deadline of the whole pipeline (every role, retries included)")
    market: RoleSettings = Field(default_factory=lambda: _role(400),
                                 description="Market analyst: technicals and sentiment")
    memory: RoleSettings = Field(default_factory=lambda: _role(300),
                                 description="Memory analyst: similar past setups")
    bull: RoleSettings = Field(default_factory=lambda: _role(250),
                               description="Bull: the case for higher prices")
    bear: RoleSettings = Field(default_factory=lambda: _role(250),
                               description="Bear: the case for lower prices")
    risk: RoleSettings = Field(default_factory=lambda: _role(200),
                               description="Risk reviewer: may only lower confidence or veto")

    def unknown_route(self, route_names: set[str]) -> str:
        """A problem line when a role names a route ``route_names`` lacks, else ''."""
        for name in ("market", "memory", "bull", "bear", "risk"):
            route = getattr(self, name).route
            if route and route not in route_names:
                return (f"roles.{name}.route {route[:40]!r} is not the name of an llm.routes "
                        f"entry ({', '.join(sorted(route_names)) or 'none defined'})")
        return ""
